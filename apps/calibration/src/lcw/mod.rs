//! The LCW-like baseline of docs/calibration-method.md §4.2: look-up tables, built from single-particle-like samples
//! without pile-up, that turn the EM-scale energy into E_LCW = E^EM [P_EM w_em + (1 − P_EM) w_had].
//!
//! - The classification table P_EM = N_EM / (N_EM + N_HAD) is binned in |η|, log10 E^EM,
//!   log10⟨ρ⟩ − log10 E^EM and log10 λ (athena's CaloLCClassificationTool variables). An empty
//!   bin takes the value of its marginal over λ, and if that is empty too, 0.5.
//! - The weight tables w(|η|, log10 E^EM, log10⟨ρ⟩) = median(E_dep / E^EM) over the EM or the HAD
//!   clusters of the bin. A bin needs 10 entries; with fewer it takes the coarser (|η|, log10 E)
//!   table, then the log10 E table alone, then the median of the whole class.
//!
//! In ATLAS the classes are two samples (single π⁰ and single π±), so the class is a label of
//! the *training* sample, never a hidden truth of the data being calibrated: the tables read
//! E_dep and the class from the PU0 files only, and applying them reads features only.

mod axis;
mod file;

pub use axis::Axis;

use crate::columns::{CENTER_LAMBDA, CLUSTER_E, CLUSTER_ETA, FIRST_ENG_DENS, TARGET};
use crate::error::{Error, Result};
use crate::table::ClusterTable;
use axis::flat_index;
use serde::{Deserialize, Serialize};
use stats::median;

/// Minimum entries of a weight bin (athena's CaloLCWeightTool uses more than 10).
pub const MIN_WEIGHT_ENTRIES: usize = 10;

/// How the class weights are combined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Combination {
    /// w = P_EM w_em + (1 − P_EM) w_had (athena's UseHadProbability).
    Probability,
    /// w = w_em if P_EM ≥ 0.5, else w_had.
    Binary,
}

/// The built tables.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LcwTables {
    /// |η|, log10 E^EM, log10⟨ρ⟩ − log10 E^EM, log10 λ.
    pub class_axes: [Axis; 4],
    /// |η|, log10 E^EM, log10⟨ρ⟩.
    pub weight_axes: [Axis; 3],
    /// P_EM, row-major over `class_axes`, fallbacks applied.
    pub p_em: Vec<f64>,
    /// Training clusters (both classes) in each classification bin.
    pub class_entries: Vec<u64>,
    /// median(E_dep / E^EM) of EM- and HAD-class clusters, row-major over `weight_axes`.
    pub w_em: Vec<f64>,
    pub w_had: Vec<f64>,
    /// Entries of each weight bin, and the fallback level used: 0 the bin itself, 1 (|η|, log E),
    /// 2 log E alone, 3 the whole class.
    pub em_entries: Vec<u64>,
    pub had_entries: Vec<u64>,
    pub em_level: Vec<u8>,
    pub had_level: Vec<u8>,
    /// Where the training clusters came from.
    pub provenance: String,
    pub n_em: u64,
    pub n_had: u64,
}

/// The table variables of clusters: |η|, log10 E, log10 ρ − log10 E, log10 λ, log10 ρ.
struct Variables {
    abs_eta: Vec<f64>,
    log10_e: Vec<f64>,
    log10_rho_over_e: Vec<f64>,
    log10_lambda: Vec<f64>,
    log10_rho: Vec<f64>,
}

impl Variables {
    fn of(table: &ClusterTable) -> Result<Variables> {
        let e = table.require(CLUSTER_E)?;
        let rho = table.require(FIRST_ENG_DENS)?;
        let log10_e: Vec<f64> = e.iter().map(|x| x.log10()).collect();
        let log10_rho: Vec<f64> = rho.iter().map(|x| x.log10()).collect();
        Ok(Variables {
            abs_eta: table.require(CLUSTER_ETA)?.iter().map(|x| x.abs()).collect(),
            log10_rho_over_e: log10_rho.iter().zip(&log10_e).map(|(r, e)| r - e).collect(),
            log10_lambda: table.require(CENTER_LAMBDA)?.iter().map(|x| x.log10()).collect(),
            log10_e,
            log10_rho,
        })
    }

    fn class_bins(&self, axes: &[Axis; 4], i: usize) -> [usize; 4] {
        [
            axes[0].bin(self.abs_eta[i]),
            axes[1].bin(self.log10_e[i]),
            axes[2].bin(self.log10_rho_over_e[i]),
            axes[3].bin(self.log10_lambda[i]),
        ]
    }

