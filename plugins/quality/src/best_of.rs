//! Best-of-n: n configurations answer every request and the best answer is
//! kept; the cost is the sum of theirs, plus a judge.
//!
//! The n are chosen on the training half of the prompts (the set with the
//! highest mean best score within the budget, among the strongest
//! configurations) and measured on the held-out half against the best
//! single configuration chosen on the same half.
//!
//! Keeping the best answer needs a judge at run time. The records' scores
//! stand in for it here, a judge that is never wrong, so the quality is an
//! upper bound on what a real judge achieves; the judge's cost is the
//! `judge_cost_usd` option (0 unless set), and the rationale says both.

use aiopt_sdk::served::{held_out, Served};
use aiopt_sdk::{Proposal, Rng};

use crate::measure::{
    cost_with_ci, held_out_estimates, intervals, known, over_baseline, with_ci, Candidate, Ci, Difference,
    MIN_PROMPTS,
};
use crate::{change, num, usd, Findings, Settings};

/// How many of the strongest configurations (by training score) the n are
/// chosen from: bounds the number of sets tried (20 for n = 3).
const POOL: usize = 6;

/// The ensemble sizes evaluated.
const SIZES: [usize; 2] = [2, 3];

/// One held-out prompt: (best score, total cost, index of the member whose
/// answer is kept, single score, single cost, baseline score).
type Row = (f64, f64, usize, f64, f64, Option<f64>);

/// A learned set measured on held-out prompts.
struct Measured<'a> {
    members: Vec<&'a Served>,
    train: usize,
    rows: Vec<(u64, Row)>,
    quality: Ci,
    cost: Option<Ci>,
    over_single: Difference,
    over_baseline: Option<Difference>,
}

/// The prompts every member answered, with the best score and the summed
/// cost (judge included).
fn answers(members: &[&Served], keep: impl Fn(u64) -> bool, judge: f64) -> Vec<(u64, f64, f64, usize)> {
    let Some((first, rest)) = members.split_first() else {
        return Vec::new();
    };
    first
        .by_prompt
        .keys()
        .filter(|p| keep(**p) && rest.iter().all(|m| m.by_prompt.contains_key(p)))
        .map(|p| {
            let (mut best, mut cost, mut kept) = (f64::NEG_INFINITY, judge, 0);
            for (i, m) in members.iter().enumerate() {
                let (c, q) = m.by_prompt[p];
                cost += c;
                if q > best {
                    (best, kept) = (q, i);
                }
            }
            (*p, best, cost, kept)
        })
        .collect()
}

/// All `n`-element index sets of `0..k`, in lexicographic order.
pub(crate) fn subsets(k: usize, n: usize) -> Vec<Vec<usize>> {
    if n == 0 {
        return vec![Vec::new()];
    }
    (0..k)
        .flat_map(|last| {
            subsets(last, n - 1).into_iter().map(move |mut s| {
                s.push(last);
                s
            })
        })
        .collect()
}

/// The `n` members with the highest mean best score on the training half,
/// within the budget there; and how many training prompts chose them.
fn learn<'a>(pool: &[&'a Served], n: usize, s: &Settings) -> Option<(Vec<&'a Served>, usize)> {
    let train = |p: u64| !held_out(p, s.seed);
    subsets(pool.len(), n)
        .into_iter()
        .filter_map(|set| {
            let members: Vec<&Served> = set.iter().map(|&i| pool[i]).collect();
            let rows = answers(&members, train, s.judge_cost);
            if rows.len() < MIN_PROMPTS {
                return None;
            }
            let k = rows.len() as f64;
            let quality = rows.iter().map(|r| r.1).sum::<f64>() / k;
            let cost = rows.iter().map(|r| r.2).sum::<f64>() / k;
            let affordable = s.budget.is_none_or(|b| cost <= b);
            affordable.then_some((members, rows.len(), quality, cost))
        })
        // Highest quality, then cheapest; ties keep the first set.
        .fold(
            None,
            |best: Option<(Vec<&Served>, usize, f64, f64)>, c| match best {
                Some(b) if (b.2, -b.3) >= (c.2, -c.3) => Some(b),
                _ => Some(c),
            },
        )
        .map(|(members, train, _, _)| (members, train))
}

