//! Commands: the specs in `commands/`, the parser that turns text into a typed
//! invocation, and help rendered from the specs.

pub mod help;
mod invocation;
mod options;
mod parse;
pub mod spec;

pub use invocation::{Args, Invitee, Invocation, Value};
pub use options::{OptionValue, from_options};
pub use parse::{ParseContext, UsageError, parse};
pub use spec::{ArgKind, ArgSpec, Spec, Where};

#[cfg(test)]
mod tests;
