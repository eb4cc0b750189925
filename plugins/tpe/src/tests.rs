//! Native tests of the TPE strategy: the same functions the plugin exports.

use std::collections::BTreeSet;

use aiopt_sdk::{Assignment, ConfigExt, Constraint, Direction, Domain, Objective, Param, TrialState, Value};

use aiopt_sdk::testing::{every_kind_space, int, real, values};

use super::*;

fn minimize(metric: &str) -> Objective {
    Objective {
        metric: metric.into(),
        direction: Direction::Minimize,
    }
}

fn profile(space: Vec<Param>) -> Profile {
    Profile {
        name: "test".into(),
        space,
        objectives: vec![minimize("loss")],
        ..Profile::default()
    }
}

/// A smooth-ish objective over the mixed space, for filling histories.
fn mixed_loss(config: &Config) -> f64 {
    let f = |name: &str| config.value(name).and_then(Value::as_f64).unwrap_or(0.0);
    let model = match config.value("model").and_then(Value::as_str) {
        Some("large") => 0.0,
        Some("medium") => 0.5,
        _ => 1.0,
    };
    (f("temperature") - 0.3).powi(2)
        + (f("learning_rate").ln() - 1e-3f64.ln()).powi(2) / 10.0
        + (f("batch_size") - 32.0).abs() / 64.0
        + model
}

/// `n` trials suggested by TPE itself and measured with `loss`.
fn run(mut p: Profile, n: u32, seed: u64, loss: impl Fn(&Config) -> f64) -> Profile {
    for i in 0..n {
        let config = suggest(&p, 1, Rng::derive(seed, u64::from(i))).unwrap().remove(0);
        let y = loss(&config);
        p.push_trial(i, TrialState::Complete, &values(&config), &[("loss", y)]);
    }
    p
}

fn assert_in_domain(p: &Profile, configs: &[Config]) {
    for config in configs {
        assert_eq!(config.len(), p.space.len());
        for (a, param) in config.iter().zip(&p.space) {
            assert_eq!(a.name, param.name);
            assert!(param.domain.contains(&a.value), "{}: {:?}", a.name, a.value);
        }
    }
}

#[test]
fn info_names_the_plugin_and_its_options() {
    let i = info();
    assert_eq!(i.name, "tpe");
    assert_eq!(i.kinds, [Kind::Tuning]);
    let names: Vec<&str> = i.options.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "n_startup_trials",
            "n_candidates",
            "gamma",
            "max_good",
            "prior_weight",
            "constant_liar"
        ]
    );
    assert_eq!(<Tpe as Strategy>::info(), i);
}

#[test]
fn same_seed_same_output_different_seed_differs() {
    let p = run(profile(every_kind_space()), 15, 1, mixed_loss);
    let a = suggest(&p, 4, 7).unwrap();
    assert_eq!(a, suggest(&p, 4, 7).unwrap());
    assert_ne!(a, suggest(&p, 4, 8).unwrap());
    assert_eq!(a, Tpe::suggest(p.clone(), 4, 7).unwrap());
    // The whole study replays.
    assert_eq!(run(profile(every_kind_space()), 15, 1, mixed_loss), p);
}

#[test]
fn suggestions_stay_in_every_domain_kind() {
    let mut p = run(profile(every_kind_space()), 40, 3, mixed_loss);
    assert_in_domain(&p, &suggest(&p, 30, 5).unwrap());
    // Tight good groups (narrow kernels) too.
    p.options.push(Assignment {
        name: "gamma".into(),
        value: Value::Real(0.05),
    });
    assert_in_domain(&p, &suggest(&p, 30, 6).unwrap());
    // Integer log with a step and a tiny log real.
    let q = run(
        profile(vec![
            int("k", 1, 9, true, Some(2)),
            real("eps", 1e-9, 1e-8, true, None),
            real("x", 1.0, 1.0, false, None),
        ]),
        30,
        4,
        |c| c.value("k").and_then(Value::as_f64).unwrap(),
    );
    assert_in_domain(&q, &suggest(&q, 10, 2).unwrap());
}

#[test]
fn startup_phase_samples_at_random() {
    // Before `n_startup_trials` complete trials the SDK's sampler is used:
    // the first configuration equals a plain `sample_values` draw with the
    // slot's generator.
    let p = run(profile(every_kind_space()), 5, 9, mixed_loss);
    let got = suggest(&p, 1, 42).unwrap();
    let mut rng = Rng::new(Rng::derive(42, 0));
    assert_eq!(got[0], p.config_from_values(p.sample_values(&mut rng)));
}

#[test]
fn bad_options_and_spaces_are_refused() {
    let mut p = profile(every_kind_space());
    p.options.push(Assignment {
        name: "gamma".into(),
        value: Value::Real(1.5),
    });
    assert!(matches!(suggest(&p, 1, 1), Err(Error::InvalidInput(_))));
    assert!(matches!(
        suggest(&profile(vec![]), 1, 1),
        Err(Error::InvalidInput(_))
    ));
    assert_eq!(suggest(&profile(every_kind_space()), 0, 1), Ok(vec![]));
}

