//! pm-core: the pure half of pm.
//!
//! Manifest models (`marketplace.json`, `plugin.json`), Claude Code's state and settings files,
//! plugin ids, scopes, version resolution and cache directory names. Nothing here touches git,
//! the network or a terminal; file reading is limited to what scope resolution needs.

pub mod frontmatter;
pub mod id;
pub mod json_edit;
pub mod marketplace;
pub mod names;
pub mod plugin;
pub mod scope;
pub mod settings;
pub mod source;
pub mod state;
pub mod time;
pub mod version;
