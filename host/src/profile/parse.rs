//! Reading a profile from TOML, reporting every problem with its position.
//!
//! The TOML is parsed into a spanned document (`toml::de::DeTable`) rather
//! than through serde derives, so that each problem can point at the exact
//! key or value, and so that checking goes on after the first problem.
//!
//! `[data]` names files, and where they may come from is checked before
//! any is opened: a profile file reads only from its own folder (after
//! resolving `..` and symlinks) or from paths the user allowed, an upload
//! only from its own files. A refused entry is a problem at the entry that
//! says nothing about the file it names, so a profile cannot be used to
//! read, echo or store a file its author could not read anyway.

use std::collections::{BTreeMap, HashSet};
use std::path::{Component, Path, PathBuf};
use std::sync::OnceLock;

use toml::de::{DeArray, DeTable, DeValue};
use toml::Spanned;

use super::data::{Input, RowReader};
use super::model::*;
use super::problem::{did_you_mean, Locator, Problem, ProfileError};
use super::tables::{self, SpaceIndex};
use super::MAX_CHOICE_LABELS;

const TOP_KEYS: &[&str] = &[
    "format",
    "name",
    "kind",
    "description",
    "space",
    "baseline",
    "objectives",
    "constraints",
    "workload",
    "options",
    "data",
    "observations",
];
const DATA_KEYS: &[&str] = &["observations", "requests"];
const PARAM_KEYS: &[&str] = &["name", "type", "low", "high", "log", "step", "values"];
const OBJECTIVE_KEYS: &[&str] = &["metric", "direction"];
const CONSTRAINT_KEYS: &[&str] = &["metric", "low", "high"];
const WORKLOAD_KEYS: &[&str] = &[
    "requests_per_day",
    "peak_requests_per_second",
    "mean_input_tokens",
    "mean_output_tokens",
];

/// Data paths outside their profile's folder that this process may read,
/// resolved: set once by the command line (`--allow-data`) before any
/// command runs, so that every command that loads a profile file honours
/// it without each passing it along. Uploads never consult it.
static ALLOWED_DATA: OnceLock<Vec<PathBuf>> = OnceLock::new();

/// Lets [`load`] and [`parse`] read `[data]` files at or under `paths`
/// although they lie outside the profile's folder. Each path is resolved
/// (`..`, symlinks) now; the first that cannot be is returned with its
/// error. Only the first call has an effect: the allowance is fixed for
/// the life of the process.
pub fn allow_data(paths: &[PathBuf]) -> Result<(), (PathBuf, std::io::Error)> {
    let resolved = paths
        .iter()
        .map(|p| p.canonicalize().map_err(|e| (p.clone(), e)))
        .collect::<Result<Vec<_>, _>>()?;
    let _ = ALLOWED_DATA.set(resolved);
    Ok(())
}

fn allowed_data() -> &'static [PathBuf] {
    ALLOWED_DATA.get().map_or(&[], Vec::as_slice)
}

/// Reads and checks the profile at `path`; its `[data]` may name files in
/// its own folder and those [`allow_data`] allowed.
pub fn load(path: &Path) -> Result<Profile, ProfileError> {
    load_with(path, allowed_data())
}

/// [`load`], allowing data at or under the resolved paths `allowed`
/// instead of those of [`allow_data`].
pub fn load_with(path: &Path, allowed: &[PathBuf]) -> Result<Profile, ProfileError> {
    let bytes = std::fs::read(path).map_err(|e| ProfileError {
        problems: vec![Problem {
            file: path.to_path_buf(),
            line: 0,
            column: 0,
            message: format!("cannot read the profile: {e}"),
        }],
    })?;
    let source = utf8(path, &bytes)?;
    check(path, source, Access::Folder { allowed })
}

/// Checks `source` completely; `file` names it in problems, and its folder
/// is where `[data]` files are read from (as by [`load`]).
pub fn parse(file: &Path, source: &str) -> Result<Profile, ProfileError> {
    check(
        file,
        source,
        Access::Folder {
            allowed: allowed_data(),
        },
    )
}