    fn weight_bins(&self, axes: &[Axis; 3], i: usize) -> [usize; 3] {
        [axes[0].bin(self.abs_eta[i]), axes[1].bin(self.log10_e[i]), axes[2].bin(self.log10_rho[i])]
    }
}

/// Training clusters with their class: (table, is_em per row).
pub struct Labelled<'a> {
    pub table: &'a ClusterTable,
    pub is_em: Vec<bool>,
}

impl<'a> Labelled<'a> {
    /// Every cluster of `table` has the class `is_em` (one single-particle file).
    pub fn all(table: &'a ClusterTable, is_em: bool) -> Self {
        Labelled { table, is_em: vec![is_em; table.len()] }
    }

    /// The class from a 0/1 column (1 = EM); any other value is an error with its count.
    pub fn from_column(table: &'a ClusterTable, column: &str) -> Result<Self> {
        let values = table.require(column)?;
        let bad = values.iter().filter(|&&v| v != 0.0 && v != 1.0).count();
        if let Some(first) = values.iter().position(|&v| v != 0.0 && v != 1.0) {
            return Err(Error::invalid(format!(
                "{}: class column '{column}' must be 1 (EM) or 0 (hadronic); {bad} of {} rows are not (the first, row {first}, is {})",
                table.source(),
                values.len(),
                values[first]
            )));
        }
        Ok(Labelled { table, is_em: values.iter().map(|&v| v == 1.0).collect() })
    }
}

/// The 0.5% and 99.5% quantiles of the pooled training values: a table range that the bulk
/// fills without a few outliers stretching it.
fn data_axis(name: &str, bins: usize, values: &[&[f64]]) -> Result<Axis> {
    let sorted = stats::sorted_finite(values.iter().flat_map(|v| v.iter().copied()));
    let q = |p| stats::quantile_sorted(&sorted, p);
    match (q(0.005), q(0.995)) {
        (Some(lo), Some(hi)) if hi > lo => Ok(Axis::uniform(name, bins, lo, hi)),
        _ => Err(Error::invalid(format!("the training clusters do not span a range of {name} to bin"))),
    }
}

