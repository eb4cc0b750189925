use aiopt_sdk::Rng;

use super::*;
use crate::profile::Constraint;
use crate::study::testing::{integer, profile, trial};

fn share(i: &Importance, knob: &str) -> f64 {
    i.knobs
        .iter()
        .find(|k| k.knob == knob)
        .map(|k| k.importance)
        .unwrap_or_else(|| panic!("{knob} in {i:?}"))
}

/// A full 10 × 10 factorial of `big` and `small`, so neither knob is
/// confounded with the other by chance.
fn factorial() -> Vec<StudyTrial> {
    (0..10i64)
        .flat_map(|a| (0..10i64).map(move |b| (a, b)))
        .map(|(a, b)| {
            let loss = 10.0 * a as f64 + 0.5 * b as f64;
            trial(
                (a * 10 + b) as u32,
                &[("big", Value::Integer(a)), ("small", Value::Integer(b))],
                &[("loss", loss), ("speed", b as f64)],
            )
        })
        .collect()
}

#[test]
fn names_the_knob_that_matters() {
    let p = profile(
        vec![("big", integer(0, 9)), ("small", integer(0, 9))],
        &[("loss", Direction::Minimize)],
    );
    let all = importance(&p, &factorial());
    let [loss] = all.as_slice() else {
        panic!("one objective: {all:?}")
    };
    assert_eq!(
        (loss.metric.as_str(), loss.trials, loss.reason.as_deref()),
        ("loss", 100, None)
    );
    assert_eq!(loss.knobs[0].knob, "big", "{loss:?}");
    assert!(
        share(loss, "big") > 0.995 && share(loss, "small") < 0.005,
        "{loss:?}"
    );
    let total: f64 = loss.knobs.iter().map(|k| k.importance).sum();
    assert!((total - 1.0).abs() < 1e-12, "{total}");
}

#[test]
fn each_objective_has_its_own_importance() {
    let p = profile(
        vec![("big", integer(0, 9)), ("small", integer(0, 9))],
        &[("loss", Direction::Minimize), ("speed", Direction::Maximize)],
    );
    let all = importance(&p, &factorial());
    assert_eq!(all.len(), 2);
    // `speed` is `small` itself: the fastest 10% are exactly small = 9.
    assert_eq!(all[1].metric, "speed");
    assert_eq!(all[1].knobs[0].knob, "small", "{:?}", all[1]);
    assert!(share(&all[1], "small") > 0.99, "{:?}", all[1]);
}

#[test]
fn finds_the_choice_that_matters_among_noise() {
    let p = profile(
        vec![
            (
                "noise",
                Domain::Real {
                    low: 0.0,
                    high: 1.0,
                    log: false,
                    step: None,
                },
            ),
            (
                "model",
                Domain::Choice {
                    values: vec!["a".into(), "b".into(), "c".into()],
                },
            ),
            (
                "lr",
                Domain::Real {
                    low: 1e-4,
                    high: 1e-1,
                    log: true,
                    step: None,
                },
            ),
        ],
        &[("loss", Direction::Minimize)],
    );
    let mut rng = Rng::new(5);
    // 300 trials: a top group of 30, so a noise knob's best values are not
    // clustered by chance (PED-ANOVA over a handful of top trials is noisy).
    let trials: Vec<StudyTrial> = (0..300u32)
        .map(|i| {
            let label = ["a", "b", "c"][i as usize % 3];
            // Only model "c" reaches the best losses; the other knobs are noise.
            let loss = if label == "c" { 0.0 } else { 1.0 } + 0.1 * rng.f64();
            let config = [
                ("noise", Value::Real(rng.f64())),
                ("model", Value::Choice(label.into())),
                ("lr", Value::Real(1e-4 * 1e3f64.powf(rng.f64()))),
            ];
            trial(i, &config, &[("loss", loss)])
        })
        .collect();
    let loss = &importance(&p, &trials)[0];
    assert_eq!(loss.trials, 300);
    assert_eq!(loss.knobs[0].knob, "model", "{loss:?}");
    assert!(share(loss, "model") >= 0.8, "{loss:?}");
    assert!(
        share(loss, "noise") <= 0.1 && share(loss, "lr") <= 0.1,
        "{loss:?}"
    );
}

