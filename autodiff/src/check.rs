//! Gradient checking as a first-class tool: compare reverse-mode gradients with central finite
//! differences in f64.
//!
//! Two modes:
//! - [`check_vjp`], after JAX's `check_grads`: draw a tangent t and a cotangent c and compare
//!   <J t, c> (finite differences along t) with <t, J^T c> (one backward pass). Cheap at any size.
//!   For small inputs it then compares J^T c element by element, so a failure names the element.
//! - [`check_jacobian`]: the full Jacobian, one backward pass per output element and two
//!   evaluations per input element. For small inputs only.
//!
//! ```ignore
//! let report = check_vjp(|x| x[0].tanh()?.mul(&x[1]), &[a, b], &CheckOptions::default())?;
//! assert!(report.passed(), "{report}");
//! ```

use crate::backend::Distribution;
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::ops::Rng;
use crate::tensor::Tensor;
use std::fmt;

#[derive(Debug, Clone)]
pub struct CheckOptions {
    /// Finite-difference step (central differences: the error is O(eps^2)).
    pub eps: f64,
    /// An entry passes when |analytic - numeric| <= atol + rtol * max(|analytic|, |numeric|).
    pub atol: f64,
    pub rtol: f64,
    /// Seeds the random tangents and cotangents.
    pub seed: u64,
    /// How many random (tangent, cotangent) pairs `check_vjp` tries.
    pub projections: usize,
    /// `check_vjp` compares J^T c element-wise for inputs up to this many elements.
    pub elementwise_up_to: usize,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions { eps: 1e-6, atol: 1e-6, rtol: 1e-5, seed: 0, projections: 2, elementwise_up_to: 64 }
    }
}

/// The worst disagreement found for one input.
#[derive(Debug, Clone, PartialEq)]
pub struct InputReport {
    pub input: usize,
    pub shape: Vec<usize>,
    pub worst_abs: f64,
    pub worst_rel: f64,
    /// Where the worst entry is: the input element's multi-index (None for a projection).
    pub element: Option<Vec<usize>>,
    /// The output element of that Jacobian entry (full-Jacobian mode only).
    pub output_element: Option<Vec<usize>>,
    pub analytic: f64,
    pub numeric: f64,
    pub passed: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct GradReport {
    pub mode: &'static str,
    pub inputs: Vec<InputReport>,
}

impl GradReport {
    pub fn passed(&self) -> bool {
        self.inputs.iter().all(|r| r.passed)
    }

    /// The failing inputs, worst first.
    pub fn failures(&self) -> Vec<&InputReport> {
        let mut f: Vec<_> = self.inputs.iter().filter(|r| !r.passed).collect();
        f.sort_by(|a, b| b.worst_abs.total_cmp(&a.worst_abs));
        f
    }
}

impl fmt::Display for GradReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "gradient check ({}): {}", self.mode, if self.passed() { "passed" } else { "FAILED" })?;
        for r in &self.inputs {
            write!(
                f,
                "  input {} {:?}: worst abs err {:.3e}, rel err {:.3e} (analytic {:.6e}, numeric {:.6e})",
                r.input, r.shape, r.worst_abs, r.worst_rel, r.analytic, r.numeric
            )?;
            if let Some(e) = &r.element {
                write!(f, " at element {e:?}")?;
            }
            if let Some(o) = &r.output_element {
                write!(f, " of output element {o:?}")?;
            }
            writeln!(f, "{}", if r.passed { "" } else { "  <-- FAIL" })?;
        }
        Ok(())
    }
}

/// Unravels a flat row-major index into a multi-index.
fn unravel(mut i: usize, shape: &[usize]) -> Vec<usize> {
    let mut idx = vec![0; shape.len()];
    for (k, &d) in shape.iter().enumerate().rev() {
        if d > 0 {
            idx[k] = i % d;
            i /= d;
        }
    }
    idx
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// The function evaluated on perturbed f64 copies of the inputs, as host values.
struct Probe<'a, F> {
    f: &'a F,
    values: Vec<Vec<f64>>,
    shapes: Vec<Vec<usize>>,
    device: crate::Device,
}

