//! Fuzz target: `marketplace.json` bytes: lossy UTF-8 decoding, parsing, error positions and the parsed
//! manifest's consistency (see `pm_fuzz::check_marketplace_json`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| pm_fuzz::check_marketplace_json(bytes));
