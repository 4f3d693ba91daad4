//! The calibration study.
