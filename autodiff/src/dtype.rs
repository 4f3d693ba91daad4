//! Element types. f64 is what gradient checks and teaching use; f32 is the training default.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DType {
    F32,
    F64,
}

impl DType {
    pub fn size_in_bytes(self) -> usize {
        match self {
            DType::F32 => 4,
            DType::F64 => 8,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            DType::F32 => "f32",
            DType::F64 => "f64",
        }
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Host-side data in logical (row-major) order, as it crosses the backend boundary.
#[derive(Debug, Clone, PartialEq)]
pub enum HostData {
    F32(Vec<f32>),
    F64(Vec<f64>),
}

impl HostData {
    pub fn dtype(&self) -> DType {
        match self {
            HostData::F32(_) => DType::F32,
            HostData::F64(_) => DType::F64,
        }
    }

    pub fn len(&self) -> usize {
        match self {
            HostData::F32(v) => v.len(),
            HostData::F64(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Widens to f64 (exact for f32 values).
    pub fn into_f64(self) -> Vec<f64> {
        match self {
            HostData::F32(v) => v.into_iter().map(f64::from).collect(),
            HostData::F64(v) => v,
        }
    }

    /// Narrows to f32 (rounds f64 values).
    pub fn into_f32(self) -> Vec<f32> {
        match self {
            HostData::F32(v) => v,
            HostData::F64(v) => v.into_iter().map(|x| x as f32).collect(),
        }
    }
}

/// Rust element types that can build a tensor directly.
pub trait Element: Copy + Send + Sync + 'static {
    const DTYPE: DType;
    fn to_host(data: Vec<Self>) -> HostData;
    fn from_host(data: HostData) -> Vec<Self>;
}

impl Element for f32 {
    const DTYPE: DType = DType::F32;
    fn to_host(data: Vec<Self>) -> HostData {
        HostData::F32(data)
    }
    fn from_host(data: HostData) -> Vec<Self> {
        data.into_f32()
    }
}

impl Element for f64 {
    const DTYPE: DType = DType::F64;
    fn to_host(data: Vec<Self>) -> HostData {
        HostData::F64(data)
    }
    fn from_host(data: HostData) -> Vec<Self> {
        data.into_f64()
    }
}
