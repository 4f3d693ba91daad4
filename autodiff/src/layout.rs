//! Shapes and strided layouts. Transpose, broadcast, narrow and unsqueeze change only the
//! layout, never the data; kernels read any layout, and `contiguous()` is the one visible copy.

use crate::error::{shape_err, Error, Result};

/// Row-major strides of a contiguous tensor of this shape.
pub fn contiguous_strides(shape: &[usize]) -> Vec<usize> {
    let mut strides = vec![0; shape.len()];
    let mut acc = 1;
    for (s, &d) in strides.iter_mut().zip(shape).rev() {
        *s = acc;
        acc *= d;
    }
    strides
}

pub fn numel(shape: &[usize]) -> usize {
    shape.iter().product()
}

/// The element count of a shape a user asked for, or an error when it does not fit a usize.
pub fn checked_numel(op: &'static str, shape: &[usize]) -> Result<usize> {
    shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| shape_err(op, format!("shape {shape:?} has more elements than fit in memory")))
}

/// NumPy broadcasting: align trailing axes; a size-1 axis stretches. The one place the
/// broadcast shape is computed (its inverse, un-broadcasting gradients, lives in `backprop`).
pub fn broadcast_shape(op: &'static str, a: &[usize], b: &[usize]) -> Result<Vec<usize>> {
    let rank = a.len().max(b.len());
    let mut out = vec![0; rank];
    for i in 0..rank {
        let da = if i < rank - a.len() { 1 } else { a[i - (rank - a.len())] };
        let db = if i < rank - b.len() { 1 } else { b[i - (rank - b.len())] };
        out[i] = match (da, db) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            _ => {
                return Err(shape_err(op, format!("shapes {a:?} and {b:?} do not broadcast (axis {i}: {da} vs {db})")))
            }
        };
    }
    Ok(out)
}

/// Resolves a possibly negative axis (-1 is the last) of a tensor of `shape`.
pub fn resolve_axis(op: &'static str, axis: isize, shape: &[usize]) -> Result<usize> {
    resolve_in(op, axis, shape, shape.len())
}

/// Resolves a position where a new axis goes (unsqueeze, stack): 0..=rank, -1 appends.
pub fn resolve_new_axis(op: &'static str, axis: isize, shape: &[usize]) -> Result<usize> {
    resolve_in(op, axis, shape, shape.len() + 1)
}

fn resolve_in(op: &'static str, axis: isize, shape: &[usize], rank: usize) -> Result<usize> {
    let r = rank as isize;
    let a = if axis < 0 { axis + r } else { axis };
    if a < 0 || a >= r {
        return Err(Error::Axis { op, axis, rank, shape: shape.to_vec() });
    }
    Ok(a as usize)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    shape: Vec<usize>,
    strides: Vec<usize>,
    offset: usize,
}

impl Layout {
    pub fn contiguous(shape: &[usize]) -> Self {
        Layout { strides: contiguous_strides(shape), shape: shape.to_vec(), offset: 0 }
    }

    pub fn new(shape: Vec<usize>, strides: Vec<usize>, offset: usize) -> Self {
        debug_assert_eq!(shape.len(), strides.len());
        Layout { shape, strides, offset }
    }

    pub fn shape(&self) -> &[usize] {
        &self.shape
    }
    pub fn strides(&self) -> &[usize] {
        &self.strides
    }
    pub fn offset(&self) -> usize {
        self.offset
    }
    pub fn rank(&self) -> usize {
        self.shape.len()
    }
    pub fn numel(&self) -> usize {
        numel(&self.shape)
    }

    /// True when elements sit in row-major order with no gaps, starting at `offset`.
    pub fn is_contiguous(&self) -> bool {
        let mut acc = 1;
        for (&d, &s) in self.shape.iter().zip(&self.strides).rev() {
            if d != 1 && s != acc {
                return false;
            }
            acc *= d;
        }
        true
    }

    /// One past the largest storage index this layout can touch (0 for an empty tensor).
    /// Kernels check it against the storage length before reading.
    pub fn max_index_bound(&self) -> usize {
        if self.numel() == 0 {
            return 0;
        }
        self.offset + self.shape.iter().zip(&self.strides).map(|(&d, &s)| (d - 1) * s).sum::<usize>() + 1
    }

    /// The layout seen through a permutation of axes.
    pub fn permute(&self, perm: &[usize]) -> Layout {
        Layout {
            shape: perm.iter().map(|&p| self.shape[p]).collect(),
            strides: perm.iter().map(|&p| self.strides[p]).collect(),
            offset: self.offset,
        }
    }

