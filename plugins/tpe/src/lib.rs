//! Built-in strategy `tpe`: multivariate tree-structured Parzen estimator.
//!
//! TPE (Bergstra et al. 2011; the variant here follows Optuna and Watanabe
//! 2023, "Tree-structured Parzen estimator: understanding its algorithm
//! components") is the default Bayesian sampler of most tuning tools because
//! it handles every knob kind, needs no matrix algebra, and its cost grows
//! linearly with the history. Each `suggest`:
//!
//! 1. ranks the measured trials (module `rank`: feasible before infeasible,
//!    then by objective, or by non-dominated sorting with several
//!    objectives) and splits them: the best `gamma(n) = min(ceil(gamma·n),
//!    max_good)` form the good group, the rest the bad group;
//! 2. fits a Parzen estimator `l(x)` to the good group and `g(x)` to the
//!    bad one (module `parzen`: joint kernels over all knobs in a transformed
//!    space, plus a wide prior kernel);
//! 3. draws `n_candidates` configurations from `l` and keeps the one with the
//!    highest `l(x) / g(x)`, which maximises expected improvement under the
//!    TPE model.
//!
//! Until `n_startup_trials` trials are measured it samples at random (the
//! SDK's `Domain::sample`), because a density fitted to a handful of points
//! mostly reflects where the first draws landed.
//!
//! Parallel asks use the constant liar: running trials, and each
//! configuration already chosen for the batch, join the bad group as if
//! they had the worst value, so `g` rises around them and the next pick moves
//! elsewhere. No configuration in the history (any state) or earlier in the
//! batch is ever proposed again.
//!
//! Constraints follow Optuna's constrained TPE: a trial is feasible when it
//! keeps every `profile.constraints` bound (SDK `is_feasible`). Feasible
//! trials rank before infeasible ones, and infeasible ones are ordered by
//! their total violation (the sum of how far each metric lies outside its
//! bound, a missing metric counting as infinitely far), so with few feasible
//! trials the good group is "feasible first, then the least infeasible" and
//! the search is drawn towards the feasible region.
//!
//! The algorithm is plain Rust ([`suggest`], [`recommend()`], [`info`]) so
//! native tests call exactly the code the plugin runs.

#![forbid(unsafe_code)]

mod parzen;
mod rank;
mod recommend;

use std::collections::BTreeSet;

use aiopt_sdk::{Config, Domain, Error, Info, Kind, OptionSpec, Profile, Report, Rng, Strategy, Value};

use parzen::{Dim, Parzen};
pub use recommend::recommend;

/// How many extra rounds of candidates `suggest` draws when every candidate
/// of a round was already tried, before falling back to random sampling.
const MAX_ROUNDS: u32 = 20;

/// How many random draws the fallback spends looking for an untried
/// configuration.
const MAX_RANDOM_ATTEMPTS: u32 = 1000;

/// The strategy type exported as the `tpe` plugin.
pub struct Tpe;

impl Strategy for Tpe {
    fn info() -> Info {
        info()
    }

    fn suggest(profile: Profile, count: u32, seed: u64) -> Result<Vec<Config>, Error> {
        suggest(&profile, count, seed)
    }

    fn recommend(profile: Profile, seed: u64) -> Result<Report, Error> {
        recommend(&profile, seed)
    }
}

aiopt_sdk::export_strategy!(Tpe);

/// The options with their defaults (Optuna's).
#[derive(Clone, Debug)]
pub(crate) struct Options {
    pub n_startup_trials: u64,
    pub n_candidates: u64,
    pub gamma: f64,
    pub max_good: u64,
    pub prior_weight: f64,
    pub constant_liar: bool,
}

impl Options {
    fn read(profile: &Profile) -> Result<Options, Error> {
        let o = Options {
            n_startup_trials: profile.option_u64("n_startup_trials", 10)?,
            n_candidates: profile.option_u64("n_candidates", 24)?,
            gamma: profile.option_f64("gamma", 0.1)?,
            max_good: profile.option_u64("max_good", 25)?,
            prior_weight: profile.option_f64("prior_weight", 1.0)?,
            constant_liar: profile.option_bool("constant_liar", true)?,
        };
        if !(o.gamma > 0.0 && o.gamma <= 1.0) {
            return Err(Error::InvalidInput(format!(
                "option `gamma` must be in (0, 1], got {}",
                o.gamma
            )));
        }
        if !(o.prior_weight > 0.0 && o.prior_weight.is_finite()) {
            return Err(Error::InvalidInput(format!(
                "option `prior_weight` must be a positive number, got {}",
                o.prior_weight
            )));
        }
        if o.n_candidates == 0 || o.max_good == 0 {
            return Err(Error::InvalidInput(
                "options `n_candidates` and `max_good` must be at least 1".into(),
            ));
        }
        Ok(o)
    }

