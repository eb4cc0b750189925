//! Built-in strategy `performance`: the configuration with the lowest tail
//! latency at the workload's peak, among those that keep every constraint
//! there, with the headroom it has and what limits it.
//!
//! Latency in a profile's observations is typically measured one request
//! at a time; at the peak, requests queue. Module `queue` turns each
//! measured configuration (median and p95 latency, and throughput when
//! measured) into a queueing model at the peak arrival rate, so a
//! configuration that looked fast at no load but cannot hold the peak is
//! not recommended. Constraints on latency metrics are checked against the
//! prediction at the peak; others against the measurements. Intervals come
//! from replicate measurements (t-intervals over the per-replicate
//! predictions); with one measurement per configuration they collapse to
//! the point and a note says so.

#![forbid(unsafe_code)]

mod queue;

use aiopt_sdk::stats::Summary;
use aiopt_sdk::text::num;
use aiopt_sdk::{
    group_replicates, Domain, Error, Estimate, Info, Kind, OptionSpec, Profile, Proposal, Replicates, Report,
    Strategy, TrialView, Value,
};

use queue::Service;

/// The strategy type exported as the `performance` plugin.
pub struct Performance;

impl Strategy for Performance {
    fn info() -> Info {
        info()
    }

    fn recommend(profile: Profile, seed: u64) -> Result<Report, Error> {
        recommend(&profile, seed)
    }
}

aiopt_sdk::export_strategy!(Performance);

const P50: &str = "latency_p50_ms";
const P95: &str = "latency_p95_ms";
const THROUGHPUT: &str = "throughput_rps";
/// Knob names that set how many requests are served in parallel.
const WORKER_KNOBS: [&str; 4] = ["replicas", "workers", "concurrency", "servers"];

/// The plugin's identity: `performance`, kind `performance`, its options.
pub fn info() -> Info {
    let opt = |name: &str, summary: &str, default: Value| OptionSpec {
        name: name.into(),
        summary: summary.into(),
        default,
    };
    Info {
        name: "performance".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        kinds: vec![Kind::Performance],
        summary: "Lowest p95 latency at the workload's peak under the constraints, from measured latency \
                  with an M/G/c queueing model, with headroom and the bottleneck."
            .into(),
        options: vec![
            opt(
                "workers",
                "Requests served in parallel (identical workers sharing one queue), unless a knob named \
                 replicas, workers, concurrency or servers sets it.",
                Value::Integer(1),
            ),
            opt(
                "peak_rps",
                "Peak arrival rate in requests per second: a number, or auto for the workload's \
                 peak_requests_per_second.",
                Value::Choice("auto".into()),
            ),
        ],
    }
}

/// One measured configuration, predicted at the peak.
struct Candidate<'a> {
    group: Replicates<'a>,
    workers: u32,
    /// Per replicate: the fitted service time.
    services: Vec<Service>,
    /// p95 response time at the peak per replicate (`None`: cannot keep up).
    at_peak: Vec<Option<f64>>,
}

impl Candidate<'_> {
    fn holds_peak(&self) -> bool {
        self.at_peak.iter().all(Option::is_some)
    }

    fn p95_at_peak(&self) -> Option<Summary> {
        let values: Option<Vec<f64>> = self.at_peak.iter().copied().collect();
        Summary::of(&values?)
    }

    fn mean(&self, profile: &Profile, metric: &str) -> Option<f64> {
        self.group.summary(profile.metric_index(metric)?).map(|s| s.mean)
    }
}

