//! Native tests of the random strategy: the same functions the plugin exports.

use std::collections::BTreeSet;

use aiopt_sdk::{Constraint, Direction, Domain, IntRange, Measurement, Objective, Param, RealRange, Value};

use super::*;

fn real(name: &str, low: f64, high: f64, log: bool, step: Option<f64>) -> Param {
    Param::new(name, Domain::Real(RealRange { low, high, log, step }))
}

fn int(name: &str, low: i64, high: i64, log: bool, step: Option<i64>) -> Param {
    Param::new(name, Domain::Integer(IntRange { low, high, log, step }))
}

/// Every knob kind, continuous included.
fn mixed_space() -> Vec<Param> {
    vec![
        real("temperature", 0.0, 1.5, false, None),
        real("learning_rate", 1e-5, 1e-1, true, None),
        real("top_p", 0.5, 1.0, false, Some(0.05)),
        real("penalty", 0.01, 10.0, true, Some(0.01)),
        int("batch_size", 1, 64, false, None),
        int("max_tokens", 16, 4096, true, None),
        int("replicas", 2, 16, false, Some(2)),
        Param::new("model", Domain::choice(["small", "medium", "large"])),
        Param::new("cache", Domain::Flag),
    ]
}

/// 2 × 3 = 6 configurations.
fn tiny_space() -> Vec<Param> {
    vec![
        Param::new("cache", Domain::Flag),
        Param::new("model", Domain::choice(["a", "b", "c"])),
    ]
}

fn profile(space: Vec<Param>) -> Profile {
    Profile {
        name: "test".into(),
        space,
        ..Profile::default()
    }
}

fn assign(pairs: &[(&str, Value)]) -> Config {
    pairs
        .iter()
        .map(|(n, v)| Assignment {
            name: (*n).into(),
            value: v.clone(),
        })
        .collect()
}

fn trial(number: u32, config: Config, metrics: &[(&str, f64)], state: TrialState) -> Trial {
    Trial {
        number,
        config,
        metrics: metrics
            .iter()
            .map(|(m, v)| Measurement {
                metric: (*m).into(),
                value: *v,
            })
            .collect(),
        state,
    }
}

fn keys(configs: &[Config]) -> BTreeSet<ConfigKey> {
    configs.iter().map(|c| c.key()).collect()
}

#[test]
fn info_names_the_plugin() {
    let i = info();
    assert_eq!(i.name, "random");
    assert_eq!(i.version, env!("CARGO_PKG_VERSION"));
    assert_eq!(i.kinds, [Kind::Tuning]);
    assert!(i.options.is_empty());
    assert_eq!(<Random as Strategy>::info(), i);
}

#[test]
fn same_seed_same_configs_different_seed_different_configs() {
    let p = profile(mixed_space());
    let a = suggest(&p, 20, 7).unwrap();
    assert_eq!(a, suggest(&p, 20, 7).unwrap());
    assert_ne!(a, suggest(&p, 20, 8).unwrap());
    // The plugin entry point is the same function.
    assert_eq!(a, Random::suggest(p.clone(), 20, 7).unwrap());

    let tiny = profile(tiny_space());
    assert_eq!(suggest(&tiny, 6, 1).unwrap(), suggest(&tiny, 6, 1).unwrap());
    assert_ne!(suggest(&tiny, 6, 1).unwrap(), suggest(&tiny, 6, 2).unwrap());
}

