//! The run directories of the study apps (`calibration`, `genweights`): the bookkeeping both
//! apps' commands need around the files they write, written once so that both behave alike.
//!
//! - [`steps`]: steps that remember what they made, keyed by a hash of everything their output
//!   depends on, so a re-run reuses finished work and `--fresh` redoes it;
//! - [`parallel`]: steps side by side, each on its own share of the cores and each after the
//!   steps whose outputs it reads;
//! - [`guard`]: no command writes over one of its inputs;
//! - [`lock`]: one run at a time per output directory;
//! - [`stage`]: a run's outputs written beside the directory and moved in as one set.
//!
//! Errors are [`nn::io::FileError`]s, which name the file; both apps' error types take them.

pub mod guard;
pub mod lock;
pub mod parallel;
pub mod stage;
pub mod steps;

pub use guard::refuse_overwrite;
pub use lock::RunLock;
pub use parallel::{lane_plan, side_by_side, Job, Task};
pub use stage::Staging;
pub use steps::{key_of, StepReport, Steps};