/// Proposals for the workload's peak. Errors: no latency observations, or
/// no peak rate (`Error::Unsupported` / `Error::InvalidInput`, saying what
/// to add).
pub fn recommend(profile: &Profile, seed: u64) -> Result<Report, Error> {
    let _ = seed;
    let (Some(p50), Some(p95)) = (profile.metric_index(P50), profile.metric_index(P95)) else {
        return Err(Error::Unsupported(format!(
            "needs observations with {P50} and {P95} (and {THROUGHPUT} when measured one request at a time)"
        )));
    };
    let throughput = profile.metric_index(THROUGHPUT);
    let peak = peak_rps(profile)?;
    let slo = profile
        .constraints
        .iter()
        .find(|c| c.metric == P95)
        .and_then(|c| c.high);
    let default_workers = profile.option_u64("workers", 1)?.clamp(1, 1_000_000) as u32;
    let complete = profile.measured_trials().unwrap_or_default();
    let candidates: Vec<Candidate> = group_replicates(complete.iter().copied())
        .into_iter()
        .filter_map(|group| {
            let workers = workers_of(profile, &group.trials[0]).unwrap_or(default_workers);
            let services: Option<Vec<Service>> = group
                .trials
                .iter()
                .map(|t| {
                    Service::fit(
                        t.metric_at(p50)?,
                        t.metric_at(p95)?,
                        throughput.and_then(|c| t.metric_at(c)),
                    )
                })
                .collect();
            let services = services?;
            let at_peak = services
                .iter()
                .map(|s| queue::response_quantile(s, workers, peak, 0.95))
                .collect();
            Some(Candidate {
                group,
                workers,
                services,
                at_peak,
            })
        })
        .collect();
    if candidates.is_empty() {
        return Err(Error::Unsupported(format!(
            "needs complete observations with {P50} and {P95} (p95 >= p50 > 0)"
        )));
    }
    let keeps_others = |c: &Candidate| {
        profile
            .constraints
            .iter()
            .filter(|k| !k.metric.starts_with("latency_"))
            .all(|k| c.mean(profile, &k.metric).is_some_and(|v| k.is_satisfied_by(v)))
    };
    let keeps_slo = |c: &Candidate| {
        c.p95_at_peak()
            .is_some_and(|s| slo.is_none_or(|limit| s.mean <= limit))
    };
    let baseline_key = profile.config_key(&profile.baseline);
    let baseline = candidates
        .iter()
        .find(|c| baseline_key.as_ref() == Some(&c.group.key));
    let mut notes = Vec::new();
    let cannot_hold = candidates.iter().filter(|c| !c.holds_peak()).count();
    let idle_ok_peak_not = candidates
        .iter()
        .filter(|c| keeps_others(c) && !keeps_slo(c))
        .filter(|c| slo.is_some_and(|limit| c.group.summary(p95).is_some_and(|s| s.mean <= limit)))
        .count();
    if cannot_hold > 0 {
        notes.push(format!(
            "{cannot_hold} of {} measured configurations cannot keep up with {} requests/s on {} and were \
             left out.",
            candidates.len(),
            num(peak),
            workers_phrase(default_workers)
        ));
    }
    if idle_ok_peak_not > 0 {
        notes.push(format!(
            "{idle_ok_peak_not} configurations meet the p95 SLO when measured one request at a time but not \
             at the peak, once queueing is counted."
        ));
    }
    let feasible: Vec<&Candidate> = candidates
        .iter()
        .filter(|c| keeps_others(c) && keeps_slo(c))
        .collect();
    let Some(best) = feasible.iter().copied().min_by(|a, b| {
        let key = |c: &Candidate| c.p95_at_peak().map_or(f64::INFINITY, |s| s.mean);
        key(a).total_cmp(&key(b))
    }) else {
        notes.push(format!(
            "No measured configuration keeps every constraint at {} requests/s{}.",
            num(peak),
            slo.map(|s| format!(" (p95 <= {} ms)", num(s)))
                .unwrap_or_default()
        ));
        return Ok(Report {
            proposals: Vec::new(),
            notes,
        });
    };
    let baseline_breaks: Vec<String> = baseline
        .map(|b| {
            let mut broken: Vec<String> = profile
                .constraints
                .iter()
                .filter(|k| !k.metric.starts_with("latency_"))
                .filter(|k| !b.mean(profile, &k.metric).is_some_and(|v| k.is_satisfied_by(v)))
                .map(|k| k.metric.clone())
                .collect();
            if !keeps_slo(b) {
                broken.push(format!("the p95 SLO at the peak ({P95})"));
            }
            broken
        })
        .unwrap_or_default();
    let baseline = baseline.map(|b| (b, baseline_breaks.as_slice()));
    let mut proposals = vec![proposal(
        profile,
        best,
        baseline,
        peak,
        slo,
        "lowest p95 latency at the peak",
    )];
    if let Some(roomiest) = slo.and_then(|limit| {
        feasible
            .iter()
            .copied()
            .max_by(|a, b| capacity(a, limit).total_cmp(&capacity(b, limit)))
    }) {
        if roomiest.group.key != best.group.key {
            proposals.push(proposal(
                profile,
                roomiest,
                baseline,
                peak,
                slo,
                "most headroom over the peak",
            ));
        }
    }
    if best.group.trials.len() < 2 {
        notes.push("Each configuration was measured once: the intervals collapse to the prediction.".into());
    }
    notes.push(format!(
        "Model: Poisson arrivals at {} requests/s, {}, lognormal service times fitted to each measurement's \
         {P50} and {P95} (mean from {THROUGHPUT} when measured), M/G/c waits (Allen–Cunneen).",
        num(peak),
        workers_phrase(default_workers)
    ));
    Ok(Report { proposals, notes })
}

fn peak_rps(profile: &Profile) -> Result<f64, Error> {
    profile
        .option_auto_f64("peak_rps")?
        .or(profile.workload.peak_requests_per_second)
        .filter(|p| *p > 0.0 && p.is_finite())
        .ok_or_else(|| {
            Error::InvalidInput(
                "needs the workload's peak_requests_per_second (or the peak_rps option) to judge latency \
                 under load"
                    .into(),
            )
        })
}

/// Workers set by a worker-count knob of this trial's configuration.
fn workers_of(profile: &Profile, trial: &TrialView) -> Option<u32> {
    let j = profile
        .space
        .iter()
        .position(|p| WORKER_KNOBS.contains(&p.name.as_str()) && matches!(p.domain, Domain::Integer(_)))?;
    let w = *trial.values.get(j)?;
    (1.0..=1e6).contains(&w).then_some(w as u32)
}

