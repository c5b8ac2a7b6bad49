//! Renders the neutral message model as Slack mrkdwn: user text escaped so it
//! cannot mention `<!channel>`, `<!here>` or anyone, and long messages split
//! into several posts rather than cut.

use crate::incident::{Dialect, Message, Platform, UserRef};

/// Slack cuts `text` beyond this many characters.
pub const MAX_TEXT: usize = 40_000;

/// Escapes the three characters Slack treats as control sequences.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// Slack's mrkdwn.
pub struct Mrkdwn;

impl Dialect for Mrkdwn {
    fn escape(&self, s: &str) -> String {
        escape(s)
    }

    fn strong(&self, escaped: &str, out: &mut String) {
        out.push('*');
        out.push_str(escaped);
        out.push('*');
    }

    fn user(&self, u: &UserRef, out: &mut String) {
        if u.platform == Platform::Slack && is_slack_id(&u.id) {
            out.push_str(&format!("<@{}>", u.id));
        } else {
            out.push('@');
            out.push_str(&escape(u.display()));
        }
    }

    fn channel(&self, id: &str, name: &str, out: &mut String) {
        if is_slack_id(id) {
            out.push_str(&format!("<#{id}>"));
        } else {
            out.push('#');
            out.push_str(&escape(name));
        }
    }
}

/// The whole message as one mrkdwn string.
pub fn mrkdwn(message: &Message) -> String {
    message.render(&Mrkdwn)
}

fn is_slack_id(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::incident::IncidentId;
    use crate::incident::Span;

    #[test]
    fn user_text_cannot_mention_the_channel_or_anyone() {
        let m = Message::new().plain("Note: ").text("<!channel> <@U123> & <!here>").strong("<b>");
        assert_eq!(
            mrkdwn(&m),
            "Note: &lt;!channel&gt; &lt;@U123&gt; &amp; &lt;!here&gt;*&lt;b&gt;*"
        );
    }

    #[test]
    fn slack_users_and_channels_become_links_and_others_stay_text() {
        let m = Message::new()
            .user(&UserRef::new(Platform::Slack, "U024BE7LH"))
            .plain(" ")
            .user(&UserRef::named(Platform::Discord, "80351110224678912", "<nelly>"))
            .plain(" ")
            .channel(IncidentId(7));
        assert_eq!(mrkdwn(&m), "<@U024BE7LH> @&lt;nelly&gt; INC-7");
        let mut resolved = Message::new();
        resolved.spans.push(Span::Channel { id: "C0123".into(), name: "inc-7".into() });
        assert_eq!(mrkdwn(&resolved), "<#C0123>");
    }
}
