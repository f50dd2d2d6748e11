//! Symlink-aware copy of a plugin directory into the cache.
