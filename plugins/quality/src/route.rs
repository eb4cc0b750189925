//! Route to the strongest configuration per category.
//!
//! A request's category (its task type, source or tenant) is known before
//! it is answered, so a router can send each category to the configuration
//! that scores best on it: a deployable ensemble that needs no judge. The
//! routing table is learned on the training half of the prompts (the SDK's
//! fixed hash split by the seed); every number reported is measured on the
//! held-out half, against the best single configuration chosen on the same
//! training half, so a specialist is credited only for what it wins on
//! prompts that did not pick it.

use std::collections::BTreeMap;

use aiopt_sdk::served::{held_out, Served, ServedLog};
use aiopt_sdk::{Proposal, Rng};

use crate::measure::{
    cost_with_ci, held_out_estimates, intervals, known, mean_over, over_baseline, with_ci, Candidate, Ci,
    Difference, MIN_PROMPTS,
};
use crate::{change, num, usd, Findings, Settings};

/// Fewest training prompts of a category on which a configuration's score
/// is trusted to make it that category's specialist; a category with fewer
/// goes to the best single configuration.
const MIN_CATEGORY_PROMPTS: usize = 10;

/// Where one category goes, and the training evidence.
struct Route<'a> {
    category: u32,
    to: &'a Served,
    /// Training prompts of the category `to` answered, and its mean score
    /// on them.
    train: usize,
    score: f64,
    /// Recorded prompts of the category (both halves): its share of traffic.
    prompts: usize,
}

/// One held-out prompt: (routed score, routed cost, single score, single
/// cost, baseline score if the baseline answered it).
type Row = (f64, f64, f64, f64, Option<f64>);

/// The routing table measured on held-out prompts.
struct Measured<'a> {
    routes: Vec<Route<'a>>,
    rows: Vec<Row>,
    quality: Ci,
    cost: Option<Ci>,
    /// Routed minus single, and routed minus baseline.
    over_single: Difference,
    over_baseline: Option<Difference>,
}

/// Every prompt's category, as the records give it (the first record of a
/// prompt that has one).
fn categories(log: &ServedLog) -> BTreeMap<u64, u32> {
    let mut of = BTreeMap::new();
    for served in &log.served {
        for (prompt, category) in &served.prompts {
            if let (Some(p), Some(c)) = (prompt, category) {
                of.entry(*p).or_insert(*c);
            }
        }
    }
    of
}

/// The routing table learned on the training half, and the categories
/// whose leader was not significantly stronger than `single` there.
///
/// A category goes to the configuration with the highest mean score on at
/// least [`MIN_CATEGORY_PROMPTS`] of its training prompts, but only when
/// that lead over `single` holds on those prompts with a paired interval
/// above zero: a category's best on a few dozen prompts is often luck, and
/// routing on luck loses on new prompts. Otherwise it stays with `single`.
fn learn<'a>(
    category_of: &BTreeMap<u64, u32>,
    members: &[&'a Served],
    single: &'a Served,
    names: &[String],
    s: &Settings,
    rng: &mut Rng,
) -> (Vec<Route<'a>>, Vec<String>) {
    let mut categories: Vec<u32> = category_of.values().copied().collect();
    categories.sort_unstable();
    categories.dedup();
    let mut unsure = Vec::new();
    let routes = categories
        .into_iter()
        .map(|category| {
            let prompts = category_of.values().filter(|c| **c == category).count();
            let train = |p: u64| !held_out(p, s.seed) && category_of.get(&p) == Some(&category);
            let scored = |served: &'a Served| {
                let (score, _, n) = mean_over(served, train)?;
                Some(Route {
                    category,
                    to: served,
                    train: n,
                    score,
                    prompts,
                })
            };
            let stay = || {
                scored(single).unwrap_or(Route {
                    category,
                    to: single,
                    train: 0,
                    score: f64::NAN,
                    prompts,
                })
            };
            let leader = members
                .iter()
                .filter_map(|m| scored(m))
                .filter(|r| r.train >= MIN_CATEGORY_PROMPTS)
                .max_by(|a, b| a.score.total_cmp(&b.score).then(b.to.label.cmp(&a.to.label)));
            match leader {
                Some(r) if !std::ptr::eq(r.to, single) => match lead(r.to, single, &train, s, rng) {
                    Some(d) if d.significant() => r,
                    d => {
                        let base = mean_over(single, train).map_or(f64::NAN, |m| m.0);
                        unsure.push(format!(
                            "{} → {} ({} against {} for {}{})",
                            name(names, category),
                            r.to.label,
                            num(r.score),
                            num(base),
                            single.label,
                            d.map_or(String::new(), |d| format!(", difference {}", d.describe()))
                        ));
                        stay()
                    }
                },
                _ => stay(),
            }
        })
        .collect();
    (routes, unsure)
}

