//! The classifier's configuration: what network, how balanced, how long, and which fractions of
//! each sample are held out. Serialised into metrics.json and the model's metadata, so a stored
//! configuration names everything its weights depend on.

use crate::error::{invalid, Result};
use nn::{Activation, Head, MlpSpec, ModelSpec, VariationalConfig};
use serde::{Deserialize, Serialize};

/// How the two classes are balanced in training.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Balance {
    /// Each batch holds as many truth as generated events (the paper's zipped loaders); an epoch
    /// is min(N_truth, N_gen)/batch steps. ln w = logit.
    #[default]
    Batches,
    /// All events of both samples pooled and shuffled; ln w = logit + ln(N_gen/N_truth).
    Pooled,
}

/// What to train and how (fields missing from a stored configuration take their defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ClassifierConfig {
    /// Ensemble members (ignored with `bayesian`, whose members are weight draws).
    pub members: usize,
    /// One variational network instead of an ensemble.
    pub bayesian: bool,
    /// Weight draws of the variational network.
    pub draws: usize,
    pub hidden: Vec<usize>,
    pub activation: Activation,
    /// Dropout after each hidden activation (the paper's event classifier uses 0.1).
    pub dropout: f64,
    pub epochs: usize,
    pub batch_size: usize,
    pub lr: f64,
    /// Stop after this many epochs without a better validation loss.
    pub patience: Option<usize>,
    /// The learning rate decays by cosine to this fraction of `lr` over the epochs.
    pub final_lr_fraction: f64,
    /// Fractions of each sample held out for validation and for testing.
    pub val_fraction: f64,
    pub test_fraction: f64,
    pub seed: u64,
    /// Refit each member's output offset on the validation split (see [`super::fit_offset`]).
    pub offset_fit: bool,
    /// Recalibrate the combined weight with an isotonic map fitted on the validation split.
    pub isotonic: bool,
    pub balance: Balance,
    /// The variational layers' prior width.
    pub prior_sigma: f64,
    /// Cross-fitting: with K ≥ 2, the events are dealt into K folds and each fold's weights come
    /// from a classifier trained (and validated) on the other folds only, so every event gets an
    /// out-of-sample weight and the report uses every event; 0 is off (one split, the test
    /// fraction reported). `test_fraction` is then unused.
    pub folds: usize,
    /// Each ensemble member trained on its own bootstrap resample of the training events, so the
    /// members' spread carries the finite-sample error (trained on the same events, the members
    /// differ by their initialisation alone).
    pub bootstrap: bool,
}

impl Default for ClassifierConfig {
    fn default() -> Self {
        ClassifierConfig {
            members: 3,
            bayesian: false,
            draws: 5,
            hidden: vec![64, 64, 64],
            activation: Activation::Silu,
            dropout: 0.0,
            epochs: 40,
            batch_size: 512,
            lr: 2e-3,
            patience: None,
            final_lr_fraction: 0.02,
            val_fraction: 0.2,
            test_fraction: 0.2,
            seed: 1,
            offset_fit: true,
            isotonic: false,
            balance: Balance::Batches,
            prior_sigma: 1.0,
            folds: 0,
            bootstrap: false,
        }
    }
}

/// The most folds cross-fitting takes (each fold trains a whole ensemble).
pub const MAX_FOLDS: usize = 20;

impl ClassifierConfig {
    pub fn validate(&self) -> Result<()> {
        let frac = |f: f64| f.is_finite() && (0.0..1.0).contains(&f);
        if !self.bayesian && self.members == 0 {
            return Err(invalid("--members 0: the ensemble needs at least one member; give 1 or more"));
        }
        if self.bayesian && self.draws == 0 {
            return Err(invalid("--draws 0: a Bayesian classifier needs at least one weight draw; give 1 or more"));
        }
        if self.epochs == 0 || self.batch_size == 0 {
            return Err(invalid(format!(
                "--epochs {} and --batch-size {}: both must be positive",
                self.epochs, self.batch_size
            )));
        }
        if self.hidden.is_empty() || self.hidden.contains(&0) {
            return Err(invalid(format!(
                "--hidden {:?}: give at least one layer, every width positive (e.g. 64,64,64)",
                self.hidden
            )));
        }
        let positive = |x: f64| x > 0.0 && x.is_finite();
        if !positive(self.lr) || !positive(self.prior_sigma) {
            return Err(invalid(format!(
                "--lr {} (and the prior width {}): must be positive numbers, e.g. --lr 0.002",
                self.lr, self.prior_sigma
            )));
        }
        if !frac(self.val_fraction) || !frac(self.test_fraction) || self.val_fraction + self.test_fraction >= 0.9 {
            return Err(invalid(format!(
                "--val-fraction {} and --test-fraction {}: each must be in [0, 1) and together leave at least 10 % \
                 for training (e.g. 0.2 and 0.2)",
                self.val_fraction, self.test_fraction
            )));
        }
        if !(0.0..0.9).contains(&self.dropout) {
            return Err(invalid(format!("--dropout {}: must be in [0, 0.9), e.g. 0.1", self.dropout)));
        }
        if self.folds == 1 || self.folds > MAX_FOLDS {
            return Err(invalid(format!(
                "--folds {}: cross-fitting needs 2 to {MAX_FOLDS} folds (e.g. 5); leave --folds out for one split",
                self.folds
            )));
        }
        if self.bootstrap && self.bayesian {
            return Err(invalid(
                "--bootstrap and --bayesian: a Bayesian classifier is one network whose weight draws play the members; \
                 bootstrap resamples train ensemble members, so give one of the two",
            ));
        }
        if self.val_fraction == 0.0 {
            return Err(invalid(
                "--val-fraction 0: a validation split chooses the epoch, stops early and fits the offsets; give e.g. 0.2",
            ));
        }
        Ok(())
    }

    /// The network: a batched ensemble, or a variational MLP.
    pub fn model_spec(&self, inputs: usize) -> ModelSpec {
        let mlp = MlpSpec::new(inputs, &self.hidden, 1).activation(self.activation).dropout(self.dropout);
        if self.bayesian {
            let cfg =
                VariationalConfig { prior_sigma: self.prior_sigma, logsig2_range: (-11.0, 11.0), ..Default::default() };
            ModelSpec::variational(mlp, cfg, Head::Logit)
        } else {
            ModelSpec::ensemble(mlp, self.members, Head::Logit)
        }
    }

    /// Members of the prediction: ensemble members or weight draws.
    pub fn prediction_members(&self) -> usize {
        if self.bayesian {
            self.draws
        } else {
            self.members
        }
    }
}
