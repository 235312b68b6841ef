//! Spec-suite driver (being written).
