//! The acceptance tests 7.8.2–7.8.7 and issue 11 of docs/calibration-method.md §6, computed from the evaluation,
//! the spectra and the scan. A test that needs a method or a number the study did not produce
//! fails with the value "not computed", never passes. A row shown only as information (a number a
//! reader wants beside the tests, or a test that issue 24 replaced) carries no pass flag at all.

use super::summary::{Acceptance, Scan, Spectrum};
use crate::columns::CLUSTER_ETA;
use crate::evaluate::MetricsReport;
use crate::explain::ExplainSummary;
use crate::generator::params::GAP_WINDOW;
use crate::metrics::bootstrap::{ResolutionDifference, EXACT_MEAN};
use crate::metrics::{MethodMetrics, PullMetrics};

fn method<'a>(e: &'a MetricsReport, name: &str) -> Option<&'a MethodMetrics> {
    e.methods.iter().find(|m| m.name == name)
}

fn pct(v: f64) -> String {
    format!("{:.1} %", 100.0 * v)
}

/// A tested row: `passed` None (the numbers are missing) is a failure, shown as "not computed".
fn test(item: &str, what: &str, value: Option<String>, threshold: &str, passed: Option<bool>) -> Acceptance {
    Acceptance {
        item: item.into(),
        what: what.into(),
        value: value.unwrap_or_else(|| "not computed".into()),
        threshold: threshold.into(),
        passed: Some(passed.unwrap_or(false)),
    }
}

/// A row shown only as information: no pass flag, and `note` where the threshold would be.
fn information(item: &str, what: &str, value: Option<String>, note: &str) -> Acceptance {
    Acceptance {
        item: item.into(),
        what: what.into(),
        value: value.unwrap_or_else(|| "not computed".into()),
        threshold: note.into(),
        passed: None,
    }
}

/// The worst |median(R_pred / mean*) − 1| over E^EM bins above (or below) 1 GeV.
fn worst_closure(m: &MethodMetrics, above: bool) -> Option<f64> {
    let bins = m.closure_by_e_em.as_ref()?;
    bins.iter()
        .filter(|b| if above { b.lo >= 1.0 } else { b.hi <= 1.0 })
        .filter_map(|b| b.median.map(|v| (v - 1.0).abs()))
        .fold(None, |acc: Option<f64>, v| Some(acc.map_or(v, |a| a.max(v))))
}

/// Resolution ratios a/b per E_dep bin (bins where both exist).
fn resolution_ratios(a: &MethodMetrics, b: &MethodMetrics) -> Vec<(f64, f64, f64)> {
    a.response
        .by_e_dep
        .iter()
        .zip(&b.response.by_e_dep)
        .filter_map(|(x, y)| match (x.resolution, y.resolution) {
            (Some(p), Some(q)) if q > 0.0 => Some((x.lo, x.hi, p / q)),
            _ => None,
        })
        .collect()
}

/// Core widths and 1σ coverage of σ_tot pulls in E^EM bins with at least `min` clusters, with the
/// reference's (the exact answer's, or the Gaussian 1 and 68 % without one) in the same bin.
fn pull_bins(m: &MethodMetrics, min: usize, reference: Option<&PullMetrics>) -> Vec<(f64, f64, f64, f64)> {
    let Some(p) = m.pulls.as_ref() else { return Vec::new() };
    p.by_e_em
        .iter()
        .enumerate()
        .filter(|(_, b)| b.n >= min)
        .filter_map(|(i, b)| {
            let (w0, c0) = match reference {
                Some(r) => {
                    let t = &r.by_e_em.get(i)?.tot;
                    (t.core?.sigma, t.coverage_1sigma?)
                }
                None => (1.0, 0.6827),
            };
            Some((b.tot.core?.sigma, b.tot.coverage_1sigma?, w0, c0))
        })
        .collect()
}

fn range_text(v: &[f64], fmt: impl Fn(f64) -> String) -> Option<String> {
    let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    (!v.is_empty()).then(|| if (hi - lo).abs() < 1e-12 { fmt(lo) } else { format!("{} to {}", fmt(lo), fmt(hi)) })
}

