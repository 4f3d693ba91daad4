//! One structured description for every network the studies train, stored in checkpoints so
//! that a checkpoint rebuilds its model: which layers (plain, variational, an ensemble), their
//! widths and functions, and what the outputs mean.

use crate::ensemble::EnsembleLinear;
use crate::linear::Linear;
use crate::mlp::MlpSpec;
use crate::module::Module;
use crate::stack::Stack;
use crate::variational::{VariationalConfig, VariationalLinear};
use autodiff::{DType, Device, Error, Result};
use serde::{Deserialize, Serialize};

/// What kind of layers the network is made of.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelKind {
    /// Plain dense layers: one network.
    Deterministic,
    /// Mean-field Gaussian weights (a Bayesian network): predictions come from weight draws.
    Variational(VariationalConfig),
    /// `members` networks of the same shape, trained as one batched computation.
    Ensemble { members: usize },
}

/// What the outputs mean, which decides how predictions are summarised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Head {
    /// Two outputs, (mean, log variance): a heteroscedastic Gaussian.
    Gaussian,
    /// Point predictions (any number of outputs).
    Point,
    /// One logit of a binary classifier.
    Logit,
}

impl Head {
    /// Two outputs are a Gaussian head, anything else point predictions.
    pub fn infer(outputs: usize) -> Head {
        if outputs == 2 {
            Head::Gaussian
        } else {
            Head::Point
        }
    }

    /// The number of outputs the head needs, when it fixes one.
    pub fn outputs(self) -> Option<usize> {
        match self {
            Head::Gaussian => Some(2),
            Head::Logit => Some(1),
            Head::Point => None,
        }
    }
}

/// Everything that defines a network: build it with [`ModelSpec::build`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelSpec {
    pub mlp: MlpSpec,
    pub kind: ModelKind,
    pub head: Head,
}

impl ModelSpec {
    pub fn new(mlp: MlpSpec, kind: ModelKind, head: Head) -> Self {
        ModelSpec { mlp, kind, head }
    }

    pub fn deterministic(mlp: MlpSpec, head: Head) -> Self {
        ModelSpec::new(mlp, ModelKind::Deterministic, head)
    }

    pub fn variational(mlp: MlpSpec, config: VariationalConfig, head: Head) -> Self {
        ModelSpec::new(mlp, ModelKind::Variational(config), head)
    }

    pub fn ensemble(mlp: MlpSpec, members: usize, head: Head) -> Self {
        ModelSpec::new(mlp, ModelKind::Ensemble { members }, head)
    }

    /// Checks the description as a whole: positive widths, a head that fits the outputs, a
    /// valid variational configuration, at least one member.
    pub fn validate(&self) -> Result<()> {
        self.mlp.validate()?;
        if let Some(n) = self.head.outputs() {
            if n != self.mlp.outputs {
                return Err(Error::Invalid {
                    op: "ModelSpec",
                    msg: format!("a {:?} head needs {n} outputs, the network has {}", self.head, self.mlp.outputs),
                });
            }
        }
        match self.kind {
            ModelKind::Deterministic => Ok(()),
            ModelKind::Variational(cfg) => cfg.validate(),
            ModelKind::Ensemble { members: 0 } => {
                Err(Error::Invalid { op: "ModelSpec", msg: "an ensemble needs at least one member".into() })
            }
            ModelKind::Ensemble { .. } => Ok(()),
        }
    }

    /// Builds the network with initial weights and noise seeded by `seed`.
    pub fn build(&self, dtype: DType, dev: &Device, seed: u64) -> Result<Box<dyn Module>> {
        Ok(match self.kind {
            ModelKind::Deterministic => Box::new(Stack::<Linear>::new(self, dtype, dev, seed)?),
            ModelKind::Variational(_) => Box::new(Stack::<VariationalLinear>::new(self, dtype, dev, seed)?),
            ModelKind::Ensemble { .. } => Box::new(Stack::<EnsembleLinear>::new(self, dtype, dev, seed)?),
        })
    }

    /// One line for logs and reports, e.g. `variational MLP 15-64-64-64-2 (Tanh), Gaussian head`.
    pub fn describe(&self) -> String {
        let widths: Vec<String> = self.mlp.widths().iter().map(|w| w.to_string()).collect();
        let kind = match self.kind {
            ModelKind::Deterministic => "MLP".to_string(),
            ModelKind::Variational(c) => format!("variational MLP ({:?})", c.estimator),
            ModelKind::Ensemble { members } => format!("{members}-member ensemble of MLPs"),
        };
        format!("{kind} {} ({:?}), {:?} head", widths.join("-"), self.mlp.activation, self.head)
    }
}
