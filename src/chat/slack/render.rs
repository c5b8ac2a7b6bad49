//! Renders the neutral message model as Slack mrkdwn: user text escaped so it
//! cannot mention `<!channel>`, `<!here>` or anyone, and long messages split
//! into several posts rather than cut.

use crate::chat::Message;
use crate::chat::message::Dialect;
use crate::incident::{Platform, UserRef};

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

/// Splits text into posts of at most `max` characters, at line breaks where it
/// can, inside a line only when one line alone is longer than `max`.
pub fn split(text: &str, max: usize) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut current_len = 0;
    for line in text.split_inclusive('\n') {
        let len = line.chars().count();
        if current_len + len > max && !current.is_empty() {
            parts.push(std::mem::take(&mut current));
            current_len = 0;
        }
        if len > max {
            let chars: Vec<char> = line.chars().collect();
            for chunk in chars.chunks(max) {
                let piece: String = chunk.iter().collect();
                if chunk.len() == max {
                    parts.push(piece);
                } else {
                    current_len = chunk.len();
                    current = piece;
                }
            }
            continue;
        }
        current.push_str(line);
        current_len += len;
    }
    if !current.is_empty() || parts.is_empty() {
        parts.push(current);
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chat::Span;
    use crate::incident::IncidentId;

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

    #[test]
    fn long_text_is_split_at_line_breaks_and_nothing_is_lost() {
        let line = format!("{}\n", "x".repeat(99));
        let text = line.repeat(1000);
        let parts = split(&text, 1_000);
        assert!(parts.iter().all(|p| p.chars().count() <= 1_000));
        assert!(parts.iter().all(|p| p.ends_with('\n')), "cut at line ends");
        assert_eq!(parts.concat(), text);
        let one_long_line = "é".repeat(2_500);
        let parts = split(&one_long_line, 1_000);
        assert_eq!(parts.iter().map(|p| p.chars().count()).collect::<Vec<_>>(), [1000, 1000, 500]);
        assert_eq!(parts.concat(), one_long_line);
        assert_eq!(split("", 10), [""]);
    }
}
