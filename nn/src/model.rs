//! Building a network from its description: [`ModelSpec::build`] picks the layer type the
//! [`ModelKind`] names. The description itself lives in `spec.rs`, which every layer can name
//! without depending on the others.

use crate::ensemble::EnsembleLinear;
use crate::flow::Flow;
use crate::linear::Linear;
use crate::module::Module;
use crate::stack::Stack;
use crate::variational::VariationalLinear;
use autodiff::{DType, Device, Result};

pub use crate::spec::{Head, ModelKind, ModelSpec};

impl ModelSpec {
    /// Builds the network with initial weights and noise seeded by `seed`.
    pub fn build(&self, dtype: DType, dev: &Device, seed: u64) -> Result<Box<dyn Module>> {
        Ok(match self.kind {
            ModelKind::Deterministic => Box::new(Stack::<Linear>::new(self, dtype, dev, seed)?),
            ModelKind::Variational(_) => Box::new(Stack::<VariationalLinear>::new(self, dtype, dev, seed)?),
            ModelKind::Ensemble { .. } => Box::new(Stack::<EnsembleLinear>::new(self, dtype, dev, seed)?),
            ModelKind::Flow(_) => Box::new(Flow::new(self, dtype, dev, seed)?),
        })
    }
}
