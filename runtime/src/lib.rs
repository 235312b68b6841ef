//! Remap embedding API (being written).

pub mod wasi;
