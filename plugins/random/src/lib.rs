//! Built-in strategy `random`: uniform random search.
//!
//! Random search is the baseline every other tuning strategy must beat, and
//! the safe default when nothing is known about the space: it needs no model,
//! handles every knob kind and parallelises perfectly. `suggest` draws
//! configurations with [`Domain::sample`](aiopt_sdk::Domain::sample) and never
//! repeats one already tried; `recommend` reports the best measured
//! configuration for each objective.
//!
//! The algorithm is plain Rust ([`suggest`], [`recommend`], [`info`]) so
//! native benchmarks and tests call exactly the code the plugin runs; the
//! component export is a thin wrapper around it.

#![forbid(unsafe_code)]

use std::collections::BTreeSet;

use aiopt_sdk::stats::Summary;
use aiopt_sdk::text::num;
use aiopt_sdk::{group_replicates, summarize, Replicates as Group};
use aiopt_sdk::{
    Config, ConfigKey, Error, Estimate, Info, Kind, Objective, Profile, Proposal, Report, Rng, Strategy,
    TrialState, TrialView, Value,
};

/// How many draws `suggest` spends looking for one new configuration before
/// it concludes the untried part of the space is too small to hit by chance
/// and switches to enumerating it (finite spaces) or gives up (continuous
/// spaces, where a repeat is practically impossible anyway).
const MAX_ATTEMPTS: u32 = 100;

/// The strategy type exported as the `random` plugin.
pub struct Random;

