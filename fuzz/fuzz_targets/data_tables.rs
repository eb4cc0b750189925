//! The data-file readers (observation tables and request logs, CSV and
//! JSON Lines) on arbitrary bytes, through `aiopt::profile::parse` as a
//! profile's `[data]` files: every row is a trial, a record or a located
//! problem, never a panic, a hang or unbounded memory.
//!
//! The first byte picks the example profile whose knobs the rows are
//! checked against (bits 0-1), the kind of file (bit 2: observations or
//! requests), the format (bit 3: CSV or JSON Lines) and the way in (bit 4):
//! a file (`parse`, the input written to a scratch file in
//! `$AIOPT_FUZZ_SCRATCH`, else the temp dir, one folder per process) or an
//! upload (`parse_upload`, the input as text, so UTF-8 only); the rest is
//! the data.

#![no_main]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

const EXAMPLES: [&str; 4] = [
    "code-review",
    "doc-generator",
    "multimodal-search",
    "semantic-search",
];

struct Setup {
    dir: PathBuf,
    /// Per example: its profile without `[data]`, for observations and
    /// for requests.
    profiles: Vec<[(PathBuf, String); 2]>,
}

fn setup() -> &'static Setup {
    static SETUP: OnceLock<Setup> = OnceLock::new();
    SETUP.get_or_init(|| {
        let root = std::env::var_os("AIOPT_FUZZ_SCRATCH")
            .map(PathBuf::from)
            .unwrap_or_else(std::env::temp_dir);
        let dir = root.join(format!("data_tables-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("scratch folder");
        let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
        let profiles = EXAMPLES
            .iter()
            .map(|name| {
                let text = std::fs::read_to_string(examples.join(name).join("profile.toml"))
                    .expect("example profile");
                let without = without_data(&text);
                ["observations", "requests"].map(|kind| {
                    let path = dir.join(format!("{name}-{kind}.toml"));
                    (path, format!("{without}\n[data]\n{kind} = \"DATA\"\n"))
                })
            })
            .collect();
        Setup { dir, profiles }
    })
}

/// The profile without its `[data]` table (to the next table header).
fn without_data(text: &str) -> String {
    let mut out = String::new();
    let mut skipping = false;
    for line in text.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with('[') {
            skipping = trimmed.starts_with("[data]");
        }
        if !skipping {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let setup = setup();
    let example = usize::from(selector & 3);
    let kind = usize::from((selector >> 2) & 1);
    let extension = if selector & 8 == 0 { "csv" } else { "jsonl" };
    let file = format!("data.{extension}");
    let (path, toml) = &setup.profiles[example][kind];
    let toml = toml.replace("DATA", &file);
    let parsed = if selector & 16 == 0 {
        std::fs::write(setup.dir.join(&file), rest).expect("writing the scratch data file");
        aiopt::profile::parse(path, &toml)
    } else {
        let Ok(text) = std::str::from_utf8(rest) else {
            return;
        };
        let files = std::collections::BTreeMap::from([(file, text.to_string())]);
        aiopt::profile::parse_upload(toml.as_bytes(), &files)
    };
    if let Err(error) = parsed {
        let _ = error.to_string();
        let _ = error.problems_json();
    }
});
