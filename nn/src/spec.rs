//! The plain-data description of a network, stored in checkpoints so that a checkpoint rebuilds
//! its model: the MLP's widths and functions ([`MlpSpec`]), the kind of layers
//! ([`ModelKind`], with the variational layers' [`VariationalConfig`]) and what the outputs mean
//! ([`Head`]), together a [`ModelSpec`].
//!
//! These types hold, check and describe; building a network from them is the layers' business
//! (`ModelSpec::build` in `model.rs`, `MlpSpec::build` in `mlp.rs`). Keeping them apart lets
//! the layers, the module trait and the checkpoint code name a description without depending on
//! every layer that can be built from one.

use crate::activation::Activation;
use crate::init::Init;
use autodiff::{Error, Result};
use serde::{Deserialize, Serialize};

/// The layer widths and functions of an MLP. Which kind of layer it is built from (plain,
/// variational, an ensemble) and what its outputs mean are the [`ModelSpec`]'s business.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MlpSpec {
    pub inputs: usize,
    pub hidden: Vec<usize>,
    pub outputs: usize,
    pub activation: Activation,
    /// Applied to the output layer (Identity for a regression head).
    pub output_activation: Activation,
    /// How weights (the means, for variational layers) and biases start.
    pub init: Init,
    /// Dropout after every hidden activation, in training only.
    pub dropout: f64,
}

impl MlpSpec {
    pub fn new(inputs: usize, hidden: &[usize], outputs: usize) -> Self {
        MlpSpec {
            inputs,
            hidden: hidden.to_vec(),
            outputs,
            activation: Activation::Relu,
            output_activation: Activation::Identity,
            init: Init::KaimingUniform,
            dropout: 0.0,
        }
    }
    pub fn activation(mut self, a: Activation) -> Self {
        self.activation = a;
        self
    }
    pub fn output_activation(mut self, a: Activation) -> Self {
        self.output_activation = a;
        self
    }
    pub fn init(mut self, init: Init) -> Self {
        self.init = init;
        self
    }
    pub fn dropout(mut self, p: f64) -> Self {
        self.dropout = p;
        self
    }

    /// inputs, hidden..., outputs.
    pub fn widths(&self) -> Vec<usize> {
        std::iter::once(self.inputs).chain(self.hidden.iter().copied()).chain([self.outputs]).collect()
    }

    pub fn validate(&self) -> Result<()> {
        if self.inputs == 0 || self.outputs == 0 || self.hidden.contains(&0) {
            return Err(Error::Invalid {
                op: "MlpSpec",
                msg: format!("layer widths must be positive: {:?}", self.widths()),
            });
        }
        for (which, a) in [("activation", self.activation), ("output_activation", self.output_activation)] {
            a.validate().map_err(|e| Error::Invalid { op: "MlpSpec", msg: format!("{which} {a:?}: {e}") })?;
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(Error::Invalid {
                op: "MlpSpec",
                msg: format!("dropout probability {} is not in [0, 1)", self.dropout),
            });
        }
        Ok(())
    }
}

/// How a training forward pass turns the weight distribution into outputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Estimator {
    /// One weight draw W = mu + sigma * xi per batch, shared by all samples in it.
    Reparameterization,
    /// Kingma et al. 2015: sample the pre-activations, mean x mu + b and variance
    /// x^2 sigma^2 + 1e-8, independently per sample. Lower variance, one extra matmul.
    /// The training default.
    LocalReparameterization,
    /// Wen et al. 2018: one perturbation dW per batch, decorrelated across samples by random
    /// signs: x mu + ((x * s_in) dW) * s_out.
    Flipout,
}

/// Settings shared by the variational layers of a network.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct VariationalConfig {
    /// Prior width sigma_p (the papers use 1).
    pub prior_sigma: f64,
    pub estimator: Estimator,
    /// log sigma^2 is clamped to this range in the forward pass and the KL (the calibration
    /// code uses [-20, 11], the generator-weights code [-11, 11]).
    pub logsig2_range: (f64, f64),
    /// Initial log sigma^2 ~ N(logsig2_init, 0.001^2): -9 starts the network nearly deterministic.
    pub logsig2_init: f64,
}

impl VariationalConfig {
    pub fn validate(&self) -> Result<()> {
        let (lo, hi) = self.logsig2_range;
        let ok = self.prior_sigma > 0.0 && self.prior_sigma.is_finite() && lo < hi && self.logsig2_init.is_finite();
        if !ok {
            return Err(Error::Invalid { op: "VariationalConfig", msg: format!("bad configuration {self:?}") });
        }
        Ok(())
    }
}

impl Default for VariationalConfig {
    fn default() -> Self {
        VariationalConfig {
            prior_sigma: 1.0,
            estimator: Estimator::LocalReparameterization,
            logsig2_range: (-20.0, 11.0),
            logsig2_init: -9.0,
        }
    }
}

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
    /// An invertible network (normalizing flow) on `mlp.inputs` dimensions whose coupling
    /// subnetworks are MLPs with `mlp.hidden` and `mlp.activation` (see `crate::flow`).
    Flow(FlowConfig),
}

/// How a coupling block transforms the half of the coordinates it does not condition on.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Coupling {
    /// x -> x e^s + t with the log-scale softly clamped, s = clamp tanh(s_raw / clamp), so that
    /// no block can scale a coordinate by more than e^clamp (RealNVP, Glow).
    Affine { clamp: f64 },
    /// A monotone rational-quadratic spline with `bins` bins on [-bound, bound] and the
    /// identity outside (Durkan et al. 2019).
    Spline { bins: usize, bound: f64 },
}