impl<F: Fn(&[Tensor]) -> Result<Tensor>> Probe<'_, F> {
    fn tensors(&self, values: &[Vec<f64>], grad: bool) -> Result<Vec<Tensor>> {
        values
            .iter()
            .zip(&self.shapes)
            .map(|(v, s)| {
                let t = Tensor::from_f64s(v, s, DType::F64, &self.device)?;
                Ok(if grad { t.requires_grad() } else { t })
            })
            .collect()
    }

    fn eval(&self, values: &[Vec<f64>]) -> Result<Vec<f64>> {
        let out = crate::grad_mode::no_grad(|| (self.f)(&self.tensors(values, false)?))?;
        out.to_vec_f64()
    }

    /// Central difference of the output along `dir` applied to input `i`.
    fn directional(&self, i: usize, dir: &[f64], eps: f64) -> Result<Vec<f64>> {
        let shifted = |sign: f64| {
            let mut v = self.values.clone();
            for (x, d) in v[i].iter_mut().zip(dir) {
                *x += sign * eps * d;
            }
            self.eval(&v)
        };
        let (plus, minus) = (shifted(1.0)?, shifted(-1.0)?);
        Ok(plus.iter().zip(&minus).map(|(p, m)| (p - m) / (2.0 * eps)).collect())
    }

    /// J^T c for every input, by reverse mode.
    fn vjp(&self, cotangent: &[f64]) -> Result<(Vec<usize>, Vec<Vec<f64>>)> {
        let xs = self.tensors(&self.values, true)?;
        let out = (self.f)(&xs)?;
        let c = Tensor::from_f64s(cotangent, out.shape(), DType::F64, &self.device)?;
        let grads = out.backward_with(&c)?;
        let per_input = xs
            .iter()
            .map(|x| match grads.get(x) {
                Some(g) => g.to_vec_f64(),
                None => Ok(vec![0.0; x.numel()]),
            })
            .collect::<Result<Vec<_>>>()?;
        Ok((out.shape().to_vec(), per_input))
    }
}

fn prepare<'a, F>(f: &'a F, inputs: &[Tensor]) -> Result<Probe<'a, F>>
where
    F: Fn(&[Tensor]) -> Result<Tensor>,
{
    let first = inputs.first().ok_or(Error::Invalid { op: "check", msg: "no inputs to check".into() })?;
    let device = first.device().clone();
    if !device.backend().supports(DType::F64) {
        return Err(Error::DType { op: "check", msg: format!("gradient checks run in f64, which {device} lacks") });
    }
    Ok(Probe {
        f,
        values: inputs.iter().map(|t| t.to_vec_f64()).collect::<Result<_>>()?,
        shapes: inputs.iter().map(|t| t.shape().to_vec()).collect(),
        device,
    })
}

struct Worst {
    report: InputReport,
    /// The recorded entry's error as a fraction of its tolerance (above 1 when it fails).
    used: f64,
}

impl Worst {
    fn new(input: usize, shape: &[usize]) -> Self {
        Worst {
            report: InputReport {
                input,
                shape: shape.to_vec(),
                worst_abs: 0.0,
                worst_rel: 0.0,
                element: None,
                output_element: None,
                analytic: 0.0,
                numeric: 0.0,
                passed: true,
            },
            used: f64::NEG_INFINITY,
        }
    }

    /// Records one comparison; keeps the entry that uses most of its tolerance (the worst
    /// failure, or while all pass, the one closest to failing). A failure that names an
    /// element outranks a projection failure, which names none: the report should say where
    /// the rule is wrong.
    fn see(&mut self, a: f64, n: f64, opts: &CheckOptions, element: Option<Vec<usize>>, out: Option<Vec<usize>>) {
        let abs = (a - n).abs();
        let scale = a.abs().max(n.abs());
        let rel = if scale > 0.0 { abs / scale } else { 0.0 };
        let tol = opts.atol + opts.rtol * scale;
        let failed = abs.is_nan() || abs > tol;
        let used = if abs.is_nan() || (abs > 0.0 && tol == 0.0) {
            f64::INFINITY
        } else if abs > 0.0 {
            abs / tol
        } else {
            0.0
        };
        let r = &mut self.report;
        let rank = |failed: bool, located: bool| u8::from(failed) * 2 + u8::from(failed && located);
        let (new_rank, old_rank) = (rank(failed, element.is_some()), rank(!r.passed, r.element.is_some()));
        if new_rank > old_rank || (new_rank == old_rank && used > self.used) {
            self.used = used;
            r.worst_abs = abs;
            r.worst_rel = rel;
            r.analytic = a;
            r.numeric = n;
            r.element = element;
            r.output_element = out;
        }
        r.passed &= !failed;
    }
}

