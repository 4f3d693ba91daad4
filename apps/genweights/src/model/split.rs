//! The per-sample split of events into training, validation and test rows.

use super::ClassifierConfig;
use crate::error::{invalid, Result};
use serde::{Deserialize, Serialize};
use sigmagrad::Rng;

/// Which split an event belongs to (stored in `weights.h5` as these codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[repr(u8)]
pub enum Split {
    Train = 0,
    Validation = 1,
    Test = 2,
}

/// The per-sample split: `val_fraction` and `test_fraction` of a seeded permutation.
pub fn split_rows(n: usize, val_fraction: f64, test_fraction: f64, seed: u64) -> Vec<Split> {
    let order = Rng::new(seed).permutation(n);
    let n_val = ((n as f64) * val_fraction).round() as usize;
    let n_test = (((n as f64) * test_fraction).round() as usize).min(n - n_val.min(n));
    let mut split = vec![Split::Train; n];
    for (rank, &i) in order.iter().enumerate() {
        if rank < n_val {
            split[i] = Split::Validation;
        } else if rank < n_val + n_test {
            split[i] = Split::Test;
        }
    }
    split
}

/// Both samples' splits and the rows the training sees.
#[derive(Debug, Clone)]
pub struct PairSplit {
    pub truth: Vec<Split>,
    pub generated: Vec<Split>,
    pub truth_train: Vec<usize>,
    pub generated_train: Vec<usize>,
    pub truth_val: Vec<usize>,
    pub generated_val: Vec<usize>,
}

fn rows_of(split: &[Split], which: Split) -> Vec<usize> {
    (0..split.len()).filter(|&i| split[i] == which).collect()
}

/// Each of `n` events' fold in 0..k: a seeded permutation dealt round-robin, so the folds differ
/// in size by at most one event.
pub fn fold_of(n: usize, k: usize, seed: u64) -> Vec<usize> {
    let mut fold = vec![0; n];
    for (rank, &i) in Rng::new(seed).permutation(n).iter().enumerate() {
        fold[i] = rank % k.max(1);
    }
    fold
}

/// Cross-fitting's split for one fold: its events are the test rows (the classifier never sees
/// them), the others are split into training and validation by `val_fraction` of a seeded
/// permutation of the others.
fn fold_split(fold: &[usize], which: usize, val_fraction: f64, seed: u64) -> Vec<Split> {
    let others: Vec<usize> = (0..fold.len()).filter(|&i| fold[i] != which).collect();
    let n_val = ((others.len() as f64) * val_fraction).round() as usize;
    let mut split = vec![Split::Test; fold.len()];
    for (rank, &j) in Rng::new(seed).permutation(others.len()).iter().enumerate() {
        split[others[j]] = if rank < n_val { Split::Validation } else { Split::Train };
    }
    split
}

impl PairSplit {
    /// Splits `truth_rows` and `generated_rows` events by `config`'s fractions and seed; refuses
    /// samples too small to train and validate on.
    pub fn new(truth_rows: usize, generated_rows: usize, config: &ClassifierConfig) -> Result<PairSplit> {
        let truth = split_rows(truth_rows, config.val_fraction, config.test_fraction, config.seed ^ 0x7_2u64);
        let generated = split_rows(generated_rows, config.val_fraction, config.test_fraction, config.seed ^ 0x6_e11);
        PairSplit::from_splits(truth, generated, config)
    }

    /// The split of cross-fitting's fold `which`: `truth_folds` and `generated_folds` give each
    /// event's fold ([`fold_of`]); the fold's events are the test rows.
    pub fn for_fold(
        truth_folds: &[usize],
        generated_folds: &[usize],
        which: usize,
        config: &ClassifierConfig,
    ) -> Result<PairSplit> {
        let seed = config.seed ^ ((which as u64 + 1) << 20);
        let truth = fold_split(truth_folds, which, config.val_fraction, seed ^ 0x7_2u64);
        let generated = fold_split(generated_folds, which, config.val_fraction, seed ^ 0x6_e11);
        PairSplit::from_splits(truth, generated, config)
    }

    /// The rows of each split; refuses samples too small to train and validate on.
    fn from_splits(truth: Vec<Split>, generated: Vec<Split>, config: &ClassifierConfig) -> Result<PairSplit> {
        let (truth_rows, generated_rows) = (truth.len(), generated.len());
        let s = PairSplit {
            truth_train: rows_of(&truth, Split::Train),
            generated_train: rows_of(&generated, Split::Train),
            truth_val: rows_of(&truth, Split::Validation),
            generated_val: rows_of(&generated, Split::Validation),
            truth,
            generated,
        };
        let min_events = 2 * config.batch_size.min(64);
        if s.truth_train.len() < min_events
            || s.generated_train.len() < min_events
            || s.truth_val.is_empty()
            || s.generated_val.is_empty()
        {
            return Err(invalid(format!(
                "{} truth and {} generated events are too few to train on: the training split keeps {} and {}, \
                 validation {} and {} (at least {min_events} training events per sample are needed): give more events, \
                 or a smaller --batch-size",
                truth_rows,
                generated_rows,
                s.truth_train.len(),
                s.generated_train.len(),
                s.truth_val.len(),
                s.generated_val.len()
            )));
        }
        Ok(s)
    }

    /// The training rows replaced by a bootstrap resample of as many (drawn with replacement,
    /// seeded per member): the validation and test rows stay as they are.
    pub fn resampled(&self, seed: u64) -> PairSplit {
        use rand::{RngExt, SeedableRng};
        let mut r = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let mut draw =
            |rows: &[usize]| -> Vec<usize> { (0..rows.len()).map(|_| rows[r.random_range(0..rows.len())]).collect() };
        let (truth_train, generated_train) = (draw(&self.truth_train), draw(&self.generated_train));
        PairSplit { truth_train, generated_train, ..self.clone() }
    }

    /// Test events per sample.
    pub fn test_counts(&self) -> (usize, usize) {
        let count = |s: &[Split]| s.iter().filter(|s| **s == Split::Test).count();
        (count(&self.truth), count(&self.generated))
    }
}
