//! The wgpu backend (work in progress, see issue 5).