/// Every test, in the order of docs/calibration-method.md §6.
pub fn acceptance(e: &MetricsReport, spectra: &[Spectrum], scan: Option<&Scan>) -> Vec<Acceptance> {
    let (bnn, re, dnn, lcw) = (method(e, "bnn"), method(e, "re"), method(e, "dnn"), method(e, "LCW-like"));
    let mut out = closure_rows(bnn, lcw);
    out.extend(resolution_rows(bnn, lcw, dnn));
    out.extend(network_resolution_rows(e));
    out.extend(pull_rows(e, bnn, re));
    out.extend(sigma_rows(bnn, re));
    out.extend(gap_rows(spectra, bnn));
    out.extend(scan_rows(scan));
    out.extend(bnn_re_rows(e));
    out
}

/// 7.8.2: closure of the BNN above and below 1 GeV, and the ⟨μ⟩ dependence of LCW-like and BNN.
fn closure_rows(bnn: Option<&MethodMetrics>, lcw: Option<&MethodMetrics>) -> Vec<Acceptance> {
    let mut out = Vec::new();
    let c = bnn.and_then(|m| worst_closure(m, true));
    out.push(test(
        "7.8.2",
        "BNN closure |median(R_pred/mean*) − 1|, E^{EM} bins above 1 GeV (worst bin)",
        c.map(pct),
        "< 1 %",
        c.map(|v| v < 0.01),
    ));
    let c = bnn.and_then(|m| worst_closure(m, false));
    out.push(test(
        "7.8.2",
        "BNN closure, E^{EM} bins below 1 GeV (worst bin)",
        c.map(pct),
        "< 3 %",
        c.map(|v| v < 0.03),
    ));
    let l = lcw.and_then(|m| m.mu_dependence.change_over_range);
    out.push(test(
        "7.8.2",
        "LCW-like: change of median E/E^{dep} over ⟨μ⟩ 8–75 (E^{dep} < 2 GeV)",
        l.map(|v| format!("{v:+.3}")),
        "|change| ≳ 0.2",
        l.map(|v| v.abs() >= 0.2),
    ));
    let b = bnn.and_then(|m| m.mu_dependence.change_over_range);
    out.push(test(
        "7.8.2",
        "BNN: the same change",
        b.map(|v| format!("{v:+.3}")),
        "within ±3 %",
        b.map(|v| v.abs() <= 0.03),
    ));
    out
}

/// 7.8.3: the resolution of the BNN against LCW-like, and of the DNN against the BNN.
fn resolution_rows(
    bnn: Option<&MethodMetrics>,
    lcw: Option<&MethodMetrics>,
    dnn: Option<&MethodMetrics>,
) -> Vec<Acceptance> {
    let mut out = Vec::new();
    if let (Some(b), Some(l)) = (bnn, lcw) {
        let r = resolution_ratios(b, l);
        let worst = r.iter().map(|x| x.2).fold(f64::NEG_INFINITY, f64::max);
        out.push(test(
            "7.8.3",
            "BNN/LCW-like resolution, every E^{dep} bin (largest ratio)",
            (!r.is_empty()).then(|| format!("{worst:.3}")),
            "< 1",
            (!r.is_empty()).then_some(worst < 1.0),
        ));
        let low = r.iter().find(|x| x.0 <= 0.3 + 1e-9).map(|x| x.2);
        out.push(test(
            "7.8.3",
            "BNN/LCW-like resolution at 0.3–0.6 GeV",
            low.map(|v| format!("{v:.3}")),
            "≤ 0.85",
            low.map(|v| v <= 0.85),
        ));
    } else {
        out.push(test("7.8.3", "BNN/LCW-like resolution", None, "< 1, ≤ 0.85 below 0.6 GeV", None));
    }
    if let (Some(d), Some(b)) = (dnn, bnn) {
        let r = resolution_ratios(d, b);
        let worst = r.iter().map(|x| (x.2 - 1.0).abs()).fold(0.0, f64::max);
        out.push(information(
            "7.8.3",
            "DNN/BNN resolution, every E^{dep} bin (largest deviation)",
            (!r.is_empty()).then(|| pct(worst)),
            "information (the paper's \"within 5 %\", replaced by the test against 2 bootstrap errors)",
        ));
    }
    out
}

/// One E_dep bin of a method's resolution against a subject's (the BNN's, or the exact mean's).
#[derive(Debug, Clone, Copy)]
struct AgainstSubject {
    lo: f64,
    hi: f64,
    /// resolution_subject − resolution_x and its bootstrap error.
    excess: f64,
    se: f64,
    /// resolution_x / resolution_subject and its error.
    ratio: f64,
    ratio_se: f64,
}

