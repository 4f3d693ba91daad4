use crate::dtype::DType;
use crate::error::Result;
use crate::layout::Layout;
use crate::tensor::Tensor;

impl Tensor {
    /// Converts to another dtype; the gradient is converted back.
    pub fn to_dtype(&self, dtype: DType) -> Result<Tensor> {
        if dtype == self.dtype() {
            return Ok(self.clone());
        }
        let storage = self.device().backend().cast(self.storage(), self.layout(), dtype)?;
        let back = self.dtype();
        Ok(Tensor::from_op("to_dtype", storage, Layout::contiguous(self.shape()), self, &[self], move |_, g, _| {
            Ok(vec![Some(g.to_dtype(back)?)])
        }))
    }
}
