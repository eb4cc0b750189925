//! On-disk cache of compiled plugins, so a plugin is compiled by Cranelift
//! once and later loads in well under a millisecond.
//!
//! The key is the sha256 of the component's bytes plus a fingerprint of the
//! engine (wasmtime version and every setting that affects code generation):
//! an artifact is only valid for the engine that produced it.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use wasmtime::component::Component;
use wasmtime::Engine;

/// Where a loaded component came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LoadSource {
    /// Compiled now (and written to the cache when there is one).
    Compiled,
    /// Deserialized from the disk cache; Cranelift did not run.
    Cache,
}

#[derive(Debug, Clone)]
pub struct ArtifactCache {
    dir: Option<PathBuf>,
    engine_fingerprint: u64,
}

impl ArtifactCache {
    pub fn new(engine: &Engine, dir: Option<PathBuf>) -> Self {
        // SipHash with fixed keys: stable across processes of one build.
        #[allow(deprecated)]
        let mut hasher = std::hash::SipHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        ArtifactCache {
            dir,
            engine_fingerprint: hasher.finish(),
        }
    }

    fn path_for(&self, sha256: &str) -> Option<PathBuf> {
        let dir = self.dir.as_ref()?;
        Some(dir.join(format!("{sha256}-{:016x}.cwasm", self.engine_fingerprint)))
    }

    /// Loads from the cache, or compiles with `compile` and stores the
    /// artifact. A cache that cannot be read or written only costs time.
    pub fn load(
        &self,
        engine: &Engine,
        sha256: &str,
        compile: impl FnOnce() -> wasmtime::Result<Component>,
    ) -> wasmtime::Result<(Component, LoadSource)> {
        let path = self.path_for(sha256);
        if let Some(path) = path.as_deref().filter(|p| p.is_file()) {
            // SAFETY: the file is one this program wrote (atomically, under a
            // name keyed by the plugin's hash and this engine's fingerprint)
            // into the user's own data directory; wasmtime additionally
            // checks the artifact's header, version and engine settings.
            // Anyone able to replace it could replace the binary itself.
            match unsafe { Component::deserialize_file(engine, path) } {
                Ok(component) => return Ok((component, LoadSource::Cache)),
                Err(_) => {
                    let _ = std::fs::remove_file(path);
                }
            }
        }
        let component = compile()?;
        if let Some(path) = path {
            if let Ok(bytes) = component.serialize() {
                let _ = write_atomically(&path, &bytes);
            }
        }
        Ok((component, LoadSource::Compiled))
    }
}

fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("artifact"),
        std::process::id()
    ));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}
