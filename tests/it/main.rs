//! tocsin's integration tests: one binary, so linking happens once.

#[macro_use]
mod support;

mod store;
