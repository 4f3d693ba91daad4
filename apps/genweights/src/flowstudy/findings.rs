//! What the weights found in a flow: the shares of truth and flow events in the region where the
//! toy's flow is expected to fail, the mean learned and exact w of the flow's events there, one
//! sentence composed from those numbers, and maps of the mean w over the first two coordinates.
//! Computed from the run's test events (every event with cross-fitting), learned weights read
//! back from the run's weights.h5.

use super::summary::{Findings, WeightMaps};
use super::toys::FlowToy;
use crate::error::{invalid, Result};
use nn::io::H5File;
use std::path::Path;

/// The split code of a test row in weights.h5.
const TEST: f64 = 2.0;
/// The most cells of the maps per axis, and the fewest events a cell averages.
const MAP_CELLS: usize = 24;
pub const MAP_MIN_EVENTS: usize = 8;
/// Mean weights beyond these bounds are the sentence's deficit or surplus.
const SURPLUS_BELOW: f64 = 0.8;
const DEFICIT_ABOVE: f64 = 1.25;

/// A sample's rows, exact ln w, and the learned ln w and test flags read from weights.h5.
pub struct Events<'a> {
    pub rows: &'a [f64],
    pub exact_log_w: &'a [f64],
    pub learned_log_w: Vec<f64>,
    pub test: Vec<bool>,
}

impl<'a> Events<'a> {
    /// The `group` ("truth" or "generated") of `weights` (row-aligned with the run's files).
    pub fn read(weights: &Path, group: &str, rows: &'a [f64], exact_log_w: &'a [f64]) -> Result<Events<'a>> {
        let f = H5File::open(weights)?;
        let (learned_log_w, _) = f.read_f64(&format!("{group}/log_w"), Some(&[exact_log_w.len()]))?;
        let (split, _) = f.read_numeric_f64(&format!("{group}/split"), Some(&[exact_log_w.len()]))?;
        let test = split.iter().map(|&s| s == TEST).collect();
        Ok(Events { rows, exact_log_w, learned_log_w, test })
    }

    fn test_rows(&self, d: usize) -> impl Iterator<Item = usize> + '_ {
        (0..self.rows.len() / d).filter(|&i| self.test[i])
    }
}

fn mean(v: &[f64]) -> Option<f64> {
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

/// The findings of `toy`'s flow from its run's truth and generated events.
pub fn findings(toy: FlowToy, truth: &Events, generated: &Events) -> Result<Findings> {
    let d = toy.dims();
    let share = |e: &Events| -> Option<f64> {
        let rows: Vec<usize> = e.test_rows(d).collect();
        let inside = rows.iter().filter(|&&i| toy.in_region(&e.rows[i * d..(i + 1) * d])).count();
        (!rows.is_empty()).then(|| inside as f64 / rows.len() as f64)
    };
    let (truth_share, flow_share) = match (share(truth), share(generated)) {
        (Some(t), Some(g)) => (t, g),
        _ => return Err(invalid("the flow study's run has no test events to judge the flow on")),
    };
    let inside: Vec<usize> =
        generated.test_rows(d).filter(|&i| toy.in_region(&generated.rows[i * d..(i + 1) * d])).collect();
    let w_of = |log_w: &[f64]| -> Vec<f64> { inside.iter().map(|&i| log_w[i].exp()).collect() };
    let learned_mean_w = mean(&w_of(&generated.learned_log_w));
    let exact_mean_w = mean(&w_of(generated.exact_log_w));
    let mut f = Findings {
        region: toy.region_name().to_string(),
        truth_share,
        flow_share,
        flow_events: inside.len(),
        learned_mean_w,
        exact_mean_w,
        sentence: String::new(),
        maps: maps(toy, generated),
    };
    f.sentence = sentence(toy, &f);
    Ok(f)
}

/// Whether a mean weight says surplus (below [`SURPLUS_BELOW`]), deficit (above
/// [`DEFICIT_ABOVE`]) or neither.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Balance {
    Surplus,
    Deficit,
    AboutRight,
}