fn workers_phrase(w: u32) -> String {
    if w == 1 {
        "one worker".into()
    } else {
        format!("{w} workers")
    }
}

/// Requests per second the configuration holds within `slo_ms` (the mean
/// over replicates).
fn capacity(c: &Candidate, slo_ms: f64) -> f64 {
    c.services
        .iter()
        .map(|s| queue::capacity(s, c.workers, slo_ms, 0.95))
        .sum::<f64>()
        / c.services.len() as f64
}

/// `baseline`: its candidate and the constraints it breaks.
fn proposal(
    profile: &Profile,
    c: &Candidate,
    baseline: Option<(&Candidate, &[String])>,
    peak: f64,
    slo: Option<f64>,
    why: &str,
) -> Proposal {
    let at_peak = c.p95_at_peak().unwrap_or(Summary {
        n: 0,
        mean: f64::NAN,
        std_dev: 0.0,
        low: f64::NAN,
        high: f64::NAN,
    });
    let idle = c.group.summary(profile.metric_index(P95).unwrap_or(0));
    let utilization = c
        .services
        .iter()
        .filter_map(|s| queue::load(s, c.workers, peak).map(|l| l.utilization))
        .sum::<f64>()
        / c.services.len() as f64;
    let mut predicted = vec![
        Estimate {
            metric: "latency_p95_ms_at_peak".into(),
            value: at_peak.mean,
            low: at_peak.low,
            high: at_peak.high,
        },
        Estimate {
            metric: "utilization_at_peak".into(),
            value: utilization,
            low: utilization,
            high: utilization,
        },
    ];
    let mut rationale = format!(
        "At the peak of {} requests/s on {}, its p95 latency is predicted at {} ms (95% CI {}–{}) with the \
         workers {:.1}% busy",
        num(peak),
        workers_phrase(c.workers),
        num(at_peak.mean),
        num(at_peak.low),
        num(at_peak.high),
        100.0 * utilization
    );
    if let Some(idle) = idle {
        let queueing = (at_peak.mean - idle.mean).max(0.0);
        rationale.push_str(&format!(
            " (measured one request at a time: {} ms; queueing adds {} ms)",
            num(idle.mean),
            num(queueing)
        ));
    }
    rationale.push('.');
    if let Some(limit) = slo {
        let cap = capacity(c, limit);
        predicted.push(Estimate {
            metric: "capacity_rps".into(),
            value: cap,
            low: cap,
            high: cap,
        });
        let saturation: f64 = c
            .services
            .iter()
            .map(|s| 1000.0 * f64::from(c.workers) / s.mean_ms)
            .sum::<f64>()
            / c.services.len() as f64;
        let bottleneck = if cap < 0.5 * saturation {
            format!(
                "tail latency: the p95 SLO of {} ms is reached while the workers are only {:.0}% busy, so \
                 faster requests (a cheaper configuration), not more workers, raise it",
                num(limit),
                100.0 * cap / saturation
            )
        } else {
            format!(
                "throughput: the SLO holds until the workers are {:.0}% busy, so more workers raise it \
                 nearly in proportion",
                100.0 * cap / saturation
            )
        };
        rationale.push_str(&format!(
            " Within the SLO p95 <= {} ms it holds up to {} requests/s, {:+.0}% headroom over the peak; the \
             bottleneck is {bottleneck}.",
            num(limit),
            num(cap),
            100.0 * (cap / peak - 1.0)
        ));
    }
    for k in profile
        .constraints
        .iter()
        .filter(|k| !k.metric.starts_with("latency_"))
    {
        if let Some(s) = profile.metric_index(&k.metric).and_then(|i| c.group.summary(i)) {
            predicted.push(s.estimate(&k.metric));
        }
    }
    if let Some((b, broken)) = baseline {
        if let Some(b) = b.p95_at_peak() {
            rationale.push_str(&format!(
                " The baseline's p95 at the peak is {} ms: {:+.1}%",
                num(b.mean),
                100.0 * (at_peak.mean / b.mean - 1.0)
            ));
        } else {
            rationale.push_str(" The baseline cannot keep up with the peak");
        }
        if broken.is_empty() {
            rationale.push('.');
        } else {
            rationale.push_str(&format!(", but the baseline breaks {}.", broken.join(" and ")));
        }
    }
    let config = profile.config_from_values(
        profile
            .space
            .iter()
            .zip(c.group.trials[0].values)
            .map(|(p, &x)| p.domain.decode(x).unwrap_or(Value::Real(x))),
    );
    Proposal {
        title: format!("{why}: {}", describe(&config)),
        config,
        predicted,
        rationale,
    }
}

fn describe(config: &[aiopt_sdk::Assignment]) -> String {
    use aiopt_sdk::ConfigExt;
    config.describe()
}

#[cfg(test)]
mod tests;