/// The E_dep bins of the comparison of `x` with `subject`, whichever order the evaluation stored
/// the pair in.
fn against(e: &MetricsReport, subject: &str, x: &str) -> Option<Vec<AgainstSubject>> {
    let pair: &ResolutionDifference =
        e.resolution_differences.iter().find(|d| (d.a == x && d.b == subject) || (d.a == subject && d.b == x))?;
    let subject_first = pair.a == subject;
    let bins: Vec<_> = pair
        .by_e_dep
        .iter()
        .filter_map(|b| {
            let (d, se, r, r_se) = (b.difference?, b.difference_se?, b.ratio?, b.ratio_se?);
            let (lo, hi) = (b.lo, b.hi);
            Some(if subject_first {
                // The error of 1/r is r_se / r² to first order.
                AgainstSubject { lo, hi, excess: d, se, ratio: 1.0 / r, ratio_se: r_se / (r * r) }
            } else {
                AgainstSubject { lo, hi, excess: -d, se, ratio: r, ratio_se: r_se }
            })
        })
        .collect();
    (!bins.is_empty()).then_some(bins)
}

/// The bin where `subject` is worst against `x` in units of the error, and whether every bin is
/// within 2 errors.
fn worst_against(e: &MetricsReport, subject: &str, x: &str) -> (Option<AgainstSubject>, Option<bool>) {
    let bins = against(e, subject, x);
    let z = |p: &AgainstSubject| p.excess / p.se.max(1e-12);
    let worst = bins.as_ref().and_then(|b| b.iter().copied().max_by(|p, q| z(p).total_cmp(&z(q))));
    (worst, bins.map(|b| b.iter().all(|p| p.excess <= 2.0 * p.se)))
}

fn describe_against(w: &AgainstSubject, label: &str, subject: &str) -> String {
    format!(
        "{:+.4} ± {:.4} at {}–{} GeV ({label}/{subject} {:.3} ± {:.3})",
        w.excess, w.se, w.lo, w.hi, w.ratio, w.ratio_se
    )
}

/// 7.8.3 restated: the BNN's resolution no worse than the MSE DNN's and the DNN-LGK's in every
/// E_dep bin, within 2 bootstrap standard errors of the difference. Beside the DNN-LGK row, the
/// same test of the exact mean* (R_pred = truth mean, what a BNN that learned its target exactly
/// would reach) as information: the DNN-LGK learns the mode, whose calibration can be narrower.
fn network_resolution_rows(e: &MetricsReport) -> Vec<Acceptance> {
    let mut out = Vec::new();
    for (name, label) in [("dnn", "DNN"), ("dnn-lgk", "DNN-LGK")] {
        let (worst, passed) = worst_against(e, "bnn", name);
        out.push(test(
            "7.8.3",
            &format!(
                "BNN resolution no worse than the {label}'s, every E^{{dep}} bin (resolution_{{BNN}} − \
                 resolution_{{{label}}} in the bin where it is largest against its bootstrap error)"
            ),
            worst.map(|w| describe_against(&w, label, "BNN")),
            "≤ 2 bootstrap errors in every bin",
            passed,
        ));
        if name == "dnn-lgk" {
            if let (Some(w), _) = worst_against(e, EXACT_MEAN, name) {
                out.push(information(
                    "7.8.3",
                    &format!(
                        "the same test for the exact mean* (R_pred = truth mean, a BNN that learned its \
                         target exactly): resolution_{{mean*}} − resolution_{{{label}}}"
                    ),
                    Some(describe_against(&w, label, "mean*")),
                    "information: the DNN-LGK learns the mode, whose calibration is narrower here",
                ));
            }
        }
    }
    out
}

