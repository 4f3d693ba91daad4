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
        self.same_device_dtype("matmul", rhs)?;
        let (ra, rb) = (self.rank(), rhs.rank());
        if ra < 2 || rb < 2 {
            return Err(shape_err(
                "matmul",
                format!("operands need at least 2 axes, got {:?} and {:?}", self.shape(), rhs.shape()),
            ));
        }
        let (m, k) = (self.shape()[ra - 2], self.shape()[ra - 1]);
        let (k2, n) = (rhs.shape()[rb - 2], rhs.shape()[rb - 1]);
        if k != k2 {
            return Err(shape_err(
                "matmul",
                format!("inner sizes differ: {:?} @ {:?} ({k} vs {k2})", self.shape(), rhs.shape()),
            ));
        }
        // A stack of matrices times one matrix is one tall product: fold the batch into m.
        if ra > 2 && rb == 2 {
            // (Not numel / k: with k = 0 that would lose the batch.)
            let rows: usize = self.shape()[..ra - 1].iter().product();
            // A bias that varies along the batch axes would not fold; it takes the batched path.
            let bias_folds = bias.is_none_or(|c| c.rank() <= 1 || c.shape()[..c.rank() - 1].iter().all(|&d| d == 1));
            if let (Some(_view), true) = (self.layout().reshape_view(&[rows, k]), bias_folds) {
                let mut out_shape = self.shape().to_vec();
                out_shape[ra - 1] = n;
                let bias = bias.map(|c| c.reshape(&[c.shape().last().copied().unwrap_or(1)])).transpose()?;
                return self.reshape(&[rows, k])?.product(rhs, bias.as_ref())?.reshape(&out_shape);
            }
        }
        let batch = broadcast_shape("matmul", &self.shape()[..ra - 2], &rhs.shape()[..rb - 2]).map_err(|_| {
            shape_err("matmul", format!("batch axes of {:?} and {:?} do not broadcast", self.shape(), rhs.shape()))
        })?;
        let with = |b: &[usize], x: usize, y: usize| [b, &[x, y]].concat();
        let la = self.layout().broadcast_to("matmul", &with(&batch, m, k))?;
        let lb = rhs.layout().broadcast_to("matmul", &with(&batch, k, n))?;
        let out_shape = with(&batch, m, n);
        let backend = self.device().backend();
        let (storage, inputs) = match bias {
            None => (backend.matmul(self.storage(), &la, rhs.storage(), &lb)?, vec![self, rhs]),
            Some(c) => {
                let lc = c.layout().broadcast_to("matmul_add", &out_shape).map_err(|_| {
                    shape_err("matmul_add", format!("bias {:?} does not broadcast to {:?}", c.shape(), out_shape))
                })?;
                (backend.matmul_add(self.storage(), &la, rhs.storage(), &lb, c.storage(), &lc)?, vec![self, rhs, c])
            }
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