/// 10 × 10 integer grid with a unique optimum at (7, 3) and a smooth bowl.
fn bowl(c: &Config) -> f64 {
    let a = c.value("a").and_then(Value::as_i64).unwrap() as f64;
    let b = c.value("b").and_then(Value::as_i64).unwrap() as f64;
    (a - 7.0).powi(2) + (b - 3.0).powi(2) + 0.01 * (a + 10.0 * b) / 100.0
}

/// Trials until the optimum of [`bowl`] is suggested (budget 100 = whole
/// space).
fn trials_to_optimum(seed: u64, tpe: bool) -> u32 {
    let mut p = profile(vec![int("a", 0, 9, false, None), int("b", 0, 9, false, None)]);
    if !tpe {
        // Random sampling throughout.
        p.options.push(Assignment {
            name: "n_startup_trials".into(),
            value: Value::Integer(1000),
        });
    }
    for i in 0..100 {
        let config = suggest(&p, 1, Rng::derive(seed, u64::from(i))).unwrap().remove(0);
        let y = bowl(&config);
        if config.value("a") == Some(&Value::Integer(7)) && config.value("b") == Some(&Value::Integer(3)) {
            return i + 1;
        }
        p.push_trial(i, TrialState::Complete, &values(&config), &[("loss", y)]);
    }
    101
}

fn median(mut xs: Vec<u32>) -> u32 {
    xs.sort_unstable();
    xs[xs.len() / 2]
}

#[test]
fn tpe_finds_the_optimum_faster_than_random() {
    let tpe: Vec<u32> = (0..10).map(|s| trials_to_optimum(s, true)).collect();
    let random: Vec<u32> = (0..10).map(|s| trials_to_optimum(s, false)).collect();
    let (mt, mr) = (median(tpe.clone()), median(random.clone()));
    eprintln!("trials to optimum: tpe {tpe:?} (median {mt}), random {random:?} (median {mr})");
    // Random needs about 50 on average without repeats.
    assert!(mt <= 25, "tpe median {mt}");
    assert!(mt < mr, "tpe {mt} vs random {mr}");
}

#[test]
fn constant_liar_batches_are_distinct_and_avoid_history() {
    let p = run(profile(every_kind_space()), 20, 2, mixed_loss);
    let batch = suggest(&p, 16, 3).unwrap();
    assert_eq!(batch.len(), 16);
    let keys: BTreeSet<_> = batch.iter().map(|c| p.config_key(c).unwrap()).collect();
    assert_eq!(keys.len(), 16);
    let history: BTreeSet<_> = p.trials().map(|t| t.key()).collect();
    assert!(keys.is_disjoint(&history));

    // A small finite space: the batch never repeats, and asking for more
    // than is left returns what is left.
    let mut small = profile(vec![int("a", 0, 3, false, None), Param::new("f", Domain::Flag)]);
    small = run(small, 5, 1, |c| c.value("a").and_then(Value::as_f64).unwrap());
    small.options.push(Assignment {
        name: "n_startup_trials".into(),
        value: Value::Integer(2),
    });
    let rest = suggest(&small, 10, 4).unwrap();
    let keys: BTreeSet<_> = rest.iter().map(|c| small.config_key(c).unwrap()).collect();
    assert_eq!(rest.len(), 3);
    assert_eq!(keys.len(), 3);

    // Running trials count as tried and as bad.
    let mut q = p.clone();
    for (i, c) in batch.iter().enumerate() {
        q.push_trial(100 + i as u32, TrialState::Running, &values(c), &[]);
    }
    let next = suggest(&q, 4, 3).unwrap();
    for c in &next {
        assert!(!keys_contain(&q, c));
    }
}

fn keys_contain(p: &Profile, c: &Config) -> bool {
    let k = p.config_key(c).unwrap();
    p.trials().any(|t| t.key() == k)
}

/// Knobs `x` in [0, 20], `y` in [0, 4]; feasible only when x >= 15
/// (latency), a quarter of the space, while the loss is lowest at x = 8: the
/// unconstrained optimum is infeasible and the constrained one lies on the
/// boundary.
fn constrained_profile() -> Profile {
    let mut p = profile(vec![
        real("x", 0.0, 20.0, false, None),
        real("y", 0.0, 4.0, false, None),
    ]);
    p.constraints = vec![Constraint {
        metric: "latency_ms".into(),
        low: None,
        high: Some(100.0),
    }];
    p
}