/// JAX-style random-projection check; see the module docs.
pub fn check_vjp<F>(f: F, inputs: &[Tensor], opts: &CheckOptions) -> Result<GradReport>
where
    F: Fn(&[Tensor]) -> Result<Tensor>,
{
    let probe = prepare(&f, inputs)?;
    let cpu = probe.device.clone();
    let mut rng = Rng::new(opts.seed);
    let mut draw = |n: usize| -> Result<Vec<f64>> {
        rng.sample(Distribution::Normal { mean: 0.0, std: 1.0 }, &[n], DType::F64, &cpu)?.to_vec_f64()
    };
    let mut worst: Vec<Worst> = probe.shapes.iter().enumerate().map(|(i, s)| Worst::new(i, s)).collect();
    for _ in 0..opts.projections.max(1) {
        let out_len = probe.eval(&probe.values)?.len();
        let c = draw(out_len)?;
        let (_, vjps) = probe.vjp(&c)?;
        for (i, vjp) in vjps.iter().enumerate() {
            let t = draw(vjp.len())?;
            let numeric = dot(&probe.directional(i, &t, opts.eps)?, &c);
            worst[i].see(dot(&t, vjp), numeric, opts, None, None);
            if vjp.len() <= opts.elementwise_up_to {
                for (j, &a) in vjp.iter().enumerate() {
                    let mut e = vec![0.0; vjp.len()];
                    e[j] = 1.0;
                    let n = dot(&probe.directional(i, &e, opts.eps)?, &c);
                    worst[i].see(a, n, opts, Some(unravel(j, &probe.shapes[i])), None);
                }
            }
        }
    }
    Ok(GradReport { mode: "vjp", inputs: worst.into_iter().map(|w| w.report).collect() })
}

/// Full-Jacobian check, entry by entry; for small inputs.
pub fn check_jacobian<F>(f: F, inputs: &[Tensor], opts: &CheckOptions) -> Result<GradReport>
where
    F: Fn(&[Tensor]) -> Result<Tensor>,
{
    let probe = prepare(&f, inputs)?;
    let out = probe.eval(&probe.values)?;
    let mut worst: Vec<Worst> = probe.shapes.iter().enumerate().map(|(i, s)| Worst::new(i, s)).collect();
    // Numeric Jacobian columns: one pair of evaluations per input element.
    let mut columns: Vec<Vec<Vec<f64>>> = Vec::new();
    for (i, v) in probe.values.iter().enumerate() {
        let mut cols = Vec::with_capacity(v.len());
        for j in 0..v.len() {
            let mut e = vec![0.0; v.len()];
            e[j] = 1.0;
            cols.push(probe.directional(i, &e, opts.eps)?);
        }
        columns.push(cols);
    }
    // Analytic rows: one backward pass per output element.
    for o in 0..out.len() {
        let mut c = vec![0.0; out.len()];
        c[o] = 1.0;
        let (out_shape, vjps) = probe.vjp(&c)?;
        for (i, row) in vjps.iter().enumerate() {
            for (j, &a) in row.iter().enumerate() {
                let n = columns[i][j][o];
                worst[i].see(a, n, opts, Some(unravel(j, &probe.shapes[i])), Some(unravel(o, &out_shape)));
            }
        }
    }
    Ok(GradReport { mode: "jacobian", inputs: worst.into_iter().map(|w| w.report).collect() })
}

/// The full Jacobian when all inputs and the output are small, the projection test otherwise.
pub fn check_grads<F>(f: F, inputs: &[Tensor], opts: &CheckOptions) -> Result<GradReport>
where
    F: Fn(&[Tensor]) -> Result<Tensor>,
{
    let total: usize = inputs.iter().map(|t| t.numel()).sum();
    let out_len = crate::grad_mode::no_grad(|| f(inputs))?.numel();
    if total * out_len <= 1024 {
        check_jacobian(f, inputs, opts)
    } else {
        check_vjp(f, inputs, opts)
    }
}
