//! Matmul throughput: `Tensor::matmul` on f32 CPU tensors (output allocation and the tensor
//! handle included) against a bare `matrixmultiply::sgemm` into a preallocated buffer, on
//! the same shapes and strides. The ratio is the price of going through sigmagrad.
//!
//!     cargo bench --bench matmul [-- --json FILE] [-- --quick]

mod common;

use common::{black_box, fmt_time, measure_pair, threading_env, BenchResult, Options, Report};
use sigmagrad::{cpu, DType, Rng, Tensor};

struct Case {
    name: &'static str,
    /// a is stored as [m, k], or as [k, m] and used through `t()` when `transposed`.
    m: usize,
    k: usize,
    n: usize,
    transposed: bool,
}

const CASES: [Case; 5] = [
    Case { name: "square 256", m: 256, k: 256, n: 256, transposed: false },
    Case { name: "square 1024", m: 1024, k: 1024, n: 1024, transposed: false },
    Case { name: "1024x64 @ 64x64 (hidden layer)", m: 1024, k: 64, n: 64, transposed: false },
    Case { name: "1024x15 @ 15x64 (input layer)", m: 1024, k: 15, n: 64, transposed: false },
    Case { name: "(1024x64)^T @ 1024x64 (weight grad)", m: 64, k: 1024, n: 64, transposed: true },
];

fn main() -> BenchResult {
    let opts = Options::from_args()?;
    let dev = cpu();
    let mut rng = Rng::new(7);
    let mut report = Report::new(
        &format!(
            "matmul, f32, GFLOP/s = 2mkn / time (best of {} alternating repetitions; {})",
            opts.reps,
            threading_env()
        ),
        &["shape (m x k x n)", "sigmagrad", "raw sgemm", "ratio", "sigmagrad median", "raw median", "time/call"],
    );
    for case in &CASES {
        let (m, k, n) = (case.m, case.k, case.n);
        let a_stored = if case.transposed { [k, m] } else { [m, k] };
        let a_t = rng.normal(&a_stored, DType::F32, &dev)?;
        let b_t = rng.normal(&[k, n], DType::F32, &dev)?;
        let a_op = if case.transposed { a_t.t()? } else { a_t.clone() };

        // The same product on the same host buffers, with the strides sigmagrad passes.
        let a = a_t.to_vec::<f32>()?;
        let b = b_t.to_vec::<f32>()?;
        let mut c = vec![0.0f32; m * n];
        let (rsa, csa) = if case.transposed { (1, m as isize) } else { (k as isize, 1) };
        let raw_sgemm = || -> BenchResult {
            // SAFETY: a holds m*k, b holds k*n and c holds m*n f32s; the strides address exactly
            // those elements (a read as [m, k] row-major, or its transpose stored as [k, m]).
            unsafe {
                matrixmultiply::sgemm(
                    m,
                    k,
                    n,
                    1.0,
                    a.as_ptr(),
                    rsa,
                    csa,
                    b.as_ptr(),
                    n as isize,
                    1,
                    0.0,
                    c.as_mut_ptr(),
                    n as isize,
                    1,
                );
            }
            black_box(&mut c);
            Ok(())
        };
        let (ours, raw) = measure_pair(&opts, || -> BenchResult<Tensor> { Ok(a_op.matmul(&b_t)?) }, raw_sgemm)?;

        // Both must compute the same product.
        let ours_c = a_op.matmul(&b_t)?.to_vec::<f32>()?;
        let worst = ours_c.iter().zip(&c).map(|(x, y)| (x - y).abs()).fold(0.0f32, f32::max);
        if worst > 1e-3 * (k as f32).sqrt() {
            return Err(format!("{}: sigmagrad and raw sgemm differ by {worst}", case.name).into());
        }

        let flops = 2.0 * (m * k * n) as f64;
        let (g_ours, g_raw) = (flops / ours.best / 1e9, flops / raw.best / 1e9);
        let shape = format!("{m}x{k}x{n}{}", if case.transposed { " (a^T)" } else { "" });
        report.row(vec![
            format!("{} {shape}", case.name),
            format!("{g_ours:.1}"),
            format!("{g_raw:.1}"),
            format!("{:.2}", g_ours / g_raw),
            format!("{:.1}", flops / ours.median / 1e9),
            format!("{:.1}", flops / raw.median / 1e9),
            fmt_time(ours.best),
        ]);
        report.record("matmul/sigmagrad", &shape, g_ours, "GFLOP/s");
        report.record("matmul/raw_sgemm", &shape, g_raw, "GFLOP/s");
        report.record("matmul/ratio", &shape, g_ours / g_raw, "ratio");
    }
    report.finish(&opts)?;
    println!("ratio = sigmagrad / raw (1.00 = no overhead; the target is >= 0.90).");
    Ok(())
}
