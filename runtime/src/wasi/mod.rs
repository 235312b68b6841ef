//! WASI preview 1 host interface (being written).
