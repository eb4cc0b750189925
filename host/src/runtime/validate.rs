//! Plugin output is untrusted input: every configuration, estimate and text
//! a plugin returns is checked here against the profile before the host
//! stores, shows or applies it. Output that breaks a rule is
//! [`RuntimeError::InvalidOutput`] naming the first fault ("proposal 2:
//! knob `model` = \"not-a-label\" is not one of its 4 labels"), never data.
//!
//! Every call goes through this module: `Runtime::suggest` and
//! `Runtime::suggest_study` (plugin run, studies from the CLI and the API)
//! through [`suggestions`], `Runtime::recommend` (plugin run, optimize,
//! recommend, the API) through [`report`], and every load through
//! [`info`]. The rules:
//!
//! * **A configuration is complete**: it assigns every knob of the search
//!   space exactly once, and nothing else (the WIT `config`: "one
//!   assignment per knob"). Studies need this (a trial without a value for
//!   a knob has no row in the history and cannot be evaluated), and a
//!   proposal is what `config apply` deploys, so it must say what every
//!   knob is. The built-ins all return complete configurations (suggestions
//!   are sampled per knob; proposals are the baseline with some knobs
//!   changed, or a measured configuration). Assignments may come in any
//!   order; the host keeps them in search-space order.
//! * **Every value is in its knob's domain**, by the same rule as `config
//!   set` ([`knob_value`]): the knob's type (an integer is taken for a real
//!   knob, as in profiles), a finite number within `[low, high]` and on the
//!   step grid, one of a choice's labels.
//! * `suggest` returns **at most `count`** configurations (fewer means the
//!   space ran out).
//! * **Estimates** are finite with `low <= value <= high`, at most one per
//!   metric in a proposal, non-negative for metrics whose unit says so
//!   (`_ms`, `_usd`, `_mb`, `_rps`, as for measured data). A **metric name**
//!   is a metric of the profile (objective, constraint, measured, or a
//!   request-log metric), one of those with a `_suffix`, or a new metric
//!   name of ASCII letters, digits and `_` starting with a letter (at most
//!   [`MAX_METRIC_BYTES`]). New names must be allowed: strategies predict
//!   derived metrics (`capacity_rps`, `cache_hit_rate`,
//!   `latency_p95_ms_at_peak`) that no profile measures.
//! * **Texts are bounded**: a title (non-empty), rationale and notes have a
//!   size limit, and so do the numbers of proposals, estimates and notes.
//!   Texts may hold any character: what reaches a terminal is escaped when
//!   it is printed (`report::terminal`), and JSON stays exact data.
//!
//! Fault messages quote plugin strings escaped and cut to a readable
//! length, so an error message is itself safe to print.

use crate::profile::{self, Config, Domain, Param, Profile, Value};
use crate::report::{terminal, Estimate, Proposal, Report};

use super::error::RuntimeError;
use super::PluginInfo;

/// Most proposals in one report.
pub const MAX_PROPOSALS: usize = 1000;
/// Most estimates in one proposal.
pub const MAX_ESTIMATES: usize = 256;
/// Most notes in one report.
pub const MAX_NOTES: usize = 1000;
/// Longest proposal title, plugin summary or option summary.
pub const MAX_TITLE_BYTES: usize = 4 << 10;
/// Longest rationale or note.
pub const MAX_TEXT_BYTES: usize = 64 << 10;
/// Longest new metric name, plugin version or option name.
pub const MAX_METRIC_BYTES: usize = 128;
/// Most options a plugin declares.
pub const MAX_OPTIONS: usize = 256;

/// The configurations `suggest` returned for `count`, each checked against
/// `space` and put in space order.
pub fn suggestions(space: &[Param], count: u32, configs: Vec<Config>) -> Result<Vec<Config>, RuntimeError> {
    if configs.len() > count as usize {
        return Err(invalid(format!(
            "suggest returned {} configurations for a count of {count}",
            configs.len()
        )));
    }
    configs
        .into_iter()
        .enumerate()
        .map(|(i, c)| config(space, c).map_err(|why| invalid(format!("configuration {}: {why}", i + 1))))
        .collect()
}

