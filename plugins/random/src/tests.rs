//! Native tests of the random strategy: the same functions the plugin exports.

use std::collections::BTreeSet;

use aiopt_sdk::{Assignment, ConfigExt, Constraint, Direction, Domain, Objective, Param, Value};

use aiopt_sdk::testing::{every_kind_space, int, real, values};

use super::*;

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

/// A trial as tests write it: positional values, metrics by name. The
/// profile encodes the values and lays the metrics out in its columns
/// ([`with_trials`]).
struct Named {
    number: u32,
    values: Vec<Value>,
    metrics: Vec<(&'static str, f64)>,
    state: TrialState,
}

fn trial(number: u32, values: Vec<Value>, metrics: &[(&'static str, f64)], state: TrialState) -> Named {
    Named {
        number,
        values,
        metrics: metrics.to_vec(),
        state,
    }
}

/// `profile` with `trials` as its flat history: the metric columns list
/// every metric name in order of first appearance, and each trial's metrics
/// go in those columns (NaN where it has none).
fn with_trials(mut profile: Profile, trials: Vec<Named>) -> Profile {
    for t in trials {
        profile.push_trial(t.number, t.state, &t.values, &t.metrics);
    }
    profile
}

/// The keys of configurations of `profile`'s space (each must encode).
fn keys(profile: &Profile, configs: &[Config]) -> BTreeSet<ConfigKey> {
    configs
        .iter()
        .map(|c| profile.config_key(c).expect("a configuration of the space"))
        .collect()
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
    let p = profile(every_kind_space());
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
    let p = profile(every_kind_space());
    let configs = suggest(&p, 500, 3).unwrap();
    assert_eq!(configs.len(), 500);
    assert_eq!(keys(&p, &configs).len(), 500);
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
    assert_eq!(suggest(&profile(every_kind_space()), 0, 1), Ok(vec![]));
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
    assert_eq!(keys(&p, &configs).len(), 6);
    // Asking for more than the space holds returns the whole space.
    let more = suggest(&p, 10, 11).unwrap();
    assert_eq!(keys(&p, &more).len(), 6);
    assert_eq!(more.len(), 6);
}

#[test]
fn history_in_any_state_is_never_repeated() {
    let states = [
        TrialState::Complete,
        TrialState::Failed,
        TrialState::Running,
        TrialState::Pruned,
    ];
    let tried = [("a", false), ("b", true), ("c", false), ("c", true)];
    let history = tried
        .iter()
        .zip(states)
        .enumerate()
        .map(|(i, ((model, cache), state))| {
            // Positional, in space order: cache, model.
            let values = vec![Value::Flag(*cache), Value::Choice((*model).into())];
            trial(i as u32, values, &[], state)
        })
        .collect();
    let p = with_trials(profile(tiny_space()), history);
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
        .map(|c| p.config_key(c).unwrap())
        .collect();
        assert_eq!(configs.len(), 2, "seed {seed}");
        assert_eq!(keys(&p, &configs), expected, "seed {seed}");
    }
}

#[test]
fn an_exhausted_space_gives_an_empty_list() {
    let p = profile(tiny_space());
    let all = suggest(&p, 6, 5).unwrap();
    let history = all
        .iter()
        .enumerate()
        .map(|(i, c)| trial(i as u32, values(c), &[], TrialState::Complete))
        .collect();
    let p = with_trials(p, history);
    assert_eq!(suggest(&p, 3, 9), Ok(vec![]));
}

#[test]
fn continuous_history_is_never_repeated() {
    // The same seed draws the history first: every such draw must be
    // recognised (by fingerprint) and drawn again.
    let p = profile(every_kind_space());
    let first = suggest(&p, 50, 7).unwrap();
    let history = first
        .iter()
        .enumerate()
        .map(|(i, c)| trial(i as u32, values(c), &[], TrialState::Running))
        .collect();
    let p = with_trials(p, history);
    let second = suggest(&p, 50, 7).unwrap();
    assert_eq!(second.len(), 50);
    let mut all = keys(&p, &first);
    all.extend(keys(&p, &second));
    assert_eq!(all.len(), 100);
}

#[test]
fn continuous_history_is_never_repeated_when_few_are_asked() {
    // Few draws are checked by scanning the rows, not by fingerprints: the
    // same seed's draws must be recognised there too.
    let p = profile(every_kind_space());
    let first = suggest(&p, SCAN_UP_TO as u32, 7).unwrap();
    let history = first
        .iter()
        .enumerate()
        .map(|(i, c)| trial(i as u32, values(c), &[], TrialState::Complete))
        .collect();
    let p = with_trials(p, history);
    let second = suggest(&p, SCAN_UP_TO as u32, 7).unwrap();
    assert_eq!(second.len(), SCAN_UP_TO);
    let mut all = keys(&p, &first);
    all.extend(keys(&p, &second));
    assert_eq!(all.len(), 2 * SCAN_UP_TO);
}

#[test]
fn rows_that_encode_no_configuration_are_ignored() {
    // The host never sends them; a stray one must not block a configuration
    // it does not describe, nor panic.
    let p = profile(tiny_space());
    let all = suggest(&p, 6, 5).unwrap();
    let history = all[1..]
        .iter()
        .enumerate()
        .map(|(i, c)| trial(i as u32, values(c), &[], TrialState::Complete))
        .collect();
    let mut p = with_trials(p, history);
    // Near misses of the untried configuration (flag, then label index):
    // a flag of 2, a label index past the end or between two labels, NaN.
    let untried = p.encode_config(&all[0]).unwrap();
    let (flag, label) = (untried[0], untried[1]);
    for (i, stray) in [
        [flag + 2.0, label],
        [flag, label + 3.0],
        [flag, label + 0.5],
        [f64::NAN, label],
        [-1.0, label],
    ]
    .iter()
    .enumerate()
    {
        p.history.push(10 + i as u32, TrialState::Complete, stray, &[]);
    }
    // A row the values block does not hold at all.
    p.history.numbers.push(20);
    p.history.states.push(TrialState::Complete);
    assert_eq!(p.trial_count(), 11);
    assert_eq!(suggest(&p, 3, 9), Ok(vec![all[0].clone()]));

    let continuous = profile(vec![
        real("x", 0.0, 1.0, false, None),
        Param::new("f", Domain::Flag),
    ]);
    let drawn = suggest(&continuous, 1, 3).unwrap();
    let mut continuous = continuous;
    let row = continuous.encode_config(&drawn[0]).unwrap();
    continuous
        .history
        .push(0, TrialState::Complete, &[row[0], row[1] + 2.0], &[]);
    continuous.history.numbers.push(1);
    continuous.history.states.push(TrialState::Complete);
    assert_eq!(suggest(&continuous, 1, 3).unwrap(), drawn);
}

#[test]
fn fingerprints_are_exact() {
    let fp = |row: &[f64]| fingerprint(row);
    assert_eq!(fp(&[0.3, 1.0]), fp(&[0.3, 1.0]));
    assert_ne!(fp(&[0.3]), fp(&[0.1 + 0.2]));
    assert_ne!(fp(&[0.0]), fp(&[-0.0]));
    assert_eq!(fp(&[f64::NAN]), fp(&[f64::NAN]));
    // Label indices and flags are positions, not values: order matters.
    assert_ne!(fp(&[0.0, 1.0]), fp(&[1.0, 0.0]));
    assert_ne!(fp(&[0.0]), fp(&[0.0, 0.0]));
    assert_ne!(fp(&[0.0]), fp(&[]));
    assert_ne!(fp(&[1.0, 2.0]), fp(&[2.0, 1.0]));
    // No collision among many nearby values.
    let mut prints: Vec<u64> = (0..100_000i64)
        .flat_map(|i| [fp(&[i as f64]), fp(&[i as f64 + 0.5])])
        .collect();
    prints.sort_unstable();
    prints.dedup();
    assert_eq!(prints.len(), 200_000);
    // A draw's row is the row the history would hold for it.
    let p = profile(every_kind_space());
    let config = suggest(&p, 1, 1).unwrap().remove(0);
    let mut row = Vec::new();
    encode_draw(&p, &values(&config), &mut row);
    assert_eq!(Some(row), p.encode_config(&config));
}

#[test]
fn decimal_history_values_match_computed_grid_points() {
    // 0.3 typed by a user is the grid point 0 + 3 × 0.1.
    let history = [0.0, 0.1, 0.2, 0.3, 0.4]
        .iter()
        .enumerate()
        .map(|(i, x)| trial(i as u32, vec![Value::Real(*x)], &[], TrialState::Complete))
        .collect();
    let p = with_trials(profile(vec![real("x", 0.0, 0.5, false, Some(0.1))]), history);
    assert_eq!(
        suggest(&p, 4, 1).unwrap(),
        vec![assign(&[("x", Value::Real(0.5))])]
    );
}

#[test]
fn a_nearly_exhausted_large_space_is_enumerated() {
    // 1000 configurations, 990 tried: rejection would mostly repeat.
    let history = (1..=990)
        .map(|i| trial(i as u32, vec![Value::Integer(i)], &[], TrialState::Complete))
        .collect();
    let p = with_trials(profile(vec![int("n", 1, 1000, true, None)]), history);
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
    assert_eq!(keys(&big, &suggest(&big, 2000, 1).unwrap()).len(), 2000);
    // A small space sampled with rejection and then enumeration.
    let small = profile(vec![int("n", 1, 50, true, None)]);
    let configs = suggest(&small, 40, 1).unwrap();
    assert_eq!(keys(&small, &configs).len(), 40);
    let continuous = profile(vec![real("x", 0.0, 1.0, false, None)]);
    assert_eq!(
        keys(&continuous, &suggest(&continuous, 1000, 1).unwrap()).len(),
        1000
    );
}

#[test]
fn a_degenerate_continuous_space_stops_instead_of_looping() {
    // A real with low == high has one value: a finite space of size 1.
    let p = profile(vec![real("x", 2.0, 2.0, false, None)]);
    assert_eq!(suggest(&p, 3, 1).unwrap().len(), 1);
}

/// The values of the one-knob space of [`scored_profile`].
fn model(label: &str) -> Vec<Value> {
    vec![Value::Choice(label.into())]
}

fn measured(number: u32, label: &str, metrics: &[(&'static str, f64)]) -> Named {
    trial(number, model(label), metrics, TrialState::Complete)
}

fn scored_profile(objectives: &[(&str, Direction)], trials: Vec<Named>) -> Profile {
    let p = Profile {
        space: vec![Param::new("model", Domain::choice(["a", "b", "c", "d", "base"]))],
        baseline: assign(&[("model", Value::Choice("base".into()))]),
        objectives: objectives
            .iter()
            .map(|(m, d)| Objective {
                metric: (*m).into(),
                direction: *d,
            })
            .collect(),
        ..Profile::default()
    };
    with_trials(p, trials)
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
            // Every row holds a value per knob, whatever its state.
            trial(4, model("a"), &[("latency_ms", 1.0)], TrialState::Failed),
            trial(5, model("b"), &[], TrialState::Running),
            trial(6, model("c"), &[], TrialState::Pruned),
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
        vec![trial(0, model("a"), &[], TrialState::Failed)],
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