/// The set's answers on the held-out prompts it and `single` both
/// answered, with intervals.
fn measure<'a>(
    members: Vec<&'a Served>,
    train: usize,
    single: &Served,
    baseline: Option<&Served>,
    s: &Settings,
    rng: &mut Rng,
) -> Option<Measured<'a>> {
    let rows: Vec<(u64, Row)> = answers(&members, |p| held_out(p, s.seed), s.judge_cost)
        .into_iter()
        .filter_map(|(p, q, c, kept)| {
            let (sc, sq) = *single.by_prompt.get(&p)?;
            let bq = baseline.and_then(|b| b.by_prompt.get(&p)).map(|x| x.1);
            Some((p, (q, c, kept, sq, sc, bq)))
        })
        .collect();
    if rows.len() < MIN_PROMPTS {
        return None;
    }
    let columns: Vec<[f64; 3]> = rows.iter().map(|(_, r)| [r.0, r.1, r.0 - r.3]).collect();
    let [quality, cost, over] = intervals(&columns, s, rng)?;
    let over_single = Difference {
        ci: over,
        paired: rows.len(),
    };
    let over_baseline = over_baseline(rows.iter().map(|(_, r)| (r.0, r.5)), s, rng);
    Some(Measured {
        members,
        train,
        rows,
        quality,
        cost: known(&columns, 1, cost),
        over_single,
        over_baseline,
    })
}

/// Proposes best-of-2 and best-of-3 into `out`, or notes why not.
pub(crate) fn propose(
    candidates: &[Candidate],
    single: &Candidate,
    baseline: Option<&Served>,
    s: &Settings,
    rng: &mut Rng,
    out: &mut Findings,
) {
    if let Some(c) = s.others.first() {
        out.notes.push(format!(
            "Best-of-n: not evaluated, because the profile constrains {}, which the request records cannot \
             give for n answers and a judge.",
            c.metric
        ));
        return;
    }
    let mut pool: Vec<(&Served, f64)> = candidates
        .iter()
        .filter(|c| c.unfit.is_none())
        .filter_map(|c| Some((c.served, c.train_score(s.seed)?)))
        .collect();
    pool.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.label.cmp(&b.0.label)));
    let pool: Vec<&Served> = pool.into_iter().take(POOL).map(|p| p.0).collect();
    let mut previous: Option<Measured> = None;
    for n in SIZES {
        let Some((members, train)) = learn(&pool, n, s) else {
            out.notes.push(format!(
                "Best-of-{n}: no {n} of the {} strongest configurations answered {MIN_PROMPTS} training \
                 prompts in common within the cost budget.",
                pool.len()
            ));
            continue;
        };
        let Some(m) = measure(members, train, single.served, baseline, s, rng) else {
            out.notes.push(format!(
                "Best-of-{n}: fewer than {MIN_PROMPTS} held-out prompts were answered by the chosen \
                 configurations and {}, too few to measure it.",
                single.served.label
            ));
            continue;
        };
        match judge(&m, s) {
            Ok(()) => {
                let extra = previous.as_ref().and_then(|p| over_smaller(&m, p, s, rng));
                let p = proposal(&m, single, extra, s);
                out.proposals.push((m.quality.0, p));
            }
            Err(why) => out.notes.push(format!(
                "Best-of-{n} ({}): on {} held-out prompts {} {} against {} for {} alone, a difference of {}, at \
                 {} per request: {why}.",
                labels(&m.members),
                m.rows.len(),
                s.quality,
                with_ci(m.quality),
                num(mean(&m.rows, |r| r.3)),
                single.served.label,
                m.over_single.describe(),
                cost_with_ci(m.cost)
            )),
        }
        previous = Some(m);
    }
}

/// Whether a measured set may be proposed: significantly better than the
/// single configuration, keeping the floor and the budget.
fn judge(m: &Measured, s: &Settings) -> Result<(), String> {
    if let Some(problem) = s.breaks(m.quality, m.cost) {
        return Err(format!("it is not proposed because {problem}"));
    }
    if !m.over_single.significant() {
        return Err(format!("{}, so it is not proposed", m.over_single.verdict()));
    }
    Ok(())
}

