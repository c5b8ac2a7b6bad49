//! Renders the neutral message model as Discord markdown. User text cannot
//! ping: `@everyone`, `@here` and `<@…>`, `<@&…>`, `<#…>` sequences are broken
//! with a zero-width space (and every post also carries an empty
//! `allowed_mentions`). Content over 2,000 characters is split, never cut.

use crate::chat::text::split;
use crate::incident::{Dialect, Message, Platform, UserRef};

/// Discord refuses content longer than this.
pub const MAX_CONTENT: usize = 2_000;

const ZWSP: char = '\u{200b}';

/// Neutralises mentions in user text.
pub fn escape(s: &str) -> String {
    s.replace("<@", "<\u{200b}@")
        .replace("<#", "<\u{200b}#")
        .replace("@everyone", "@\u{200b}everyone")
        .replace("@here", "@\u{200b}here")
}

/// Discord's markdown.
pub struct Markdown;

impl Dialect for Markdown {
    fn escape(&self, s: &str) -> String {
        escape(s)
    }

    fn strong(&self, escaped: &str, out: &mut String) {
        out.push_str("**");
        out.push_str(escaped);
        out.push_str("**");
    }

    fn user(&self, u: &UserRef, out: &mut String) {
        if u.platform == Platform::Discord && is_snowflake(&u.id) {
            out.push_str(&format!("<@{}>", u.id));
        } else {
            out.push('@');
            out.push(ZWSP);
            out.push_str(&escape(u.display()));
        }
    }

    fn channel(&self, id: &str, name: &str, out: &mut String) {
        if is_snowflake(id) {
            out.push_str(&format!("<#{id}>"));
        } else {
            out.push('#');
            out.push_str(&escape(name));
        }
    }
}

pub fn markdown(message: &Message) -> String {
    message.render(&Markdown)
}

fn is_snowflake(s: &str) -> bool {
    !s.is_empty() && s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit())
}

/// The Discord users the bot itself mentions (never user text): the only
/// ones a post may ping.
pub fn mentioned(message: &Message) -> Vec<String> {
    let mut ids: Vec<String> = message
        .spans
        .iter()
        .filter_map(|s| match s {
            crate::incident::Span::User(u)
                if u.platform == Platform::Discord && is_snowflake(&u.id) =>
            {
                Some(u.id.clone())
            }
            _ => None,
        })
        .collect();
    ids.sort();
    ids.dedup();
    ids.truncate(100);
    ids
}

/// The posts a message becomes.
pub fn posts(message: &Message) -> Vec<String> {
    split(&markdown(message), MAX_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::incident::Span;

    #[test]
    fn user_text_cannot_ping_everyone_here_users_or_roles() {
        let m = Message::new().text("@everyone @here <@123> <@&456> <#789> mail@example.com");
        let out = markdown(&m);
        for bad in ["@everyone", "@here", "<@123>", "<@&456>", "<#789>"] {
            assert!(!out.contains(bad), "{bad} survived in {out:?}");
        }
        assert_eq!(out.replace(ZWSP, ""), "@everyone @here <@123> <@&456> <#789> mail@example.com");
        assert!(out.ends_with(" mail@example.com"), "addresses are left alone");
    }

    #[test]
    fn discord_users_and_channels_are_mentions_and_slack_ones_are_text() {
        let mut m = Message::new()
            .user(&UserRef::new(Platform::Discord, "80351110224678912"))
            .plain(" ")
            .user(&UserRef::named(Platform::Slack, "U024BE7LH", "bob"));
        m.spans.push(Span::Channel { id: "1234567890".into(), name: "inc-7".into() });
        assert_eq!(markdown(&m), format!("<@80351110224678912> @{ZWSP}bob<#1234567890>"));
    }

    #[test]
    fn long_content_is_split_under_two_thousand_characters() {
        let m = Message::new().text(format!("{}\n", "y".repeat(150)).repeat(40));
        let parts = posts(&m);
        assert!(parts.len() > 1);
        assert!(parts.iter().all(|p| p.chars().count() <= MAX_CONTENT));
        assert_eq!(parts.concat(), markdown(&m));
    }
}
