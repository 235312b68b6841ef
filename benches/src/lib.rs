//! Shared helpers for the benchmarks (being written).
