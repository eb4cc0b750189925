//! The request log as a table of served configurations × prompts: what each
//! configuration cost and scored on each prompt.
//!
//! The cost and quality strategies read requests through this. A served
//! configuration is a request log `served_by` label that names a
//! configuration of the profile (see [`Profile::config_for_label`]);
//! prompts are the records' prompt hashes, so two configurations can be
//! compared on the same requests (paired), which is what cascades, routing
//! and honest intervals on differences need.

#![forbid(unsafe_code)]

use std::collections::BTreeMap;

use crate::{Config, ConfigKey, Error, Profile};

/// One served configuration and its requests.
pub struct Served {
    /// The `served_by` label as the log writes it.
    pub label: String,
    /// The configuration it names (the baseline with the label's knobs).
    pub config: Config,
    /// Per prompt (hash): mean cost in USD and mean score, over its records.
    pub by_prompt: BTreeMap<u64, (f64, f64)>,
    /// Every record's (cost, score), in log order, for unpaired summaries.
    pub records: Vec<(f64, f64)>,
    /// Prompt hash and category index of each record, in log order (the
    /// cache simulation replays them).
    pub prompts: Vec<(Option<u64>, Option<u32>)>,
}

impl Served {
    /// Mean cost per request in USD (NaN when costs were not required and
    /// some are missing).
    pub fn mean_cost(&self) -> f64 {
        self.records.iter().map(|r| r.0).sum::<f64>() / self.records.len() as f64
    }

    /// Mean score per request.
    pub fn mean_score(&self) -> f64 {
        self.records.iter().map(|r| r.1).sum::<f64>() / self.records.len() as f64
    }
}

/// Which per-request columns a strategy cannot do without; `score` is
/// always needed.
#[derive(Clone, Copy, Debug)]
pub struct Needs {
    /// Records without a finite `cost_usd` are left out.
    pub cost: bool,
}

/// The served configurations found in the log, and what could not be used.
pub struct ServedLog {
    /// The configurations that served usable records, in label order.
    pub served: Vec<Served>,
    /// Index into `served` of the baseline configuration, if it served
    /// requests.
    pub baseline: Option<usize>,
    /// Labels that name no configuration of the profile.
    pub unplaced: Vec<String>,
    /// Records without a cost or a score (left out).
    pub incomplete: usize,
}

impl Needs {
    fn columns(self) -> &'static str {
        if self.cost {
            "served_by, cost_usd and score"
        } else {
            "served_by and score"
        }
    }

    /// `Error::Unsupported` naming the columns, for a profile whose log
    /// lacks them.
    pub fn error(self, why: &str) -> Error {
        Error::Unsupported(format!(
            "needs request records with columns {} ({why}); add a `requests` file to the profile's [data] \
             (see docs/profile.md)",
            self.columns()
        ))
    }
}

impl ServedLog {
    /// The baseline's requests, if it served any.
    pub fn baseline(&self) -> Option<&Served> {
        self.baseline.map(|i| &self.served[i])
    }

    /// Reads the request log: records lacking a needed column are counted
    /// in `incomplete` and left out (a missing cost, when not needed, is
    /// NaN). Errors (`Error::Unsupported`, naming the columns) when no
    /// record is usable or no label names a configuration.
    pub fn read(profile: &Profile, needs: Needs) -> Result<ServedLog, Error> {
        read(profile, needs)
    }
}

fn read(profile: &Profile, needs: Needs) -> Result<ServedLog, Error> {
    let log = &profile.requests;
    if log.records.is_empty() {
        return Err(needs.error("the profile has none"));
    }
    let mut served: Vec<Served> = Vec::new();
    let mut slot_of: Vec<Option<usize>> = Vec::with_capacity(log.served_by.len());
    let mut unplaced = Vec::new();
    for label in &log.served_by {
        match profile.config_for_label(label) {
            Some(config) => {
                slot_of.push(Some(served.len()));
                served.push(Served {
                    label: label.clone(),
                    config,
                    by_prompt: BTreeMap::new(),
                    records: Vec::new(),
                    prompts: Vec::new(),
                });
            }
            None => {
                slot_of.push(None);
                unplaced.push(label.clone());
            }
        }
    }
    let mut incomplete = 0;
    let mut sums: Vec<BTreeMap<u64, (f64, f64, f64)>> = vec![BTreeMap::new(); served.len()];
    for r in &log.records {
        let Some(Some(slot)) = slot_of.get(r.served_by as usize) else {
            continue;
        };
        let cost = r.cost_usd.filter(|c| c.is_finite());
        let (Some(score), true) = (r.score.filter(|s| s.is_finite()), cost.is_some() || !needs.cost) else {
            incomplete += 1;
            continue;
        };
        let cost = cost.unwrap_or(f64::NAN);
        let s = &mut served[*slot];
        s.records.push((cost, score));
        s.prompts.push((r.prompt, r.category));
        if let Some(p) = r.prompt {
            let e = sums[*slot].entry(p).or_insert((0.0, 0.0, 0.0));
            *e = (e.0 + cost, e.1 + score, e.2 + 1.0);
        }
    }
    for (s, sum) in served.iter_mut().zip(sums) {
        s.by_prompt = sum
            .into_iter()
            .map(|(p, (c, q, n))| (p, (c / n, q / n)))
            .collect();
    }
    if served.iter().all(|s| s.records.is_empty()) {
        return Err(needs.error(if unplaced.len() == log.served_by.len() {
            "no served_by label names a configuration of the space"
        } else {
            "no record has them all"
        }));
    }
    served.retain(|s| !s.records.is_empty());
    let baseline_key: Option<ConfigKey> = profile.config_key(&profile.baseline);
    let baseline = baseline_key.and_then(|key| {
        served
            .iter()
            .position(|s| profile.config_key(&s.config).as_ref() == Some(&key))
    });
    Ok(ServedLog {
        served,
        baseline,
        unplaced,
        incomplete,
    })
}

/// Prompts both configurations answered, in hash order.
pub fn shared_prompts(a: &Served, b: &Served) -> Vec<u64> {
    a.by_prompt
        .keys()
        .filter(|p| b.by_prompt.contains_key(p))
        .copied()
        .collect()
}

/// Whether prompt `p` is in the held-out half for `seed` (a fixed hash
/// split, so the same prompt is on the same side for every configuration).
pub fn held_out(p: u64, seed: u64) -> bool {
    crate::fingerprint([seed, p]) & 1 == 1
}