impl Strategy for Random {
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

aiopt_sdk::export_strategy!(Random);

/// The plugin's identity: `random`, this crate's version, kind `tuning`, no
/// options.
pub fn info() -> Info {
    Info {
        name: "random".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        kinds: vec![Kind::Tuning],
        summary: "Uniform random search over the space, never repeating a tried configuration.".into(),
        options: vec![],
    }
}

/// `count` new configurations, each knob drawn with `Domain::sample` and
/// assigned in search-space order.
///
/// No configuration is repeated, neither one from `profile.history` (in any
/// state: a running trial is already being measured) nor one earlier in the
/// batch. A history row counts as tried when it gives every knob of the
/// space the same value: its encoded numbers equal the draw's (in a finite
/// space stepped reals match within 1e-9 of a step, otherwise numbers match
/// exactly, by their bits). A row whose numbers encode no configuration of
/// the space (which the host never sends) is ignored.
///
/// On a finite space, while untried configurations are plentiful they are
/// found by drawing and rejecting repeats, which keeps each knob's
/// distribution (e.g. log-uniform). Once they are scarce (fewer than twice
/// the number still wanted, or at least half the space tried, or 100 draws in
/// a row were repeats) the remaining ones are drawn uniformly from the
/// explicit list of untried configurations, which costs time proportional to
/// the history, not to the space. When fewer untried configurations remain
/// than asked for, all of them are returned (possibly none) and a warning is
/// logged. Errors: an empty or invalid space is `Error::InvalidInput`.
/// `count == 0` gives an empty list.
///
/// Deterministic: the same profile, count and seed give the same list.
pub fn suggest(profile: &Profile, count: u32, seed: u64) -> Result<Vec<Config>, Error> {
    profile.validate_space()?;
    if count == 0 {
        return Ok(Vec::new());
    }
    let mut rng = Rng::new(seed);
    let out = match profile.space_size() {
        Some(size) => suggest_finite(profile, size, count as usize, &mut rng),
        None => suggest_continuous(profile, count as usize, &mut rng),
    };
    aiopt_sdk::debug!("random: suggested {} of {count} configurations", out.len());
    Ok(out)
}

/// Suggestions in a space of `size` configurations, tracked by their index
/// (see [`Grid`]) so that near-equal floats count as the same configuration.
fn suggest_finite(profile: &Profile, size: u128, count: usize, rng: &mut Rng) -> Vec<Config> {
    let grid = Grid::new(profile);
    // Sorted and without duplicates (replicates share an index): one
    // allocation for the whole history, and `pick_untried` merges with it.
    let mut tried: Vec<u128> = profile
        .trials()
        .filter_map(|t| grid.index_of_row(t.values))
        .collect();
    tried.sort_unstable();
    tried.dedup();
    let tried_before = tried.len();
    let mut out = Vec::new();
    let mut scarce = false;
    while out.len() < count {
        let remaining = size - tried.len() as u128;
        let wanted = count - out.len();
        if remaining == 0 {
            break;
        }
        scarce = scarce || remaining < 2 * wanted as u128 || 2 * tried.len() as u128 >= size;
        if scarce {
            let take = remaining.min(wanted as u128) as usize;
            for index in pick_untried(&tried, remaining, take, rng) {
                out.push(grid.config_at(index));
            }
            break;
        }
        // Draws the same values as `sample_config`, and names only the one
        // kept.
        let fresh = (0..MAX_ATTEMPTS).find_map(|_| {
            let values = profile.sample_values(rng);
            let index = grid.index_of(&values)?;
            let slot = tried.binary_search(&index).err()?;
            Some((slot, index, values))
        });
        match fresh {
            Some((slot, index, values)) => {
                tried.insert(slot, index);
                out.push(profile.config_from_values(values));
            }
            None => scarce = true,
        }
    }
    if out.len() < count {
        aiopt_sdk::warn!(
            "random: the search space is exhausted: it has {size} configurations and {tried_before} \
             were already tried, so only {} new ones could be suggested instead of {count}",
            out.len()
        );
    }
    out
}

/// Suggestions in a space with a continuous knob, where repeats are
/// recognised by the encoded row's bits and practically never happen.
///
/// This is the hot path of a study (every call reads the whole history), so
/// the history is read straight from the flat values block, never decoded
/// into keys, and each draw is encoded into one reused row. See [`Tried`]
/// for how a draw is checked against it.
fn suggest_continuous(profile: &Profile, count: usize, rng: &mut Rng) -> Vec<Config> {
    let knobs = profile.space.len();
    let mut tried = Tried::new(profile, count);
    let mut out = Vec::new();
    let mut row = Vec::with_capacity(knobs);
    while out.len() < count {
        // Draws the same values as `sample_config`, and names only the one
        // kept.
        let fresh = (0..MAX_ATTEMPTS).find_map(|_| {
            let values = profile.sample_values(rng);
            encode_draw(profile, &values, &mut row);
            (!tried.contains(&row)).then_some(values)
        });
        match fresh {
            Some(values) => {
                tried.insert(&row);
                out.push(profile.config_from_values(values));
            }
            None => {
                aiopt_sdk::warn!(
                    "random: {MAX_ATTEMPTS} draws in a row repeated tried configurations; \
                     returning {} of {count}",
                    out.len()
                );
                break;
            }
        }
    }
    out
}

/// Up to this many configurations asked for, each draw is checked by
/// scanning the history's rows; beyond, the history's fingerprints are
/// sorted once so that each of the many draws is a binary search.
///
/// A worker asks for one configuration at a time, and for one draw a scan
/// (n row comparisons, no allocation) costs a fraction of fingerprinting
/// and sorting n rows: it halved the sandbox's share of an ask on a
/// 10,000-trial study in `cargo xtask bench-api`.
const SCAN_UP_TO: usize = 4;

/// The encoded rows a continuous draw must not repeat: the history's, and
/// the batch's so far.
enum Tried<'a> {
    /// Rows compared bit for bit: exact, for few draws.
    Scan {
        profile: &'a Profile,
        drawn: Vec<Vec<f64>>,
    },
    /// Sorted [`fingerprint`]s, for many draws. Safe in place of exact
    /// rows: equal values always give equal fingerprints, so a tried
    /// configuration is always recognised; a collision (different values,
    /// equal fingerprints) can only make a genuinely new draw look tried,
    /// which rejects it and draws again. It never lets a repeat through.
    Sorted(Vec<u64>),
}

