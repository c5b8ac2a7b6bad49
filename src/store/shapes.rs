//! Few shapes for batched statements. A statement over n rows or keys is SQL
//! text of its own for every n, and a connection keeps only so many
//! prepared (sqlx's cache holds 100 each): with batches of every size from 1
//! to hundreds, the writer's connection parsed and planned most of its
//! statements afresh, about a twentieth of tocsin's CPU under a flood of
//! flags. Rounding every size to a power of two leaves at most nine shapes
//! per statement, few enough that the ones in use stay prepared.
//!
//! A lookup (an `IN` list, a table of keys to join) is padded with NULLs,
//! which match nothing: `x IN (…, NULL)` is never true for an `x` not
//! listed, and a NULL key joins no row. (Inserts need no shapes: each
//! backend adds a batch's rows as arrays, `Backend::add_at_once`.)

/// `items`, then `None` (bound as NULL) until their number is a power of
/// two; nothing stays nothing.
pub(super) fn padded<T: Clone>(items: &[T]) -> impl Iterator<Item = Option<T>> + '_ {
    let extra = if items.is_empty() { 0 } else { items.len().next_power_of_two() - items.len() };
    items.iter().cloned().map(Some).chain(std::iter::repeat_n(None, extra))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lookup_is_padded_to_a_power_of_two_with_nulls() {
        let five: Vec<Option<u32>> = padded(&[1, 2, 3, 4, 5]).collect();
        assert_eq!(five, [Some(1), Some(2), Some(3), Some(4), Some(5), None, None, None]);
        assert_eq!(padded(&[7]).collect::<Vec<_>>(), [Some(7)]);
        assert_eq!(padded(&[1, 2]).collect::<Vec<_>>(), [Some(1), Some(2)]);
        assert!(padded::<u32>(&[]).next().is_none());
    }

    #[test]
    fn every_size_up_to_a_thousand_takes_few_shapes() {
        let mut shapes = std::collections::BTreeSet::new();
        for n in 1..=1_000 {
            let rows: Vec<usize> = (0..n).collect();
            shapes.extend(rows.chunks(256).map(|chunk| padded(chunk).count()));
        }
        assert_eq!(shapes.into_iter().collect::<Vec<_>>(), [1, 2, 4, 8, 16, 32, 64, 128, 256]);
    }
}
