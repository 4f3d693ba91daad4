//! The genweights study.