fn measure_constrained(c: &Config) -> [(&'static str, f64); 2] {
    let x = c.value("x").and_then(Value::as_f64).unwrap();
    let y = c.value("y").and_then(Value::as_f64).unwrap();
    let loss = (x - 8.0).abs() + y;
    let latency = 250.0 - 10.0 * x; // <= 100 iff x >= 15
    [("loss", loss), ("latency_ms", latency)]
}

#[test]
fn constraints_steer_the_search_and_recommend_only_feasible() {
    // A quarter of the space is feasible, so random sampling lands there a
    // quarter of the time; TPE (after its 10 random startup trials)
    // concentrates around the constrained optimum on the boundary, about
    // half of it feasible.
    let mut counts = Vec::new();
    for seed in 0..5 {
        let mut p = constrained_profile();
        for i in 0..60 {
            let config = suggest(&p, 1, Rng::derive(seed, i)).unwrap().remove(0);
            p.push_trial(
                i as u32,
                TrialState::Complete,
                &values(&config),
                &measure_constrained(&config),
            );
        }
        counts.push(p.trials().skip(20).filter(|t| p.is_feasible(t)).count());
        let report = recommend(&p, 0).unwrap();
        let best = &report.proposals[0];
        let latency = best.predicted.iter().find(|e| e.metric == "latency_ms").unwrap();
        assert!(latency.value <= 100.0, "{best:?}");
        assert!(best.rationale.contains("constraint"), "{}", best.rationale);
        let x = best.config.value("x").and_then(Value::as_f64).unwrap();
        assert!((15.0..17.0).contains(&x), "{best:?}");
    }
    eprintln!("feasible among trials 21..60: {counts:?}");
    let total: usize = counts.iter().sum();
    assert!(total >= 5 * 40 * 45 / 100, "{counts:?}");
}

#[test]
fn no_feasible_trial_is_a_clear_error() {
    let mut p = constrained_profile();
    for x in 0..5 {
        p.push_trial(
            x as u32,
            TrialState::Complete,
            &[Value::Real(x as f64), Value::Real(0.0)],
            &[("loss", 1.0), ("latency_ms", 500.0)],
        );
    }
    let Err(Error::InvalidInput(why)) = recommend(&p, 0) else {
        panic!("must fail");
    };
    assert!(
        why.contains("no configuration satisfies the constraints"),
        "{why}"
    );
    assert!(why.contains("latency_ms <= 100.0"), "{why}");
}

#[test]
fn recommend_reports_replicate_intervals_and_baseline() {
    let mut p = profile(vec![int("a", 0, 9, false, None)]);
    p.baseline = vec![Assignment {
        name: "a".into(),
        value: Value::Integer(0),
    }];
    p.push_trial(0, TrialState::Complete, &[Value::Integer(0)], &[("loss", 10.0)]);
    for (i, y) in [2.0, 2.2, 1.8].into_iter().enumerate() {
        p.push_trial(
            1 + i as u32,
            TrialState::Complete,
            &[Value::Integer(4)],
            &[("loss", y)],
        );
    }
    p.push_trial(9, TrialState::Failed, &[Value::Integer(5)], &[]);
    let r = recommend(&p, 0).unwrap();
    assert_eq!(r.proposals.len(), 1);
    let best = &r.proposals[0];
    assert_eq!(best.config.value("a"), Some(&Value::Integer(4)));
    let e = &best.predicted[0];
    assert!((e.value - 2.0).abs() < 1e-12 && e.low < 2.0 && e.high > 2.0);
    assert!(best.rationale.contains("3 replicates"), "{}", best.rationale);
    assert!(
        best.rationale.contains("baseline 10.00 (−80.0%)"),
        "{}",
        best.rationale
    );
    assert!(r.notes.iter().any(|n| n.contains("failed")));
}

#[test]
fn multi_objective_recommend_returns_the_pareto_front() {
    // Values 10..=99 are untried, so suggest has room.
    let mut p = profile(vec![int("a", 0, 99, false, None)]);
    p.objectives = vec![
        minimize("latency_ms"),
        Objective {
            metric: "accuracy".into(),
            direction: Direction::Maximize,
        },
    ];
    // a trades latency for accuracy; a = 9 is dominated.
    for a in 0..10 {
        let (lat, acc) = if a == 9 {
            (100.0, 0.1)
        } else {
            (10.0 * a as f64, a as f64 / 10.0)
        };
        p.push_trial(
            a as u32,
            TrialState::Complete,
            &[Value::Integer(a)],
            &[("latency_ms", lat), ("accuracy", acc)],
        );
    }
    let r = recommend(&p, 0).unwrap();
    assert_eq!(r.proposals.len(), 9);
    assert!(r
        .proposals
        .iter()
        .all(|pr| pr.config.value("a") != Some(&Value::Integer(9))));
    // Suggest works with several objectives (non-dominated split).
    let s = suggest(&p, 3, 1).unwrap();
    assert_eq!(s.len(), 3);
    assert_in_domain(&p, &s);
}

#[test]
fn maximizing_the_negated_objective_suggests_the_same() {
    let space = || vec![int("a", 0, 9, false, None), int("b", 0, 9, false, None)];
    let mut min = profile(space());
    let mut max = profile(space());
    max.objectives = vec![Objective {
        metric: "loss".into(),
        direction: Direction::Maximize,
    }];
    for i in 0..25 {
        let config = suggest(&min, 1, Rng::derive(3, i)).unwrap().remove(0);
        assert_eq!(config, suggest(&max, 1, Rng::derive(3, i)).unwrap().remove(0));
        let y = bowl(&config);
        min.push_trial(i as u32, TrialState::Complete, &values(&config), &[("loss", y)]);
        max.push_trial(i as u32, TrialState::Complete, &values(&config), &[("loss", -y)]);
    }
}