/// `report` checked against `profile` (its space and its metrics), with
/// each proposal's configuration in space order.
pub fn report(profile: &Profile, report: Report) -> Result<Report, RuntimeError> {
    if report.proposals.len() > MAX_PROPOSALS {
        return Err(invalid(format!(
            "the report has {} proposals, over the limit of {MAX_PROPOSALS}",
            report.proposals.len()
        )));
    }
    if report.notes.len() > MAX_NOTES {
        return Err(invalid(format!(
            "the report has {} notes, over the limit of {MAX_NOTES}",
            report.notes.len()
        )));
    }
    if let Some((i, note)) = report
        .notes
        .iter()
        .enumerate()
        .find(|(_, n)| n.len() > MAX_TEXT_BYTES)
    {
        return Err(invalid(format!(
            "note {} is {}, over the limit of {}",
            i + 1,
            bytes(note.len()),
            bytes(MAX_TEXT_BYTES)
        )));
    }
    let metrics = KnownMetrics::of(profile);
    let proposals = report
        .proposals
        .into_iter()
        .enumerate()
        .map(|(i, p)| {
            proposal(&profile.space, &metrics, p).map_err(|why| invalid(format!("proposal {}: {why}", i + 1)))
        })
        .collect::<Result<_, _>>()?;
    Ok(Report {
        proposals,
        notes: report.notes,
    })
}

/// What a plugin says about itself, checked: a name the registry and the
/// API can use as an identifier, a version and option names without
/// control characters or spaces (they are printed in tags and tables),
/// bounded summaries, finite option defaults.
pub fn info(info: PluginInfo) -> Result<PluginInfo, RuntimeError> {
    if info.name.trim().is_empty() || info.name.len() > 64 {
        return Err(invalid("plugin name must be 1 to 64 characters"));
    }
    if !info
        .name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(invalid(format!(
            "plugin name {} may only use ASCII letters, digits, `-` and `_`",
            quoted(&info.name)
        )));
    }
    word("plugin version", &info.version)?;
    if info.summary.len() > MAX_TITLE_BYTES {
        return Err(invalid(format!(
            "the plugin summary is {}, over the limit of {}",
            bytes(info.summary.len()),
            bytes(MAX_TITLE_BYTES)
        )));
    }
    if info.options.len() > MAX_OPTIONS {
        return Err(invalid(format!(
            "the plugin declares {} options, over the limit of {MAX_OPTIONS}",
            info.options.len()
        )));
    }
    for o in &info.options {
        word("option name", &o.name)?;
        if o.summary.len() > MAX_TITLE_BYTES {
            return Err(invalid(format!(
                "the summary of option `{}` is {}, over the limit of {}",
                o.name,
                bytes(o.summary.len()),
                bytes(MAX_TITLE_BYTES)
            )));
        }
        if matches!(o.default, Value::Real(x) if !x.is_finite()) {
            return Err(invalid(format!(
                "the default of option `{}` is not finite ({})",
                o.name,
                shown(&o.default)
            )));
        }
        if matches!(&o.default, Value::Choice(s) if s.len() > MAX_TITLE_BYTES) {
            return Err(invalid(format!(
                "the default of option `{}` is {}, over the limit of {}",
                o.name,
                bytes(o.default.to_string().len()),
                bytes(MAX_TITLE_BYTES)
            )));
        }
    }
    Ok(info)
}

/// A non-empty, bounded string without control characters or whitespace.
fn word(what: &str, text: &str) -> Result<(), RuntimeError> {
    if text.is_empty() || text.len() > MAX_METRIC_BYTES {
        return Err(invalid(format!("{what} must be 1 to {MAX_METRIC_BYTES} bytes")));
    }
    if text.chars().any(char::is_whitespace) || !terminal::is_plain(text) {
        return Err(invalid(format!(
            "{what} {} has whitespace or control characters",
            quoted(text)
        )));
    }
    Ok(())
}