/// 7.8.4: the calibration of the uncertainties of BNN and RE.
fn pull_rows(e: &MetricsReport, bnn: Option<&MethodMetrics>, re: Option<&MethodMetrics>) -> Vec<Acceptance> {
    let mut out = Vec::new();
    // Judged against the exact answer's own pulls in each
    // bin: R given x is not Gaussian, so the exact mean* and sd* themselves give core widths of
    // 0.6-1.0 and 1σ coverages of 60-71 % (a Gaussian test's [0.9, 1.1] and 68 ± 3 % assume a
    // Gaussian R). A method passes when it is as far from the truth's numbers as docs/calibration-method.md §6.4 allows
    // from the Gaussian ones in coverage, −3 to +6 points (issue 24: the paper's networks slightly
    // overestimate their uncertainty, so the conservative side is allowed, but only by that much).
    // The core widths are shown without a pass mark.
    let reference = e.truth_pulls.as_ref();
    for (label, m) in [("BNN", bnn), ("RE", re)] {
        let bins = m.map(|m| pull_bins(m, 1000, reference)).unwrap_or_default();
        let widths: Vec<f64> = bins.iter().map(|b| b.0 - b.2).collect();
        let cover: Vec<f64> = bins.iter().map(|b| b.1 - b.3).collect();
        let ok_c = (!cover.is_empty()).then(|| cover.iter().all(|c| (-0.03..=0.06).contains(c)));
        let (what_w, what_c) = if reference.is_some() {
            ("pull core width minus the exact answer's", "coverage |t_{tot}| < 1 minus the exact answer's")
        } else {
            ("pull core width minus 1", "coverage |t_{tot}| < 1 minus 68 %")
        };
        out.push(information(
            "7.8.4",
            &format!("{label} {what_w}, E^{{EM}} bins (≥ 1000 clusters)"),
            range_text(&widths, |v| format!("{v:+.3}")),
            "information (was ±0.1)",
        ));
        out.push(test(
            "7.8.4",
            &format!("{label} {what_c}, E^{{EM}} bins (≥ 1000 clusters)"),
            range_text(&cover, |v| format!("{:+.1}", 100.0 * v)),
            "within −3 to +6 points",
            ok_c,
        ));
    }
    out
}

/// 7.8.5: the pointwise σ_syst of BNN and RE against the true sd.
fn sigma_rows(bnn: Option<&MethodMetrics>, re: Option<&MethodMetrics>) -> Vec<Acceptance> {
    [("BNN", bnn), ("RE", re)]
        .into_iter()
        .map(|(label, m)| {
            let v = m.and_then(|m| m.sigma_syst_over_truth_sd.as_ref()).and_then(|s| s.median);
            test(
                "7.8.5",
                &format!("{label} median σ_{{syst}} / truth sd"),
                v.map(|x| format!("{x:.3}")),
                "1 ± 0.05",
                v.map(|x| (x - 1.0).abs() <= 0.05),
            )
        })
        .collect()
}

/// 7.8.1/6.2 and issue 11: the secondary maximum of the BNN's σ_tot/R and its gap contrast.
fn gap_rows(spectra: &[Spectrum], bnn: Option<&MethodMetrics>) -> Vec<Acceptance> {
    let mut out = Vec::new();
    let above_1 = |who: &str| {
        spectra.iter().find(|s| s.method.eq_ignore_ascii_case(who) && s.kind == "tot" && s.selection == "E_EM > 1 GeV")
    };
    let (bnn_modes, truth_modes) = (above_1("BNN").map(|s| &s.modes), above_1("truth").map(|s| &s.modes));
    let list = |m: &[f64]| m.iter().map(|v| format!("{v:.2}")).collect::<Vec<_>>().join(", ");
    out.push(information(
        "7.8.1/6.2",
        "BNN σ_{tot}/R above 1 GeV: a mode above every mode without the gap clusters (the secondary maximum)",
        bnn_modes.map(|m| {
            let truth = truth_modes.map(|t| format!("; truth: {}", list(&t.with_gap))).unwrap_or_default();
            match m.gap_mode {
                Some(g) => format!("at {g:.2} (modes {}{truth})", list(&m.with_gap)),
                None => format!("none (modes {}{truth})", list(&m.with_gap)),
            }
        }),
        "information: the test is explain's row",
    ));
    let g = bnn.and_then(|m| m.gap_ratio.as_ref()).and_then(|g| g.fraction_of_truth);
    out.push(test(
        "issue 11",
        "BNN gap contrast (σ_{tot}/R of gap over other clusters) as a share of the truth's",
        g.map(|v| format!("{v:.2}")),
        "≥ 0.6",
        g.map(|v| v >= 0.6),
    ));
    out
}