impl Coupling {
    /// Subnetwork outputs per transformed coordinate: (s, t), or K widths, K heights and the
    /// K - 1 interior derivatives.
    pub fn params_per_dim(self) -> usize {
        match self {
            Coupling::Affine { .. } => 2,
            Coupling::Spline { bins, .. } => 3 * bins - 1,
        }
    }
}

/// How a flow's block mixes the coordinates before its coupling, so that every coordinate is
/// transformed and conditioned on in turn.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mixing {
    /// A fixed random permutation of the coordinates.
    #[default]
    Permutation,
    /// A fixed random rotation (an orthogonal matrix, |det| = 1): each coupling then conditions
    /// on mixtures of all coordinates rather than on a subset of them.
    Rotation,
}

/// The blocks of a flow: each mixes its input with a fixed permutation or rotation drawn from
/// `permutation_seed`, then applies a coupling.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FlowConfig {
    pub blocks: usize,
    pub coupling: Coupling,
    /// Seeds the fixed permutations or rotations (part of the description, so a checkpoint
    /// rebuilds them; the name predates rotations and stays so that old checkpoints load).
    pub permutation_seed: u64,
    /// Variational coupling subnetworks (a Bayesian INN) when set, plain MLPs otherwise.
    pub variational: Option<VariationalConfig>,
    /// Permutations (the default, and what a checkpoint written before rotations holds) or
    /// rotations between blocks.
    #[serde(default)]
    pub mixing: Mixing,
}

impl FlowConfig {
    pub fn validate(&self, dims: usize) -> Result<()> {
        let bad = |msg: String| Err(Error::Invalid { op: "FlowConfig", msg });
        if self.blocks == 0 || dims < 2 {
            return bad(format!("a flow needs at least one block and two dimensions, got {self:?} on {dims}"));
        }
        match self.coupling {
            Coupling::Affine { clamp } if !(clamp > 0.0 && clamp.is_finite()) => {
                return bad(format!("the affine clamp must be positive and finite, got {clamp}"))
            }
            Coupling::Spline { bins, bound } if !((2..=64).contains(&bins) && bound > 0.0 && bound.is_finite()) => {
                return bad(format!("a spline needs 2 to 64 bins and a positive bound, got {bins} bins on ±{bound}"))
            }
            _ => {}
        }
        self.variational.map_or(Ok(()), |c| c.validate())
    }
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
    /// One column, the normalised log-density ln p(x) of a flow.
    Density,
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
            // A flow's MLP widths describe its coordinates, not its single output.
            Head::Point | Head::Density => None,
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
            ModelKind::Flow(flow) => self.validate_flow(&flow),
        }
    }

    fn validate_flow(&self, flow: &FlowConfig) -> Result<()> {
        flow.validate(self.mlp.inputs)?;
        let fits = self.head == Head::Density
            && self.mlp.outputs == self.mlp.inputs
            && self.mlp.output_activation == Activation::Identity;
        if !fits {
            return Err(Error::Invalid {
                op: "ModelSpec",
                msg: format!(
                    "a flow maps {} coordinates to as many, with an identity output and a Density head; got {} \
                     outputs, {:?}, a {:?} head",
                    self.mlp.inputs, self.mlp.outputs, self.mlp.output_activation, self.head
                ),
            });
        }
        Ok(())
    }

    /// A lower bound of the number of values the network's parameters hold (one weight per
    /// connection): what a checkpoint must at least store before its description is believed.
    pub fn min_parameter_values(&self) -> Option<u128> {
        let per_net = |widths: &[usize]| {
            widths.windows(2).try_fold(0u128, |sum, w| sum.checked_add((w[0] as u128).checked_mul(w[1] as u128)?))
        };
        match self.kind {
            ModelKind::Flow(flow) => {
                let (d, hidden) = (self.mlp.inputs, &self.mlp.hidden);
                let conditioned = d / 2;
                let outputs = (d - conditioned).checked_mul(flow.coupling.params_per_dim())?;
                let widths: Vec<usize> =
                    std::iter::once(conditioned).chain(hidden.iter().copied()).chain([outputs]).collect();
                per_net(&widths)?.checked_mul(flow.blocks as u128)
            }
            ModelKind::Ensemble { members } => per_net(&self.mlp.widths())?.checked_mul(members as u128),
            _ => per_net(&self.mlp.widths()),
        }
    }
    /// One line for logs and reports, e.g. `variational MLP 15-64-64-64-2 (Tanh), Gaussian head`.
    pub fn describe(&self) -> String {
        let widths: Vec<String> = self.mlp.widths().iter().map(|w| w.to_string()).collect();
        let kind = match self.kind {
            ModelKind::Deterministic => "MLP".to_string(),
            ModelKind::Variational(c) => format!("variational MLP ({:?})", c.estimator),
            ModelKind::Ensemble { members } => format!("{members}-member ensemble of MLPs"),
            ModelKind::Flow(f) => {
                let coupling = match f.coupling {
                    Coupling::Affine { clamp } => format!("affine (clamp {clamp})"),
                    Coupling::Spline { bins, bound } => format!("spline ({bins} bins on ±{bound})"),
                };
                let bayes = if f.variational.is_some() { "Bayesian " } else { "" };
                let mixing = match f.mixing {
                    Mixing::Permutation => "",
                    Mixing::Rotation => " between rotations",
                };
                format!("{bayes}flow of {} {coupling} coupling blocks{mixing}, subnetworks", f.blocks)
            }
        };
        format!("{kind} {} ({:?}), {:?} head", widths.join("-"), self.mlp.activation, self.head)
    }
}
