//! Text shared by the platforms' renderers.

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