/// Builds the tables from labelled training clusters (after the cuts). The target E_dep is read
/// here, from the training files only.
pub fn build(samples: &[Labelled<'_>], provenance: &str) -> Result<LcwTables> {
    let vars: Vec<Variables> = samples.iter().map(|s| Variables::of(s.table)).collect::<Result<_>>()?;
    let mut inverse_response = Vec::new();
    for s in samples {
        let e = s.table.require(CLUSTER_E)?;
        let dep = s.table.require(TARGET)?;
        inverse_response.push(dep.iter().zip(e).map(|(d, e)| d / e).collect::<Vec<f64>>());
    }
    let n_em = samples.iter().map(|s| s.is_em.iter().filter(|&&c| c).count() as u64).sum::<u64>();
    let n_total = samples.iter().map(|s| s.table.len() as u64).sum::<u64>();
    let n_had = n_total - n_em;
    if n_em == 0 || n_had == 0 {
        return Err(Error::invalid(format!(
            "the LCW tables need clusters of both classes after the cuts; got {n_em} EM and {n_had} hadronic"
        )));
    }
    let pool = |f: fn(&Variables) -> &Vec<f64>| vars.iter().map(|v| f(v).as_slice()).collect::<Vec<&[f64]>>();
    let class_axes = [
        Axis::uniform("abs_eta", 16, 0.0, 3.2),
        Axis::uniform("log10_e", 14, -1.0, 2.5),
        data_axis("log10_rho_over_e", 12, &pool(|v| &v.log10_rho_over_e))?,
        data_axis("log10_lambda", 10, &pool(|v| &v.log10_lambda))?,
    ];
    let weight_axes = [
        Axis::uniform("abs_eta", 16, 0.0, 3.2),
        Axis::uniform("log10_e", 14, -1.0, 2.5),
        data_axis("log10_rho", 12, &pool(|v| &v.log10_rho))?,
    ];

    // Classification: counts per 4-D bin, with the marginal over λ as the first fallback.
    let class_sizes: Vec<usize> = class_axes.iter().map(Axis::bins).collect();
    let n_class: usize = class_sizes.iter().product();
    let n_lambda = class_sizes[3];
    let (mut em4, mut all4) = (vec![0u64; n_class], vec![0u64; n_class]);
    for (s, v) in samples.iter().zip(&vars) {
        for (i, &em) in s.is_em.iter().enumerate() {
            let k = flat_index(&v.class_bins(&class_axes, i), &class_sizes);
            all4[k] += 1;
            em4[k] += u64::from(em);
        }
    }
    let p_em: Vec<f64> = (0..n_class)
        .map(|k| {
            if all4[k] > 0 {
                return em4[k] as f64 / all4[k] as f64;
            }
            let start = k - k % n_lambda;
            let (em, all) = (start..start + n_lambda).fold((0, 0), |(e, a), j| (e + em4[j], a + all4[j]));
            if all > 0 {
                em as f64 / all as f64
            } else {
                0.5
            }
        })
        .collect();

    // Weights: the values of each class per bin at three granularities.
    let weight_sizes: Vec<usize> = weight_axes.iter().map(Axis::bins).collect();
    let mut per_class = Vec::new();
    for class_is_em in [true, false] {
        let mut fine: Vec<Vec<f64>> = vec![Vec::new(); weight_sizes.iter().product()];
        let mut coarse: Vec<Vec<f64>> = vec![Vec::new(); weight_sizes[0] * weight_sizes[1]];
        let mut energy: Vec<Vec<f64>> = vec![Vec::new(); weight_sizes[1]];
        let mut all = Vec::new();
        for ((s, v), inv) in samples.iter().zip(&vars).zip(&inverse_response) {
            for (i, &em) in s.is_em.iter().enumerate() {
                if em != class_is_em {
                    continue;
                }
                let b = v.weight_bins(&weight_axes, i);
                fine[flat_index(&b, &weight_sizes)].push(inv[i]);
                coarse[b[0] * weight_sizes[1] + b[1]].push(inv[i]);
                energy[b[1]].push(inv[i]);
                all.push(inv[i]);
            }
        }
        let global = median(all.iter().copied()).unwrap_or(1.0);
        let enough = |v: &Vec<f64>| if v.len() >= MIN_WEIGHT_ENTRIES { median(v.iter().copied()) } else { None };
        let coarse_w: Vec<Option<f64>> = coarse.iter().map(enough).collect();
        let energy_w: Vec<Option<f64>> = energy.iter().map(enough).collect();
        let (mut w, mut entries, mut level) = (Vec::new(), Vec::new(), Vec::new());
        for (k, values) in fine.iter().enumerate() {
            let e_bin = (k / weight_sizes[2]) % weight_sizes[1];
            let c_bin = k / weight_sizes[2];
            let (value, lvl) = match (enough(values), coarse_w[c_bin], energy_w[e_bin]) {
                (Some(x), _, _) => (x, 0),
                (None, Some(x), _) => (x, 1),
                (None, None, Some(x)) => (x, 2),
                _ => (global, 3),
            };
            w.push(value);
            entries.push(values.len() as u64);
            level.push(lvl);
        }
        per_class.push((w, entries, level));
    }
    let (w_had, had_entries, had_level) = per_class.pop().unwrap_or_default();
    let (w_em, em_entries, em_level) = per_class.pop().unwrap_or_default();
    Ok(LcwTables {
        class_axes,
        weight_axes,
        p_em,
        class_entries: all4,
        w_em,
        w_had,
        em_entries,
        had_entries,
        em_level,
        had_level,
        provenance: provenance.to_string(),
        n_em,
        n_had,
    })
}

impl LcwTables {
    /// E_LCW / E^EM for every cluster of `table` (features only; no target, no truth).
    pub fn weights(&self, table: &ClusterTable, combination: Combination) -> Result<Vec<f64>> {
        let vars = Variables::of(table)?;
        let class_sizes: Vec<usize> = self.class_axes.iter().map(Axis::bins).collect();
        let weight_sizes: Vec<usize> = self.weight_axes.iter().map(Axis::bins).collect();
        Ok((0..table.len())
            .map(|i| {
                let p = self.p_em[flat_index(&vars.class_bins(&self.class_axes, i), &class_sizes)];
                let k = flat_index(&vars.weight_bins(&self.weight_axes, i), &weight_sizes);
                match combination {
                    Combination::Probability => p * self.w_em[k] + (1.0 - p) * self.w_had[k],
                    Combination::Binary if p >= 0.5 => self.w_em[k],
                    Combination::Binary => self.w_had[k],
                }
            })
            .collect())
    }

    /// The LCW-like energy E_LCW of every cluster.
    pub fn calibrated_energy(&self, table: &ClusterTable, combination: Combination) -> Result<Vec<f64>> {
        let e = table.require(CLUSTER_E)?;
        Ok(self.weights(table, combination)?.iter().zip(e).map(|(w, e)| w * e).collect())
    }

    /// Writes the tables as HDF5 (layout in the README), atomically.
    pub fn write(&self, path: &std::path::Path) -> Result<()> {
        file::write(self, path)
    }

    /// Reads tables written by [`LcwTables::write`], checking shapes and values.
    pub fn read(path: &std::path::Path) -> Result<LcwTables> {
        file::read(path)
    }
}
