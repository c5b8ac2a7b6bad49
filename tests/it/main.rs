//! tocsin's integration tests: one binary, so linking happens once.

mod support;

mod console;
mod flow;
mod server;
mod slack;
mod slack_http;
mod store;
