//! pm-marketplace: everything pm does against remotes and the file system.
//!
//! Git (git2), marketplace and plugin source resolution, the symlink-aware copy into the cache,
//! locking and atomic writes. Library code never prints: progress and warnings go through
//! [`reporter::Reporter`], results come back as values, failures as [`error::Error`].

pub mod archive;
pub mod copy;
pub mod dependencies;
pub mod details;
pub mod environment;
pub mod error;
pub mod fsutil;
pub mod git;
pub mod http;
pub mod marketplaces;
pub mod npm;
pub mod plugins;
pub mod prune;
pub mod reporter;
pub mod sources;
pub mod store;
pub mod tag;
pub mod toggle;
pub mod update;
pub mod validate;
pub mod why;

pub use environment::Environment;
pub use error::{Error, Result};