/// Checks an uploaded profile: `toml`, named `profile.toml` in problems,
/// whose `[data]` may name only the uploaded `files` (name → text). No
/// file is opened.
pub fn parse_upload(toml: &[u8], files: &BTreeMap<String, String>) -> Result<Profile, ProfileError> {
    let file = Path::new("profile.toml");
    let source = utf8(file, toml)?;
    check(file, source, Access::Upload(files))
}

/// `bytes` as text, or a problem at the line and column of the first byte
/// that is not UTF-8.
fn utf8<'b>(file: &Path, bytes: &'b [u8]) -> Result<&'b str, ProfileError> {
    std::str::from_utf8(bytes).map_err(|e| {
        let valid = e.valid_up_to();
        let prefix = std::str::from_utf8(&bytes[..valid]).unwrap_or_default();
        let message = format!(
            "invalid UTF-8: byte {:#04x} cannot appear here; a profile must be UTF-8 text",
            bytes[valid]
        );
        ProfileError {
            problems: vec![Locator::new(file.to_path_buf(), prefix).at(valid, message)],
        }
    })
}

/// Where `[data]` files may come from.
#[derive(Clone, Copy)]
enum Access<'a> {
    /// Files in the profile's folder, or at or under one of `allowed`
    /// (resolved paths).
    Folder { allowed: &'a [PathBuf] },
    /// Only these uploaded texts, by the plain name the upload gave them.
    Upload(&'a BTreeMap<String, String>),
}

fn check(file: &Path, source: &str, access: Access<'_>) -> Result<Profile, ProfileError> {
    let mut checker = Checker {
        loc: Locator::new(file.to_path_buf(), source),
        problems: Vec::new(),
        access,
    };
    let document = match DeTable::parse(source) {
        Ok(document) => document,
        Err(e) => {
            let offset = e.span().map_or(0, |s| s.start);
            let message = format!("invalid TOML: {}", e.message().trim_end());
            return Err(ProfileError {
                problems: vec![checker.loc.at(offset, message)],
            });
        }
    };
    let profile = checker.profile(&document);
    match profile {
        Some(profile) if checker.problems.is_empty() => Ok(profile),
        _ => Err(ProfileError {
            problems: checker.problems,
        }),
    }
}

/// One `[data]` entry: which key, the path as written, and where.
struct DataEntry {
    key: &'static str,
    path: String,
    offset: usize,
}

/// A data file ready to read, or the problem that refused it.
type Resolved<'a> = Result<(PathBuf, Input<'a>), Problem>;

struct Checker<'a> {
    loc: Locator<'a>,
    problems: Vec<Problem>,
    access: Access<'a>,
}

type Node<'i> = Spanned<DeValue<'i>>;
/// A key and its value in a TOML table.
type Entry<'t, 'i> = (&'t Spanned<std::borrow::Cow<'i, str>>, &'t Node<'i>);

impl<'a> Checker<'a> {
    fn problem(&mut self, offset: usize, message: impl Into<String>) {
        self.problems.push(self.loc.at(offset, message));
    }