/// `leader`'s score minus `single`'s on the training prompts of a category
/// both answered, paired; `None` below [`MIN_CATEGORY_PROMPTS`] of them.
fn lead(
    leader: &Served,
    single: &Served,
    train: &impl Fn(u64) -> bool,
    s: &Settings,
    rng: &mut Rng,
) -> Option<Difference> {
    let diffs: Vec<[f64; 1]> = leader
        .by_prompt
        .iter()
        .filter(|(p, _)| train(**p))
        .filter_map(|(p, (_, q))| Some([q - single.by_prompt.get(p)?.1]))
        .collect();
    if diffs.len() < MIN_CATEGORY_PROMPTS {
        return None;
    }
    let [ci] = intervals(&diffs, s, rng)?;
    Some(Difference {
        ci,
        paired: diffs.len(),
    })
}

/// The table's answers on the held-out prompts both it and `single` (and
/// maybe the baseline) answered, with intervals.
fn measure<'a>(
    routes: Vec<Route<'a>>,
    category_of: &BTreeMap<u64, u32>,
    single: &Served,
    baseline: Option<&Served>,
    s: &Settings,
    rng: &mut Rng,
) -> Option<Measured<'a>> {
    let rows: Vec<Row> = category_of
        .iter()
        .filter(|(p, _)| held_out(**p, s.seed))
        .filter_map(|(p, c)| {
            let to = routes.iter().find(|r| r.category == *c)?.to;
            let (rc, rq) = *to.by_prompt.get(p)?;
            let (sc, sq) = *single.by_prompt.get(p)?;
            let bq = baseline.and_then(|b| b.by_prompt.get(p)).map(|x| x.1);
            Some((rq, rc, sq, sc, bq))
        })
        .collect();
    if rows.len() < MIN_PROMPTS {
        return None;
    }
    let columns: Vec<[f64; 3]> = rows.iter().map(|r| [r.0, r.1, r.0 - r.2]).collect();
    let [quality, cost, over] = intervals(&columns, s, rng)?;
    let over_single = Difference {
        ci: over,
        paired: rows.len(),
    };
    let over_baseline = over_baseline(rows.iter().map(|r| (r.0, r.4)), s, rng);
    Some(Measured {
        routes,
        rows,
        quality,
        cost: known(&columns, 1, cost),
        over_single,
        over_baseline,
    })
}

/// Proposes routing by category into `out`, or notes why not.
pub(crate) fn propose(
    log: &ServedLog,
    candidates: &[Candidate],
    single: &Candidate,
    names: &[String],
    s: &Settings,
    rng: &mut Rng,
    out: &mut Findings,
) {
    let category_of = categories(log);
    if category_of.is_empty() {
        out.notes.push(
            "Routing by category: needs request records with columns prompt and category (the category \
             is what a router knows before answering)."
                .into(),
        );
        return;
    }
    let members: Vec<&Served> = candidates
        .iter()
        .filter(|c| c.unfit.is_none())
        .map(|c| c.served)
        .collect();
    let (routes, unsure) = learn(&category_of, &members, single.served, names, s, rng);
    let leads = if unsure.is_empty() {
        String::new()
    } else {
        format!(
            " Training leads within the noise, left with {}: {}.",
            single.served.label,
            unsure.join("; ")
        )
    };
    if routes.iter().all(|r| std::ptr::eq(r.to, single.served)) {
        out.notes.push(format!(
            "Routing by category: on the training prompts no configuration is significantly stronger than \
             {} in any of the {} categories, so there is nothing to route.{leads}",
            single.served.label,
            routes.len()
        ));
        return;
    }
    let Some(m) = measure(routes, &category_of, single.served, log.baseline(), s, rng) else {
        out.notes.push(format!(
            "Routing by category: fewer than {MIN_PROMPTS} held-out prompts were answered by both the routed \
             configurations and {}, too few to measure the routing.",
            single.served.label
        ));
        return;
    };
    let table = table(&m.routes, names);
    let problem = s.breaks(m.quality, m.cost);
    if !m.over_single.significant() || problem.is_some() {
        let why = match problem {
            Some(p) => format!("it is not proposed because {p}"),
            None => format!("{}, so it is not proposed", m.over_single.verdict()),
        };
        out.notes.push(format!(
            "Routing by category ({table}; learned on the training half): on {} held-out prompts {} {} \
             against {} for {} alone, a difference of {}: {why}.{leads}",
            m.rows.len(),
            s.quality,
            with_ci(m.quality),
            num(mean(&m.rows, |r| r.2)),
            single.served.label,
            m.over_single.describe()
        ));
        return;
    }
    let mut p = proposal(&m, single, &table, names, s);
    p.rationale.push_str(&leads);
    out.proposals.push((m.quality.0, p));
}

