//! Matrix products over the last two axes, with NumPy-broadcast batch axes.

use crate::error::{shape_err, Result};
use crate::layout::{broadcast_shape, Layout};
use crate::ops::elementwise::when;
use crate::tensor::Tensor;

impl Tensor {
    /// `[.., m, k] @ [.., k, n] -> [.., m, n]`. Transposed operands (from `t()`) are read
    /// through their strides: no copy.
    pub fn matmul(&self, rhs: &Tensor) -> Result<Tensor> {
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
            if let Some(_view) = self.layout().reshape_view(&[rows, k]) {
                let mut out_shape = self.shape().to_vec();
                out_shape[ra - 1] = n;
                return self.reshape(&[rows, k])?.matmul(rhs)?.reshape(&out_shape);
            }
        }
        let batch = broadcast_shape("matmul", &self.shape()[..ra - 2], &rhs.shape()[..rb - 2]).map_err(|_| {
            shape_err("matmul", format!("batch axes of {:?} and {:?} do not broadcast", self.shape(), rhs.shape()))
        })?;
        let with = |b: &[usize], x: usize, y: usize| [b, &[x, y]].concat();
        let la = self.layout().broadcast_to("matmul", &with(&batch, m, k))?;
        let lb = rhs.layout().broadcast_to("matmul", &with(&batch, k, n))?;
        let storage = self.device().backend().matmul(self.storage(), &la, rhs.storage(), &lb)?;
        let (a, b) = (self.clone(), rhs.clone());
        // dA = G B^T, dB = A^T G; broadcast batch axes are summed by backprop.
        Ok(Tensor::from_op(
            "matmul",
            storage,
            Layout::contiguous(&with(&batch, m, n)),
            self,
            &[self, rhs],
            move |_, g, need| Ok(vec![when(need[0], || g.matmul(&b.t()?))?, when(need[1], || a.t()?.matmul(g))?]),
        ))
    }
}
