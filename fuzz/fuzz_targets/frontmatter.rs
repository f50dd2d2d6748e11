//! Fuzz target: Markdown with YAML frontmatter: `pm_core::frontmatter::split` and `parse`, the fences, the
//! body and error positions (see `pm_fuzz::check_frontmatter`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| pm_fuzz::check_frontmatter(bytes));