    /// The size of the good group among `n` ranked trials: `min(ceil(gamma
    /// n), max_good)`, at least 1.
    fn n_good(&self, n: usize) -> usize {
        ((self.gamma * n as f64).ceil() as usize).clamp(1, self.max_good as usize)
    }
}

/// The plugin's identity: `tpe`, kind `tuning`, and its options.
pub fn info() -> Info {
    let opt = |name: &str, summary: &str, default: Value| OptionSpec {
        name: name.into(),
        summary: summary.into(),
        default,
    };
    Info {
        name: "tpe".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        kinds: vec![Kind::Tuning],
        summary: "Multivariate tree-structured Parzen estimator (Optuna-style TPE): models good and bad \
                  configurations and samples where good ones are likely; constraint- and \
                  multi-objective-aware, with constant-liar batches."
            .into(),
        options: vec![
            opt(
                "n_startup_trials",
                "Measured trials sampled at random before the model is used.",
                Value::Integer(10),
            ),
            opt(
                "n_candidates",
                "Candidates drawn from the good-configuration density per suggestion.",
                Value::Integer(24),
            ),
            opt(
                "gamma",
                "Fraction of ranked trials forming the good group (capped by max_good).",
                Value::Real(0.1),
            ),
            opt("max_good", "Largest good group.", Value::Integer(25)),
            opt(
                "prior_weight",
                "Weight of the wide prior kernel in each density.",
                Value::Real(1.0),
            ),
            opt(
                "constant_liar",
                "Treat running trials and earlier picks of a batch as bad, so parallel asks spread out.",
                Value::Flag(true),
            ),
        ],
    }
}

/// The identity of a configuration for "already tried": the SDK's
/// fingerprint of its grid indices for finite knobs (so near-equal stepped
/// reals are one value) and the bits of the number otherwise. A fingerprint
/// rather than a key per trial saves an allocation per history row; a
/// collision can only make an untried candidate look tried, never repeat
/// one (see `aiopt_sdk::fingerprint`).
fn key_of(space: &[&Domain], row: &[f64]) -> u64 {
    aiopt_sdk::fingerprint(space.iter().zip(row).map(|(d, &x)| match d {
        // Only a stepped real can hold two encodings of one grid
        // value; every other knob's number is exact (a label index,
        // 0 or 1, an integer), and its bits skip grid_index's checks
        // (this runs once per history row and knob).
        Domain::Real(r) if r.step.is_some() => match d.grid_index_encoded(x) {
            Some(k) => k as u64,
            None => x.to_bits(),
        },
        _ => x.to_bits(),
    }))
}

fn encode(domains: &[&Domain], values: &[Value]) -> Vec<f64> {
    domains
        .iter()
        .zip(values)
        .map(|(d, v)| d.encode(v).or_else(|| v.as_f64()).unwrap_or(f64::NAN))
        .collect()
}