#[test]
fn configs_follow_space_order_and_stay_in_the_domain() {
    let p = profile(mixed_space());
    let configs = suggest(&p, 500, 3).unwrap();
    assert_eq!(configs.len(), 500);
    assert_eq!(keys(&configs).len(), 500);
    for config in &configs {
        assert_eq!(config.len(), p.space.len());
        for (a, param) in config.iter().zip(&p.space) {
            assert_eq!(a.name, param.name);
            assert!(param.domain.contains(&a.value), "{}: {:?}", a.name, a.value);
        }
    }
    // Every label and both flag states show up.
    for label in ["small", "medium", "large"] {
        assert!(configs
            .iter()
            .any(|c| c.value("model").and_then(Value::as_str) == Some(label)));
    }
    assert!(configs
        .iter()
        .any(|c| c.value("cache") == Some(&Value::Flag(true))));
    assert!(configs
        .iter()
        .any(|c| c.value("cache") == Some(&Value::Flag(false))));
}

#[test]
fn zero_count_and_bad_spaces() {
    assert_eq!(suggest(&profile(mixed_space()), 0, 1), Ok(vec![]));
    assert!(matches!(
        suggest(&profile(vec![]), 3, 1),
        Err(Error::InvalidInput(_))
    ));
    assert!(matches!(
        suggest(&profile(vec![real("t", 1.0, 0.0, false, None)]), 3, 1),
        Err(Error::InvalidInput(_))
    ));
    assert!(matches!(
        suggest(
            &profile(vec![Param::new("m", Domain::choice(Vec::<String>::new()))]),
            1,
            1
        ),
        Err(Error::InvalidInput(_))
    ));
}

#[test]
fn a_batch_covering_a_finite_space_lists_each_config_once() {
    let p = profile(tiny_space());
    let configs = suggest(&p, 6, 11).unwrap();
    assert_eq!(configs.len(), 6);
    assert_eq!(keys(&configs).len(), 6);
    // Asking for more than the space holds returns the whole space.
    let more = suggest(&p, 10, 11).unwrap();
    assert_eq!(keys(&more).len(), 6);
    assert_eq!(more.len(), 6);
}

#[test]
fn history_in_any_state_is_never_repeated() {
    let mut p = profile(tiny_space());
    let states = [
        TrialState::Complete,
        TrialState::Failed,
        TrialState::Running,
        TrialState::Pruned,
    ];
    let tried = [("a", false), ("b", true), ("c", false), ("c", true)];
    for (i, ((model, cache), state)) in tried.iter().zip(states).enumerate() {
        // Knob order and extra knobs do not hide a repeat.
        let config = assign(&[
            ("model", Value::Choice((*model).into())),
            ("old_knob", Value::Integer(1)),
            ("cache", Value::Flag(*cache)),
        ]);
        p.trials.push(trial(i as u32, config, &[], state));
    }
    for seed in 0..20 {
        let configs = suggest(&p, 5, seed).unwrap();
        let expected: BTreeSet<ConfigKey> = [
            assign(&[("cache", Value::Flag(true)), ("model", Value::Choice("a".into()))]),
            assign(&[
                ("cache", Value::Flag(false)),
                ("model", Value::Choice("b".into())),
            ]),
        ]
        .iter()
        .map(|c| c.key())
        .collect();
        assert_eq!(configs.len(), 2, "seed {seed}");
        assert_eq!(keys(&configs), expected, "seed {seed}");
    }
}

#[test]
fn an_exhausted_space_gives_an_empty_list() {
    let mut p = profile(tiny_space());
    let all = suggest(&p, 6, 5).unwrap();
    p.trials = all
        .into_iter()
        .enumerate()
        .map(|(i, c)| trial(i as u32, c, &[], TrialState::Complete))
        .collect();
    assert_eq!(suggest(&p, 3, 9), Ok(vec![]));
}

#[test]
fn decimal_history_values_match_computed_grid_points() {
    // 0.3 typed by a user is the grid point 0 + 3 × 0.1.
    let mut p = profile(vec![real("x", 0.0, 0.5, false, Some(0.1))]);
    for (i, x) in [0.0, 0.1, 0.2, 0.3, 0.4].iter().enumerate() {
        p.trials.push(trial(
            i as u32,
            assign(&[("x", Value::Real(*x))]),
            &[],
            TrialState::Complete,
        ));
    }
    assert_eq!(
        suggest(&p, 4, 1).unwrap(),
        vec![assign(&[("x", Value::Real(0.5))])]
    );
}

