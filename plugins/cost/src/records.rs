//! The request log as a table of options × prompts: what each served
//! configuration cost and scored on each prompt.
//!
//! Every estimate in this plugin comes from here. Options are the request
//! log's `served_by` labels that name a configuration of the profile (see
//! `Profile::config_for_label`); prompts are the records' prompt hashes, so
//! two options can be compared on the same requests (paired), which is
//! what cascades and honest intervals on differences need.

use std::collections::BTreeMap;

use aiopt_sdk::{Config, ConfigKey, Error, Profile};

/// One served configuration and its requests.
pub(crate) struct Served {
    pub label: String,
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
    pub fn mean_cost(&self) -> f64 {
        self.records.iter().map(|r| r.0).sum::<f64>() / self.records.len() as f64
    }

    pub fn mean_score(&self) -> f64 {
        self.records.iter().map(|r| r.1).sum::<f64>() / self.records.len() as f64
    }
}

/// The options found in the log, and what could not be used.
pub(crate) struct Options {
    pub served: Vec<Served>,
    /// Index into `served` of the baseline configuration, if it served
    /// requests.
    pub baseline: Option<usize>,
    /// Labels that name no configuration of the profile.
    pub unplaced: Vec<String>,
    /// Records without a cost or a score (left out).
    pub incomplete: usize,
}

/// The message for a profile whose log lacks what the strategy needs.
pub(crate) fn needs(what: &str) -> Error {
    Error::Unsupported(format!(
        "needs request records with columns served_by, cost_usd and score ({what}); add a `requests` file \
         to the profile's [data] (see docs/profile.md)"
    ))
}

/// Reads the request log. Errors when no record has both a cost and a
/// score, or when no label names a configuration.
pub(crate) fn read(profile: &Profile) -> Result<Options, Error> {
    let log = &profile.requests;
    if log.records.is_empty() {
        return Err(needs("the profile has none"));
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
        let (Some(cost), Some(score)) = (r.cost_usd, r.score) else {
            incomplete += 1;
            continue;
        };
        if !(cost.is_finite() && score.is_finite()) {
            incomplete += 1;
            continue;
        }
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
        return Err(needs(if unplaced.len() == log.served_by.len() {
            "no served_by label names a configuration of the space"
        } else {
            "no record has both"
        }));
    }
    served.retain(|s| !s.records.is_empty());
    let baseline_key: Option<ConfigKey> = profile.config_key(&profile.baseline);
    let baseline = baseline_key.and_then(|key| {
        served
            .iter()
            .position(|s| profile.config_key(&s.config).as_ref() == Some(&key))
    });
    Ok(Options {
        served,
        baseline,
        unplaced,
        incomplete,
    })
}

/// Prompts both options answered, in hash order.
pub(crate) fn shared_prompts(a: &Served, b: &Served) -> Vec<u64> {
    a.by_prompt
        .keys()
        .filter(|p| b.by_prompt.contains_key(p))
        .copied()
        .collect()
}

/// Whether prompt `p` is in the held-out half for `seed` (a fixed hash
/// split, so the same prompt is on the same side for every option).
pub(crate) fn held_out(p: u64, seed: u64) -> bool {
    aiopt_sdk::fingerprint([seed, p]) & 1 == 1
}