/// "selfinstruct → B (0.6710 on 120 training prompts); helpful_base → A (...)".
fn table(routes: &[Route], names: &[String]) -> String {
    routes
        .iter()
        .map(|r| {
            format!(
                "{} → {} ({} on {} training prompts)",
                name(names, r.category),
                r.to.label,
                num(r.score),
                r.train
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn name(names: &[String], category: u32) -> String {
    names
        .get(category as usize)
        .cloned()
        .unwrap_or_else(|| format!("category {category}"))
}

fn mean(rows: &[Row], f: impl Fn(&Row) -> f64) -> f64 {
    rows.iter().map(f).sum::<f64>() / rows.len() as f64
}

fn proposal(m: &Measured, single: &Candidate, table: &str, names: &[String], s: &Settings) -> Proposal {
    // The configuration that serves the largest share of the recorded
    // prompts is the one the proposal sets; the router sends the rest.
    let mut by_target: BTreeMap<&str, (usize, &Served, Vec<String>)> = BTreeMap::new();
    for r in &m.routes {
        let e = by_target
            .entry(r.to.label.as_str())
            .or_insert((0, r.to, Vec::new()));
        e.0 += r.prompts;
        e.2.push(name(names, r.category));
    }
    let mut groups: Vec<(usize, &Served, Vec<String>)> = by_target.into_values().collect();
    groups.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.label.cmp(&b.1.label)));
    let title = format!(
        "route by category: {}",
        groups
            .iter()
            .map(|g| format!("{} for {}", g.1.label, g.2.join(", ")))
            .collect::<Vec<_>>()
            .join("; ")
    );
    let single_cost = mean(&m.rows, |r| r.3);
    let mut rationale = format!(
        "A router that knows each request's category sends it to the configuration strongest on that \
         category in the training half of the prompts (leaving {single} only for a lead whose paired \
         interval there lies above 0): {table}. On the {n} held-out prompts: {q} {quality} \
         against {sq} for {single} alone (the best single configuration on the same training prompts), a \
         difference of {d}; cost {cost} per request against {sc} ({cost_change}).",
        n = m.rows.len(),
        q = s.quality,
        quality = with_ci(m.quality),
        sq = num(mean(&m.rows, |r| r.2)),
        single = single.served.label,
        d = m.over_single.describe(),
        cost = cost_with_ci(m.cost),
        sc = usd(single_cost),
        cost_change = change(m.cost.map_or(f64::NAN, |c| c.0), single_cost),
    );
    let predicted = held_out_estimates(s, m.quality, m.cost, m.over_baseline.as_ref(), &mut rationale);
    rationale.push_str(&format!(
        " The configuration below is {}, which serves the largest share of the recorded prompts ({:.0}%); \
         the router needs the category of every request.",
        groups[0].1.label,
        100.0 * groups[0].0 as f64 / m.routes.iter().map(|r| r.prompts).sum::<usize>().max(1) as f64
    ));
    Proposal {
        title,
        config: groups[0].1.config.clone(),
        predicted,
        rationale,
    }
}