fn balance(mean_w: f64) -> Balance {
    if mean_w < SURPLUS_BELOW {
        Balance::Surplus
    } else if mean_w > DEFICIT_ABOVE {
        Balance::Deficit
    } else {
        Balance::AboutRight
    }
}

/// The failure a balance is, named as the toy's where it is the one the toy is built to show.
fn failure(toy: FlowToy, b: Balance) -> &'static str {
    match (toy, b) {
        (FlowToy::EdgeBanana, Balance::Surplus) => "the flow's leakage across the sharp edge",
        (FlowToy::NarrowMode, Balance::Deficit) => "the narrow mode underpopulated by the flow",
        (FlowToy::MassPeak, Balance::Deficit) => "the peak smeared by the flow (too few of its events in the window)",
        (_, Balance::Surplus) => "a surplus of flow events there",
        (_, Balance::Deficit) => "a deficit of flow events there",
        (_, Balance::AboutRight) => "the flow about right there on average",
    }
}

/// What the numbers say, in one sentence: the balance the learned weights find in the region,
/// set against the one the exact weights give.
fn sentence(toy: FlowToy, f: &Findings) -> String {
    let pct = |x: f64| format!("{:.2} %", 100.0 * x);
    let w = |x: Option<f64>| x.map_or("n/a".into(), |v| format!("{v:.2}"));
    let shares = format!(
        "In {}, the flow puts {} of its events and truth has {}; the learned weights of the flow's {} events there \
         average {} (exact {})",
        f.region,
        pct(f.flow_share),
        pct(f.truth_share),
        f.flow_events,
        w(f.learned_mean_w),
        w(f.exact_mean_w)
    );
    let verdict = match (f.learned_mean_w.map(balance), f.exact_mean_w.map(balance)) {
        (Some(l), Some(e)) if l == e => format!("the weights find {}", failure(toy, l)),
        (Some(l), Some(e)) => format!(
            "the exact weights show {}, the learned weights {}: the classifier does not resolve it",
            failure(toy, e),
            failure(toy, l)
        ),
        _ => "no flow event lies there, so the weights cannot say how much it misses".to_string(),
    };
    format!("{shares}: {verdict} (a mean w below {SURPLUS_BELOW} is a surplus, above {DEFICIT_ABOVE} a deficit).")
}

/// The mean learned and exact w of the generated test events per cell of the first two
/// coordinates (None where a cell holds fewer than [`MAP_MIN_EVENTS`]), on up to
/// [`MAP_CELLS`]² cells.
fn maps(toy: FlowToy, g: &Events) -> WeightMaps {
    let d = toy.dims();
    let [(x0, x1), (y0, y1)] = toy.map_range();
    // About 40 events per cell on average, so that a small sample still fills the central cells.
    let per_axis = ((g.test_rows(d).count() as f64 / 40.0).sqrt() as usize).clamp(6, MAP_CELLS);
    let x_edges = stats::histogram::linear_edges(x0, x1, per_axis);
    let y_edges = stats::histogram::linear_edges(y0, y1, per_axis);
    let cells = per_axis * per_axis;
    let (mut count, mut learned, mut exact) = (vec![0usize; cells], vec![0.0; cells], vec![0.0; cells]);
    for i in g.test_rows(d) {
        let x = &g.rows[i * d..(i + 1) * d];
        let ix = stats::histogram::bin_index(&x_edges, x[0]);
        let iy = stats::histogram::bin_index(&y_edges, x[1]);
        if let (Some(a), Some(b)) = (ix, iy) {
            let c = a * per_axis + b;
            count[c] += 1;
            learned[c] += g.learned_log_w[i].exp();
            exact[c] += g.exact_log_w[i].exp();
        }
    }
    let average = |sum: &[f64]| -> Vec<Option<f64>> {
        sum.iter().zip(&count).map(|(s, &n)| (n >= MAP_MIN_EVENTS).then(|| s / n as f64)).collect()
    };
    WeightMaps { learned: average(&learned), exact: average(&exact), x_edges, y_edges }
}
