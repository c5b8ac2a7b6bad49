//! Incident channel names: `inc-7-checkout-errors`, within the platform's rules.

use super::IncidentId;

/// `<prefix>-<n>-<slug>`: lowercase `[a-z0-9_-]`, at most `max` characters,
/// never ending in a dash.
pub fn channel_name(prefix: &str, id: IncidentId, title: &str, max: usize) -> String {
    let mut name = format!("{}-{}", slug(prefix), id.0);
    let s = slug(title);
    if !s.is_empty() && name.len() + 1 < max {
        name.push('-');
        name.push_str(&s);
    }
    name.truncate(max);
    name.trim_end_matches(['-', '_']).to_string()
}

/// Lowercase ASCII letters, digits, `_` and single dashes.
pub fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_title_becomes_a_lowercase_dashed_channel_name() {
        assert_eq!(
            channel_name("inc", IncidentId(7), "Checkout: 5xx on EU!!", 80),
            "inc-7-checkout-5xx-on-eu"
        );
    }

    #[test]
    fn a_long_title_is_cut_to_the_platform_limit_without_a_trailing_dash() {
        let name = channel_name("inc", IncidentId(12), &"ab ".repeat(100), 80);
        assert!(name.len() <= 80, "{name}");
        assert!(!name.ends_with('-'));
        assert!(name.starts_with("inc-12-ab-ab"));
    }

    #[test]
    fn a_title_with_no_ascii_letters_keeps_the_number() {
        assert_eq!(channel_name("inc", IncidentId(3), "🔥🔥", 80), "inc-3");
    }
}
