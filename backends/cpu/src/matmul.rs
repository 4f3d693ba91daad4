//! Matrix products through matrixmultiply, split over rayon, with an optional output pass
//! (a dense layer's activation) run on each block of C right after sgemm wrote it.

use crate::storage::{alloc, slice, wrap, Float};
use crate::strided::materialize;
use crate::{err, Result};
use autodiff::{Layout, Storage};
use rayon::prelude::*;

fn check_bounds(op: &str, s: &Storage, l: &Layout) -> Result<()> {
    if l.max_index_bound() > s.len() {
        return Err(err(format!("{op}: layout {:?} reaches past a buffer of {} elements", l.shape(), s.len())));
    }
    Ok(())
}

/// What runs on each finished block of C: `(batch entry, first row, c_block, extra_block)`,
/// where `extra` is the second output buffer's matching block (empty when there is none).
pub(crate) trait OutputPass<T>: Fn(usize, usize, &mut [T], &mut [T]) + Sync {}
impl<T, F: Fn(usize, usize, &mut [T], &mut [T]) + Sync> OutputPass<T> for F {}

/// One matrix product per batch entry through matrixmultiply, strides passed straight through.
///
/// Threads come from rayon alone: large products split into blocks of rows of C within each
/// batch entry, as many blocks as the pool has threads over all entries (a 16-member ensemble
/// splits by member; one product on 16 threads by 16 row blocks), and each block runs
/// single-threaded sgemm. matrixmultiply's own pool (its `threading` feature) is left off: its
/// workers wait by spinning on `sched_yield`, and beside rayon's that cost a quarter of an MLP
/// step (benches/README.md).
///
/// With `init` (a layout broadcast to the output), C starts as that tensor and the product is
/// accumulated onto it (beta = 1): the bias of a layer costs a fill, not a second pass.
/// `pass` then runs on each block while it is in cache; `extra` (empty, or as long as C) is
/// the buffer it may write beside C.
#[allow(clippy::too_many_arguments)]
pub(crate) fn matmul_kernel<T: Float>(
    a: &Storage,
    la: &Layout,
    b: &Storage,
    lb: &Layout,
    init: Option<(&Storage, &Layout)>,
    gemm: Gemm<T>,
    extra: &mut [T],
    pass: &impl OutputPass<T>,
) -> Result<Vec<T>> {
    check_bounds("matmul", a, la)?;
    check_bounds("matmul", b, lb)?;
    let (da, db) = (slice::<T>(a)?, slice::<T>(b)?);
    let r = la.rank();
    let (m, k, n) = (la.shape()[r - 2], la.shape()[r - 1], lb.shape()[r - 1]);
    let batch_shape = &la.shape()[..r - 2];
    let batch: usize = batch_shape.iter().product();
    let (mut out, beta) = match init {
        Some((c, lc)) => {
            check_bounds("matmul_add", c, lc)?;
            (materialize(slice::<T>(c)?, lc), T::one())
        }
        // beta = 0: matrixmultiply overwrites C without reading it.
        None => (alloc::<T>(batch * m * n), T::zero()),
    };
    if m == 0 || n == 0 {
        return Ok(out);
    }
    if k == 0 {
        if init.is_none() {
            out.fill(T::zero());
        }
        for (i, (c, e)) in pieces(&mut out, extra, m * n).into_iter().enumerate() {
            pass(i, 0, c, e);
        }
        return Ok(out);
    }
    // Storage offsets of every batch entry of both operands.
    let offsets = |l: &Layout| {
        let mut v = Vec::with_capacity(batch);
        let bl = Layout::new(batch_shape.to_vec(), l.strides()[..r - 2].to_vec(), l.offset());
        autodiff::layout::for_each_offset(&bl, |o| v.push(o));
        v
    };
    let (oa, ob) = (offsets(la), offsets(lb));
    let (sa, sb) = ([la.strides()[r - 2], la.strides()[r - 1]], [lb.strides()[r - 2], lb.strides()[r - 1]]);
    // Rows [r0, r0 + c.len() / n) of batch entry i, then the output pass over them.
    let rows = |i: usize, r0: usize, c: &mut [T], e: &mut [T]| {
        let p = Product { a: da, oa: oa[i] + r0 * sa[0], sa, b: db, ob: ob[i], sb, k, n, beta };
        p.run(gemm, c);
        pass(i, r0, c, e);
    };
    let threads = rayon::current_num_threads();
    let parallel = threads > 1 && batch * 2 * m * k * n >= PAR_FLOPS;
    // Row blocks per entry: enough for every thread to have one, none under MIN_ROWS rows.
    let per = if parallel { m.div_ceil(threads.div_ceil(batch)).next_multiple_of(MIN_ROWS).min(m) } else { m };
    let entries = pieces(&mut out, extra, m * n);
    let entry = |(i, (c, e)): (usize, (&mut [T], &mut [T]))| {
        let blocks = pieces(c, e, per * n);
        if parallel && per < m {
            blocks.into_par_iter().enumerate().for_each(|(j, (c, e))| rows(i, j * per, c, e));
        } else {
            blocks.into_iter().enumerate().for_each(|(j, (c, e))| rows(i, j * per, c, e));
        }
    };
    if parallel && batch > 1 {
        entries.into_par_iter().enumerate().for_each(entry);
    } else {
        entries.into_iter().enumerate().for_each(entry);
    }
    Ok(out)
}

