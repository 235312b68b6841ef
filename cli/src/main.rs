//! The `remap` command line (being written).
fn main() {}