/// What the larger set adds over the smaller one on the held-out prompts
/// both answered: the quality difference and the extra cost per request.
fn over_smaller(m: &Measured, smaller: &Measured, s: &Settings, rng: &mut Rng) -> Option<(Difference, f64)> {
    let pairs: Vec<[f64; 2]> = m
        .rows
        .iter()
        .filter_map(|(p, r)| {
            // Rows are in prompt order.
            let i = smaller.rows.binary_search_by_key(p, |(q, _)| *q).ok()?;
            let other = &smaller.rows[i].1;
            Some([r.0 - other.0, r.1 - other.1])
        })
        .collect();
    if pairs.len() < MIN_PROMPTS {
        return None;
    }
    let [ci, extra] = intervals(&pairs, s, rng)?;
    Some((
        Difference {
            ci,
            paired: pairs.len(),
        },
        extra.0,
    ))
}

fn labels(members: &[&Served]) -> String {
    members
        .iter()
        .map(|m| m.label.as_str())
        .collect::<Vec<_>>()
        .join(" + ")
}

fn mean(rows: &[(u64, Row)], f: impl Fn(&Row) -> f64) -> f64 {
    rows.iter().map(|(_, r)| f(r)).sum::<f64>() / rows.len() as f64
}

fn proposal(m: &Measured, single: &Candidate, extra: Option<(Difference, f64)>, s: &Settings) -> Proposal {
    let n = m.members.len();
    let kept: Vec<String> = m
        .members
        .iter()
        .enumerate()
        .map(|(i, member)| {
            let share = m.rows.iter().filter(|(_, r)| r.2 == i).count() as f64 / m.rows.len() as f64;
            format!("{} {:.0}%", member.label, 100.0 * share)
        })
        .collect();
    let single_cost = mean(&m.rows, |r| r.4);
    let mut rationale = format!(
        "Answer every request with {members} and keep the best answer (chosen on {train} training prompts \
         among the {pool} strongest configurations). On {k} held-out prompts: {q} {quality} against {sq} \
         for {single} alone (the best single configuration on the same training prompts), a difference of \
         {d}; cost {cost} per request against {sc} ({cost_change}). Answers kept: {kept}.",
        members = labels(&m.members),
        train = m.train,
        pool = POOL,
        k = m.rows.len(),
        q = s.quality,
        quality = with_ci(m.quality),
        sq = num(mean(&m.rows, |r| r.3)),
        single = single.served.label,
        d = m.over_single.describe(),
        cost = cost_with_ci(m.cost),
        sc = usd(single_cost),
        cost_change = change(m.cost.map_or(f64::NAN, |c| c.0), single_cost),
        kept = kept.join(", "),
    );
    if let Some((d, cost)) = &extra {
        rationale.push_str(&format!(
            " Over best-of-{}: {} {} ({}), for {} more per request.",
            n - 1,
            s.quality,
            d.describe(),
            d.verdict(),
            usd(*cost)
        ));
    }
    rationale.push_str(
        " Keeping the best answer needs a judge at run time: these numbers use the recorded scores as a \
         judge that is never wrong, so the quality is an upper bound",
    );
    if s.judge_cost > 0.0 {
        rationale.push_str(&format!(
            ", and the judge's {} per request is included.",
            usd(s.judge_cost)
        ));
    } else {
        rationale.push_str(", and the judge's cost is not included (set the judge_cost_usd option).");
    }
    let predicted = held_out_estimates(s, m.quality, m.cost, m.over_baseline.as_ref(), &mut rationale);
    rationale.push_str(&format!(
        " The configuration below is {}, the strongest of the {n}; the others and the judge run beside it.",
        m.members[0].label
    ));
    Proposal {
        title: format!("best-of-{n}: {} (upper bound: needs a judge)", labels(&m.members)),
        config: m.members[0].config.clone(),
        predicted,
        rationale,
    }
}