/// `out` and `extra` cut into matching pieces of `size` elements (`extra` may be empty: then
/// every piece of it is empty).
fn pieces<'a, T>(out: &'a mut [T], extra: &'a mut [T], size: usize) -> Vec<(&'a mut [T], &'a mut [T])> {
    if extra.is_empty() {
        out.chunks_mut(size).map(|c| (c, Default::default())).collect()
    } else {
        out.chunks_mut(size).zip(extra.chunks_mut(size)).collect()
    }
}

/// The product alone: no output pass.
pub(crate) fn plain_matmul<T: Float>(
    a: &Storage,
    la: &Layout,
    b: &Storage,
    lb: &Layout,
    init: Option<(&Storage, &Layout)>,
    gemm: Gemm<T>,
) -> Result<Storage> {
    let nothing = |_: usize, _: usize, _: &mut [T], _: &mut [T]| {};
    Ok(wrap(matmul_kernel(a, la, b, lb, init, gemm, &mut [], &nothing)?))
}

/// Flops (2mkn) from which a product is split over rayon's threads: about 30 us of sgemm on one
/// Zen 3 core, well above a rayon hand-off (a few us).
const PAR_FLOPS: usize = 1 << 21;
/// Rows of C per parallel piece, at least: a multiple of sgemm's 8-row micro-kernel.
const MIN_ROWS: usize = 16;

/// A block of rows of one product C = A B: A's rows start at `oa` in `a`, B at `ob` in `b`;
/// C is row-major with `n` columns and holds as many rows as its length says.
struct Product<'a, T> {
    a: &'a [T],
    oa: usize,
    sa: [usize; 2],
    b: &'a [T],
    ob: usize,
    sb: [usize; 2],
    k: usize,
    n: usize,
    /// 0: C is overwritten; 1: the product is added to what C holds.
    beta: T,
}

impl<T: Float> Product<'_, T> {
    fn run(&self, gemm: Gemm<T>, c: &mut [T]) {
        let rows = c.len() / self.n;
        // SAFETY: matrixmultiply reads A at oa + p*sa[0] + q*sa[1] for p < rows, q < k. For the
        // rows [r0, r0 + rows) of an m-row operand, oa = offset + r0*sa[0] and r0 + rows <= m,
        // so every index is below the layout's max_index_bound <= a.len() (check_bounds in
        // matmul_kernel); B likewise with its full k x n extent. C is an exclusively borrowed
        // slice of exactly rows*n initialised elements, read (beta = 1) and written with
        // strides (n, 1).
        unsafe {
            gemm(
                rows,
                self.k,
                self.n,
                T::one(),
                self.a.as_ptr().add(self.oa),
                self.sa[0] as isize,
                self.sa[1] as isize,
                self.b.as_ptr().add(self.ob),
                self.sb[0] as isize,
                self.sb[1] as isize,
                self.beta,
                c.as_mut_ptr(),
                self.n as isize,
                1,
            );
        }
    }
}

pub(crate) type Gemm<T> =
    unsafe fn(usize, usize, usize, T, *const T, isize, isize, *const T, isize, isize, T, *mut T, isize, isize);
