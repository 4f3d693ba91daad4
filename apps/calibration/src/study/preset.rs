//! The sizes and settings of a study. `quick` is what `make demo` runs (minutes on 2 cores, and
//! still large enough for the acceptance tests); `paper` is paper-scale (hours); `tiny` is the
//! CI smoke test (seconds; its numbers mean nothing).

use crate::model::{Method, ModelConfig, Preset};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum StudyPresetName {
    /// About 3 x 10^5 training clusters, 3 x 64 tanh networks: minutes on 2 CPU cores.
    Quick,
    /// 6 x 10^5 training clusters and more, the 256-128-64-8 stack, 100 epochs, the scan up to
    /// 2 x 10^6: hours, or a GPU.
    Paper,
    /// A few thousand clusters and two epochs: checks that everything runs (CI).
    Tiny,
}

/// Everything a study's steps are configured by; a step is rerun when the part of this that it
/// depends on changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StudyPreset {
    pub name: StudyPresetName,
    /// Clusters generated before the cuts (about 77 % pass them; 20 % of those validate).
    pub generated_train: usize,
    pub generated_test: usize,
    pub generated_pu0: usize,
    pub seed_train: u64,
    pub seed_test: u64,
    pub seed_pu0: u64,
    /// The configuration of each network.
    pub dnn: ModelConfig,
    pub dnn_lgk: ModelConfig,
    pub bnn: ModelConfig,
    pub re: ModelConfig,
    /// Training-set sizes of the scan (BNNs on the first N training clusters). A size equal to
    /// the full training set reuses the main BNN.
    pub scan_sizes: Vec<usize>,
    /// The scan trains each size for about this many optimizer steps (at most `scan_max_epochs`
    /// epochs), so that small training sets are not also under-trained ones.
    pub scan_steps: usize,
    pub scan_max_epochs: usize,
    /// Test clusters the scan's predictions use (the first of the test sample).
    pub scan_test: usize,
}

impl StudyPreset {
    pub fn new(name: StudyPresetName) -> StudyPreset {
        match name {
            StudyPresetName::Quick => Self::quick(),
            StudyPresetName::Paper => Self::paper(),
            StudyPresetName::Tiny => Self::tiny(),
        }
    }

    /// Minutes on 2 cores.
    fn quick() -> StudyPreset {
        let base = ModelConfig::preset;
        // 30 epochs: with 20 the DNN's resolution above 100 GeV, where clusters are
        // rare, is 7 % worse than the BNN's.
        let dnn = base(Method::Dnn, Preset::Default);
        let mut lgk = base(Method::DnnLgk, Preset::Default);
        lgk.training.epochs = 12;
        let mut bnn = base(Method::Bnn, Preset::Default);
        // The scan's largest point is the main BNN: trained once, used twice.
        bnn.training.max_train = Some(300_000);
        // 40 epochs rather than 30: the lowest E^EM bins (under 1 % of the clusters)
        // close to 5 % after 30.
        bnn.training.epochs = 40;
        let mut re = base(Method::Re, Preset::Default);
        // 20 epochs: after 12 the ensemble's median σ_syst is 5.5 % above the truth's
        // sd (1.036 after 20); it is the study's most expensive network (~3 minutes).
        re.training.epochs = 20;
        StudyPreset {
            name: StudyPresetName::Quick,
            generated_train: 500_000,
            generated_test: 140_000,
            generated_pu0: 300_000,
            seed_train: 1,
            seed_test: 2,
            seed_pu0: 3,
            dnn,
            dnn_lgk: lgk,
            bnn,
            re,
            scan_sizes: vec![10_000, 30_000, 100_000, 300_000],
            scan_steps: 9_000,
            scan_max_epochs: 100,
            scan_test: 30_000,
        }
    }

    /// Paper-scale sizes and networks: hours, or a GPU.
    fn paper() -> StudyPreset {
        let base = ModelConfig::preset;
        let cfg = |m: Method| base(m, Preset::Paper);
        StudyPreset {
            name: StudyPresetName::Paper,
            generated_train: 3_300_000,
            generated_test: 650_000,
            generated_pu0: 1_000_000,
            seed_train: 1,
            seed_test: 2,
            seed_pu0: 3,
            dnn: cfg(Method::Dnn),
            dnn_lgk: cfg(Method::DnnLgk),
            bnn: cfg(Method::Bnn),
            re: cfg(Method::Re),
            scan_sizes: vec![10_000, 30_000, 100_000, 300_000, 1_000_000, 2_000_000],
            scan_steps: 60_000,
            scan_max_epochs: 200,
            scan_test: 100_000,
        }
    }

    /// Seconds: checks that everything runs.
    fn tiny() -> StudyPreset {
        let base = ModelConfig::preset;
        let small = |m: Method| {
            let mut c = base(m, Preset::Default);
            c.network.hidden = vec![16, 16];
            c.training.epochs = 2;
            c.training.batch_size = 256;
            c.training.lr = 3e-3;
            c.ensemble.members = 4;
            c.bnn.draws = 10;
            c
        };
        StudyPreset {
            name: StudyPresetName::Tiny,
            generated_train: 8_000,
            generated_test: 4_000,
            generated_pu0: 8_000,
            seed_train: 1,
            seed_test: 2,
            seed_pu0: 3,
            dnn: small(Method::Dnn),
            dnn_lgk: small(Method::DnnLgk),
            bnn: small(Method::Bnn),
            re: small(Method::Re),
            scan_sizes: vec![1_000, 3_000],
            scan_steps: 40,
            scan_max_epochs: 10,
            scan_test: 1_000,
        }
    }

    /// The four networks in report order.
    pub fn networks(&self) -> [&ModelConfig; 4] {
        [&self.dnn, &self.dnn_lgk, &self.bnn, &self.re]
    }

    /// The same preset with every network's seed set (the networks' shared seed).
    pub fn with_network_seed(mut self, seed: u64) -> StudyPreset {
        for c in [&mut self.dnn, &mut self.dnn_lgk, &mut self.bnn, &mut self.re] {
            c.training.seed = seed;
        }
        self
    }
}
