//! Remap embedding API (being written).
