//! sigmagrad's autodiff core: a reverse-mode tensor library whose gradients you can check.
//!
//! - [`Tensor`]: an n-dimensional array of f32 or f64 on a run-time [`Device`];
//! - ops record a graph when an input takes part in one; [`Tensor::backward`] walks it back;
//! - [`Backend`]: the trait a device implements (storage and kernels, never the graph);
//! - [`check`]: finite-difference gradient checking, for your own functions too.
//!
//! ```ignore
//! let x = Tensor::from_vec(vec![1.0f64, 2.0], &[2], &dev)?.requires_grad();
//! let y = x.square()?.sum_all()?;          // y = x1^2 + x2^2
//! let g = y.backward()?;                    // dy/dx = 2x
//! assert_eq!(g.get(&x).unwrap().to_vec::<f64>()?, vec![2.0, 4.0]);
//! ```

pub mod activation;
pub mod backend;
mod backprop;
pub mod check;
mod device;
mod dtype;
mod error;
mod grad_mode;
pub mod layout;
mod ops;
pub mod rng;
pub mod skip;
mod tensor;
#[cfg(feature = "testing")]
pub mod testing;
mod var;

pub use activation::{ActivationFn, DenseActivation, Saved};
pub use backend::{AdamParams, Backend, BackendStorage, BinaryOp, Distribution, ReduceOp, Storage, UnaryOp};
pub use backprop::{sum_to_shape, Gradients};
pub use device::Device;
pub use dtype::{DType, Element, HostData};
pub use error::{Error, Result};
pub use grad_mode::{is_grad_enabled, no_grad, NoGradGuard};
pub use layout::Layout;
pub use ops::{IntoShape, Rng};
pub use skip::skip;
pub use tensor::{Tensor, TensorId};
pub use var::{StateBuffer, Var};