impl<'a> Tried<'a> {
    fn new(profile: &'a Profile, count: usize) -> Self {
        if count <= SCAN_UP_TO {
            return Tried::Scan {
                profile,
                drawn: Vec::with_capacity(count),
            };
        }
        let knobs = profile.space.len();
        let mut prints: Vec<u64> = profile
            .trials()
            .filter(|t| t.values.len() == knobs)
            .map(|t| fingerprint(t.values))
            .collect();
        prints.sort_unstable();
        Tried::Sorted(prints)
    }

    fn contains(&self, row: &[f64]) -> bool {
        match self {
            Tried::Scan { profile, drawn } => {
                // The history's rows straight from the values block (one
                // number per knob, as `trials()` reads them): no view per
                // row, so the scan is a tight loop.
                let rows = profile.history.values.chunks_exact(row.len().max(1));
                drawn.iter().any(|d| same_bits(d, row))
                    || rows.take(profile.trial_count()).any(|r| same_bits(r, row))
            }
            Tried::Sorted(prints) => prints.binary_search(&fingerprint(row)).is_ok(),
        }
    }

    fn insert(&mut self, row: &[f64]) {
        match self {
            Tried::Scan { drawn, .. } => drawn.push(row.to_vec()),
            Tried::Sorted(prints) => {
                let print = fingerprint(row);
                if let Err(slot) = prints.binary_search(&print) {
                    prints.insert(slot, print);
                }
            }
        }
    }
}

/// Whether two encoded rows hold the same numbers, by their bits (as
/// [`fingerprint`] reads them).
#[inline]
fn same_bits(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
}

/// Encodes drawn `values` as the history row they would have, into `row`
/// (cleared first, and reused so a draw allocates no row).
///
/// Drawn values lie in their domains, so each encodes, except an integer
/// beyond ±2^53, the exact range of an f64, which only a space the host
/// refuses can hold. Such a value is rounded to the nearest f64 instead:
/// equal values still give equal rows, so a tried configuration is still
/// recognised, and two different values sharing a row can only make a new
/// draw look tried (see [`suggest_continuous`]).
fn encode_draw(profile: &Profile, values: &[Value], row: &mut Vec<f64>) {
    row.clear();
    row.extend(
        profile
            .space
            .iter()
            .zip(values)
            .map(|(p, v)| p.domain.encode(v).or_else(|| v.as_f64()).unwrap_or(f64::NAN)),
    );
}

/// The SDK's [`aiopt_sdk::fingerprint`] of an encoded row (one number per
/// knob, as the history holds it): each number's bits, no decoding, because
/// within one space a number means one value of its knob (a choice's label
/// index, a flag's 0 or 1, an integer exactly). `-0.0` and `0.0` differ, and
/// a NaN matches the same NaN, as [`ConfigKey`] compares.
fn fingerprint(row: &[f64]) -> u64 {
    aiopt_sdk::fingerprint(row.iter().map(|x| x.to_bits()))
}

/// `take` distinct indices chosen uniformly among the `remaining` indices
/// not in `tried` (sorted, without duplicates), in random order.
///
/// Robert Floyd's algorithm picks distinct ranks among the untried indices
/// without listing them; one merge pass over the sorted `tried` list then
/// turns rank `r` into the `r`-th untried index.
fn pick_untried(tried: &[u128], remaining: u128, take: usize, rng: &mut Rng) -> Vec<u128> {
    let mut ranks = BTreeSet::new();
    for j in remaining - take as u128..remaining {
        let r = below_u128(rng, j + 1);
        if !ranks.insert(r) {
            ranks.insert(j);
        }
    }
    let mut skipped = 0u128;
    let mut tried_iter = tried.iter().peekable();
    let mut picked: Vec<u128> = ranks
        .into_iter()
        .map(|r| {
            while let Some(&&t) = tried_iter.peek() {
                if t > r + skipped {
                    break;
                }
                skipped += 1;
                tried_iter.next();
            }
            r + skipped
        })
        .collect();
    rng.shuffle(&mut picked);
    picked
}

