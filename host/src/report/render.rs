//! Plain-text rendering of strategy results for the terminal. Every string
//! from a plugin or a profile (titles, rationales, notes, knob names and
//! labels, metric names) is escaped on the way out (see [`super::terminal`]).

use std::fmt::Write;

use super::compare::{compare, knob_changes, KnobChange};
use super::terminal::escape;
use super::Report;
use crate::profile::Config;

/// Suggested configurations, one per line: `#1  temperature=0.2  model=a`.
pub fn render_configs(configs: &[Config]) -> String {
    let mut out = String::new();
    if configs.is_empty() {
        out.push_str("no configurations suggested\n");
    }
    for (i, config) in configs.iter().enumerate() {
        let _ = writeln!(out, "#{:<3} {}", i + 1, config_line(config));
    }
    out
}

/// A report: each proposal with its config, predictions and rationale.
/// The baseline's measured value of each metric: the mean over the
/// profile's observations of the baseline configuration (replicates
/// averaged), for "before → after" in reports.
pub fn baseline_metrics(profile: &crate::profile::Profile) -> Vec<(String, f64)> {
    let same = |config: &Config| {
        profile
            .baseline
            .iter()
            .all(|(k, v)| config.iter().any(|(ck, cv)| ck == k && cv == v))
    };
    let mut sums: Vec<(String, f64, f64)> = Vec::new();
    for t in profile.trials.iter().filter(|t| same(&t.config)) {
        for (metric, value) in t.metrics.iter().filter(|(_, v)| v.is_finite()) {
            match sums.iter_mut().find(|(m, _, _)| m == metric) {
                Some(entry) => {
                    entry.1 += value;
                    entry.2 += 1.0;
                }
                None => sums.push((metric.clone(), *value, 1.0)),
            }
        }
    }
    sums.into_iter().map(|(m, sum, n)| (m, sum / n)).collect()
}

/// A report as text: per proposal the change against `baseline`, each
/// predicted metric as `before → after (95% interval) (% change)` where
/// `before` (the baseline's measured value, see [`baseline_metrics`]) is
/// known, and the rationale.
pub fn render_report(report: &Report, baseline: &Config, before: &[(String, f64)]) -> String {
    let mut out = String::new();
    if report.proposals.is_empty() {
        out.push_str("no proposals\n");
    }
    for (p, compared) in report.proposals.iter().zip(compare(report, baseline, before)) {
        let _ = writeln!(out, "{}. {}", compared.proposal, escape(&p.title));
        let _ = writeln!(out, "   config:  {}", config_line(&p.config));
        if !compared.changes.is_empty() {
            let _ = writeln!(out, "   changes: {}", change_line(&compared.changes));
        }
        for m in &compared.metrics {
            let interval = if m.low == m.high {
                String::new()
            } else {
                format!("  (95%: {} .. {})", num(m.low), num(m.high))
            };
            let from = m.before.map(|b| format!("{} → ", num(b))).unwrap_or_default();
            let change = m
                .change_percent
                .map(|c| format!("  ({c:+.1}%)"))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "   {:<24} {from}{}{interval}{change}",
                escape(&m.metric),
                num(m.after)
            );
        }
        let _ = writeln!(out, "   why: {}", escape(&p.rationale));
    }
    for note in &report.notes {
        let _ = writeln!(out, "note: {}", escape(note));
    }
    out
}

/// `knob=value` pairs on one line.
pub fn config_line(config: &Config) -> String {
    config
        .iter()
        .map(|(k, v)| format!("{}={}", escape(k), escape(&v.to_string())))
        .collect::<Vec<_>>()
        .join("  ")
}

/// What changes from `before` to `after`, one `knob: old → new` per knob.
pub fn config_changes(before: &Config, after: &Config) -> Vec<String> {
    knob_changes(before, after).iter().map(change_text).collect()
}

fn change_text(c: &KnobChange) -> String {
    let (knob, to) = (escape(&c.knob), escape_value(&c.to));
    match &c.from {
        Some(old) => format!("{knob}: {} → {to}", escape_value(old)),
        None => format!("{knob}: → {to}"),
    }
}

fn change_line(changes: &[KnobChange]) -> String {
    changes.iter().map(change_text).collect::<Vec<_>>().join(", ")
}

fn escape_value(v: &crate::profile::Value) -> String {
    escape(&v.to_string()).into_owned()
}

/// Four significant digits, without a fraction for whole numbers: costs
/// like 0.0001169 USD must not round to 0.0001.
fn num(x: f64) -> String {
    format_number(x)
}

/// Four significant digits, without a fraction for whole numbers.
pub fn format_number(x: f64) -> String {
    if x == x.trunc() && x.abs() < 1e15 {
        return format!("{x:.0}");
    }
    let magnitude = x.abs().log10().floor() as i32;
    let decimals = (3 - magnitude).clamp(0, 12) as usize;
    format!("{x:.decimals$}")
}

#[cfg(test)]
mod tests {
    use super::num;

    #[test]
    fn numbers_keep_four_significant_digits() {
        assert_eq!(num(0.00011694), "0.0001169");
        assert_eq!(num(538.83), "538.8");
        assert_eq!(num(0.705), "0.7050");
        assert_eq!(num(12_345.67), "12346");
        assert_eq!(num(800.0), "800");
    }
}
