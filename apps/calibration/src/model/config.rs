//! The configuration of a calibration network: which method, its layers, how it trains. Built-in
//! presets give the defaults (docs/calibration-method.md §4.7: 3 × 64 for two cores, or the paper-like stack); a TOML
//! file changes any of them (unknown keys are errors, so a typo cannot be silently ignored); the
//! command line's flags change the few that are changed most.
//!
//! ```toml
//! method = "bnn"            # dnn | dnn-lgk | bnn | re
//! [network]
//! hidden = [64, 64, 64]
//! activation = "Tanh"       # or "Relu", "Silu", { ScaledSwish = 2.0 }, { TanhPlusOne = 3.0 }, ...
//! [training]
//! epochs = 30
//! batch_size = 1024
//! lr = 1e-3
//! ```

use crate::error::{Error, Result};
use nn::{Activation, Estimator, RepulsionSpace};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The calibration methods of the study.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// A deterministic network trained with the mean squared error: learns the mean of R.
    Dnn,
    /// The DNN with the two-step leaky-Gaussian-kernel loss (arXiv:1910.03773): learns the mode.
    DnnLgk,
    /// The Bayesian network: variational layers, Gaussian likelihood, KL / N_train.
    Bnn,
    /// The repulsive ensemble: members with a Gaussian head and function-space repulsion.
    Re,
}

impl Method {
    pub fn name(self) -> &'static str {
        match self {
            Method::Dnn => "dnn",
            Method::DnnLgk => "dnn-lgk",
            Method::Bnn => "bnn",
            Method::Re => "re",
        }
    }

    /// The name a report shows.
    pub fn label(self) -> &'static str {
        match self {
            Method::Dnn => "DNN",
            Method::DnnLgk => "DNN-LGK",
            Method::Bnn => "BNN",
            Method::Re => "RE",
        }
    }
}