    /// Stretches size-1 (or missing leading) axes to `shape` with stride 0.
    pub fn broadcast_to(&self, op: &'static str, shape: &[usize]) -> Result<Layout> {
        if shape.len() < self.rank() {
            return Err(shape_err(op, format!("cannot broadcast {:?} to {shape:?}", self.shape)));
        }
        let lead = shape.len() - self.rank();
        let mut strides = vec![0; shape.len()];
        for (i, &d) in shape.iter().enumerate() {
            if i < lead {
                continue;
            }
            let (sd, ss) = (self.shape[i - lead], self.strides[i - lead]);
            strides[i] = if sd == d {
                ss
            } else if sd == 1 {
                0
            } else {
                return Err(shape_err(op, format!("cannot broadcast {:?} to {shape:?}", self.shape)));
            };
        }
        Ok(Layout { shape: shape.to_vec(), strides, offset: self.offset })
    }

    /// Restricts one axis to `start..start+len`.
    pub fn narrow(&self, axis: usize, start: usize, len: usize) -> Layout {
        let mut shape = self.shape.clone();
        shape[axis] = len;
        Layout { shape, strides: self.strides.clone(), offset: self.offset + start * self.strides[axis] }
    }

    /// A reshape without copying, when the strides allow it (always for contiguous layouts).
    pub fn reshape_view(&self, shape: &[usize]) -> Option<Layout> {
        if self.is_contiguous() {
            return Some(Layout { shape: shape.to_vec(), strides: contiguous_strides(shape), offset: self.offset });
        }
        // Inserting or removing size-1 axes keeps any layout valid.
        let squeeze = |s: &[usize], st: &[usize]| -> Vec<(usize, usize)> {
            s.iter().zip(st).filter(|(&d, _)| d != 1).map(|(&d, &s)| (d, s)).collect()
        };
        let kept = squeeze(&self.shape, &self.strides);
        let new_non1: Vec<usize> = shape.iter().copied().filter(|&d| d != 1).collect();
        if kept.iter().map(|p| p.0).collect::<Vec<_>>() != new_non1 {
            return None;
        }
        let mut it = kept.iter();
        let strides = shape.iter().map(|&d| if d == 1 { 0 } else { it.next().map(|p| p.1).unwrap_or(0) }).collect();
        Some(Layout { shape: shape.to_vec(), strides, offset: self.offset })
    }
}

/// Visits the storage index of every element of `layout` in row-major logical order.
/// The innermost axis runs as a tight loop, which is what keeps strided kernels fast.
pub fn for_each_offset(layout: &Layout, mut f: impl FnMut(usize)) {
    let rank = layout.rank();
    if layout.numel() == 0 {
        return;
    }
    if rank == 0 {
        f(layout.offset);
        return;
    }
    let shape = layout.shape();
    let strides = layout.strides();
    let (inner_len, inner_stride) = (shape[rank - 1], strides[rank - 1]);
    let mut idx = vec![0usize; rank.saturating_sub(1)];
    let mut base = layout.offset;
    loop {
        let mut o = base;
        for _ in 0..inner_len {
            f(o);
            o += inner_stride;
        }
        // Odometer over the outer axes.
        let mut ax = rank - 1;
        loop {
            if ax == 0 {
                return;
            }
            ax -= 1;
            idx[ax] += 1;
            base += strides[ax];
            if idx[ax] < shape[ax] {
                break;
            }
            base -= strides[ax] * shape[ax];
            idx[ax] = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcast_shapes() {
        assert_eq!(broadcast_shape("t", &[3, 1], &[1, 4]).unwrap(), vec![3, 4]);
        assert_eq!(broadcast_shape("t", &[], &[2, 3]).unwrap(), vec![2, 3]);
        assert!(broadcast_shape("t", &[3], &[4]).is_err());
    }

    #[test]
    fn offsets_of_a_transpose() {
        let l = Layout::contiguous(&[2, 3]).permute(&[1, 0]);
        let mut v = vec![];
        for_each_offset(&l, |o| v.push(o));
        assert_eq!(v, vec![0, 3, 1, 4, 2, 5]);
        assert!(!l.is_contiguous());
    }

    #[test]
    fn reshape_view_of_a_strided_layout() {
        let l = Layout::contiguous(&[4, 3]).narrow(1, 1, 1); // shape [4,1], strides [3,1]
        let r = l.reshape_view(&[4]).unwrap();
        let mut v = vec![];
        for_each_offset(&r, |o| v.push(o));
        assert_eq!(v, vec![1, 4, 7, 10]);
        assert!(Layout::contiguous(&[4, 3]).permute(&[1, 0]).reshape_view(&[12]).is_none());
    }
}
