//! Walking several strided layouts of one shape in lock-step, writing a contiguous output.
//! The innermost axis is a tight loop; the outer axes run as an odometer. Above the parallel
//! threshold the first axis is split across rayon's threads.

use crate::storage::{alloc, Float};
use crate::PAR_THRESHOLD;
use autodiff::Layout;
use rayon::prelude::*;
use std::borrow::Cow;

/// Fills `out` (row-major over `shape`) with `f(offsets)`, where `offsets[j]` is the storage
/// index of the current element in operand j.
pub(crate) fn fill<T: Send, const N: usize>(
    out: &mut [T],
    shape: &[usize],
    strides: [&[usize]; N],
    offsets: [usize; N],
    f: &(impl Fn([usize; N]) -> T + Sync),
) {
    let n = out.len();
    if n >= PAR_THRESHOLD && shape.len() > 1 && shape[0] > 1 {
        let row: usize = shape[1..].iter().product();
        let rows_per_chunk = (crate::par_piece(n) / row.max(1)).max(1);
        out.par_chunks_mut(rows_per_chunk * row).enumerate().for_each(|(c, chunk)| {
            let first = c * rows_per_chunk;
            let mut sub = shape.to_vec();
            sub[0] = chunk.len() / row.max(1);
            let offs: [usize; N] = std::array::from_fn(|j| offsets[j] + first * strides[j][0]);
            fill_seq(chunk, &sub, strides, offs, f);
        });
    } else {
        fill_seq(out, shape, strides, offsets, f);
    }
}

fn fill_seq<T, const N: usize>(
    out: &mut [T],
    shape: &[usize],
    strides: [&[usize]; N],
    offsets: [usize; N],
    f: &impl Fn([usize; N]) -> T,
) {
    if out.is_empty() {
        return;
    }
    let rank = shape.len();
    if rank == 0 {
        out[0] = f(offsets);
        return;
    }
    let inner = shape[rank - 1];
    let inner_strides: [usize; N] = std::array::from_fn(|j| strides[j][rank - 1]);
    let mut idx = vec![0usize; rank - 1];
    let mut base = offsets;
    for row in out.chunks_mut(inner.max(1)) {
        let mut o = base;
        for slot in row.iter_mut() {
            *slot = f(o);
            for j in 0..N {
                o[j] += inner_strides[j];
            }
        }
        // Advance the odometer over the outer axes.
        let mut ax = rank - 1;
        while ax > 0 {
            ax -= 1;
            idx[ax] += 1;
            for j in 0..N {
                base[j] += strides[j][ax];
            }
            if idx[ax] < shape[ax] {
                break;
            }
            for j in 0..N {
                base[j] -= strides[j][ax] * shape[ax];
            }
            idx[ax] = 0;
        }
    }
}

/// A new row-major buffer over `shape`, filled one innermost row at a time:
/// `row(out_row, start_offsets, inner_strides)`. Rows are independent, so large outputs split
/// across rayon's threads by rows.
pub(crate) fn fill_rows<T: Float, const N: usize>(
    shape: &[usize],
    strides: [&[usize]; N],
    offsets: [usize; N],
    row: &(impl Fn(&mut [T], [usize; N], [usize; N]) + Sync),
) -> Vec<T> {
    let n: usize = shape.iter().product();
    let mut out = alloc::<T>(n);
    if n == 0 {
        return out;
    }
    let rank = shape.len();
    if rank == 0 {
        row(&mut out, offsets, [0; N]);
        return out;
    }
    let inner = shape[rank - 1];
    let inner_strides: [usize; N] = std::array::from_fn(|j| strides[j][rank - 1]);
    let outer = &shape[..rank - 1];
    // Storage offsets of the start of row r, by unravelling r over the outer axes.
    let start = |mut r: usize| -> [usize; N] {
        let mut o = offsets;
        for ax in (0..outer.len()).rev() {
            let i = r % outer[ax];
            r /= outer[ax];
            for j in 0..N {
                o[j] += i * strides[j][ax];
            }
        }
        o
    };
    if n >= PAR_THRESHOLD {
        out.par_chunks_mut(inner)
            .enumerate()
            .with_min_len((crate::par_piece(n) / inner.max(1)).max(1))
            .for_each(|(r, chunk)| row(chunk, start(r), inner_strides));
    } else {
        for (r, chunk) in out.chunks_mut(inner).enumerate() {
            row(chunk, start(r), inner_strides);
        }
    }
    out
}

/// The elements of a layout in row-major order: borrowed when already contiguous.
pub(crate) fn gather<'a, T: Copy + Send + Sync>(data: &'a [T], layout: &Layout) -> Cow<'a, [T]> {
    let n = layout.numel();
    if layout.is_contiguous() {
        return Cow::Borrowed(&data[layout.offset()..layout.offset() + n]);
    }
    let mut out = Vec::with_capacity(n);
    autodiff::layout::for_each_offset(layout, |o| out.push(data[o]));
    Cow::Owned(out)
}

/// `data` as seen through `layout`, in a new row-major pooled buffer. Rows with unit or zero
/// inner stride (a contiguous slice, a broadcast bias) copy or fill instead of indexing.
pub(crate) fn materialize<T: Float>(data: &[T], layout: &Layout) -> Vec<T> {
    fill_rows(layout.shape(), [layout.strides()], [layout.offset()], &|row: &mut [T], [o], [s]| match s {
        0 => row.fill(data[o]),
        1 => row.copy_from_slice(&data[o..o + row.len()]),
        _ => row.iter_mut().enumerate().for_each(|(i, x)| *x = data[o + i * s]),
    })
}

/// Maps `f` over a contiguous slice into a pooled buffer, in parallel when it is large, each
/// piece at the CPU's vector width ([`crate::simd`]).
pub(crate) fn map<T: Float>(src: &[T], f: impl Fn(T) -> T + Sync + Send) -> Vec<T> {
    let mut out = alloc::<T>(src.len());
    if src.len() >= PAR_THRESHOLD {
        let chunk = crate::par_piece(src.len());
        out.par_chunks_mut(chunk).zip(src.par_chunks(chunk)).for_each(|(o, s)| {
            crate::simd::map_into(s, o, &f);
        });
    } else {
        crate::simd::map_into(src, &mut out, f);
    }
    out
}

/// Zips two contiguous slices through `f` into a pooled buffer, in parallel when large.
pub(crate) fn zip<T: Float>(a: &[T], b: &[T], f: impl Fn(T, T) -> T + Sync + Send) -> Vec<T> {
    let mut out = alloc::<T>(a.len());
    if a.len() >= PAR_THRESHOLD {
        let chunk = crate::par_piece(a.len());
        out.par_chunks_mut(chunk).zip(a.par_chunks(chunk)).zip(b.par_chunks(chunk)).for_each(|((o, a), b)| {
            crate::simd::zip_into(a, b, o, &f);
        });
    } else {
        crate::simd::zip_into(a, b, &mut out, f);
    }
    out
}
