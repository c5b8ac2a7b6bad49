//! The pure incident core: the record's types and the decisions that change it.
//! No I/O and no clock reads here: time is passed in, effects are returned.

pub mod alerting;
mod decide;
mod effect;
mod error;
pub mod message;
mod model;
mod naming;
pub mod public;
pub mod reminders;
pub mod room;
mod rules;
mod steps;
pub mod subscription;
pub mod timeline;

pub use decide::{Change, Decision, Declare, authorize, decide, declare};
pub use effect::{Audience, Effect, HookEvent};
pub use error::UserError;
pub use message::{Dialect, Message, Span};
pub use model::{
    Acknowledgement, ChannelRef, FollowUp, Incident, IncidentId, Platform, Responder,
    RoleAssignment, SeverityChange, Status, StatusUpdate, UserRef,
};
pub use naming::{channel_name, slug};
pub use rules::{RoleDef, Rules, Who};
pub use steps::topic;
pub use subscription::{Scope, Subscription};
pub use timeline::{
    EntryKind, EntryState, Flag, FlagVia, FlaggedMessage, MessageKey, TimelineEntry,
};

#[cfg(test)]
mod tests;
