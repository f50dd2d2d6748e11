//! pm's integration tests: one test binary, a module per area. Every test drives the `pm`
//! binary in a temporary HOME with its own git configuration; nothing touches the network
//! or the real `~/.claude`.

mod bad_input;
mod concurrency;
mod corpus;
mod declared;
mod dependencies;
mod details;
mod lifecycle;
mod managed;
mod outdated;
mod prune;
mod settings_fidelity;
mod sources;
mod support;
mod tag;
mod toggle;
mod update;
mod validate;
