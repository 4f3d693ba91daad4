//! Every op, its forward next to its backward rule. Gradients returned by a rule may have the
//! broadcast output shape; `backprop` sums them down, so no rule handles broadcasting itself.

mod cast;
mod custom;
mod dense;
mod elementwise;
mod matmul;
mod random;
mod reduce;
mod shape;

pub use random::Rng;
pub use shape::IntoShape;