#[test]
fn a_nearly_exhausted_large_space_is_enumerated() {
    // 1000 configurations, 990 tried: rejection would mostly repeat.
    let mut p = profile(vec![int("n", 1, 1000, true, None)]);
    for i in 1..=990 {
        p.trials.push(trial(
            i as u32,
            assign(&[("n", Value::Integer(i))]),
            &[],
            TrialState::Complete,
        ));
    }
    let configs = suggest(&p, 20, 4).unwrap();
    assert_eq!(configs.len(), 10);
    let got: BTreeSet<i64> = configs
        .iter()
        .map(|c| c.value("n").unwrap().as_i64().unwrap())
        .collect();
    assert_eq!(got, (991..=1000).collect());
}

#[test]
fn large_finite_and_continuous_spaces_never_repeat_within_a_batch() {
    let big = profile(vec![int("n", 1, 1_000_000, false, None)]);
    assert_eq!(keys(&suggest(&big, 2000, 1).unwrap()).len(), 2000);
    // A small space sampled with rejection and then enumeration.
    let small = profile(vec![int("n", 1, 50, true, None)]);
    let configs = suggest(&small, 40, 1).unwrap();
    assert_eq!(keys(&configs).len(), 40);
    let continuous = profile(vec![real("x", 0.0, 1.0, false, None)]);
    assert_eq!(keys(&suggest(&continuous, 1000, 1).unwrap()).len(), 1000);
}

#[test]
fn a_degenerate_continuous_space_stops_instead_of_looping() {
    // A real with low == high has one value: a finite space of size 1.
    let p = profile(vec![real("x", 2.0, 2.0, false, None)]);
    assert_eq!(suggest(&p, 3, 1).unwrap().len(), 1);
}

fn measured(number: u32, model: &str, metrics: &[(&str, f64)]) -> Trial {
    trial(
        number,
        assign(&[("model", Value::Choice(model.into()))]),
        metrics,
        TrialState::Complete,
    )
}

fn scored_profile(objectives: &[(&str, Direction)], trials: Vec<Trial>) -> Profile {
    Profile {
        space: vec![Param::new("model", Domain::choice(["a", "b", "c", "d", "base"]))],
        baseline: assign(&[("model", Value::Choice("base".into()))]),
        objectives: objectives
            .iter()
            .map(|(m, d)| Objective {
                metric: (*m).into(),
                direction: *d,
            })
            .collect(),
        trials,
        ..Profile::default()
    }
}

#[test]
fn recommend_minimizes_and_compares_with_the_baseline() {
    let p = scored_profile(
        &[("latency_ms", Direction::Minimize)],
        vec![
            measured(0, "base", &[("latency_ms", 380.0)]),
            measured(1, "a", &[("latency_ms", 400.0)]),
            measured(7, "b", &[("latency_ms", 312.0), ("accuracy", 0.9)]),
            measured(8, "c", &[("latency_ms", 350.0)]),
        ],
    );
    let report = recommend(&p, 0).unwrap();
    assert_eq!(report.proposals.len(), 1);
    let best = &report.proposals[0];
    assert_eq!(best.config, assign(&[("model", Value::Choice("b".into()))]));
    assert_eq!(best.title, "Use trial 7's configuration (lowest latency_ms)");
    assert_eq!(
        best.rationale,
        "Trial 7 has the lowest latency_ms (312.0) of 4 feasible measured configurations; the \
         baseline measured 380.0 (−17.9%). Measured once, so each predicted interval is the \
         value itself."
    );
    // Every metric measured for the configuration, with a point interval.
    let predicted: Vec<(&str, f64, f64, f64)> = best
        .predicted
        .iter()
        .map(|e| (e.metric.as_str(), e.value, e.low, e.high))
        .collect();
    assert_eq!(
        predicted,
        [("latency_ms", 312.0, 312.0, 312.0), ("accuracy", 0.9, 0.9, 0.9)]
    );
    assert!(report.notes.is_empty(), "{:?}", report.notes);
    assert_eq!(recommend(&p, 99), Ok(report));
}