fn proposal(space: &[Param], metrics: &KnownMetrics<'_>, p: Proposal) -> Result<Proposal, String> {
    if p.title.trim().is_empty() {
        return Err("the title is empty".into());
    }
    if p.title.len() > MAX_TITLE_BYTES {
        return Err(format!(
            "the title is {}, over the limit of {}",
            bytes(p.title.len()),
            bytes(MAX_TITLE_BYTES)
        ));
    }
    if p.rationale.len() > MAX_TEXT_BYTES {
        return Err(format!(
            "the rationale is {}, over the limit of {}",
            bytes(p.rationale.len()),
            bytes(MAX_TEXT_BYTES)
        ));
    }
    let config = config(space, p.config)?;
    if p.predicted.len() > MAX_ESTIMATES {
        return Err(format!(
            "it predicts {} metrics, over the limit of {MAX_ESTIMATES}",
            p.predicted.len()
        ));
    }
    for (i, e) in p.predicted.iter().enumerate() {
        estimate(metrics, e)?;
        if p.predicted[..i].iter().any(|other| other.metric == e.metric) {
            return Err(format!("metric {} is predicted twice", quoted(&e.metric)));
        }
    }
    Ok(Proposal {
        title: p.title,
        config,
        predicted: p.predicted,
        rationale: p.rationale,
    })
}

fn estimate(metrics: &KnownMetrics<'_>, e: &Estimate) -> Result<(), String> {
    metrics.check(&e.metric)?;
    let name = quoted(&e.metric);
    for (what, x) in [("value", e.value), ("low", e.low), ("high", e.high)] {
        if !x.is_finite() {
            return Err(format!(
                "the estimate of {name} has a {what} that is not finite ({x})"
            ));
        }
    }
    if e.low > e.high {
        return Err(format!(
            "the estimate of {name} has low {} above high {}",
            e.low, e.high
        ));
    }
    if e.value < e.low || e.value > e.high {
        return Err(format!(
            "the estimate of {name} has value {} outside its interval [{}, {}]",
            e.value, e.low, e.high
        ));
    }
    if e.low < 0.0 && profile::is_non_negative_metric(&e.metric) {
        return Err(format!(
            "the estimate of {name} goes below 0 ({}), which its unit rules out",
            e.low
        ));
    }
    Ok(())
}

/// The metric names a profile knows; see the module docs for the rule.
struct KnownMetrics<'a> {
    names: Vec<&'a str>,
}

impl<'a> KnownMetrics<'a> {
    fn of(profile: &'a Profile) -> Self {
        let mut names: Vec<&str> = Vec::new();
        let objectives = profile.objectives.iter().map(|o| o.metric.as_str());
        let constraints = profile.constraints.iter().map(|c| c.metric.as_str());
        let extra = profile.requests.extra_metrics.iter().map(String::as_str);
        for name in objectives.chain(constraints).chain(extra) {
            if !names.contains(&name) {
                names.push(name);
            }
        }
        let mut previous: &[(String, f64)] = &[];
        for t in &profile.trials {
            // Trials usually measure the same metrics: skip repeats cheaply.
            if t.metrics.len() == previous.len() && t.metrics.iter().zip(previous).all(|(a, b)| a.0 == b.0) {
                continue;
            }
            for (name, _) in &t.metrics {
                if !names.contains(&name.as_str()) {
                    names.push(name);
                }
            }
            previous = &t.metrics;
        }
        KnownMetrics { names }
    }

    fn check(&self, metric: &str) -> Result<(), String> {
        if metric.is_empty() {
            return Err("an estimate has an empty metric name".into());
        }
        let known = self.names.iter().any(|n| {
            *n == metric
                || metric
                    .strip_prefix(n)
                    .and_then(|rest| rest.strip_prefix('_'))
                    .is_some_and(|suffix| suffix.len() <= MAX_METRIC_BYTES && is_metric_word(suffix))
        });
        if known || (metric.len() <= MAX_METRIC_BYTES && is_new_metric_name(metric)) {
            return Ok(());
        }
        Err(format!(
            "metric {} is not a metric of the profile, and not a metric name (ASCII letters, digits and `_`, \
             starting with a letter, at most {MAX_METRIC_BYTES} bytes)",
            quoted(metric)
        ))
    }
}

fn is_new_metric_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_alphabetic()) && is_metric_word(name)
}

