//! Matrix products over the last two axes, with NumPy-broadcast batch axes.

use crate::error::{shape_err, Result};
use crate::layout::{broadcast_shape, Layout};
use crate::ops::elementwise::when;
use crate::tensor::Tensor;

impl Tensor {
    /// `[.., m, k] @ [.., k, n] -> [.., m, n]`. Transposed operands (from `t()`) are read
    /// through their strides: no copy. One-dimensional operands follow NumPy: a vector on the
    /// left is a row `[1, k]`, on the right a column `[k, 1]`, and the added axis is removed
    /// again, so vector @ vector is the dot product (a scalar).
    pub fn matmul(&self, rhs: &Tensor) -> Result<Tensor> {
        let (ra, rb) = (self.rank(), rhs.rank());
        if (ra == 1 || rb == 1) && ra > 0 && rb > 0 {
            let k = self.shape()[ra - 1];
            let k2 = if rb == 1 { rhs.shape()[0] } else { rhs.shape()[rb - 2] };
            if k != k2 {
                return Err(shape_err(
                    "matmul",
                    format!("inner sizes differ: {:?} @ {:?} ({k} vs {k2})", self.shape(), rhs.shape()),
                ));
            }
        }
        match (ra, rb) {
            (1, 1) => self.unsqueeze(0)?.product(&rhs.unsqueeze(1)?, None)?.reshape(&[0usize; 0]),
            (1, _) => self.unsqueeze(0)?.product(rhs, None)?.squeeze(-2),
            (_, 1) => self.product(&rhs.unsqueeze(1)?, None)?.squeeze(-1),
            _ => self.product(rhs, None),
        }
    }

    /// `self @ rhs + bias`, the bias broadcast to the product's shape: a layer's pre-activation
    /// in one op. The CPU backend starts the product from the bias (beta = 1) instead of adding
    /// it in a second pass, and the graph keeps one tensor per layer instead of two.
    pub fn matmul_add(&self, rhs: &Tensor, bias: &Tensor) -> Result<Tensor> {
        self.same_device_dtype("matmul_add", bias)?;
        self.product(rhs, Some(bias))
    }

    fn product(&self, rhs: &Tensor, bias: Option<&Tensor>) -> Result<Tensor> {
        if let Some(fold) = Folded::of(self, rhs, bias)? {
            return self.reshape(&[fold.rows, fold.k])?.product(rhs, fold.bias.as_ref())?.reshape(&fold.out_shape);
        }
        let p = ProductLayouts::of("matmul", self, rhs, bias)?;
        let out_shape = p.out_shape;
        let backend = self.device().backend();
        let (storage, inputs) = match (bias, &p.lc) {
            (Some(c), Some(lc)) => {
                (backend.matmul_add(self.storage(), &p.la, rhs.storage(), &p.lb, c.storage(), lc)?, vec![self, rhs, c])
            }
            _ => (backend.matmul(self.storage(), &p.la, rhs.storage(), &p.lb)?, vec![self, rhs]),
        };
        let (a, b) = (self.clone(), rhs.clone());
        // dA = G B^T, dB = A^T G, dbias = G; broadcast axes (of the batch, of the bias) are
        // summed by backprop.
        Ok(Tensor::from_op(
            if bias.is_some() { "matmul_add" } else { "matmul" },
            storage,
            Layout::contiguous(&out_shape),
            self,
            &inputs,
            move |_, g, need| {
                let mut grads = vec![when(need[0], || g.matmul(&b.t()?))?, when(need[1], || a.t()?.matmul(g))?];
                if need.len() > 2 {
                    grads.push(need[2].then(|| g.clone()));
                }
                Ok(grads)
            },
        ))
    }
}

/// A stack of matrices times one matrix, as one tall product: [.., m, k] viewed as [rows, k].
pub(super) struct Folded {
    pub rows: usize,
    pub k: usize,
    pub out_shape: Vec<usize>,
    /// The bias as a row [n], when there is one.
    pub bias: Option<Tensor>,
}

impl Folded {
    /// Some when `a @ b (+ bias)` folds into one 2-D product without a copy.
    pub fn of(a: &Tensor, b: &Tensor, bias: Option<&Tensor>) -> Result<Option<Folded>> {
        let (ra, rb) = (a.rank(), b.rank());
        if ra <= 2 || rb != 2 {
            return Ok(None);
        }
        let k = a.shape()[ra - 1];
        // (Not numel / k: with k = 0 that would lose the batch.)
        let rows: usize = a.shape()[..ra - 1].iter().product();
        // A bias that varies along the batch axes would not fold; it takes the batched path.
        let bias_folds = bias.is_none_or(|c| c.rank() <= 1 || c.shape()[..c.rank() - 1].iter().all(|&d| d == 1));
        if a.layout().reshape_view(&[rows, k]).is_none() || !bias_folds || b.shape()[0] != k {
            return Ok(None);
        }
        let mut out_shape = a.shape().to_vec();
        out_shape[ra - 1] = b.shape()[1];
        let bias = bias.map(|c| c.reshape(&[c.shape().last().copied().unwrap_or(1)])).transpose()?;
        Ok(Some(Folded { rows, k, out_shape, bias }))
    }
}

/// The operands' layouts broadcast to one batch shape, the bias's to the output, and the
/// output's shape, after the shape checks every product makes.
pub(super) struct ProductLayouts {
    pub la: Layout,
    pub lb: Layout,
    pub lc: Option<Layout>,
    pub out_shape: Vec<usize>,
}

impl ProductLayouts {
    pub fn of(op: &'static str, a: &Tensor, b: &Tensor, bias: Option<&Tensor>) -> Result<ProductLayouts> {
        a.same_device_dtype(op, b)?;
        if let Some(c) = bias {
            a.same_device_dtype(op, c)?;
        }
        let (ra, rb) = (a.rank(), b.rank());
        if ra < 2 || rb < 2 {
            return Err(shape_err(
                op,
                format!("operands need at least 2 axes, got {:?} and {:?}", a.shape(), b.shape()),
            ));
        }
        let (m, k) = (a.shape()[ra - 2], a.shape()[ra - 1]);
        let (k2, n) = (b.shape()[rb - 2], b.shape()[rb - 1]);
        if k != k2 {
            return Err(shape_err(op, format!("inner sizes differ: {:?} @ {:?} ({k} vs {k2})", a.shape(), b.shape())));
        }
        let batch = broadcast_shape(op, &a.shape()[..ra - 2], &b.shape()[..rb - 2]).map_err(|_| {
            shape_err(op, format!("batch axes of {:?} and {:?} do not broadcast", a.shape(), b.shape()))
        })?;
        let with = |bs: &[usize], x: usize, y: usize| [bs, &[x, y]].concat();
        let la = a.layout().broadcast_to(op, &with(&batch, m, k))?;
        let lb = b.layout().broadcast_to(op, &with(&batch, k, n))?;
        let out_shape = with(&batch, m, n);
        let lc = bias
            .map(|c| {
                c.layout()
                    .broadcast_to(op, &out_shape)
                    .map_err(|_| shape_err(op, format!("bias {:?} does not broadcast to {:?}", c.shape(), out_shape)))
            })
            .transpose()?;
        Ok(ProductLayouts { la, lb, lc, out_shape })
    }
}
