//! Sample moments with their errors.

/// Mean and standard error of the mean (sample standard deviation / √n); None when n < 2.
pub fn mean_and_error(values: &[f64]) -> Option<(f64, f64)> {
    let n = values.len();
    if n < 2 {
        return None;
    }
    let mean = values.iter().sum::<f64>() / n as f64;
    let var = values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / (n - 1) as f64;
    Some((mean, (var / n as f64).sqrt()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_and_error_of_a_small_sample() {
        // mean 2.5, sample variance 5/3, error sqrt(5/12)
        let (m, e) = mean_and_error(&[1.0, 2.0, 3.0, 4.0]).unwrap();
        assert_eq!(m, 2.5);
        assert!((e - (5.0f64 / 12.0).sqrt()).abs() < 1e-15);
        assert_eq!(mean_and_error(&[1.0]), None);
    }
}
