//! Where plugins come from: built into the binary, installed into the data
//! directory, or a path given on the command line.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::{Plugin, Runtime, RuntimeError};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/builtins.rs"));
}

/// Where a resolved plugin was found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase", tag = "kind", content = "path")]
pub enum PluginSource {
    Builtin,
    Installed(PathBuf),
    File(PathBuf),
}

impl std::fmt::Display for PluginSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PluginSource::Builtin => f.write_str("built-in"),
            PluginSource::Installed(_) => f.write_str("installed"),
            PluginSource::File(p) => write!(f, "{}", p.display()),
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    #[error("no plugin named `{name}`{}; available: {}",
        .suggestion.as_ref().map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default(),
        if .available.is_empty() { "none".to_string() } else { .available.join(", ") })]
    NotFound {
        name: String,
        suggestion: Option<String>,
        available: Vec<String>,
    },
    /// A name that only a server lookup sees: it says nothing of what is
    /// installed, and never echoes the name (a client may send megabytes).
    #[error("no plugin by that name")]
    NoSuchName,
    #[error("a plugin named `{name}` is {taken_by}")]
    NameTaken { name: String, taken_by: String },
    #[error("`{}` is not a plugin name: {why}", shorten(.name))]
    BadName { name: String, why: &'static str },
    #[error("{context} {}: {source}", .path.display())]
    Io {
        context: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
}

/// Plugins known to this installation.
pub struct Registry {
    plugins_dir: PathBuf,
}

impl Registry {
    pub fn new(data_dir: &Path) -> Self {
        Registry {
            plugins_dir: data_dir.join("plugins"),
        }
    }

    /// Names of the built-in plugins in this binary.
    pub fn builtin_names() -> Vec<&'static str> {
        embedded::BUILTINS.iter().map(|(name, _)| *name).collect()
    }

    fn installed_files(&self) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&self.plugins_dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "wasm"))
            .collect();
        files.sort();
        files
    }

    fn installed_names(&self) -> Vec<String> {
        self.installed_files()
            .iter()
            .filter_map(|p| p.file_stem()?.to_str().map(str::to_string))
            .collect()
    }

    /// Every plugin, loaded; a plugin that fails to load is reported with
    /// its error instead of hiding the others.
    pub fn list(&self, runtime: &Runtime) -> Vec<(String, PluginSource, Result<Plugin, RuntimeError>)> {
        let builtins = embedded::BUILTINS.iter().map(|(name, bytes)| {
            let origin = PathBuf::from(format!("<built-in {name}>"));
            (
                name.to_string(),
                PluginSource::Builtin,
                runtime.load_bytes(bytes, &origin),
            )
        });
        let installed = self.installed_files().into_iter().map(|path| {
            let name = path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or("?")
                .to_string();
            let loaded = runtime.load_file(&path);
            (name, PluginSource::Installed(path), loaded)
        });
        builtins.chain(installed).collect()
    }

    /// Finds a plugin by name (installed, then built-in) or by path.
    pub fn resolve(
        &self,
        runtime: &Runtime,
        name_or_path: &str,
    ) -> Result<(Plugin, PluginSource), RegistryError> {
        if looks_like_path(name_or_path) {
            let path = PathBuf::from(name_or_path);
            let plugin = runtime.load_file(&path)?;
            return Ok((plugin, PluginSource::File(path)));
        }
        let installed = self.plugins_dir.join(format!("{name_or_path}.wasm"));
        if installed.is_file() {
            return Ok((runtime.load_file(&installed)?, PluginSource::Installed(installed)));
        }
        if let Some((name, bytes)) = embedded::BUILTINS.iter().find(|(n, _)| *n == name_or_path) {
            let plugin = runtime.load_bytes(bytes, Path::new(&format!("<built-in {name}>")))?;
            return Ok((plugin, PluginSource::Builtin));
        }
        let mut available: Vec<String> = Self::builtin_names().into_iter().map(str::to_string).collect();
        available.extend(self.installed_names());
        let candidates: Vec<&str> = available.iter().map(String::as_str).collect();
        Err(RegistryError::NotFound {
            name: name_or_path.to_string(),
            suggestion: crate::profile::did_you_mean(name_or_path, &candidates).map(str::to_string),
            available,
        })
    }

    /// Finds a built-in or installed plugin by name only: what a server
    /// does with a name a client sent. A path, or a name that could not be
    /// installed, is [`RegistryError::NoSuchName`] like an unknown one, so
    /// a client learns nothing of the server's files.
    pub fn resolve_name(
        &self,
        runtime: &Runtime,
        name: &str,
    ) -> Result<(Plugin, PluginSource), RegistryError> {
        if check_name(name).is_err() {
            return Err(RegistryError::NoSuchName);
        }
        let installed = self.plugins_dir.join(format!("{name}.wasm"));
        if installed.is_file() {
            return Ok((runtime.load_file(&installed)?, PluginSource::Installed(installed)));
        }
        match embedded::BUILTINS.iter().find(|(n, _)| *n == name) {
            Some((name, bytes)) => {
                let plugin = runtime.load_bytes(bytes, Path::new(&format!("<built-in {name}>")))?;
                Ok((plugin, PluginSource::Builtin))
            }
            None => Err(RegistryError::NoSuchName),
        }
    }

    /// Validates the component (contract version, linking, `info`) and
    /// copies it into the data directory under the name it reports. A
    /// built-in's name is refused; so is an installed plugin's name, unless
    /// the component is the same one or `replace` says to replace it.
    pub fn install(
        &self,
        runtime: &Runtime,
        path: &Path,
        replace: bool,
    ) -> Result<(Plugin, PathBuf), RegistryError> {
        let plugin = runtime.load_file(path)?;
        let name = plugin.info.name.clone();
        check_name(&name).map_err(|why| RegistryError::BadName {
            name: name.clone(),
            why,
        })?;
        if Self::builtin_names().contains(&name.as_str()) {
            return Err(RegistryError::NameTaken {
                name,
                taken_by: "built in; rename the plugin".into(),
            });
        }
        let target = self.plugins_dir.join(format!("{name}.wasm"));
        if !replace && target.is_file() {
            let same = runtime
                .load_file(&target)
                .is_ok_and(|p| p.sha256 == plugin.sha256);
            if same {
                return Ok((plugin, target));
            }
            return Err(RegistryError::NameTaken {
                name,
                taken_by: "installed already, from another component; pass --replace to replace it".into(),
            });
        }
        let io = |context, source| RegistryError::Io {
            context,
            path: target.clone(),
            source,
        };
        std::fs::create_dir_all(&self.plugins_dir).map_err(|e| io("cannot create", e))?;
        let tmp = self.plugins_dir.join(format!(".{name}.wasm.tmp"));
        std::fs::copy(path, &tmp).map_err(|e| io("cannot copy to", e))?;
        std::fs::rename(&tmp, &target).map_err(|e| io("cannot install as", e))?;
        Ok((plugin, target))
    }

    /// Deletes an installed plugin; built-ins cannot be removed.
    pub fn remove(&self, name: &str) -> Result<PathBuf, RegistryError> {
        let target = self.plugins_dir.join(format!("{name}.wasm"));
        if !looks_like_path(name) && target.is_file() {
            std::fs::remove_file(&target).map_err(|source| RegistryError::Io {
                context: "cannot remove",
                path: target.clone(),
                source,
            })?;
            return Ok(target);
        }
        if Self::builtin_names().contains(&name) {
            return Err(RegistryError::NameTaken {
                name: name.to_string(),
                taken_by: "built in and cannot be removed".into(),
            });
        }
        let available = self.installed_names();
        let candidates: Vec<&str> = available.iter().map(String::as_str).collect();
        Err(RegistryError::NotFound {
            name: name.to_string(),
            suggestion: crate::profile::did_you_mean(name, &candidates).map(str::to_string),
            available,
        })
    }
}

/// The longest plugin name.
pub const MAX_NAME_LEN: usize = 64;

/// Whether `name` can name an installed plugin: 1 to [`MAX_NAME_LEN`]
/// ASCII letters, digits, `-`, `_` and `.`, not starting with `.` (so it is
/// a plain file name in the plugins folder, and never a path).
pub fn check_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() || name.len() > MAX_NAME_LEN {
        return Err("a plugin name has 1 to 64 characters");
    }
    if name.starts_with('.') {
        return Err("a plugin name cannot start with `.`");
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    {
        return Err("a plugin name has only ASCII letters, digits, `-`, `_` and `.`");
    }
    Ok(())
}

/// A name as errors show it: at most 64 characters, control characters
/// escaped.
fn shorten(name: &str) -> String {
    let short: String = name
        .chars()
        .take(MAX_NAME_LEN)
        .flat_map(char::escape_default)
        .collect();
    if name.chars().count() > MAX_NAME_LEN {
        format!("{short}…")
    } else {
        short
    }
}

fn looks_like_path(s: &str) -> bool {
    s.contains('/') || s.contains('\\') || s.ends_with(".wasm")
}