fn is_metric_word(text: &str) -> bool {
    !text.is_empty() && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `config` checked against `space` as a complete configuration (see the
/// module docs) and put in space order; the first fault otherwise.
pub fn config(space: &[Param], config: Config) -> Result<Config, String> {
    let mut slots: Vec<Option<Value>> = vec![None; space.len()];
    for (i, (name, value)) in config.into_iter().enumerate() {
        if name.is_empty() {
            return Err("an assignment has an empty knob name".into());
        }
        // Plugins return space order: try the knob at the same place first.
        let found = match space.get(i) {
            Some(p) if p.name == name => Some(i),
            _ => space.iter().position(|p| p.name == name),
        };
        let Some(at) = found else {
            let names: Vec<&str> = space.iter().map(|p| p.name.as_str()).collect();
            let hint = profile::did_you_mean(&name, &names)
                .map(|s| format!(" (did you mean `{}`?)", terminal::escape(s)))
                .unwrap_or_default();
            return Err(format!(
                "knob {} is not a knob of the search space{hint}; knobs: {}",
                quoted(&name),
                terminal::escape(&names.join(", "))
            ));
        };
        if slots[at].is_some() {
            return Err(format!("knob {} is set twice", quoted(&name)));
        }
        slots[at] = Some(knob_value(&space[at], value)?);
    }
    space
        .iter()
        .zip(slots)
        .map(|(param, slot)| {
            slot.map(|v| (param.name.clone(), v)).ok_or_else(|| {
                format!(
                    "knob {} has no value (a configuration sets every knob of the search space)",
                    quoted(&param.name)
                )
            })
        })
        .collect()
}

/// `value` as a value of knob `param`: an integer for a real knob becomes
/// a real (as `config set` and profiles take it), and the result must lie
/// in the domain ([`Domain::contains`], the rule `config set` applies);
/// the fault otherwise, naming the knob.
pub fn knob_value(param: &Param, value: Value) -> Result<Value, String> {
    let value = param.domain.coerce(value);
    if param.domain.contains(&value) {
        return Ok(value);
    }
    let why = match (&param.domain, &value) {
        (Domain::Real { .. }, Value::Real(x)) if !x.is_finite() => "is not a finite number".to_string(),
        (Domain::Real { low, high, .. }, Value::Real(x)) if x < low || x > high => {
            format!("is outside [{low}, {high}]")
        }
        (Domain::Integer { low, high, .. }, Value::Integer(i)) if i < low || i > high => {
            format!("is outside [{low}, {high}]")
        }
        (Domain::Real { .. }, Value::Real(_)) | (Domain::Integer { .. }, Value::Integer(_)) => {
            format!("is not on its grid: expected {}", param.domain.describe())
        }
        (Domain::Choice { values }, Value::Choice(_)) => format!(
            "is not one of its {} label{}",
            values.len(),
            if values.len() == 1 { "" } else { "s" }
        ),
        (domain, value) => format!(
            "is {}, but the knob takes {}",
            kind_of(value),
            terminal::escape(&domain.describe())
        ),
    };
    Err(format!("knob {} = {} {why}", quoted(&param.name), shown(&value)))
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Real(_) => "a real",
        Value::Integer(_) => "an integer",
        Value::Choice(_) => "a label",
        Value::Flag(_) => "a flag",
    }
}

/// Longest plugin string quoted whole in a fault message.
const QUOTE_CHARS: usize = 64;

/// A knob or metric name for a message: in backticks, escaped, cut.
fn quoted(name: &str) -> String {
    format!("`{}`", cut(name))
}

/// A value for a message: labels in double quotes, escaped, cut.
fn shown(value: &Value) -> String {
    match value {
        Value::Choice(s) => format!("\"{}\"", cut(s)),
        Value::Real(x) => format!("{x}"),
        other => other.to_string(),
    }
}

fn cut(text: &str) -> String {
    match text.char_indices().nth(QUOTE_CHARS) {
        None => terminal::escape(text).into_owned(),
        Some((end, _)) => format!("{}… ({})", terminal::escape(&text[..end]), bytes(text.len())),
    }
}

fn bytes(n: usize) -> String {
    if n >= 1 << 20 {
        format!("{:.1} MiB", n as f64 / (1u64 << 20) as f64)
    } else if n >= 1 << 10 {
        format!("{:.1} KiB", n as f64 / 1024.0)
    } else {
        format!("{n} bytes")
    }
}

fn invalid(why: impl Into<String>) -> RuntimeError {
    RuntimeError::InvalidOutput { why: why.into() }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROFILE: &str = r#"name = "validate"
kind = "test"

[[space]]
name = "model"
type = "choice"
values = ["a", "b", "c", "d"]

[[space]]
name = "batch"
type = "integer"
low = 1
high = 64

[[space]]
name = "temperature"
type = "real"
low = 0.0
high = 2.0
step = 0.5

[[space]]
name = "cache"
type = "flag"

[baseline]
model = "a"
batch = 8
temperature = 0.5
cache = false

[[objectives]]
metric = "quality_score"
direction = "maximize"

[[observations]]
model = "a"
batch = 8
temperature = 0.5
cache = false
quality_score = 0.5
latency_p95_ms = 120.0
"#;

    fn profile() -> Profile {
        profile::parse(std::path::Path::new("validate.toml"), PROFILE).expect("valid")
    }

    fn with(knob: &str, value: Value) -> Config {
        let mut c = profile().baseline;
        match c.iter_mut().find(|(k, _)| k == knob) {
            Some(slot) => slot.1 = value,
            None => c.push((knob.to_string(), value)),
        }
        c
    }

    fn fault(config: Config) -> String {
        super::config(&profile().space, config).expect_err("invalid")
    }

    #[test]
    fn a_configuration_sets_every_knob_once_inside_its_domain() {
        let p = profile();
        assert_eq!(
            super::config(&p.space, p.baseline.clone()),
            Ok(p.baseline.clone())
        );
        // Any order is taken and kept in space order.
        let mut reversed = p.baseline.clone();
        reversed.reverse();
        assert_eq!(super::config(&p.space, reversed), Ok(p.baseline.clone()));
        // An integer for a real knob is a real, as in `config set`.
        let whole = super::config(&p.space, with("temperature", Value::Integer(1))).unwrap();
        assert_eq!(whole[2].1, Value::Real(1.0));

        let choice = Value::Choice;
        assert_eq!(
            fault(with("model", choice("not-a-label".into()))),
            "knob `model` = \"not-a-label\" is not one of its 4 labels"
        );
        assert_eq!(
            fault(with("colour", choice("red".into()))),
            "knob `colour` is not a knob of the search space; knobs: model, batch, temperature, cache"
        );
        let mut missing = p.baseline.clone();
        missing.pop();
        assert!(fault(missing).starts_with("knob `cache` has no value"));
        let mut twice = p.baseline.clone();
        twice.push(("model".into(), choice("b".into())));
        assert_eq!(fault(twice), "knob `model` is set twice");
        assert_eq!(
            fault(with("batch", Value::Integer(i64::MAX))),
            format!("knob `batch` = {} is outside [1, 64]", i64::MAX)
        );
        assert_eq!(
            fault(with("temperature", Value::Flag(true))),
            "knob `temperature` = true is a flag, but the knob takes a real in [0, 2], step 0.5"
        );
        assert_eq!(
            fault(with("temperature", Value::Real(f64::NAN))),
            "knob `temperature` = NaN is not a finite number"
        );
        assert_eq!(
            fault(with("temperature", Value::Real(0.7))),
            "knob `temperature` = 0.7 is not on its grid: expected a real in [0, 2], step 0.5"
        );
        let mut empty = p.baseline.clone();
        empty[0].0.clear();
        assert_eq!(fault(empty), "an assignment has an empty knob name");
        let mut esc = p.baseline.clone();
        esc[0].0.push_str("\x1b[31m");
        assert!(fault(esc).starts_with("knob `model\\u{1b}[31m` is not a knob"));
        let huge = fault(with("model", choice("x".repeat(1 << 20))));
        assert!(huge.len() < 200, "{huge}");
        assert!(huge.contains("(1.0 MiB)"), "{huge}");
    }

    #[test]
    fn suggest_returns_at_most_count() {
        let p = profile();
        let three = vec![p.baseline.clone(); 3];
        assert_eq!(suggestions(&p.space, 3, three.clone()).unwrap().len(), 3);
        let error = suggestions(&p.space, 2, three).unwrap_err().to_string();
        assert!(error.contains("3 configurations for a count of 2"), "{error}");
        let bad = vec![p.baseline.clone(), with("batch", Value::Integer(0))];
        let error = suggestions(&p.space, 2, bad).unwrap_err().to_string();
        assert_eq!(
            error,
            "plugin returned invalid output: configuration 2: knob `batch` = 0 is outside [1, 64]"
        );
    }

    fn one_estimate(metric: &str, value: f64, low: f64, high: f64) -> Report {
        let p = profile();
        let estimate = |metric: &str, value, low, high| Estimate {
            metric: metric.into(),
            value,
            low,
            high,
        };
        let good = Proposal {
            title: "good".into(),
            config: p.baseline.clone(),
            predicted: vec![estimate("quality_score", 0.5, 0.4, 0.6)],
            rationale: String::new(),
        };
        let mut second = good.clone();
        second.predicted = vec![estimate(metric, value, low, high)];
        Report {
            proposals: vec![good, second],
            notes: vec![],
        }
    }

    fn report_fault(r: Report) -> String {
        match report(&profile(), r) {
            Err(RuntimeError::InvalidOutput { why }) => why,
            other => panic!("expected InvalidOutput, got {other:?}"),
        }
    }

    #[test]
    fn estimates_are_finite_ordered_intervals_of_named_metrics() {
        let p = profile();
        for ok in [
            "quality_score",
            "latency_p95_ms",
            "quality_score_gain",
            "capacity_rps",
            "cache_hit_rate",
        ] {
            assert!(report(&p, one_estimate(ok, 1.0, 0.5, 1.5)).is_ok(), "{ok}");
        }
        assert_eq!(
            report_fault(one_estimate("quality_score", 0.6, 0.7, 0.5)),
            "proposal 2: the estimate of `quality_score` has low 0.7 above high 0.5"
        );
        assert!(report_fault(one_estimate("quality_score", f64::NAN, 0.0, 1.0)).contains("not finite"));
        assert!(report_fault(one_estimate("quality_score", 1.0, 0.0, f64::INFINITY)).contains("not finite"));
        assert!(report_fault(one_estimate("quality_score", 2.0, 0.0, 1.0)).contains("outside its interval"));
        assert_eq!(
            report_fault(one_estimate("", 1.0, 0.0, 2.0)),
            "proposal 2: an estimate has an empty metric name"
        );
        assert!(report_fault(one_estimate("quality score (%)", 1.0, 0.0, 2.0))
            .starts_with("proposal 2: metric `quality score (%)` is not a metric of the profile"));
        assert!(report_fault(one_estimate("latency_p95_ms", -1.0, -2.0, 0.0)).contains("goes below 0"));
        let mut twice = one_estimate("quality_score", 1.0, 0.5, 1.5);
        let again = twice.proposals[1].predicted[0].clone();
        twice.proposals[1].predicted.push(again);
        assert_eq!(
            report_fault(twice),
            "proposal 2: metric `quality_score` is predicted twice"
        );
    }

    #[test]
    fn proposals_need_a_complete_configuration_and_bounded_texts() {
        let mut r = one_estimate("quality_score", 0.5, 0.4, 0.6);
        r.proposals[1].config = with("model", Value::Choice("not-a-label".into()));
        assert_eq!(
            report_fault(r.clone()),
            "proposal 2: knob `model` = \"not-a-label\" is not one of its 4 labels"
        );
        r.proposals[1].config = profile().baseline;
        r.proposals[1].title = " ".into();
        assert_eq!(report_fault(r.clone()), "proposal 2: the title is empty");
        r.proposals[1].title = "fine".into();
        r.notes = vec!["n".repeat(1 << 20)];
        assert_eq!(
            report_fault(r.clone()),
            "note 1 is 1.0 MiB, over the limit of 64.0 KiB"
        );
        // Control characters in texts are data: shown escaped, not refused.
        r.notes = vec!["\x1b[2J".into()];
        r.proposals[1].rationale = "\x1b]0;title\x07".into();
        assert!(report(&profile(), r).is_ok());
    }

    #[test]
    fn plugin_info_names_and_versions_are_printable_words() {
        let info = |name: &str, version: &str| PluginInfo {
            name: name.into(),
            version: version.into(),
            kinds: vec![],
            summary: "summary \x1b[31m may hold anything".into(),
            options: vec![],
        };
        assert!(super::info(info("ok-name_1", "1.2.3-beta+x")).is_ok());
        for (name, version) in [
            ("", "1"),
            ("bad name", "1"),
            ("ok", ""),
            ("ok", "1\x1b[2J"),
            ("ok", "1 2"),
        ] {
            assert!(super::info(info(name, version)).is_err(), "{name:?} {version:?}");
        }
    }
}