/// A uniform integer in `[0, n)` for spaces larger than `u64`; `Rng::below`
/// when it fits, so small spaces draw exactly as `Rng` documents.
fn below_u128(rng: &mut Rng, n: u128) -> u128 {
    if let Ok(n) = u64::try_from(n) {
        return u128::from(rng.below(n));
    }
    // Rejection sampling over the next power of two: unbiased, and at most
    // two tries expected.
    let bits = 128 - (n - 1).leading_zeros();
    loop {
        let x = (u128::from(rng.next_u64()) << 64 | u128::from(rng.next_u64())) >> (128 - bits);
        if x < n {
            return x;
        }
    }
}

/// Numbers the configurations of a finite space: the index of a
/// configuration is its knobs' `Domain::grid_index` read as digits of a
/// mixed-radix number, the first knob most significant.
struct Grid<'a> {
    profile: &'a Profile,
    radices: Vec<u128>,
}

impl<'a> Grid<'a> {
    fn new(profile: &'a Profile) -> Self {
        let radices = profile
            .space
            .iter()
            .map(|p| p.domain.cardinality().unwrap_or(0))
            .collect();
        Grid { profile, radices }
    }

    /// The index of drawn `values` (one per knob, in space order); `None`
    /// when there is not exactly one per knob or one is not a value of its
    /// knob's domain.
    fn index_of(&self, values: &[Value]) -> Option<u128> {
        self.index_by(values, |domain, value| domain.grid_index(value))
    }

    /// The index of a history row's encoded numbers, without decoding them
    /// (`Domain::grid_index_encoded`: a choice's label index, an integer
    /// exactly, a stepped real within 1e-9 of a step from a grid point);
    /// `None` when the row does not hold one number per knob or one encodes
    /// no value of its knob's domain.
    fn index_of_row(&self, row: &[f64]) -> Option<u128> {
        self.index_by(row, |domain, &x| domain.grid_index_encoded(x))
    }

    fn index_by<T>(
        &self,
        items: &[T],
        digit: impl Fn(&aiopt_sdk::Domain, &T) -> Option<u128>,
    ) -> Option<u128> {
        if items.len() != self.radices.len() {
            return None;
        }
        let mut index = 0u128;
        for ((param, radix), item) in self.profile.space.iter().zip(&self.radices).zip(items) {
            index = index * radix + digit(&param.domain, item)?;
        }
        Some(index)
    }

    fn config_at(&self, mut index: u128) -> Config {
        let mut values: Vec<Value> = self
            .profile
            .space
            .iter()
            .zip(&self.radices)
            .rev()
            .map(|(param, radix)| {
                let digit = index % radix;
                index /= radix;
                param
                    .domain
                    .grid_value(digit)
                    .expect("digit below the domain's cardinality")
            })
            .collect();
        values.reverse();
        self.profile.config_from_values(values)
    }
}

