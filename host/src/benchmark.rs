//! `aiopt benchmark`: what the profile's measurements say, per
//! configuration, with 95% bootstrap intervals.
//!
//! This is the host's own summary of measured data (no strategy involved):
//! observations are grouped by configuration (replicates are rows with equal
//! knob values), request records by who served them. Intervals come from a
//! seeded percentile bootstrap, so the same data and seed give the same
//! report.

use serde::Serialize;

use crate::profile::{Config, Direction, Profile, RequestLog, TrialState};

/// Bootstrap resamples per interval.
const RESAMPLES: usize = 2_000;

/// Fewest measurements per side before a difference is tested: with two,
/// a bootstrap sees almost no spread and would call nearly anything
/// significant.
const MIN_SAMPLES_FOR_TEST: usize = 3;

/// A statistic with its 95% interval; `low == high == value` when there is
/// only one measurement.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Interval {
    pub value: f64,
    pub low: f64,
    pub high: f64,
    /// Measurements behind it.
    pub n: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricSummary {
    pub metric: String,
    #[serde(flatten)]
    pub mean: Interval,
}

/// One measured configuration (all its replicates).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConfigSummary {
    #[serde(serialize_with = "crate::report::serialize_config")]
    pub config: Config,
    pub is_baseline: bool,
    pub replicates: usize,
    pub metrics: Vec<MetricSummary>,
}

/// Everything measured for one `served_by` label of the request log.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServedBySummary {
    pub served_by: String,
    pub requests: usize,
    pub latency_p50_ms: Option<Interval>,
    pub latency_p95_ms: Option<Interval>,
    pub latency_p99_ms: Option<Interval>,
    pub cost_per_request_usd: Option<Interval>,
    pub cost_per_1000_requests_usd: Option<Interval>,
    pub score: Option<Interval>,
    /// Requests per second over the span of the timestamps.
    pub throughput_rps: Option<f64>,
}

/// The baseline against the best configuration for one objective.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    pub metric: String,
    pub direction: Direction,
    #[serde(serialize_with = "crate::report::serialize_config")]
    pub best: Config,
    pub best_value: Interval,
    pub baseline_value: Option<Interval>,
    /// Improvement of best over baseline in % (positive is better).
    pub improvement_percent: Option<f64>,
    /// Whether the 95% bootstrap interval of the difference excludes zero,
    /// from replicated observations or else from the two configurations'
    /// request records; `None` when neither has at least three measurements
    /// per side.
    pub significant: Option<bool>,
    pub feasible_only: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BenchmarkReport {
    pub profile: String,
    pub seed: u64,
    pub configurations: Vec<ConfigSummary>,
    pub served_by: Vec<ServedBySummary>,
    pub comparisons: Vec<Comparison>,
}

/// Summarizes every measured configuration and request group of `profile`.
pub fn run(profile: &Profile, seed: u64) -> BenchmarkReport {
    let mut rng = SplitMix(seed);
    let groups = group_trials(profile);
    let configurations: Vec<ConfigSummary> = groups
        .iter()
        .map(|g| ConfigSummary {
            config: g.config.clone(),
            is_baseline: same_config(&g.config, &profile.baseline),
            replicates: g.rows.len(),
            metrics: g
                .metric_names()
                .into_iter()
                .map(|metric| MetricSummary {
                    mean: mean_interval(&g.values(&metric), &mut rng),
                    metric,
                })
                .collect(),
        })
        .collect();
    let comparisons = profile
        .objectives
        .iter()
        .filter_map(|o| compare(profile, &groups, &o.metric, o.direction, &mut rng))
        .collect();
    BenchmarkReport {
        profile: profile.name.clone(),
        seed,
        configurations,
        served_by: summarize_requests(&profile.requests, &mut rng),
        comparisons,
    }
}

struct Group {
    config: Config,
    rows: Vec<Vec<(String, f64)>>,
}

impl Group {
    fn metric_names(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for row in &self.rows {
            for (m, _) in row {
                if !names.contains(m) {
                    names.push(m.clone());
                }
            }
        }
        names
    }

    fn values(&self, metric: &str) -> Vec<f64> {
        self.rows
            .iter()
            .filter_map(|row| row.iter().find(|(m, _)| m == metric).map(|(_, v)| *v))
            .collect()
    }

    fn feasible(&self, profile: &Profile) -> bool {
        profile.constraints.iter().all(|c| {
            let values = self.values(&c.metric);
            if values.is_empty() {
                return false;
            }
            let mean = values.iter().sum::<f64>() / values.len() as f64;
            c.low.is_none_or(|l| mean >= l) && c.high.is_none_or(|h| mean <= h)
        })
    }
}

fn same_config(a: &Config, b: &Config) -> bool {
    a.len() == b.len() && a.iter().all(|(k, v)| b.iter().any(|(bk, bv)| bk == k && bv == v))
}

