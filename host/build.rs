//! Embeds the built-in strategy plugins (`aiopt_*.wasm`, built for
//! `wasm32-wasip2` by `cargo xtask build-plugins`) into the binary, so
//! `aiopt` is one self-contained file.
//!
//! The plugins come from `$AIOPT_PLUGIN_DIR`, or by default the workspace's
//! `target/wasm32-wasip2/plugin/`. When none are found the binary still
//! builds, without built-ins, and cargo prints a warning saying how to fix it.

use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-env-changed=AIOPT_PLUGIN_DIR");
    let dir = std::env::var_os("AIOPT_PLUGIN_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
            manifest.join("../target/wasm32-wasip2/plugin")
        });
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut plugins: Vec<(String, PathBuf)> = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let path = entry.path();
            let file = path.file_name()?.to_str()?.to_string();
            let name = file
                .strip_prefix("aiopt_")?
                .strip_suffix(".wasm")?
                .replace('_', "-");
            Some((name, path))
        })
        .collect();
    plugins.sort();
    if plugins.is_empty() {
        println!(
            "cargo:warning=no built-in plugins found in {}; run `cargo xtask build-plugins` (or `cargo xtask test`) to embed them",
            dir.display()
        );
    }
    let mut code = String::from("/// Built-in plugins embedded at build time: (name, component bytes).\npub static BUILTINS: &[(&str, &[u8])] = &[\n");
    for (name, path) in &plugins {
        println!("cargo:rerun-if-changed={}", path.display());
        let path = path.canonicalize().unwrap_or_else(|_| path.clone());
        code.push_str(&format!(
            "    ({name:?}, include_bytes!({:?})),\n",
            path.display().to_string()
        ));
    }
    code.push_str("];\n");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets it")).join("builtins.rs");
    std::fs::write(out, code).expect("writing builtins.rs");
}