/// The best measured configuration for each objective.
///
/// Only `complete` trials whose metrics keep every constraint compete.
/// Replicates (trials with the same values, compared exactly as
/// [`ConfigKey`] does) are one configuration: its value is their mean, with a
/// 95% t-interval (`mean ± t·s/√n`; a single measurement gives
/// `low == high == value`, and the rationale says so). The best is the
/// lowest or highest mean by the objective's direction, ties going to the
/// configuration measured first. Objectives won by the same configuration
/// share one proposal. Each proposal predicts every metric measured for its
/// configuration, in the order of the history's metric columns, and
/// explains, with numbers, why it won, compared with the baseline when the
/// baseline configuration was measured (a trial is the baseline when it
/// gives every knob the baseline's value for it, compared encoded, as
/// [`ConfigKey`] does). Notes count the trials skipped as infeasible,
/// failed, pruned or running.
///
/// Metrics are read by column: each objective's name is resolved once in
/// `profile.history.metric_names`, then every trial is read at that index.
/// An objective whose metric has no column is one nobody measured.
///
/// The result does not depend on `seed`: picking the best observation needs
/// no randomness. Errors: no objectives, or no complete trial, is
/// `Error::InvalidInput`.
pub fn recommend(profile: &Profile, seed: u64) -> Result<Report, Error> {
    let _ = seed;
    let complete = profile.measured_trials()?;
    let infeasible = complete.iter().filter(|t| !profile.is_feasible(t)).count();
    let groups = group_replicates(complete.iter().copied().filter(|t| profile.is_feasible(t)));

    let baseline = Baseline::new(profile, &complete);
    let mut notes = Vec::new();
    // (group, objectives it wins with their sentences), in objective order.
    let mut winners: Vec<(usize, Vec<(&Objective, String)>)> = Vec::new();
    for objective in &profile.objectives {
        let column = profile.metric_index(&objective.metric);
        let candidates: Vec<(usize, Summary)> = match column {
            Some(column) => groups
                .iter()
                .enumerate()
                .filter_map(|(i, g)| g.summary(column).map(|s| (i, s)))
                .collect(),
            None => Vec::new(),
        };
        let winner = candidates
            .iter()
            .fold(None::<&(usize, Summary)>, |best, c| match best {
                Some(b) if !objective.direction.is_better(c.1.mean, b.1.mean) => Some(b),
                _ => Some(c),
            });
        let (Some(column), Some(&(best, summary))) = (column, winner) else {
            notes.push(format!(
                "No feasible measured configuration reports {}, so there is no proposal for it.",
                objective.metric
            ));
            continue;
        };
        let sentence = explain(
            objective,
            column,
            &groups[best],
            &summary,
            candidates.len(),
            &baseline,
        );
        match winners.iter_mut().find(|(g, _)| *g == best) {
            Some((_, won)) => won.push((objective, sentence)),
            None => winners.push((best, vec![(objective, sentence)])),
        }
    }

    let proposals = winners
        .into_iter()
        .map(|(g, won)| proposal(profile, &groups[g], &won, &baseline))
        .collect();

    let count = |state: TrialState| profile.trials().filter(|t| t.state == state).count();
    if infeasible > 0 {
        notes.push(format!(
            "{infeasible} of {} complete {} skipped as infeasible (a constraint broken or a \
             constrained metric missing).",
            complete.len(),
            plural(complete.len(), "trial was", "trials were"),
        ));
        if groups.is_empty() {
            notes.push(
                "Every complete trial is infeasible: relax a constraint or measure other \
                 configurations."
                    .into(),
            );
        }
    }
    let failed = count(TrialState::Failed);
    if failed > 0 {
        notes.push(format!(
            "{failed} {} skipped.",
            plural(failed, "trial failed and was", "trials failed and were")
        ));
    }
    let pruned = count(TrialState::Pruned);
    if pruned > 0 {
        notes.push(format!(
            "{pruned} {} pruned and skipped.",
            plural(pruned, "trial was", "trials were")
        ));
    }
    let running = count(TrialState::Running);
    if running > 0 {
        notes.push(format!(
            "{running} {} still running and not considered.",
            plural(running, "trial is", "trials are")
        ));
    }
    Ok(Report { proposals, notes })
}

/// The measurements of the baseline configuration, feasible or not: the
/// reference every improvement is stated against.
struct Baseline<'a> {
    key: Option<ConfigKey>,
    trials: Vec<TrialView<'a>>,
    feasible: bool,
}

