//! The profile reader on arbitrary text: `aiopt::profile::parse` must
//! return a profile or problems, never panic, hang or run out of memory.
//!
//! The first byte picks which bundled example's folder the profile is read
//! from, so a `[data]` section that names `observations.csv` or
//! `requests.csv` reaches the real data files next to it (seeds are the
//! examples' own profiles, see `cargo xtask fuzz`).

#![no_main]

use std::path::{Path, PathBuf};

use libfuzzer_sys::fuzz_target;

const EXAMPLES: [&str; 4] = [
    "code-review",
    "doc-generator",
    "multimodal-search",
    "semantic-search",
];

fn profile_path(selector: u8) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples")
        .join(EXAMPLES[usize::from(selector) % EXAMPLES.len()])
        .join("profile.toml")
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let Ok(source) = std::str::from_utf8(rest) else {
        return;
    };
    if let Err(error) = aiopt::profile::parse(&profile_path(selector), source) {
        // Rendering the problems is part of the contract too.
        let _ = error.to_string();
        let _ = error.problems_json();
    }
});
