//! The device is a run-time value, not a type parameter: model code is written once and
//! runs wherever its tensors live.

use crate::backend::Backend;
use std::fmt;
use std::sync::Arc;

#[derive(Clone)]
pub struct Device {
    backend: Arc<dyn Backend>,
}

impl Device {
    /// Wraps a backend. Backend crates call this once and hand out clones.
    pub fn new(backend: Arc<dyn Backend>) -> Self {
        Device { backend }
    }

    pub fn backend(&self) -> &dyn Backend {
        self.backend.as_ref()
    }

    pub fn name(&self) -> String {
        self.backend.name()
    }

    /// Two devices are the same when they share one backend instance.
    pub fn same(&self, other: &Device) -> bool {
        std::ptr::addr_eq(Arc::as_ptr(&self.backend), Arc::as_ptr(&other.backend))
    }
}

impl PartialEq for Device {
    fn eq(&self, other: &Self) -> bool {
        self.same(other)
    }
}

impl fmt::Debug for Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Device({})", self.name())
    }
}

impl fmt::Display for Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}
