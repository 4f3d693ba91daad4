//! Layers, losses, optimizers, data, training, checkpoints.
