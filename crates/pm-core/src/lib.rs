//! pm-core: the pure half of pm.
//!
//! Manifest models (`marketplace.json`, `plugin.json`), Claude Code's state and settings files,
//! plugin ids, scopes, version resolution and cache directory names. Nothing here touches git,
//! the network or a terminal; file reading is limited to what scope resolution needs.

pub mod json_edit;