/// 7.8.6: the training-size scan.
fn scan_rows(scan: Option<&Scan>) -> Vec<Acceptance> {
    let mut out = Vec::new();
    // 6. Training-size scan.
    let slope = scan.and_then(|s| s.stat_slope);
    out.push(test(
        "7.8.6",
        "log–log slope of ⟨σ_{stat}⟩ against N_{train}",
        slope.map(|v| format!("{v:.2}")),
        "−0.5 ± 0.2",
        slope.map(|v| (v + 0.5).abs() <= 0.2),
    ));
    let approach = scan.and_then(|s| {
        let p = s.points.iter().filter(|p| p.n_train >= 300_000).min_by_key(|p| p.n_train)?;
        Some((p.n_train, p.mean_sigma_syst / s.mean_truth_sd))
    });
    out.push(test(
        "7.8.6",
        "⟨σ_{syst}⟩ / ⟨truth sd⟩ from N_{train} = 3 × 10^{5}",
        approach.map(|(n, r)| format!("{r:.3} at N = {n}")),
        "1 ± 0.05",
        approach.map(|(_, r)| (r - 1.0).abs() <= 0.05),
    ));
    let mono = scan.map(|s| s.points.windows(2).all(|w| w[1].mean_sigma_stat < w[0].mean_sigma_stat));
    out.push(test(
        "7.8.6",
        "⟨σ_{stat}⟩ falls with every larger N_{train}",
        mono.map(|m| if m { "yes".into() } else { "no".into() }),
        "monotonic",
        mono,
    ));
    out
}

/// 7.8.7: BNN against RE.
fn bnn_re_rows(e: &MetricsReport) -> Vec<Acceptance> {
    let mut out = Vec::new();
    // 7. BNN against RE.
    let cmp = e.comparisons.iter().find(|c| (c.a == "bnn" && c.b == "re") || (c.a == "re" && c.b == "bnn"));
    let corr = cmp.and_then(|c| c.tot.pearson_log);
    out.push(test(
        "7.8.7",
        "BNN vs RE: Pearson correlation of log σ_{tot}",
        corr.map(|v| format!("{v:.3}")),
        "> 0.9",
        corr.map(|v| v > 0.9),
    ));
    let ratio = cmp.and_then(|c| c.tot.median_ratio);
    out.push(test(
        "7.8.7",
        "BNN vs RE: median ratio of σ_{tot}",
        ratio.map(|v| format!("{v:.3}")),
        "within 10 %",
        ratio.map(|v| (v - 1.0).abs() <= 0.1),
    ));
    out
}

/// 7.8.1 for the networks: `calibration explain` on the BNN's predictions finds the gap window
/// without the truth. This is the only place its findings meet the generator's window: a
/// clusterEta finding (either view, compared in |η|, [`crate::explain::findings::Finding::abs_range`]) with enrichment ≥ 2
/// whose range has an intersection over union ≥ 0.3 with the window, and no clusterEta finding
/// with enrichment ≥ 2 that does not touch the window.
pub fn explain_rows(explain: Option<&ExplainSummary>) -> Vec<Acceptance> {
    let window = (GAP_WINDOW.0, GAP_WINDOW.1);
    let strong: Vec<((f64, f64), f64)> = explain
        .map(|x| {
            x.findings
                .findings
                .iter()
                .filter(|f| f.feature == CLUSTER_ETA && f.enrichment >= 2.0)
                .map(|f| (f.abs_range(), f.enrichment))
                .collect()
        })
        .unwrap_or_default();
    let best = strong.iter().map(|(r, e)| (iou(*r, window), *r, *e)).max_by(|a, b| a.0.total_cmp(&b.0));
    let elsewhere: Vec<&(f64, f64)> = strong.iter().map(|(r, _)| r).filter(|r| iou(**r, window) == 0.0).collect();
    let value = explain.map(|_| {
        let found = match best {
            Some((u, (lo, hi), e)) => format!("|η| {lo:.2}–{hi:.2}, enrichment {e:.1}, IoU {u:.2}"),
            None => "no clusterEta finding with enrichment ≥ 2".to_string(),
        };
        let others: Vec<String> = elsewhere.iter().map(|(lo, hi)| format!("{lo:.2}–{hi:.2}")).collect();
        if others.is_empty() {
            found
        } else {
            format!("{found}; elsewhere: {}", others.join(", "))
        }
    });
    vec![test(
        "7.8.1",
        "explain on the BNN (no truth): a clusterEta finding with enrichment ≥ 2 on the gap window, none elsewhere",
        value,
        &format!("IoU ≥ 0.3 with |η| {:.2}–{:.2}", window.0, window.1),
        explain.map(|_| best.is_some_and(|b| b.0 >= 0.3) && elsewhere.is_empty()),
    )]
}

/// Intersection over union of two intervals; 0 when they do not overlap.
pub fn iou(a: (f64, f64), b: (f64, f64)) -> f64 {
    let inter = (a.1.min(b.1) - a.0.max(b.0)).max(0.0);
    let union = a.1.max(b.1) - a.0.min(b.0);
    if union > 0.0 {
        inter / union
    } else {
        0.0
    }
}
