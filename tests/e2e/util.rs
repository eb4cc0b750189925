//! Shared helpers: where the built components are, an isolated data
//! directory per test, and a builder for `aiopt` invocations.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use aiopt::runtime::Runtime;

/// Where `cargo xtask build-plugins` puts components.
pub fn plugin_dir() -> PathBuf {
    std::env::var_os("AIOPT_PLUGIN_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/wasm32-wasip2/plugin"))
}

/// A built component by crate name (`fixture_loop`, `aiopt_random`).
pub fn component(crate_name: &str) -> PathBuf {
    let path = plugin_dir().join(format!("{crate_name}.wasm"));
    assert!(
        path.is_file(),
        "{} is missing: build plugins and fixtures with `cargo xtask test`",
        path.display()
    );
    path
}

/// A fixture by directory name under tests/fixtures (`memory-bomb`).
pub fn fixture(name: &str) -> PathBuf {
    component(&format!("fixture_{}", name.replace('-', "_")))
}

pub fn repo_file(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(relative)
}

/// The bundled example profile.
pub fn example_profile() -> PathBuf {
    repo_file("examples/doc-generator/profile.toml")
}

/// One runtime for all in-process tests, like one per `aiopt` process.
pub fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| Runtime::new(None).expect("runtime"))
}

/// An isolated data directory and a way to run `aiopt` against it.
pub struct Env {
    pub dir: tempfile::TempDir,
}

impl Env {
    pub fn new() -> Self {
        Env {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn aiopt(&self, args: &[&str]) -> Run {
        let output = Command::new(env!("CARGO_BIN_EXE_aiopt"))
            .arg("--data-dir")
            .arg(self.dir.path())
            .args(args)
            .env_remove("RUST_BACKTRACE")
            .env_remove("AIOPT_DATA_DIR")
            .output()
            .expect("running aiopt");
        Run(output)
    }
}

/// A finished `aiopt` process.
pub struct Run(pub Output);

impl Run {
    pub fn code(&self) -> i32 {
        self.0.status.code().expect("exited normally")
    }
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.0.stdout).into_owned()
    }
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.0.stderr).into_owned()
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.0.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                self.stdout(),
                self.stderr()
            )
        })
    }
    /// Asserts the exit code, showing the output when it differs.
    pub fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code(),
            code,
            "unexpected exit code\nstdout:\n{}\nstderr:\n{}",
            self.stdout(),
            self.stderr()
        );
        self
    }
}
