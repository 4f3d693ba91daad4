//! What the networks can hold. The tables are f64, the networks compute in f32: a value that is
//! finite in the file can still be infinite to the network (an avgMu of 1e300, a response
//! R = clusterE / E_dep of 1e300), and a single extreme row can make a column's standard
//! deviation so large that the standardized feature is flat for every other cluster. The data
//! that reaches a network (training and prediction) is checked here once, after the selection
//! and the feature transforms, so that such a file is an error (or a warning) that names the
//! file, the column, the input row and the count, instead of an infinite statistic in the
//! checkpoint or a message about a shuffled batch row.

use crate::columns::{CLUSTER_E, FEATURES, FEATURE_TRANSFORMS, TARGET};
use crate::error::{Error, Result};
use crate::io::ClusterTable;
use nn::Transform;

/// The largest magnitude an f32 holds.
const F32_MAX: f64 = f32::MAX as f64;
/// A column's standard deviation is dominated by a few rows when leaving out the 0.1 % of rows
/// farthest from its median (at least one) divides it by more than this.
const DOMINANCE: f64 = 10.0;

/// Checks the 15 features of `table` (and with `with_response`, the response R) against what an
/// f32 network holds; returns the warnings about columns dominated by a few rows.
pub fn check_model_inputs(table: &ClusterTable, with_response: bool) -> Result<Vec<String>> {
    let mut warnings = Vec::new();
    for (name, transform) in FEATURES.iter().zip(FEATURE_TRANSFORMS) {
        let values: Vec<f64> = table.require(name)?.iter().map(|&x| transformed(x, transform)).collect();
        let what = match transform {
            Transform::None => String::new(),
            Transform::Log => " after its log transform".to_string(),
            Transform::CubeRoot => " after its cube-root transform".to_string(),
        };
        check_column(table, &format!("column '{name}'"), &what, &values)?;
        warnings.extend(dominated(table, name, &values));
    }
    if with_response {
        let r = table.response()?;
        check_column(
            table,
            &format!("columns '{CLUSTER_E}' / '{TARGET}'"),
            " as the response R = clusterE / E_dep",
            &r,
        )?;
    }
    Ok(warnings)
}

/// A feature as the standardizer sees it before scaling (the log's shift only moves it by the
/// column's minimum, which cannot make it overflow).
fn transformed(x: f64, t: Transform) -> f64 {
    match t {
        Transform::None => x,
        Transform::Log => x.abs().max(1e-10).ln(),
        Transform::CubeRoot => x.cbrt(),
    }
}

/// An error when any value is beyond f32 or the column's mean and standard deviation are not
/// finite.
fn check_column(table: &ClusterTable, item: &str, what: &str, values: &[f64]) -> Result<()> {
    let beyond: Vec<usize> =
        (0..values.len()).filter(|&i| !values[i].is_finite() || values[i].abs() > F32_MAX).collect();
    if let Some(&first) = beyond.first() {
        return Err(Error::invalid(format!(
            "{}: {item}: {} of {} rows are beyond what a 32-bit float holds (|x| > 3.4e38){what}; the first is \
             input row {} ({:e}). The networks compute in f32: correct or remove these rows",
            table.source(),
            beyond.len(),
            values.len(),
            table.input_index[first],
            values[first]
        )));
    }
    let (mean, sd) = mean_sd(values);
    if !mean.is_finite() || !sd.is_finite() {
        return Err(Error::invalid(format!(
            "{}: {item}: its mean ({mean}) or standard deviation ({sd}){what} is not finite over {} rows",
            table.source(),
            values.len()
        )));
    }
    Ok(())
}

/// A warning when the rows farthest from the median dominate the column's standard deviation.
fn dominated(table: &ClusterTable, name: &str, values: &[f64]) -> Option<String> {
    let n = values.len();
    if n < 20 {
        return None;
    }
    let median = stats::median(values.iter().copied())?;
    let distance = |i: usize| (values[i] - median).abs();
    let k = (n / 1000).max(1);
    // The k farthest rows first, in linear time (a full sort of every column cost a second per
    // training on 3 x 10^5 clusters): a selection, then the farthest of them (the first in the
    // file among ties) is the row the warning names.
    let mut order: Vec<usize> = (0..n).collect();
    order.select_nth_unstable_by(k - 1, |&a, &b| distance(b).total_cmp(&distance(a)).then(a.cmp(&b)));
    let farthest = order[..k].iter().copied().min_by(|&a, &b| distance(b).total_cmp(&distance(a)).then(a.cmp(&b)));
    let (_, sd_all) = mean_sd(values);
    let rest: Vec<f64> = order[k..].iter().map(|&i| values[i]).collect();
    let (_, sd_rest) = mean_sd(&rest);
    if sd_rest > 0.0 && sd_all / sd_rest <= DOMINANCE {
        return None;
    }
    if sd_rest == 0.0 && sd_all == 0.0 {
        return None;
    }
    let worst = farthest.unwrap_or(order[0]);
    Some(format!(
        "warning: {}: column '{name}': {k} of {n} rows (the farthest from the median is input row {}, {:e}) make its \
         standard deviation {} what the other rows give; standardized, the feature is nearly constant for every \
         other cluster\n",
        table.source(),
        table.input_index[worst],
        table.require(name).map_or(f64::NAN, |c| c[worst]),
        if sd_rest > 0.0 { format!("{:.0} times", sd_all / sd_rest) } else { "infinitely larger than".to_string() }
    ))
}

fn mean_sd(values: &[f64]) -> (f64, f64) {
    let n = values.len().max(1) as f64;
    let mean = values.iter().sum::<f64>() / n;
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
    (mean, var.sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(extreme: f64, rows: &[usize]) -> ClusterTable {
        let mut t = ClusterTable::new("test.h5");
        for (j, name) in FEATURES.iter().enumerate() {
            let mut v: Vec<f64> = (0..2000).map(|i| 1.0 + ((i * 7 + j) % 13) as f64).collect();
            if *name == "cluster_CENTER_MAG" {
                rows.iter().for_each(|&r| v[r] = extreme);
            }
            t.insert(name, v).unwrap();
        }
        t.insert(TARGET, vec![1.0; 2000]).unwrap();
        t
    }

    #[test]
    fn a_value_beyond_f32_is_an_error_naming_column_row_and_count() {
        let e = check_model_inputs(&table(1e39, &[17, 30]), true).unwrap_err().to_string();
        assert!(e.contains("test.h5") && e.contains("cluster_CENTER_MAG") && e.contains("2 of 2000"), "{e}");
        assert!(e.contains("input row 17"), "{e}");
        assert!(check_model_inputs(&table(3e38, &[17]), true).is_ok());
    }

    #[test]
    fn a_column_dominated_by_one_row_is_a_warning_and_a_normal_one_is_not() {
        let w = check_model_inputs(&table(1e30, &[5]), true).unwrap();
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].contains("cluster_CENTER_MAG") && w[0].contains("input row 5"), "{}", w[0]);
        assert!(check_model_inputs(&table(20.0, &[5]), true).unwrap().is_empty());
    }
}
