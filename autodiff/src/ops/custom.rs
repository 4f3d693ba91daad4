//! User-defined ops: a value computed any way you like, plus the backward rule you claim for it.
//! The gradient checker then tells you whether the claim is true.

use crate::error::{shape_err, Result};
use crate::tensor::Tensor;

impl Tensor {
    /// Records `value` as the output of a custom op of `inputs`. `backward(inputs, out, g)`
    /// returns one gradient per input (shape of the input, or broadcastable to it).
    pub fn custom_op(
        op: &'static str,
        value: &Tensor,
        inputs: &[&Tensor],
        backward: impl Fn(&[Tensor], &Tensor, &Tensor) -> Result<Vec<Tensor>> + Send + Sync + 'static,
    ) -> Result<Tensor> {
        let value = value.detach();
        let ins: Vec<Tensor> = inputs.iter().map(|&t| t.clone()).collect();
        let n = ins.len();
        let like = inputs.first().copied().unwrap_or(&value);
        let out = Tensor::from_op(op, value.storage().clone(), value.layout().clone(), like, inputs, move |y, g, _| {
            let grads = backward(&ins, y, g)?;
            if grads.len() != n {
                return Err(shape_err(op, format!("backward returned {} gradients for {n} inputs", grads.len())));
            }
            Ok(grads.into_iter().map(Some).collect())
        });
        Ok(out)
    }
}