    fn profile(&mut self, document: &Spanned<DeTable<'_>>) -> Option<Profile> {
        let table = document.get_ref();
        self.check_keys(table, TOP_KEYS, "the profile");
        let start = document.span().start;
        let name = self.required_str(table, "name", start);
        let kind = self.required_str(table, "kind", start);
        let description = table
            .get("description")
            .and_then(|v| self.string(v, "description"));
        let space = self.space(table, start);
        let index = SpaceIndex::new(&space);
        let baseline = self.baseline(table, &index, start);
        let objectives = self.objectives(table);
        let constraints = self.constraints(table);
        let workload = self.workload(table);
        let options = self.options(table);
        self.check_format(table);
        let mut trials = self.observations(table, &index);
        let entries = self.data_entries(table);
        let files: Vec<(&'static str, Resolved<'_>)> =
            entries.iter().map(|e| (e.key, self.resolve(e))).collect();
        let mut requests = RequestLog::default();
        // Data files are only read once the TOML itself is sound: their
        // rows are checked against the space it declares. Refused entries
        // are reported either way.
        let sound = self.problems.is_empty();
        for (key, file) in files {
            match file {
                Err(problem) => self.problems.push(problem),
                Ok(_) if !sound => {}
                Ok((name, input)) => {
                    let reader = match RowReader::open(&name, input) {
                        Ok(reader) => reader,
                        Err(problem) => {
                            self.problems.push(problem);
                            continue;
                        }
                    };
                    if key == "observations" {
                        let (rows, problems) = tables::read_observations(reader, &index, trials.len() as u32);
                        trials.extend(rows);
                        self.problems.extend(problems);
                    } else {
                        self.problems.extend(tables::read_requests(reader, &mut requests));
                    }
                }
            }
        }
        self.check_metrics_have_data(table, &objectives, &constraints, &trials);
        Some(Profile {
            name: name?,
            kind: kind?,
            description,
            space,
            baseline,
            objectives,
            constraints,
            workload,
            trials,
            requests,
            options,
        })
    }

    fn check_format(&mut self, table: &DeTable<'_>) {
        let Some(node) = table.get("format") else { return };
        if let Some(version) = self.integer(node, "format") {
            if version != 1 {
                self.problem(
                    node.span().start,
                    format!("profile format {version} is not supported; this aiopt reads format 1"),
                );
            }
        }
    }

