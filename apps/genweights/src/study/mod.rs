//! `genweights study`: every toy case (and the null tests) written to files, run through
//! [`crate::study::run::run`] as a user would run them, and compared with the exact weights; one page
//! and one metrics.json for all, with the acceptance table of issue 13:
//!
//! - per toy, median |learned − exact| ln w < 0.05 over the events with |exact ln w| < 1;
//! - per toy, the learned top 1 % of truth finds the exact top 1 %, exact ln w within the
//!   classifier's resolution τ of the exact cut counting as tied, with a skill over a random
//!   selection ≥ 0.5 ([`crate::evaluate::top_within_resolution`]; the plain overlap is
//!   reported beside it);
//! - the tailcut AUC within 0.01 of the exact AUC;
//! - the normalisation identities within 3 standard errors of their exact expectations;
//! - the null tests' width of ln w (reported).
//!
//! Layout of the output directory: `cases/NAME/` holds each toy's `truth.h5`, `generated.h5`,
//! `toy.json` and the run's `weights.h5`, `metrics.json`, `index.html` and `model/`; the study's
//! `index.html` and `metrics.json` sit at the top. `steps/NAME.json` records each case's key (a
//! hash of everything its run depends on), result and wall time (`rundir::Steps`): a re-run
//! reuses every case whose key is unchanged and whose files are all there; `--fresh` reruns all.
//!
//! - [`mod@run`]: `genweights run`, one truth/generated pair through the classifier to its files;
//! - [`cases`]: the study's loop over the toys;
//! - [`mod@acceptance`]: the acceptance rows of a case;
//! - [`summary`]: the study's metrics.json.

pub mod acceptance;
pub mod cases;
pub mod run;
pub mod summary;

pub use acceptance::{acceptance, thresholds, AcceptanceRow};
pub use cases::{study, write_page, StudyOptions};
pub use report::meta::{machine, today};
pub use run::{run, RunOptions, RunResult};
pub use summary::{CaseResult, StudyMetrics};