#[test]
fn needs_enough_feasible_trials_for_a_top_group() {
    let mut p = profile(vec![("a", integer(0, 9))], &[("loss", Direction::Minimize)]);
    p.constraints = vec![Constraint {
        metric: "loss".into(),
        low: None,
        high: Some(100.0),
    }];
    let row = |i: u32, loss: f64| trial(i, &[("a", Value::Integer(i64::from(i % 10)))], &[("loss", loss)]);
    // 20 feasible trials: the best 10% are 2, below the 3 the comparison
    // needs. The infeasible, failed and unmeasured trials do not count.
    let mut trials: Vec<StudyTrial> = (0..20).map(|i| row(i, f64::from(i))).collect();
    trials.push(row(20, 500.0));
    let mut failed = row(21, 1.0);
    failed.state = TrialState::Failed;
    trials.push(failed);
    trials.push(trial(22, &[("a", Value::Integer(1))], &[]));
    let loss = &importance(&p, &trials)[0];
    assert_eq!(loss.trials, 20);
    assert!(loss.knobs.is_empty());
    let reason = loss.reason.as_deref().expect("a reason");
    assert!(
        reason.contains("at least 21") && reason.ends_with("has 20"),
        "{reason}"
    );

    trials.push(row(23, 0.5));
    let loss = &importance(&p, &trials)[0];
    assert_eq!(
        (loss.trials, loss.knobs.len(), loss.reason.as_deref()),
        (21, 1, None)
    );
}

#[test]
fn a_knob_spread_evenly_over_the_best_trials_says_so() {
    // One knob, each value equally often among all and among the best.
    let p = profile(vec![("switch", Domain::Flag)], &[("loss", Direction::Minimize)]);
    let trials: Vec<StudyTrial> = (0..40u32)
        .map(|i| {
            trial(
                i,
                &[("switch", Value::Flag(i % 2 == 0))],
                &[("loss", f64::from(i))],
            )
        })
        .collect();
    let loss = &importance(&p, &trials)[0];
    // The best 4 are trials 0..4: two of each label, as in all trials.
    assert!(loss.knobs.is_empty(), "{loss:?}");
    assert!(
        loss.reason
            .as_deref()
            .is_some_and(|r| r.contains("no knob stands out")),
        "{loss:?}"
    );
}

/// The same trials through Optuna's `PedAnovaImportanceEvaluator`
/// (`bench/importance/optuna_reference.py` wrote the file and names the
/// Optuna version): every kind of knob, a tie at the top group's cutoff, a
/// maximized objective, grids narrower than the step count.
#[test]
fn matches_optunas_ped_anova_on_the_same_trials() {
    let reference: serde_json::Value =
        serde_json::from_str(include_str!("optuna_reference.json")).expect("valid JSON");
    let cases = reference["cases"].as_array().expect("cases");
    assert_eq!(cases.len(), 3);
    for case in cases {
        let name = case["name"].as_str().expect("a name");
        let space: Vec<(&str, Domain)> = case["space"]
            .as_array()
            .expect("a space")
            .iter()
            .map(|knob| {
                (
                    knob["name"].as_str().expect("a knob name"),
                    reference_domain(knob),
                )
            })
            .collect();
        let direction = match case["direction"].as_str() {
            Some("maximize") => Direction::Maximize,
            _ => Direction::Minimize,
        };
        let p = profile(space.clone(), &[("y", direction)]);
        let trials: Vec<StudyTrial> = case["trials"]
            .as_array()
            .expect("trials")
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let config: Vec<(&str, Value)> = space
                    .iter()
                    .map(|(knob, domain)| (*knob, reference_value(domain, &t["params"][knob])))
                    .collect();
                trial(i as u32, &config, &[("y", t["value"].as_f64().expect("a value"))])
            })
            .collect();
        let ours = &importance(&p, &trials)[0];
        let theirs = case["optuna_importance"].as_object().expect("Optuna's shares");
        assert_eq!(ours.knobs.len(), theirs.len(), "{name}: {ours:?}");
        for (knob, expected) in theirs {
            let (ours, theirs) = (share(ours, knob), expected.as_f64().expect("a share"));
            assert!(
                (ours - theirs).abs() < 1e-9,
                "{name}: {knob} is {ours}, Optuna says {theirs}"
            );
        }
    }
}

fn reference_domain(knob: &serde_json::Value) -> Domain {
    let log = knob["log"].as_bool().unwrap_or(false);
    match knob["type"].as_str() {
        Some("integer") => Domain::Integer {
            low: knob["low"].as_i64().expect("low"),
            high: knob["high"].as_i64().expect("high"),
            log,
            step: knob["step"].as_i64(),
        },
        Some("real") => Domain::Real {
            low: knob["low"].as_f64().expect("low"),
            high: knob["high"].as_f64().expect("high"),
            log,
            step: knob["step"].as_f64(),
        },
        Some("choice") => Domain::Choice {
            values: knob["values"]
                .as_array()
                .expect("labels")
                .iter()
                .map(|v| v.as_str().expect("a label").to_string())
                .collect(),
        },
        _ => Domain::Flag,
    }
}

fn reference_value(domain: &Domain, value: &serde_json::Value) -> Value {
    match domain {
        Domain::Integer { .. } => Value::Integer(value.as_i64().expect("an integer")),
        Domain::Real { .. } => Value::Real(value.as_f64().expect("a number")),
        Domain::Choice { .. } => Value::Choice(value.as_str().expect("a label").to_string()),
        Domain::Flag => Value::Flag(value.as_bool().expect("a flag")),
    }
}