impl<'a> Baseline<'a> {
    fn new(profile: &Profile, complete: &[TrialView<'a>]) -> Self {
        let (key, trials) = profile.baseline_trials(complete);
        let feasible = key.is_none() || trials.iter().any(|t| profile.is_feasible(t));
        Baseline {
            key,
            trials,
            feasible,
        }
    }

    fn is(&self, group: &Group) -> bool {
        self.key.as_ref() == Some(&group.key)
    }
}

/// One sentence on why `group` wins `objective`, whose metric is in
/// `column`.
fn explain(
    objective: &Objective,
    column: usize,
    group: &Group,
    s: &Summary,
    competitors: usize,
    baseline: &Baseline,
) -> String {
    let metric = &objective.metric;
    let best = objective.direction.superlative();
    let value = if s.n == 1 {
        num(s.mean)
    } else {
        format!("mean {}, 95% CI {} to {}", num(s.mean), num(s.low), num(s.high))
    };
    let who = match s.n {
        1 => who(group, column),
        n => format!("{} ({n} replicates of one configuration)", who(group, column)),
    };
    let (has, is) = if s.n == 1 { ("has", "is") } else { ("have", "are") };
    let mut text = if competitors == 1 {
        format!("{who} {is} the only feasible measured configuration reporting {metric} ({value})")
    } else {
        format!(
            "{who} {has} the {best} {metric} ({value}) of {competitors} feasible measured \
             configurations"
        )
    };
    if baseline.is(group) {
        text.push_str("; this is the baseline configuration, so keep it");
    } else if let Some(base) = summarize(&baseline.trials, column) {
        text.push_str(&format!("; the baseline measured {}", num(base.mean)));
        if base.mean != 0.0 {
            let change = (s.mean - base.mean) / base.mean.abs() * 100.0;
            let sign = if change < 0.0 { '−' } else { '+' };
            text.push_str(&format!(" ({sign}{:.1}%)", change.abs()));
        }
        if !baseline.feasible {
            text.push_str(" but breaks a constraint");
        }
    }
    text.push('.');
    text
}

fn proposal(profile: &Profile, group: &Group, won: &[(&Objective, String)], baseline: &Baseline) -> Proposal {
    let reasons: Vec<String> = won
        .iter()
        .map(|(o, _)| format!("{} {}", o.direction.superlative(), o.metric))
        .collect();
    let title = if baseline.is(group) {
        format!("Keep the baseline ({})", reasons.join(", "))
    } else {
        let first = group.trials[0].number;
        format!("Use trial {first}'s configuration ({})", reasons.join(", "))
    };
    // Every metric column measured for the configuration, a name listed
    // twice only once (its first column, as `metric_index` reads it).
    let columns = &profile.history.metric_names;
    let predicted: Vec<Estimate> = columns
        .iter()
        .enumerate()
        .filter(|&(column, name)| !columns[..column].contains(name))
        .filter_map(|(column, name)| group.summary(column).map(|s| s.estimate(name)))
        .collect();
    let mut rationale = won
        .iter()
        .map(|(_, sentence)| sentence.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    if group.trials.len() == 1 {
        rationale.push_str(" Measured once, so each predicted interval is the value itself.");
    }
    Proposal {
        title,
        config: profile.trial_config(&group.trials[0]),
        predicted,
        rationale,
    }
}

fn plural<'s>(n: usize, one: &'s str, many: &'s str) -> &'s str {
    if n == 1 {
        one
    } else {
        many
    }
}

#[cfg(test)]
mod tests;

/// "Trial 7" or "Trials 7, 12 and 15": the replicates of `group` that
/// measured the metric in `column`.
fn who(group: &Group<'_>, column: usize) -> String {
    let numbers: Vec<String> = group
        .trials
        .iter()
        .filter(|t| t.metric_at(column).is_some_and(f64::is_finite))
        .map(|t| t.number.to_string())
        .collect();
    match numbers.as_slice() {
        [one] => format!("Trial {one}"),
        [init @ .., last] => format!("Trials {} and {last}", init.join(", ")),
        [] => String::new(),
    }
}
