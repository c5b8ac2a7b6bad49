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
//! listed, and a NULL key joins no row. An insert cannot pad, so it is
//! written in pieces whose sizes are powers of two, in order.

/// `items`, then `None` (bound as NULL) until their number is a power of
/// two; nothing stays nothing.
pub(super) fn padded<T: Clone>(items: &[T]) -> impl Iterator<Item = Option<T>> + '_ {
    let extra = if items.is_empty() { 0 } else { items.len().next_power_of_two() - items.len() };
    items.iter().cloned().map(Some).chain(std::iter::repeat_n(None, extra))
}

/// `items` in order, in pieces of at most `most` (a power of two) whose
/// sizes are powers of two, largest first: 27 rows go as 16, 8, 2 and 1.
pub(super) fn pieces<T>(items: &[T], most: usize) -> impl Iterator<Item = &[T]> {
    debug_assert!(most.is_power_of_two());
    let mut rest = items;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let size = most.min(1 << rest.len().ilog2());
        let (piece, after) = rest.split_at(size);
        rest = after;
        Some(piece)
    })
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
    fn inserts_go_in_power_of_two_pieces_in_order() {
        let rows: Vec<usize> = (0..27).collect();
        let sizes: Vec<usize> = pieces(&rows, 256).map(<[usize]>::len).collect();
        assert_eq!(sizes, [16, 8, 2, 1]);
        let again: Vec<usize> = pieces(&rows, 256).flatten().copied().collect();
        assert_eq!(again, rows);

        let many: Vec<usize> = (0..600).collect();
        let sizes: Vec<usize> = pieces(&many, 256).map(<[usize]>::len).collect();
        assert_eq!(sizes, [256, 256, 64, 16, 8]);
        assert!(pieces::<usize>(&[], 256).next().is_none());
    }

    #[test]
    fn every_size_up_to_a_thousand_takes_few_shapes() {
        let mut shapes = std::collections::BTreeSet::new();
        for n in 1..=1_000 {
            let rows: Vec<usize> = (0..n).collect();
            shapes.extend(pieces(&rows, 256).map(<[usize]>::len));
            shapes.insert(padded(&rows[..n.min(256)]).count());
        }
        assert_eq!(shapes.into_iter().collect::<Vec<_>>(), [1, 2, 4, 8, 16, 32, 64, 128, 256]);
    }
}