#[test]
fn recommend_maximizes() {
    let p = scored_profile(
        &[("accuracy", Direction::Maximize)],
        vec![
            measured(0, "a", &[("accuracy", 0.7)]),
            measured(1, "b", &[("accuracy", 0.93)]),
            measured(2, "c", &[("accuracy", 0.81)]),
        ],
    );
    let report = recommend(&p, 0).unwrap();
    assert_eq!(report.proposals.len(), 1);
    assert_eq!(
        report.proposals[0].config,
        assign(&[("model", Value::Choice("b".into()))])
    );
    assert!(report.proposals[0]
        .rationale
        .starts_with("Trial 1 has the highest accuracy (0.9300) of 3"));
}

#[test]
fn recommend_skips_infeasible_failed_and_unfinished_trials() {
    let mut p = scored_profile(
        &[("latency_ms", Direction::Minimize)],
        vec![
            // The fastest breaks the cost cap, the next lacks the cost metric.
            measured(0, "a", &[("latency_ms", 100.0), ("cost_usd", 9.0)]),
            measured(1, "b", &[("latency_ms", 150.0)]),
            measured(2, "c", &[("latency_ms", 300.0), ("cost_usd", 1.0)]),
            measured(3, "d", &[("latency_ms", 250.0), ("cost_usd", 2.0)]),
            trial(4, assign(&[]), &[("latency_ms", 1.0)], TrialState::Failed),
            trial(5, assign(&[]), &[], TrialState::Running),
            trial(6, assign(&[]), &[], TrialState::Pruned),
        ],
    );
    p.constraints = vec![Constraint {
        metric: "cost_usd".into(),
        low: None,
        high: Some(5.0),
    }];
    let report = recommend(&p, 0).unwrap();
    assert_eq!(report.proposals.len(), 1);
    assert_eq!(
        report.proposals[0].config,
        assign(&[("model", Value::Choice("d".into()))])
    );
    assert!(report.proposals[0]
        .rationale
        .starts_with("Trial 3 has the lowest latency_ms (250.0) of 2 feasible"));
    assert_eq!(
        report.notes,
        [
            "2 of 4 complete trials were skipped as infeasible (a constraint broken or a \
             constrained metric missing).",
            "1 trial failed and was skipped.",
            "1 trial was pruned and skipped.",
            "1 trial is still running and not considered.",
        ]
    );
}

#[test]
fn recommend_averages_replicates_with_a_t_interval() {
    let p = scored_profile(
        &[("latency_ms", Direction::Minimize)],
        vec![
            measured(0, "a", &[("latency_ms", 100.0)]),
            measured(1, "b", &[("latency_ms", 90.0)]),
            measured(2, "a", &[("latency_ms", 110.0)]),
            measured(3, "b", &[("latency_ms", 95.0)]),
            measured(4, "b", &[("latency_ms", 100.0)]),
        ],
    );
    let report = recommend(&p, 0).unwrap();
    let best = &report.proposals[0];
    assert_eq!(best.config, assign(&[("model", Value::Choice("b".into()))]));
    let e = &best.predicted[0];
    assert_eq!(e.value, 95.0);
    // s = 5, n = 3, t(2) = 4.3027: half-width 12.42.
    let half = 4.302_652_7 * 5.0 / 3f64.sqrt();
    assert!((e.high - 95.0 - half).abs() < 1e-9 && (95.0 - e.low - half).abs() < 1e-9);
    assert_eq!(
        best.rationale,
        "Trials 1, 3 and 4 (3 replicates of one configuration) have the lowest latency_ms (mean \
         95.00, 95% CI 82.58 to 107.4) of 2 feasible measured configurations."
    );
}

