//! Which contract versions this host accepts, read from a component's export
//! names before linking.
//!
//! Reading the version first turns wasmtime's "matching implementation was not
//! found" link failure into an error that names both versions.

use semver::{Version, VersionReq};
use wasmtime::component::Component;
use wasmtime::Engine;

/// The WIT package the host binds to.
pub const PACKAGE: &str = "aiopt:strategy";

/// The contract version the host was built against (the `wit/` package).
pub const HOST_VERSION: &str = "0.1.0";

/// Semver range of plugin contract versions the host links. While the
/// contract is 0.x a minor bump is breaking, so only 0.1.x is accepted.
pub const SUPPORTED: &str = ">=0.1.0, <0.2.0";

/// The outcome of reading a component's exports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContractCheck {
    /// Exports a supported `aiopt:strategy/strategy` version.
    Supported(Version),
    /// Exports the strategy interface at an unsupported version, or not at
    /// all; the string says what was found, for the error message.
    Unsupported(String),
}

/// Finds `aiopt:strategy/strategy@X.Y.Z` among the component's exports and
/// checks it against [`SUPPORTED`].
pub fn check(engine: &Engine, component: &Component) -> ContractCheck {
    let ty = component.component_type();
    let names: Vec<String> = ty.exports(engine).map(|(name, _)| name.to_string()).collect();
    check_export_names(names.iter().map(String::as_str))
}

/// The pure part of [`check`], separate so it is testable without wasm.
pub fn check_export_names<'a>(names: impl IntoIterator<Item = &'a str>) -> ContractCheck {
    let prefix = format!("{PACKAGE}/strategy@");
    let mut exported = Vec::new();
    for name in names {
        let Some(version) = name.strip_prefix(&prefix) else {
            exported.push(name.to_string());
            continue;
        };
        return match Version::parse(version) {
            Ok(found) if supported_req().matches(&found) => ContractCheck::Supported(found),
            Ok(found) => ContractCheck::Unsupported(format!("{PACKAGE}@{found}")),
            Err(_) => ContractCheck::Unsupported(format!("{PACKAGE}@{version} (not semver)")),
        };
    }
    let what = if exported.is_empty() {
        "no exports".to_string()
    } else {
        format!("no {PACKAGE}/strategy export (exports: {})", exported.join(", "))
    };
    ContractCheck::Unsupported(what)
}

fn supported_req() -> VersionReq {
    VersionReq::parse(SUPPORTED).expect("SUPPORTED is a valid semver range")
}

/// Human form of the supported range, for messages.
pub fn supported_description() -> String {
    format!("{PACKAGE}@0.1.x ({SUPPORTED})")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_patch_versions_of_0_1() {
        for v in ["0.1.0", "0.1.7"] {
            let name = format!("aiopt:strategy/strategy@{v}");
            assert_eq!(
                check_export_names([name.as_str()]),
                ContractCheck::Supported(Version::parse(v).unwrap())
            );
        }
    }

    #[test]
    fn refuses_other_versions_naming_them() {
        for v in ["0.2.0", "9.0.0", "0.0.9"] {
            let name = format!("aiopt:strategy/strategy@{v}");
            assert_eq!(
                check_export_names([name.as_str()]),
                ContractCheck::Unsupported(format!("aiopt:strategy@{v}"))
            );
        }
    }

    #[test]
    fn names_what_was_exported_when_the_interface_is_missing() {
        let found = check_export_names(["wasi:cli/run@0.2.6"]);
        assert_eq!(
            found,
            ContractCheck::Unsupported(
                "no aiopt:strategy/strategy export (exports: wasi:cli/run@0.2.6)".into()
            )
        );
        assert_eq!(
            check_export_names([]),
            ContractCheck::Unsupported("no exports".into())
        );
    }
}
