//! tocsin's integration tests: one binary, so linking happens once.

mod support;

mod alerts;
mod console;
mod crash;
mod deciding_again;
mod discord;
mod discord_faults;
mod edges;
mod flow;
mod lane_order;
mod layout;
mod reminders;
mod replicas;
mod report;
mod retention;
mod server;
mod slack;
mod slack_http;
mod status_page;
mod store;
mod web;
mod web_browser;
