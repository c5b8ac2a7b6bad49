//! Percentiles the way numpy's default and Excel's PERCENTILE.INC compute
//! them: linear between the two nearest ranks, so the median of an even
//! count is the mean of the middle two.

/// The `p`th percentile (0–100) of `sorted` (ascending); `None` when empty.
pub fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    let (first, last) = (sorted.first()?, sorted.last()?);
    if sorted.len() == 1 {
        return Some(*first);
    }
    let rank = (p / 100.0).clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let (below, frac) = (rank.floor() as usize, rank.fract());
    let Some(above) = sorted.get(below + 1) else { return Some(*last) };
    Some(sorted[below] + frac * (above - sorted[below]))
}

#[cfg(test)]
mod tests {
    use super::percentile;

    #[test]
    fn percentiles_interpolate_between_neighbouring_ranks() {
        assert_eq!(percentile(&[], 50.0), None);
        assert_eq!(percentile(&[7.0], 90.0), Some(7.0));
        assert_eq!(percentile(&[1.0, 2.0, 3.0, 4.0], 50.0), Some(2.5));
        // rank 0.9 × 3 = 2.7: 3 + 0.7 × (10 − 3)
        let p90 = percentile(&[1.0, 2.0, 3.0, 10.0], 90.0).unwrap();
        assert!((p90 - 7.9).abs() < 1e-9, "{p90}");
        assert_eq!(percentile(&[1.0, 2.0, 3.0], 100.0), Some(3.0));
        assert_eq!(percentile(&[1.0, 2.0, 3.0], 0.0), Some(1.0));
    }
}
