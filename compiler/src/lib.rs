//! Wasm to Cranelift compiler (being written).