fn group_trials(profile: &Profile) -> Vec<Group> {
    let mut groups: Vec<Group> = Vec::new();
    for t in profile.trials.iter().filter(|t| t.state == TrialState::Complete) {
        match groups.iter_mut().find(|g| same_config(&g.config, &t.config)) {
            Some(g) => g.rows.push(t.metrics.clone()),
            None => groups.push(Group {
                config: t.config.clone(),
                rows: vec![t.metrics.clone()],
            }),
        }
    }
    groups
}

fn compare(
    profile: &Profile,
    groups: &[Group],
    metric: &str,
    direction: Direction,
    rng: &mut SplitMix,
) -> Option<Comparison> {
    let mean = |g: &Group| {
        let v = g.values(metric);
        (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
    };
    let better = |a: f64, b: f64| match direction {
        Direction::Minimize => a < b,
        Direction::Maximize => a > b,
    };
    let feasible: Vec<&Group> = groups.iter().filter(|g| g.feasible(profile)).collect();
    let feasible_only = !feasible.is_empty();
    let candidates: Vec<&Group> = if feasible_only {
        feasible
    } else {
        groups.iter().collect()
    };
    let best = candidates
        .into_iter()
        .filter_map(|g| mean(g).map(|m| (g, m)))
        .fold(None, |acc: Option<(&Group, f64)>, (g, m)| match acc {
            Some((_, am)) if !better(m, am) => acc,
            _ => Some((g, m)),
        })?
        .0;
    let baseline = groups.iter().find(|g| same_config(&g.config, &profile.baseline));
    let best_values = best.values(metric);
    let baseline_values = baseline.map(|g| g.values(metric)).filter(|v| !v.is_empty());
    let best_value = mean_interval(&best_values, rng);
    let baseline_value = baseline_values.as_ref().map(|v| mean_interval(v, rng));
    let improvement_percent = baseline_value.as_ref().filter(|b| b.value != 0.0).map(|b| {
        let change = (best_value.value - b.value) / b.value.abs() * 100.0;
        match direction {
            Direction::Minimize => -change,
            Direction::Maximize => change,
        }
    });
    // Replicated observations test the difference directly; otherwise the
    // request records of the two configurations can, when they carry the
    // metric (e.g. per-request scores behind a mean quality_score).
    let replicated = baseline_values
        .clone()
        .filter(|b| b.len() >= MIN_SAMPLES_FOR_TEST && best_values.len() >= MIN_SAMPLES_FOR_TEST)
        .map(|b| (best_values.clone(), b));
    let per_request = || {
        let baseline = baseline?;
        let a = request_samples(profile, &best.config, metric)?;
        let b = request_samples(profile, &baseline.config, metric)?;
        (a.len() >= MIN_SAMPLES_FOR_TEST && b.len() >= MIN_SAMPLES_FOR_TEST).then_some((a, b))
    };
    let significant = replicated.or_else(per_request).map(|(a, b)| {
        let (low, high) = difference_interval(&a, &b, rng);
        low > 0.0 || high < 0.0
    });
    Some(Comparison {
        metric: metric.to_string(),
        direction,
        best: best.config.clone(),
        best_value,
        baseline_value,
        improvement_percent,
        significant,
        feasible_only,
    })
}

/// Per-request values of `metric` for the requests served by `config`: the
/// records whose `served_by` label is the config's value of a choice knob,
/// and a request field that measures the metric (`score` for quality and
/// accuracy, `cost_usd` for cost per request, `latency_ms` for mean
/// latency).
fn request_samples(profile: &Profile, config: &Config, metric: &str) -> Option<Vec<f64>> {
    let log = &profile.requests;
    let field: fn(&crate::profile::RequestRecord) -> Option<f64> = match metric {
        "quality_score" | "accuracy" | "score" => |r| r.score,
        "cost_per_request_usd" => |r| r.cost_usd,
        "latency_mean_ms" => |r| r.latency_ms,
        _ => return None,
    };
    let label = config.iter().find_map(|(_, v)| match v {
        crate::profile::Value::Choice(label) => log.served_by.iter().position(|l| l == label),
        _ => None,
    })?;
    let values: Vec<f64> = log
        .records
        .iter()
        .filter(|r| r.served_by as usize == label)
        .filter_map(field)
        .collect();
    (!values.is_empty()).then_some(values)
}

fn summarize_requests(log: &RequestLog, rng: &mut SplitMix) -> Vec<ServedBySummary> {
    (0..log.served_by.len())
        .map(|label| {
            let records: Vec<_> = log
                .records
                .iter()
                .filter(|r| r.served_by as usize == label)
                .collect();
            let latencies: Vec<f64> = records.iter().filter_map(|r| r.latency_ms).collect();
            let costs: Vec<f64> = records.iter().filter_map(|r| r.cost_usd).collect();
            let scores: Vec<f64> = records.iter().filter_map(|r| r.score).collect();
            let cost = (!costs.is_empty()).then(|| mean_interval(&costs, rng));
            let times: Vec<i64> = records.iter().filter_map(|r| r.timestamp_ms).collect();
            let throughput_rps = match (times.iter().min(), times.iter().max()) {
                (Some(&first), Some(&last)) if last > first => {
                    Some(times.len() as f64 / ((last - first) as f64 / 1000.0))
                }
                _ => None,
            };
            ServedBySummary {
                served_by: log.served_by[label].clone(),
                requests: records.len(),
                latency_p50_ms: quantile_interval(&latencies, 0.50, rng),
                latency_p95_ms: quantile_interval(&latencies, 0.95, rng),
                latency_p99_ms: quantile_interval(&latencies, 0.99, rng),
                cost_per_1000_requests_usd: cost.as_ref().map(|c| Interval {
                    value: c.value * 1000.0,
                    low: c.low * 1000.0,
                    high: c.high * 1000.0,
                    n: c.n,
                }),
                cost_per_request_usd: cost,
                score: (!scores.is_empty()).then(|| mean_interval(&scores, rng)),
                throughput_rps,
            }
        })
        .collect()
}

/// Mean with a percentile-bootstrap 95% interval.
fn mean_interval(values: &[f64], rng: &mut SplitMix) -> Interval {
    statistic_interval(values, rng, |v| v.iter().sum::<f64>() / v.len() as f64)
}

fn quantile_interval(values: &[f64], q: f64, rng: &mut SplitMix) -> Option<Interval> {
    (!values.is_empty()).then(|| {
        statistic_interval(values, rng, |v| {
            let mut sorted = v.to_vec();
            sorted.sort_by(f64::total_cmp);
            quantile(&sorted, q)
        })
    })
}

fn statistic_interval(values: &[f64], rng: &mut SplitMix, stat: impl Fn(&[f64]) -> f64) -> Interval {
    let value = stat(values);
    if values.len() < 2 {
        return Interval {
            value,
            low: value,
            high: value,
            n: values.len(),
        };
    }
    let resamples = RESAMPLES.min(2_000_000 / values.len()).max(200);
    let mut sample = vec![0.0; values.len()];
    let mut stats: Vec<f64> = (0..resamples)
        .map(|_| {
            for slot in sample.iter_mut() {
                *slot = values[rng.below(values.len())];
            }
            stat(&sample)
        })
        .collect();
    stats.sort_by(f64::total_cmp);
    Interval {
        value,
        low: quantile(&stats, 0.025).min(value),
        high: quantile(&stats, 0.975).max(value),
        n: values.len(),
    }
}

/// 95% bootstrap interval of mean(a) - mean(b), resampling each side.
fn difference_interval(a: &[f64], b: &[f64], rng: &mut SplitMix) -> (f64, f64) {
    let mut diffs: Vec<f64> = (0..RESAMPLES)
        .map(|_| {
            let ma = (0..a.len()).map(|_| a[rng.below(a.len())]).sum::<f64>() / a.len() as f64;
            let mb = (0..b.len()).map(|_| b[rng.below(b.len())]).sum::<f64>() / b.len() as f64;
            ma - mb
        })
        .collect();
    diffs.sort_by(f64::total_cmp);
    (quantile(&diffs, 0.025), quantile(&diffs, 0.975))
}

/// Linear interpolation between order statistics of `sorted`.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    let pos = q * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

/// A small seeded generator; the bootstrap needs reproducibility, not
/// cryptographic quality.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        ((self.next() >> 11) as f64 / (1u64 << 53) as f64 * n as f64) as usize % n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_interpolate() {
        let v = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(quantile(&v, 0.5), 3.0);
        assert_eq!(quantile(&v, 0.95), 4.8);
        assert_eq!(quantile(&[7.0], 0.99), 7.0);
    }

    #[test]
    fn bootstrap_intervals_contain_the_mean_and_are_reproducible() {
        let values: Vec<f64> = (0..100).map(|i| (i % 10) as f64).collect();
        let a = mean_interval(&values, &mut SplitMix(1));
        let b = mean_interval(&values, &mut SplitMix(1));
        assert_eq!(a, b);
        assert!(a.low < 4.5 && 4.5 < a.high, "{a:?}");
        assert!(a.high - a.low < 1.5, "{a:?}");
        let single = mean_interval(&[3.0], &mut SplitMix(1));
        assert_eq!((single.low, single.high, single.n), (3.0, 3.0, 1));
    }

    #[test]
    fn differences_of_clearly_separated_samples_exclude_zero() {
        let a: Vec<f64> = (0..30).map(|i| 10.0 + (i % 3) as f64).collect();
        let b: Vec<f64> = (0..30).map(|i| 5.0 + (i % 3) as f64).collect();
        let (low, high) = difference_interval(&a, &b, &mut SplitMix(3));
        assert!(low > 4.0 && high < 6.0, "{low} {high}");
    }
}