/// A named starting point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Preset {
    /// 3 x 64 tanh, Adam 1e-3 with cosine decay, batch 1024, 30 epochs (docs/calibration-method.md §4.7, for 2 cores).
    Default,
    /// The paper-like 256-128-64-8 stack and 100 epochs (for a GPU or long runs).
    Paper,
    /// The ATLAS team's own BNN configuration (docs/calibration-method.md §4.7): 256-168-64-8 with
    /// 3(tanh x + 1), Adam at 1e-3 without a schedule, batch 1024, 100 epochs, 50 draws, and a
    /// quarter of the selected clusters for validation (their 6 x 10^5 / 2 x 10^5 split).
    Team,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkConfig {
    pub hidden: Vec<usize>,
    pub activation: Activation,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainingConfig {
    pub epochs: usize,
    pub batch_size: usize,
    /// Adam's learning rate at the start; it decays along a cosine to `lr * final_lr_fraction`
    /// (1 keeps it constant: no schedule).
    pub lr: f64,
    pub final_lr_fraction: f64,
    /// The share of the optimizer steps spent warming the learning rate up (a cosine from lr/25
    /// to lr), before the cosine decay; 0, the default, starts at lr. Left out of the written
    /// configuration when 0, so that the study's step keys of configurations without a warm-up
    /// stay what they were.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub warmup_fraction: f64,
    /// The fraction of the selected clusters held out for validation (model selection).
    pub val_fraction: f64,
    /// Use at most this many training clusters (the first of a seeded order, so a smaller set
    /// is a subset of a larger one: the training-size scan).
    pub max_train: Option<usize>,
    /// Stop after this many epochs without a better validation loss.
    pub patience: Option<usize>,
    /// Seeds the initial weights, the noise, the split and the shuffling.
    pub seed: u64,
    /// The column that says which event a cluster came from; the split keeps each event on one
    /// side. None: `eventNumber` (with `runNumber`) when the file has it, else the split is by row
    /// (`model::split`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_column: Option<String>,
    /// A column of per-cluster weights (MC event weights) that weight the training and
    /// validation losses. None: every cluster counts once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight_column: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BnnConfig {
    pub prior_sigma: f64,
    pub estimator: Estimator,
    pub logsig2_init: f64,
    /// Weight draws for predictions (the papers' n_monte).
    pub draws: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnsembleConfig {
    pub members: usize,
    pub beta: f64,
    pub space: RepulsionSpace,
    pub prior_sigma: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LgkConfig {
    /// Kernel width h.
    pub h: f64,
    /// The leak of the first step (the second step trains with alpha = 0).
    pub alpha: f64,
    /// The output activation scale: R_pred = scale (tanh x + 1), in (0, 2 scale).
    pub output_scale: f64,
}

/// Everything `train` needs besides the data and the device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    pub method: Method,
    pub network: NetworkConfig,
    pub training: TrainingConfig,
    pub bnn: BnnConfig,
    pub ensemble: EnsembleConfig,
    pub lgk: LgkConfig,
}

impl ModelConfig {
    /// The preset's configuration for `method`.
    pub fn preset(method: Method, preset: Preset) -> ModelConfig {
        let (hidden, epochs) = match preset {
            Preset::Default => (vec![64, 64, 64], 30),
            Preset::Paper => (vec![256, 128, 64, 8], 100),
            Preset::Team => (vec![256, 168, 64, 8], 100),
        };
        let team = preset == Preset::Team;
        ModelConfig {
            method,
            network: NetworkConfig {
                hidden,
                activation: if team { Activation::TanhPlusOne(3.0) } else { Activation::Tanh },
            },
            training: TrainingConfig {
                epochs,
                batch_size: 1024,
                lr: 1e-3,
                // The team's Adam keeps its rate: a "decay" to the same rate is none.
                final_lr_fraction: if team { 1.0 } else { 0.01 },
                warmup_fraction: 0.0,
                val_fraction: if team { 0.25 } else { 0.2 },
                max_train: None,
                patience: None,
                seed: 1,
                event_column: None,
                weight_column: None,
            },
            bnn: BnnConfig {
                prior_sigma: 1.0,
                estimator: Estimator::LocalReparameterization,
                logsig2_init: -9.0,
                draws: 50,
            },
            ensemble: EnsembleConfig { members: 16, beta: 1.0, space: RepulsionSpace::Losses, prior_sigma: Some(1.0) },
            lgk: LgkConfig { h: 0.1, alpha: 0.05, output_scale: 2.0 },
        }
    }

    /// The preset with the keys of a TOML text laid over it (any subset of the keys, at any
    /// depth); `origin` names the text in errors.
    pub fn with_toml(self, text: &str, origin: &str) -> Result<ModelConfig> {
        let bad = |e: String| Error::invalid(format!("{origin}: {e}"));
        let overrides: toml::Table = toml::from_str(text).map_err(|e| bad(e.to_string()))?;
        let mut base = toml::Table::try_from(&self).map_err(|e| bad(e.to_string()))?;
        merge(&mut base, overrides);
        let config: ModelConfig =
            toml::Value::Table(base).try_into().map_err(|e: toml::de::Error| bad(e.to_string()))?;
        config.validate().map_err(|e| bad(e.to_string()))?;
        Ok(config)
    }

    /// The preset changed by the TOML file at `path`.
    pub fn with_file(self, path: &Path) -> Result<ModelConfig> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::invalid(format!("--config {}: cannot read it: {e}", path.display())))?;
        self.with_toml(&text, &path.display().to_string())
    }

    pub fn to_toml(&self) -> Result<String> {
        toml::to_string_pretty(self).map_err(|e| Error::invalid(format!("configuration: {e}")))
    }

    /// Checks the numbers make a trainable network.
    pub fn validate(&self) -> Result<()> {
        let t = &self.training;
        let mut problems = Vec::new();
        if self.network.hidden.is_empty() || self.network.hidden.contains(&0) {
            problems
                .push(format!("network.hidden = {:?} needs at least one layer, all widths > 0", self.network.hidden));
        }
        if t.epochs == 0 || t.batch_size == 0 {
            problems.push("training.epochs and training.batch_size must be > 0".to_string());
        }
        if !(t.lr > 0.0 && t.lr.is_finite() && (0.0..=1.0).contains(&t.final_lr_fraction)) {
            problems.push(format!("training.lr = {} must be > 0 and final_lr_fraction in [0, 1]", t.lr));
        }
        if !(0.0..1.0).contains(&t.warmup_fraction) {
            problems.push(format!("training.warmup_fraction = {} must be in [0, 1)", t.warmup_fraction));
        }
        if !(0.0..0.9).contains(&t.val_fraction) || t.val_fraction == 0.0 {
            problems.push(format!("training.val_fraction = {} must be in (0, 0.9)", t.val_fraction));
        }
        if t.max_train == Some(0) {
            problems.push("training.max_train must be > 0".to_string());
        }
        if self.bnn.draws == 0 || self.bnn.prior_sigma.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater) {
            problems.push("bnn.draws must be > 0 and bnn.prior_sigma > 0".to_string());
        }
        if self.ensemble.members == 0 || !(self.ensemble.beta.is_finite() && self.ensemble.beta >= 0.0) {
            problems.push("ensemble.members must be > 0 and ensemble.beta >= 0".to_string());
        }
        if !(self.lgk.h.is_finite()
            && self.lgk.h > 0.0
            && self.lgk.output_scale.is_finite()
            && self.lgk.output_scale > 0.0)
        {
            problems.push("lgk.h and lgk.output_scale must be > 0".to_string());
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Error::invalid(problems.join("; ")))
        }
    }
}

