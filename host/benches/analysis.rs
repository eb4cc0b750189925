//! Study analysis benchmark (`cargo bench -p aiopt --bench analysis`): what
//! `GET /studies/{study}/analysis` computes besides the strategy's notes
//! (best so far, the Pareto front, knob importance per objective) on the
//! 6-knob mixed space of `runtime.rs`, at 1,000 and 10,000 complete trials.
//! The history is SYNTHETIC (a fixed LCG): only its size matters.

use std::time::{Duration, Instant};

use aiopt::profile::{Direction, Objective};
use aiopt::store::StudyTrial;
use aiopt::study::{analysis, importance};

mod common;

use common::synthetic_profile;

const SIZES: [usize; 2] = [1_000, 10_000];
const BUDGET: Duration = Duration::from_secs(5);

fn main() {
    println!("study analysis, median of repetitions after warm-up (SYNTHETIC history, 6 knobs)");
    println!(
        "{:>8} {:>14} {:>14} {:>16}",
        "trials", "history ms", "pareto ms", "importance ms"
    );
    for trials in SIZES {
        let mut profile = synthetic_profile(trials);
        // A second objective (accuracy is the first), so there is a
        // front and a second importance.
        profile.objectives.push(Objective {
            metric: "latency_p95_ms".into(),
            direction: Direction::Minimize,
        });
        let study: Vec<StudyTrial> = profile
            .trials
            .iter()
            .map(|t| StudyTrial {
                number: t.number,
                config: t.config.clone(),
                state: t.state,
                metrics: t.metrics.clone(),
                reason: None,
                fuel: None,
                asked_at: String::new(),
                finished_at: None,
            })
            .collect();
        let history = median_ms(|| analysis::history(&profile, &study).len());
        let pareto = median_ms(|| analysis::pareto(&profile, &study).map_or(0, |p| p.points.len()));
        let shares = importance::importance(&profile, &study);
        assert!(
            shares.iter().all(|i| i.reason.is_none()),
            "importance for both objectives: {shares:?}"
        );
        let importance = median_ms(|| importance::importance(&profile, &study).len());
        println!("{trials:>8} {history:>14.3} {pareto:>14.3} {importance:>16.3}");
    }
}

/// The median wall time of `f` over repetitions within [`BUDGET`] (at
/// least 5, after 2 for warm-up); `f`'s result is kept from the optimizer.
fn median_ms(mut f: impl FnMut() -> usize) -> f64 {
    for _ in 0..2 {
        std::hint::black_box(f());
    }
    let started = Instant::now();
    let mut times = Vec::new();
    while times.len() < 5 || (started.elapsed() < BUDGET && times.len() < 1_000) {
        let start = Instant::now();
        std::hint::black_box(f());
        times.push(start.elapsed());
    }
    times.sort();
    times[times.len() / 2].as_secs_f64() * 1e3
}