    /// `[data]`: paths (one or a list) of observation and request files,
    /// observations first, each list in order.
    fn data_entries(&mut self, table: &DeTable<'_>) -> Vec<DataEntry> {
        let mut entries = Vec::new();
        let Some(t) = table.get("data").and_then(|n| self.table(n, "data")) else {
            return entries;
        };
        self.check_keys(t, DATA_KEYS, "`[data]`");
        for key in ["observations", "requests"] {
            let Some(node) = t.get(key) else { continue };
            let nodes: Vec<&Node<'_>> = match node.get_ref().as_array() {
                Some(items) => items.iter().collect(),
                None => vec![node],
            };
            for item in nodes {
                if let Some(path) = self.string(item, key) {
                    entries.push(DataEntry {
                        key,
                        path,
                        offset: item.span().start,
                    });
                }
            }
        }
        entries
    }

    /// Where `entry`'s data come from, if the access allows it: nothing is
    /// opened here, and a refusal names only what the entry says.
    fn resolve(&self, entry: &DataEntry) -> Resolved<'a> {
        let written = serde_json::to_string(&entry.path).unwrap_or_default();
        let what = format!("`[data] {}` = {written}", entry.key);
        match self.access {
            Access::Upload(files) => {
                let mut components = Path::new(&entry.path).components();
                let plain = matches!(
                    (components.next(), components.next()),
                    (Some(Component::Normal(_)), None)
                );
                if !plain {
                    let name = Path::new(&entry.path)
                        .file_name()
                        .and_then(|n| n.to_str())
                        .unwrap_or("observations.csv");
                    return Err(self.loc.at(
                        entry.offset,
                        format!(
                            "{what} is a path, not the name of an uploaded file; an uploaded profile reads \
                             no server files: send the data in `files` and name it here by its plain name \
                             (like {})",
                            serde_json::to_string(name).unwrap_or_default()
                        ),
                    ));
                }
                match files.get(&entry.path) {
                    Some(text) => Ok((PathBuf::from(&entry.path), Input::Text(text))),
                    None => {
                        let mut names: Vec<&str> = files.keys().take(10).map(String::as_str).collect();
                        if files.len() > names.len() {
                            names.push("…");
                        }
                        let uploaded = if names.is_empty() {
                            "none were uploaded".to_string()
                        } else {
                            format!("uploaded: {}", names.join(", "))
                        };
                        Err(self.loc.at(
                            entry.offset,
                            format!(
                                "{what} names no uploaded file ({uploaded}); an uploaded profile's data \
                                 must be sent in `files`, by the name used here"
                            ),
                        ))
                    }
                }
            }
            Access::Folder { allowed } => {
                let folder = self.loc.file().parent().unwrap_or(Path::new(""));
                let name = folder.join(&entry.path);
                let real = name.canonicalize().map_err(|e| Problem {
                    file: name.clone(),
                    line: 0,
                    column: 0,
                    message: format!("cannot read the data file: {e}"),
                })?;
                let folder = if folder.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    folder
                };
                let inside = folder.canonicalize().is_ok_and(|f| real.starts_with(f));
                if inside || allowed.iter().any(|a| real.starts_with(a)) {
                    return Ok((name, Input::File(real)));
                }
                Err(self.loc.at(
                    entry.offset,
                    format!(
                        "{what} is outside the profile's folder (it resolves to {real}); a profile reads \
                         data only from its own folder: move the file there, or pass --allow-data {real}",
                        real = real.display()
                    ),
                ))
            }
        }
    }

    fn check_keys(&mut self, table: &DeTable<'_>, allowed: &[&str], context: &str) {
        for key in table.keys() {
            let name = key.get_ref().as_ref();
            if allowed.contains(&name) {
                continue;
            }
            let hint = did_you_mean(name, allowed)
                .map(|s| format!(" (did you mean `{s}`?)"))
                .unwrap_or_default();
            self.problem(
                key.span().start,
                format!(
                    "unknown key `{name}` in {context}{hint}; expected one of: {}",
                    allowed.join(", ")
                ),
            );
        }
    }

    fn required_str(&mut self, table: &DeTable<'_>, key: &str, at: usize) -> Option<String> {
        match table.get(key) {
            Some(value) => self.string(value, key),
            None => {
                self.problem(at, format!("missing required key `{key}`"));
                None
            }
        }
    }

    fn string(&mut self, value: &Node<'_>, what: &str) -> Option<String> {
        match value.get_ref().as_str() {
            Some(s) if !s.trim().is_empty() => Some(s.to_string()),
            Some(_) => {
                self.problem(value.span().start, format!("`{what}` must not be empty"));
                None
            }
            None => {
                self.expected(value, what, "a string");
                None
            }
        }
    }

    fn expected(&mut self, value: &Node<'_>, what: &str, expected: &str) {
        let found = value.get_ref().type_str();
        self.problem(
            value.span().start,
            format!("`{what}` must be {expected}, found {found}"),
        );
    }

    fn number(&mut self, value: &Node<'_>, what: &str) -> Option<f64> {
        let n = match value.get_ref() {
            DeValue::Integer(i) => i64::from_str_radix(i.as_str(), i.radix()).ok().map(|i| i as f64),
            DeValue::Float(f) => f.as_str().parse::<f64>().ok(),
            _ => {
                self.expected(value, what, "a number");
                return None;
            }
        };
        match n {
            Some(x) if x.is_finite() => Some(x),
            _ => {
                self.problem(
                    value.span().start,
                    format!("`{what}` must be a finite number, found {}", value_text(value)),
                );
                None
            }
        }
    }

    fn integer(&mut self, value: &Node<'_>, what: &str) -> Option<i64> {
        match value.get_ref() {
            DeValue::Integer(i) => match i64::from_str_radix(i.as_str(), i.radix()) {
                Ok(i) => Some(i),
                Err(_) => {
                    self.problem(value.span().start, format!("`{what}` does not fit in 64 bits"));
                    None
                }
            },
            _ => {
                self.expected(value, what, "an integer");
                None
            }
        }
    }

    fn boolean(&mut self, value: &Node<'_>, what: &str) -> Option<bool> {
        let b = value.get_ref().as_bool();
        if b.is_none() {
            self.expected(value, what, "true or false");
        }
        b
    }

    fn table<'t, 'i>(&mut self, value: &'t Node<'i>, what: &str) -> Option<&'t DeTable<'i>> {
        let t = value.get_ref().as_table();
        if t.is_none() {
            self.expected(value, what, "a table");
        }
        t
    }

    fn array<'t, 'i>(&mut self, value: &'t Node<'i>, what: &str) -> Option<&'t DeArray<'i>> {
        let a = value.get_ref().as_array();
        if a.is_none() {
            self.expected(value, what, "an array of tables (`[[...]]`)");
        }
        a
    }

    fn space(&mut self, table: &DeTable<'_>, at: usize) -> Vec<Param> {
        let Some(node) = table.get("space") else {
            self.problem(at, "missing the search space: add at least one `[[space]]` knob");
            return Vec::new();
        };
        let Some(entries) = self.array(node, "space") else {
            return Vec::new();
        };
        let mut seen = HashSet::new();
        let mut params = Vec::new();
        for entry in entries.iter() {
            let Some(param) = self.param(entry) else { continue };
            if !seen.insert(param.name.clone()) {
                self.problem(
                    entry.span().start,
                    format!("duplicate knob `{}` in the search space", param.name),
                );
                continue;
            }
            params.push(param);
        }
        params
    }

    fn param(&mut self, entry: &Node<'_>) -> Option<Param> {
        let at = entry.span().start;
        let t = self.table(entry, "space entry")?;
        self.check_keys(t, PARAM_KEYS, "a `[[space]]` knob");
        let name = self.required_str(t, "name", at)?;
        let kind = self.required_str(t, "type", at)?;
        let domain = match kind.as_str() {
            "real" => self.real_domain(t, &name, at)?,
            "integer" | "int" => self.int_domain(t, &name, at)?,
            "choice" => self.choice_domain(t, &name, at)?,
            "flag" | "bool" => Domain::Flag,
            other => {
                let hint = did_you_mean(other, &["real", "integer", "choice", "flag"])
                    .map(|s| format!(" (did you mean `{s}`?)"))
                    .unwrap_or_default();
                self.problem(
                    t.get("type").map_or(at, |v| v.span().start),
                    format!("knob `{name}` has unknown type `{other}`{hint}; expected real, integer, choice or flag"),
                );
                return None;
            }
        };
        Some(Param { name, domain })
    }

    fn bounds<T: PartialOrd + Copy + std::fmt::Display>(
        &mut self,
        t: &DeTable<'_>,
        name: &str,
        at: usize,
        read: impl Fn(&mut Self, &Node<'_>, &str) -> Option<T>,
    ) -> Option<(T, T)> {
        let low = t.get("low").map(|v| read(self, v, "low"));
        let high = t.get("high").map(|v| read(self, v, "high"));
        let (Some(low), Some(high)) = (low, high) else {
            self.problem(at, format!("knob `{name}` needs both `low` and `high`"));
            return None;
        };
        let (low, high) = (low?, high?);
        if low >= high {
            self.problem(
                at,
                format!("knob `{name}`: `low` ({low}) must be below `high` ({high})"),
            );
            return None;
        }
        Some((low, high))
    }

    fn real_domain(&mut self, t: &DeTable<'_>, name: &str, at: usize) -> Option<Domain> {
        let (low, high) = self.bounds(t, name, at, Self::number)?;
        let log = t.get("log").and_then(|v| self.boolean(v, "log")).unwrap_or(false);
        let step = match t.get("step") {
            Some(v) => Some(self.number(v, "step")?),
            None => None,
        };
        self.check_scale(name, at, log, low > 0.0, step.map(|s| s > 0.0))?;
        Some(Domain::Real { low, high, log, step })
    }

    fn int_domain(&mut self, t: &DeTable<'_>, name: &str, at: usize) -> Option<Domain> {
        let (low, high) = self.bounds(t, name, at, Self::integer)?;
        // Strategies see history values as f64, exact only up to 2^53.
        const EXACT: i64 = 1 << 53;
        if low < -EXACT || high > EXACT {
            self.problem(
                at,
                format!("knob `{name}`: integer bounds must lie within ±2^53 ({EXACT})"),
            );
            return None;
        }
        let log = t.get("log").and_then(|v| self.boolean(v, "log")).unwrap_or(false);
        let step = match t.get("step") {
            Some(v) => Some(self.integer(v, "step")?),
            None => None,
        };
        self.check_scale(name, at, log, low >= 1, step.map(|s| s > 0))?;
        Some(Domain::Integer { low, high, log, step })
    }

    fn check_scale(
        &mut self,
        name: &str,
        at: usize,
        log: bool,
        positive_low: bool,
        positive_step: Option<bool>,
    ) -> Option<()> {
        if log && !positive_low {
            self.problem(
                at,
                format!("knob `{name}`: a log scale needs `low` > 0 (>= 1 for integers)"),
            );
            return None;
        }
        if positive_step == Some(false) {
            self.problem(at, format!("knob `{name}`: `step` must be positive"));
            return None;
        }
        Some(())
    }

    fn choice_domain(&mut self, t: &DeTable<'_>, name: &str, at: usize) -> Option<Domain> {
        let Some(node) = t.get("values") else {
            self.problem(
                at,
                format!("choice knob `{name}` needs `values = [\"a\", \"b\", ...]`"),
            );
            return None;
        };
        let Some(items) = node.get_ref().as_array() else {
            self.expected(node, "values", "an array of strings");
            return None;
        };
        if items.len() > MAX_CHOICE_LABELS {
            // Reported, and the knob kept, so that its values are still
            // checked and nothing else is reported as a knob missing.
            self.problem(
                node.span().start,
                format!(
                    "choice knob `{name}` has {} labels; a choice knob may have at most {MAX_CHOICE_LABELS}",
                    items.len()
                ),
            );
        }
        let mut values = Vec::with_capacity(items.len());
        // Borrowed from the document: one copy of each label, not two.
        let mut seen: HashSet<&str> = HashSet::with_capacity(items.len());
        for item in items.iter() {
            let label = self.string(item, "values")?;
            if !seen.insert(item.get_ref().as_str().unwrap_or_default()) {
                self.problem(
                    item.span().start,
                    format!("choice knob `{name}` lists `{label}` twice"),
                );
                return None;
            }
            values.push(label);
        }
        if values.is_empty() {
            self.problem(node.span().start, format!("choice knob `{name}` has no values"));
            return None;
        }
        Some(Domain::Choice { values })
    }

    /// A TOML value for knob `k`, checked against the knob's domain.
    fn knob_value(&mut self, space: &SpaceIndex<'_>, k: usize, node: &Node<'_>) -> Option<Value> {
        let param = &space.params[k];
        let raw = match node.get_ref() {
            DeValue::String(s) => Some(Value::Choice(s.to_string())),
            DeValue::Integer(_) => self.integer(node, &param.name).map(Value::Integer),
            DeValue::Float(_) => self.number(node, &param.name).map(Value::Real),
            DeValue::Boolean(b) => Some(Value::Flag(*b)),
            _ => {
                self.expected(node, &param.name, &param.domain.describe());
                None
            }
        }?;
        let value = param.domain.coerce(raw);
        if !space.contains(k, &value) {
            self.problem(
                node.span().start,
                format!(
                    "`{}` = {} is outside its domain: expected {}",
                    param.name,
                    value_text(node),
                    param.domain.describe()
                ),
            );
            return None;
        }
        Some(value)
    }

    /// Reads a table of knob values (the baseline or an observation row);
    /// returns the config in space order and the keys that are not knobs.
    fn knob_table<'t, 'i>(
        &mut self,
        t: &'t DeTable<'i>,
        space: &SpaceIndex<'_>,
        at: usize,
        what: &str,
    ) -> (Option<Config>, Vec<Entry<'t, 'i>>) {
        let mut config = Vec::new();
        let mut complete = true;
        for (k, param) in space.params.iter().enumerate() {
            match t.get(param.name.as_str()) {
                Some(node) => match self.knob_value(space, k, node) {
                    Some(v) => config.push((param.name.clone(), v)),
                    None => complete = false,
                },
                None => {
                    self.problem(at, format!("{what} has no value for knob `{}`", param.name));
                    complete = false;
                }
            }
        }
        let rest = t
            .iter()
            .filter(|(k, _)| space.position(k.get_ref().as_ref()).is_none())
            .collect();
        (complete.then_some(config), rest)
    }

    fn baseline(&mut self, table: &DeTable<'_>, space: &SpaceIndex<'_>, at: usize) -> Config {
        let Some(node) = table.get("baseline") else {
            self.problem(at, "missing `[baseline]`: the configuration in use today");
            return Vec::new();
        };
        let Some(t) = self.table(node, "baseline") else {
            return Vec::new();
        };
        let (config, rest) = self.knob_table(t, space, node.span().start, "`[baseline]`");
        let knobs: Vec<&str> = space.params.iter().map(|p| p.name.as_str()).collect();
        for (key, _) in rest {
            let name = key.get_ref().as_ref();
            let hint = did_you_mean(name, &knobs)
                .map(|s| format!(" (did you mean `{s}`?)"))
                .unwrap_or_default();
            self.problem(
                key.span().start,
                format!("`[baseline]` sets `{name}`, which is not a knob of the search space{hint}"),
            );
        }
        config.unwrap_or_default()
    }

    fn objectives(&mut self, table: &DeTable<'_>) -> Vec<Objective> {
        let Some(node) = table.get("objectives") else {
            return Vec::new();
        };
        let Some(entries) = self.array(node, "objectives") else {
            return Vec::new();
        };
        let mut objectives: Vec<Objective> = Vec::new();
        for entry in entries.iter() {
            let at = entry.span().start;
            let Some(t) = self.table(entry, "objectives entry") else {
                continue;
            };
            self.check_keys(t, OBJECTIVE_KEYS, "an `[[objectives]]` entry");
            let metric = self.required_str(t, "metric", at);
            let direction = self
                .required_str(t, "direction", at)
                .and_then(|d| match d.as_str() {
                    "minimize" => Some(Direction::Minimize),
                    "maximize" => Some(Direction::Maximize),
                    other => {
                        self.problem(at, format!("direction `{other}` is not `minimize` or `maximize`"));
                        None
                    }
                });
            let (Some(metric), Some(direction)) = (metric, direction) else {
                continue;
            };
            if objectives.iter().any(|o| o.metric == metric) {
                self.problem(at, format!("metric `{metric}` is an objective twice"));
                continue;
            }
            objectives.push(Objective { metric, direction });
        }
        objectives
    }

    fn constraints(&mut self, table: &DeTable<'_>) -> Vec<Constraint> {
        let Some(node) = table.get("constraints") else {
            return Vec::new();
        };
        let Some(entries) = self.array(node, "constraints") else {
            return Vec::new();
        };
        let mut constraints = Vec::new();
        for entry in entries.iter() {
            let at = entry.span().start;
            let Some(t) = self.table(entry, "constraints entry") else {
                continue;
            };
            self.check_keys(t, CONSTRAINT_KEYS, "a `[[constraints]]` entry");
            let metric = self.required_str(t, "metric", at);
            let low = t.get("low").and_then(|v| self.number(v, "low"));
            let high = t.get("high").and_then(|v| self.number(v, "high"));
            let Some(metric) = metric else { continue };
            match (low, high) {
                (None, None) => self.problem(
                    at,
                    format!("constraint on `{metric}` needs `low`, `high` or both"),
                ),
                (Some(l), Some(h)) if l > h => self.problem(
                    at,
                    format!("constraint on `{metric}`: `low` ({l}) is above `high` ({h})"),
                ),
                _ => constraints.push(Constraint { metric, low, high }),
            }
        }
        constraints
    }

    fn workload(&mut self, table: &DeTable<'_>) -> Workload {
        let mut workload = Workload::default();
        let Some(t) = table.get("workload").and_then(|n| self.table(n, "workload")) else {
            return workload;
        };
        self.check_keys(t, WORKLOAD_KEYS, "`[workload]`");
        let mut field = |key: &str| {
            let node = t.get(key)?;
            let x = self.number(node, key)?;
            if x < 0.0 {
                self.problem(node.span().start, format!("`{key}` must not be negative"));
                return None;
            }
            Some(x)
        };
        workload.requests_per_day = field("requests_per_day");
        workload.peak_requests_per_second = field("peak_requests_per_second");
        workload.mean_input_tokens = field("mean_input_tokens");
        workload.mean_output_tokens = field("mean_output_tokens");
        workload
    }

    fn options(&mut self, table: &DeTable<'_>) -> Vec<(String, Value)> {
        let Some(t) = table.get("options").and_then(|n| self.table(n, "options")) else {
            return Vec::new();
        };
        let mut options = Vec::new();
        for (key, node) in t.iter() {
            let name = key.get_ref().to_string();
            let value = match node.get_ref() {
                DeValue::String(s) => Some(Value::Choice(s.to_string())),
                DeValue::Integer(_) => self.integer(node, &name).map(Value::Integer),
                DeValue::Float(_) => self.number(node, &name).map(Value::Real),
                DeValue::Boolean(b) => Some(Value::Flag(*b)),
                _ => {
                    self.expected(node, &name, "a string, number or boolean");
                    None
                }
            };
            if let Some(value) = value {
                options.push((name, value));
            }
        }
        options
    }

    fn observations(&mut self, table: &DeTable<'_>, space: &SpaceIndex<'_>) -> Vec<Trial> {
        let Some(node) = table.get("observations") else {
            return Vec::new();
        };
        let Some(rows) = self.array(node, "observations") else {
            return Vec::new();
        };
        let mut trials = Vec::new();
        for (number, row) in rows.iter().enumerate() {
            let at = row.span().start;
            let Some(t) = self.table(row, "observation") else {
                continue;
            };
            let what = format!("observation {}", number + 1);
            let (config, rest) = self.knob_table(t, space, at, &what);
            let mut metrics = Vec::new();
            for (key, value) in rest {
                let metric = key.get_ref().to_string();
                let Some(x) = self.number(value, &metric) else {
                    continue;
                };
                if let Err(message) = tables::parse_metric(&metric, &x.to_string()) {
                    self.problem(value.span().start, message);
                    continue;
                }
                metrics.push((metric, x));
            }
            if metrics.is_empty() {
                self.problem(
                    at,
                    format!("{what} has no metric values (columns that are not knobs)"),
                );
            }
            if let Some(config) = config {
                trials.push(Trial {
                    number: number as u32,
                    config,
                    metrics,
                    state: TrialState::Complete,
                });
            }
        }
        trials
    }

    /// An objective or constraint on a metric that no observation measures
    /// is almost always a typo; say so while the file is open.
    fn check_metrics_have_data(
        &mut self,
        table: &DeTable<'_>,
        objectives: &[Objective],
        constraints: &[Constraint],
        trials: &[Trial],
    ) {
        if trials.is_empty() {
            return;
        }
        let measured: HashSet<&str> = trials
            .iter()
            .flat_map(|t| t.metrics.iter().map(|(m, _)| m.as_str()))
            .collect();
        let mut names: Vec<&str> = measured.iter().copied().collect();
        names.sort_unstable();
        let sections = [
            (
                "objectives",
                objectives.iter().map(|o| o.metric.as_str()).collect::<Vec<_>>(),
            ),
            (
                "constraints",
                constraints.iter().map(|c| c.metric.as_str()).collect(),
            ),
        ];
        for (section, metrics) in sections {
            let at = table.get(section).map_or(0, |n| n.span().start);
            for metric in metrics {
                if measured.contains(metric) {
                    continue;
                }
                let hint = did_you_mean(metric, &names)
                    .map(|s| format!(" (did you mean `{s}`?)"))
                    .unwrap_or_default();
                self.problem(
                    at,
                    format!(
                        "{section} name metric `{metric}`, which no observation measures{hint}; measured: {}",
                        names.join(", ")
                    ),
                );
            }
        }
    }
}

fn value_text(node: &Node<'_>) -> String {
    match node.get_ref() {
        DeValue::String(s) => format!("\"{s}\""),
        DeValue::Integer(i) => i.to_string(),
        DeValue::Float(f) => f.to_string(),
        DeValue::Boolean(b) => b.to_string(),
        other => other.type_str().to_string(),
    }
}
