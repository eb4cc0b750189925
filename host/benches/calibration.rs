//! Calibration of the cost and quality strategies' 95% intervals
//! (`cargo xtask bench-calibration`).
//!
//! For each example profile with request records, and each of [`SPLITS`]
//! seeded splits of its prompts: the strategy sees only the records of a
//! training fifth of the prompts, and every interval it predicts for a
//! served configuration (cost per request, quality) is checked against
//! that configuration's mean over the other four fifths.
//!
//! Why a fifth: the intervals are for the mean a configuration will have
//! over many future requests, and the held-out mean is only an estimate of
//! it. With a held-out set four times the training set, its own sampling
//! error adds a quarter of the interval's variance, so correct intervals
//! cover the held-out mean about 92% of the time (P(|Z| < 1.96 / √1.25));
//! with equal halves it would be 83%, which says more about the check than
//! about the intervals.
//!
//! Only proposals that switch to one served configuration are checked:
//! a cascade's or an ensemble's held-out value needs its policy replayed,
//! and its own rationale already reports held-out numbers.

use std::collections::BTreeMap;
use std::path::Path;

use aiopt::profile::{self, Profile, RequestLog, Value};
use aiopt::runtime::{Limits, Plugin, Runtime};

const SPLITS: u64 = 40;
/// One prompt in this many goes to training.
const TRAIN_ONE_IN: u64 = 5;
const EXAMPLES: [&str; 2] = ["code-review", "doc-generator"];
const STRATEGIES: [&str; 2] = ["cost", "quality"];
const COST: &str = "cost_per_request_usd";
const QUALITY: &str = "quality_score";

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("host/ lives in the workspace");
    let runtime = Runtime::new(None).expect("runtime");
    let limits = Limits::default();
    let plugins: Vec<(&str, Plugin)> = STRATEGIES
        .iter()
        .map(|name| {
            let path = root.join(format!("target/wasm32-wasip2/plugin/aiopt_{name}.wasm"));
            let bytes = std::fs::read(&path).unwrap_or_else(|e| {
                panic!(
                    "{}: {e}; run `cargo xtask bench-calibration`, which builds the plugins",
                    path.display()
                )
            });
            (*name, runtime.load_bytes(&bytes, &path).expect("load plugin"))
        })
        .collect();
    println!(
        "calibration: {SPLITS} splits per example, strategy sees 1/{TRAIN_ONE_IN} of the prompts, intervals \
         checked against the held-out rest (expected coverage of correct 95% intervals: about 92%)"
    );
    println!(
        "{:<14} {:<8} {:<22} {:>9} {:>10}",
        "example", "strategy", "metric", "intervals", "coverage"
    );
    let mut rows = Vec::new();
    for example in EXAMPLES {
        let path = root.join(format!("examples/{example}/profile.toml"));
        let full = profile::load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        for (name, plugin) in &plugins {
            let mut hits: BTreeMap<&str, (u32, u32)> = BTreeMap::new();
            for split in 0..SPLITS {
                let (train, held_out) = split_log(&full, split);
                let truth = means_by_label(&held_out);
                let mut seen = full.clone();
                seen.requests = train;
                let report = match runtime.recommend(plugin, &seen, split, &limits) {
                    Ok(called) => called.value,
                    Err(e) => panic!("{example} {name} split {split}: {}", e.error),
                };
                // "switch to X" proposals predict X's own metrics; the
                // config of a cascade or an ensemble is only its first
                // stage, so its predictions are not X's.
                for proposal in report
                    .proposals
                    .iter()
                    .filter(|p| p.title.starts_with("switch to "))
                {
                    let Some(label) = label_of(&full, &proposal.config) else {
                        continue;
                    };
                    let Some(&(cost, quality)) = truth.get(label.as_str()) else {
                        continue;
                    };
                    for e in &proposal.predicted {
                        let actual = match e.metric.as_str() {
                            COST => cost,
                            QUALITY => quality,
                            _ => continue,
                        };
                        if e.low == e.high {
                            continue;
                        }
                        let entry = hits
                            .entry(if e.metric == COST { COST } else { QUALITY })
                            .or_default();
                        entry.1 += 1;
                        if (e.low..=e.high).contains(&actual) {
                            entry.0 += 1;
                        }
                    }
                }
            }
            for (metric, (inside, total)) in hits {
                let coverage = 100.0 * f64::from(inside) / f64::from(total.max(1));
                println!("{example:<14} {name:<8} {metric:<22} {total:>9} {coverage:>9.1}%");
                rows.push(serde_json::json!({
                    "example": example, "strategy": name, "metric": metric,
                    "intervals": total, "inside": inside, "coverage_percent": coverage,
                }));
            }
        }
    }
    let out = root.join("target/bench-calibration.json");
    std::fs::write(&out, serde_json::to_string_pretty(&rows).expect("json")).expect("write results");
    println!("wrote {}", out.display());
}

/// The request log split by prompt: one prompt in [`TRAIN_ONE_IN`] (by a
/// hash of the split number and the prompt) for training, the rest held
/// out. Records without a prompt stay in training.
fn split_log(profile: &Profile, split: u64) -> (RequestLog, RequestLog) {
    let log = &profile.requests;
    let width = log.extra_metrics.len();
    let empty = || RequestLog {
        served_by: log.served_by.clone(),
        categories: log.categories.clone(),
        records: Vec::new(),
        extra_metrics: log.extra_metrics.clone(),
        extra: Vec::new(),
    };
    let (mut train, mut held_out) = (empty(), empty());
    for (i, record) in log.records.iter().enumerate() {
        let to_train = record
            .prompt
            .is_none_or(|p| mix(split, p).is_multiple_of(TRAIN_ONE_IN));
        let side = if to_train { &mut train } else { &mut held_out };
        side.records.push(record.clone());
        side.extra
            .extend_from_slice(&log.extra[i * width..(i + 1) * width]);
    }
    (train, held_out)
}

/// A fixed 64-bit mix of the split number and a prompt hash.
fn mix(split: u64, prompt: u64) -> u64 {
    let mut z = prompt ^ split.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Mean cost and score per `served_by` label.
fn means_by_label(log: &RequestLog) -> BTreeMap<&str, (f64, f64)> {
    let mut sums: BTreeMap<&str, (f64, f64, f64)> = BTreeMap::new();
    for r in &log.records {
        let (Some(cost), Some(score)) = (r.cost_usd, r.score) else {
            continue;
        };
        let e = sums
            .entry(log.served_by[r.served_by as usize].as_str())
            .or_default();
        *e = (e.0 + cost, e.1 + score, e.2 + 1.0);
    }
    sums.into_iter()
        .map(|(label, (c, s, n))| (label, (c / n, s / n)))
        .collect()
}

/// The `served_by` label whose configuration `config` is (a bare choice
/// value, or `knob=value;knob=value`), as the strategies read labels.
fn label_of(profile: &Profile, config: &[(String, Value)]) -> Option<String> {
    let value_of = |knob: &str| config.iter().find(|(k, _)| k == knob).map(|(_, v)| v.to_string());
    profile.requests.served_by.iter().find_map(|label| {
        let matches = if label.contains('=') {
            label.split(';').all(|part| {
                part.split_once('=')
                    .is_some_and(|(k, v)| value_of(k.trim()).as_deref() == Some(v.trim()))
            })
        } else {
            config
                .iter()
                .any(|(_, v)| matches!(v, Value::Choice(c) if c == label))
        };
        matches.then(|| label.clone())
    })
}
