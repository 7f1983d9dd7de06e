//! Placeholder for the quick-start host binary (written separately).

fn main() {}
