//! Virtual-memory subsystem (being written).