fn is_zero(x: &f64) -> bool {
    *x == 0.0
}

/// Lays `over` onto `base`, table by table.
fn merge(base: &mut toml::Table, over: toml::Table) {
    for (k, v) in over {
        match (base.get_mut(&k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_changes_only_what_it_names_and_typos_are_errors() {
        let base = ModelConfig::preset(Method::Bnn, Preset::Default);
        let c = base.clone().with_toml("[training]\nepochs = 3\n[network]\nhidden = [8, 8]", "test.toml").unwrap();
        assert_eq!((c.training.epochs, c.network.hidden.clone()), (3, vec![8, 8]));
        assert_eq!(c.training.lr, base.training.lr);
        let e = base.clone().with_toml("[training]\nepohcs = 3", "test.toml").unwrap_err();
        assert!(e.to_string().contains("test.toml") && e.to_string().contains("epohcs"), "{e}");
        let e = base.clone().with_toml("[training]\nlr = -1.0", "test.toml").unwrap_err();
        assert!(e.to_string().contains("lr"), "{e}");
        let round = ModelConfig::preset(Method::Re, Preset::Paper);
        let again =
            ModelConfig::preset(Method::Bnn, Preset::Default).with_toml(&round.to_toml().unwrap(), "x").unwrap();
        assert_eq!(again, round);
    }

    #[test]
    fn the_team_preset_is_the_atlas_teams_network() {
        let c = ModelConfig::preset(Method::Bnn, Preset::Team);
        assert_eq!(c.network.hidden, vec![256, 168, 64, 8]);
        assert_eq!(c.network.activation, Activation::TanhPlusOne(3.0));
        let t = &c.training;
        assert_eq!((t.lr, t.final_lr_fraction, t.warmup_fraction), (1e-3, 1.0, 0.0), "Adam at 1e-3, no schedule");
        assert_eq!((t.batch_size, t.epochs, c.bnn.draws), (1024, 100, 50));
        assert_eq!(t.val_fraction, 0.25, "2 x 10^5 validation beside 6 x 10^5 training clusters");
        c.validate().unwrap();
    }

    #[test]
    fn a_warm_up_is_read_and_checked_and_left_out_when_zero() {
        let base = ModelConfig::preset(Method::Bnn, Preset::Default);
        assert!(!base.to_toml().unwrap().contains("warmup"), "a configuration without a warm-up keeps its old text");
        let c = base.clone().with_toml("[training]\nwarmup_fraction = 0.1", "w.toml").unwrap();
        assert_eq!(c.training.warmup_fraction, 0.1);
        assert!(c.to_toml().unwrap().contains("warmup_fraction = 0.1"));
        let e = base.with_toml("[training]\nwarmup_fraction = 1.5", "w.toml").unwrap_err();
        assert!(e.to_string().contains("warmup_fraction"), "{e}");
    }
}