#[test]
fn objectives_won_by_one_configuration_share_a_proposal() {
    let p = scored_profile(
        &[
            ("latency_ms", Direction::Minimize),
            ("accuracy", Direction::Maximize),
            ("cost_usd", Direction::Minimize),
        ],
        vec![
            measured(
                0,
                "a",
                &[("latency_ms", 100.0), ("accuracy", 0.9), ("cost_usd", 5.0)],
            ),
            measured(
                1,
                "b",
                &[("latency_ms", 200.0), ("accuracy", 0.8), ("cost_usd", 1.0)],
            ),
        ],
    );
    let report = recommend(&p, 0).unwrap();
    assert_eq!(report.proposals.len(), 2);
    assert_eq!(
        report.proposals[0].title,
        "Use trial 0's configuration (lowest latency_ms, highest accuracy)"
    );
    assert!(report.proposals[0]
        .rationale
        .contains("lowest latency_ms (100.0)"));
    assert!(report.proposals[0]
        .rationale
        .contains("highest accuracy (0.9000)"));
    assert_eq!(
        report.proposals[1].title,
        "Use trial 1's configuration (lowest cost_usd)"
    );
}

#[test]
fn recommend_says_when_the_baseline_is_best() {
    let p = scored_profile(
        &[("latency_ms", Direction::Minimize)],
        vec![
            measured(0, "base", &[("latency_ms", 80.0)]),
            measured(1, "a", &[("latency_ms", 90.0)]),
        ],
    );
    let report = recommend(&p, 0).unwrap();
    assert_eq!(report.proposals[0].title, "Keep the baseline (lowest latency_ms)");
    assert!(report.proposals[0]
        .rationale
        .contains("this is the baseline configuration, so keep it"));
}

#[test]
fn recommend_needs_objectives_and_measurements() {
    let none_measured = scored_profile(
        &[("latency_ms", Direction::Minimize)],
        vec![trial(0, assign(&[]), &[], TrialState::Failed)],
    );
    let Err(Error::InvalidInput(msg)) = recommend(&none_measured, 0) else {
        panic!("accepted a profile without measurements");
    };
    assert!(msg.starts_with("no measured trials"), "{msg}");
    let no_objectives = scored_profile(&[], vec![measured(0, "a", &[("x", 1.0)])]);
    assert!(matches!(
        recommend(&no_objectives, 0),
        Err(Error::InvalidInput(_))
    ));
}

#[test]
fn recommend_reports_objectives_nobody_measured_and_all_infeasible() {
    let mut p = scored_profile(
        &[("latency_ms", Direction::Minimize)],
        vec![measured(0, "a", &[("cost_usd", 9.0)])],
    );
    let report = recommend(&p, 0).unwrap();
    assert!(report.proposals.is_empty());
    assert_eq!(
        report.notes,
        ["No feasible measured configuration reports latency_ms, so there is no proposal for it."]
    );
    p.constraints = vec![Constraint {
        metric: "cost_usd".into(),
        low: None,
        high: Some(1.0),
    }];
    let report = recommend(&p, 0).unwrap();
    assert!(report.proposals.is_empty());
    assert!(report
        .notes
        .iter()
        .any(|n| n.starts_with("Every complete trial is infeasible")));
}

#[test]
fn numbers_read_well() {
    assert_eq!(num(312.0), "312.0");
    assert_eq!(num(12.345), "12.35");
    assert_eq!(num(0.87341), "0.8734");
    assert_eq!(num(0.000_109_93), "0.0001099");
    assert_eq!(num(1e-12), "0.0000000000");
    assert_eq!(num(-4.5), "-4.500");
    assert_eq!(num(0.0), "0.0");
    assert_eq!(num(123_456.7), "123456.7");
}