/// `count` new configurations, one assignment per knob in search-space
/// order.
///
/// Random (SDK `Domain::sample`) while fewer than `n_startup_trials` trials
/// are complete or no objective is set; TPE afterwards (see the crate docs).
/// Each batch slot `s` draws from its own generator,
/// `Rng::new(Rng::derive(seed, s))`. Never repeats a configuration of the
/// history (any state) or of the batch; when a finite space runs out,
/// returns fewer (a warning is logged). Errors: an invalid space or option
/// is `Error::InvalidInput`. Deterministic: same profile, count and seed,
/// same list.
pub fn suggest(profile: &Profile, count: u32, seed: u64) -> Result<Vec<Config>, Error> {
    profile.validate_space()?;
    let options = Options::read(profile)?;
    if count == 0 {
        return Ok(Vec::new());
    }
    let domains: Vec<&Domain> = profile.space.iter().map(|p| &p.domain).collect();
    let dims: Vec<Dim> = domains.iter().map(|d| Dim::new(d)).collect();
    let mut tried: BTreeSet<u64> = profile
        .trials()
        .filter(|t| t.values.len() == domains.len())
        .map(|t| key_of(&domains, t.values))
        .collect();
    let ranked = rank::split_input(profile);
    let model_ready =
        !profile.objectives.is_empty() && ranked.ranked.len() as u64 >= options.n_startup_trials;
    let n_good = options.n_good(ranked.ranked.len());
    let transform =
        |row: &[f64]| -> Vec<f64> { dims.iter().zip(row).map(|(d, &x)| d.transform(x)).collect() };
    // Rows that do not hold one finite number per knob (which the host
    // never sends) are left out of the model rather than poisoning it.
    let usable = |i: &usize| {
        profile
            .trial(*i)
            .is_some_and(|t| t.values.len() == dims.len() && t.values.iter().all(|x| x.is_finite()))
    };
    let row_of = |i: usize| transform(profile.trial(i).map(|t| t.values).unwrap_or(&[]));
    let good: Vec<Vec<f64>> = ranked.ranked[..n_good.min(ranked.ranked.len())]
        .iter()
        .filter(|i| usable(i))
        .map(|&i| row_of(i))
        .collect();
    // The bad group, oldest first as the weights expect.
    let mut bad_rows: Vec<usize> = ranked.ranked[n_good.min(ranked.ranked.len())..].to_vec();
    bad_rows.extend(&ranked.pruned);
    if options.constant_liar {
        bad_rows.extend(&ranked.running);
    }
    bad_rows.sort_unstable();
    let mut bad: Vec<Vec<f64>> = bad_rows
        .iter()
        .filter(|i| usable(i))
        .map(|&i| row_of(i))
        .collect();

    let mut out = Vec::new();
    let l = Parzen::fit(&dims, &good, options.prior_weight);
    for slot in 0..count {
        let mut rng = Rng::new(Rng::derive(seed, u64::from(slot)));
        let picked = if model_ready {
            let g = Parzen::fit(&dims, &bad, options.prior_weight);
            pick_tpe(&l, &g, &domains, &tried, options.n_candidates, &mut rng)
        } else {
            None
        };
        let picked = picked.or_else(|| pick_random(profile, &domains, &tried, &mut rng));
        let Some(values) = picked else {
            aiopt_sdk::warn!(
                "tpe: no untried configuration found; returning {} of {count}",
                out.len()
            );
            break;
        };
        let row = encode(&domains, &values);
        tried.insert(key_of(&domains, &row));
        if options.constant_liar {
            bad.push(transform(&row));
        }
        out.push(profile.config_from_values(values));
    }
    aiopt_sdk::debug!(
        "tpe: suggested {} configurations ({} phase, {} ranked trials, good group {})",
        out.len(),
        if model_ready { "model" } else { "startup" },
        ranked.ranked.len(),
        n_good
    );
    Ok(out)
}

/// The untried candidate with the highest `ln l − ln g` among
/// `n_candidates` draws from `l` (more rounds when all were tried).
fn pick_tpe(
    l: &Parzen,
    g: &Parzen,
    domains: &[&Domain],
    tried: &BTreeSet<u64>,
    n_candidates: u64,
    rng: &mut Rng,
) -> Option<Vec<Value>> {
    for _ in 0..MAX_ROUNDS {
        let mut best: Option<(f64, Vec<Value>)> = None;
        for _ in 0..n_candidates {
            let c = l.sample(rng, domains);
            let key = key_of(domains, &encode(domains, &c.values));
            if tried.contains(&key) {
                continue;
            }
            let score = l.ln_density(&c.points) - g.ln_density(&c.points);
            let score = if score.is_nan() { f64::NEG_INFINITY } else { score };
            if best.as_ref().is_none_or(|(s, _)| score > *s) {
                best = Some((score, c.values));
            }
        }
        if let Some((_, values)) = best {
            return Some(values);
        }
    }
    None
}

/// An untried configuration drawn with the SDK's `Domain::sample`; on a
/// finite space whose untried part is too small to hit by chance, the first
/// untried one in grid order.
fn pick_random(
    profile: &Profile,
    domains: &[&Domain],
    tried: &BTreeSet<u64>,
    rng: &mut Rng,
) -> Option<Vec<Value>> {
    for _ in 0..MAX_RANDOM_ATTEMPTS {
        let values = profile.sample_values(rng);
        if !tried.contains(&key_of(domains, &encode(domains, &values))) {
            return Some(values);
        }
    }
    let size = profile.space_size()?;
    if size > 1_000_000 {
        return None;
    }
    let cards: Vec<u128> = domains.iter().map(|d| d.cardinality().unwrap_or(1)).collect();
    // Start from a random index so exhaustion does not always favour the
    // first configurations.
    let start = rng.below(size as u64) as u128;
    (0..size).find_map(|offset| {
        let mut index = (start + offset) % size;
        let mut values = Vec::with_capacity(domains.len());
        for (d, &c) in domains.iter().zip(&cards).rev() {
            values.push(d.grid_value(index % c)?);
            index /= c;
        }
        values.reverse();
        (!tried.contains(&key_of(domains, &encode(domains, &values)))).then_some(values)
    })
}

#[cfg(test)]
mod tests;
