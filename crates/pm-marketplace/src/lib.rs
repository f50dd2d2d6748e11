//! pm-marketplace: everything pm does against remotes and the file system.
//!
//! Git (git2), marketplace and plugin source resolution, the symlink-aware copy into the cache,
//! locking and atomic writes.

pub mod copy;
pub mod git;
