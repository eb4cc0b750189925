//! Native tests of the quality strategy on synthetic request logs and
//! observations.

use aiopt_sdk::{Constraint, Domain, Estimate, Objective, Param, RequestLog, RequestRecord, TrialState};

use super::*;

/// One served configuration of the synthetic log: its label, cost per
/// request, and mean score on `code` and on `chat` prompts.
struct Model {
    label: &'static str,
    cost: f64,
    code: f64,
    chat: f64,
}

/// A profile with one `model` knob, baseline `models[0]`, whose log has
/// every model answer the same 600 prompts (even prompts `code`, odd
/// `chat`), each score with uniform noise of width `noise`.
fn profile_of(models: &[Model], noise: f64, categories: bool) -> Profile {
    let labels: Vec<String> = models.iter().map(|m| m.label.to_string()).collect();
    let mut log = RequestLog {
        served_by: labels,
        categories: vec!["code".into(), "chat".into()],
        ..RequestLog::default()
    };
    let mut rng = Rng::new(7);
    for prompt in 0..600u64 {
        let code = prompt % 2 == 0;
        for (i, m) in models.iter().enumerate() {
            let mean = if code { m.code } else { m.chat };
            log.push(
                RequestRecord {
                    served_by: i as u32,
                    prompt: Some(prompt),
                    category: categories.then_some(u32::from(!code)),
                    cost_usd: Some(m.cost * (0.9 + 0.2 * rng.f64())),
                    score: Some((mean + noise * (rng.f64() - 0.5)).clamp(0.0, 1.0)),
                    ..RequestRecord::default()
                },
                &[],
            );
        }
    }
    aiopt_sdk::testing::served_models_profile(log)
}

/// `base` today; `generalist` better everywhere; `coder` a specialist,
/// excellent on code and poor on chat, so routing code to it and chat to
/// the generalist beats either alone.
fn specialists() -> Profile {
    profile_of(
        &[
            Model {
                label: "base",
                cost: 0.01,
                code: 0.6,
                chat: 0.6,
            },
            Model {
                label: "generalist",
                cost: 0.002,
                code: 0.75,
                chat: 0.75,
            },
            Model {
                label: "coder",
                cost: 0.001,
                code: 0.95,
                chat: 0.4,
            },
        ],
        0.2,
        true,
    )
}

fn value(p: &Proposal, metric: &str) -> Estimate {
    p.predicted
        .iter()
        .find(|e| e.metric == metric)
        .cloned()
        .unwrap_or_else(|| panic!("no {metric} in {p:#?}"))
}

fn budget(p: &mut Profile, high: f64) {
    p.constraints.push(Constraint {
        metric: COST_METRIC.into(),
        low: None,
        high: Some(high),
    });
}

#[test]
fn routing_sends_each_category_to_its_specialist_and_holds_up_on_held_out_prompts() {
    let r = recommend(&specialists(), 1).unwrap();
    let route = r
        .proposals
        .iter()
        .find(|p| p.title.starts_with("route by category"))
        .unwrap_or_else(|| panic!("no routing: {r:#?}"));
    assert!(
        route.title.contains("coder for code") && route.title.contains("generalist for chat"),
        "{}",
        route.title
    );
    // Measured on the held-out half: about (0.95 + 0.75) / 2.
    let q = value(route, "quality_score");
    assert!((q.value - 0.85).abs() < 0.02, "{q:?}");
    assert!(q.low <= q.value && q.value <= q.high);
    let gain = value(route, "quality_score_gain");
    assert!((gain.value - 0.25).abs() < 0.03 && gain.low > 0.0, "{gain:?}");
    assert!(
        route.rationale.contains("held-out prompts"),
        "{}",
        route.rationale
    );
    assert!(route.rationale.contains("against 0.7"), "{}", route.rationale);
    // The best single configuration is proposed too, and ranked below.
    let titles: Vec<&str> = r.proposals.iter().map(|p| p.title.as_str()).collect();
    let single = titles.iter().position(|t| *t == "switch to generalist").unwrap();
    let routed = titles.iter().position(|t| t.starts_with("route")).unwrap();
    assert!(routed < single, "{titles:?}");
}

#[test]
fn proposals_are_ranked_by_predicted_quality_and_best_of_n_says_it_needs_a_judge() {
    let r = recommend(&specialists(), 1).unwrap();
    let qualities: Vec<f64> = r
        .proposals
        .iter()
        .map(|p| value(p, "quality_score").value)
        .collect();
    assert!(qualities.windows(2).all(|w| w[0] >= w[1]), "{qualities:?}");
    let best_of = r
        .proposals
        .iter()
        .find(|p| p.title.starts_with("best-of-2"))
        .unwrap_or_else(|| panic!("no best-of-2: {r:#?}"));
    assert!(best_of.title.contains("needs a judge"));
    assert!(best_of.rationale.contains("needs a judge at run time"));
    assert!(best_of.rationale.contains("upper bound"));
    assert!(best_of.rationale.contains("set the judge_cost_usd option"));
    // Costs add up: two answers per request.
    let cost = value(best_of, COST_METRIC);
    assert!(cost.value > 0.0025, "{cost:?}");
    assert!(r
        .notes
        .iter()
        .any(|n| n.starts_with("Majority vote: not evaluated")));
}

#[test]
fn the_judge_cost_is_charged_per_best_of_n_request() {
    let mut p = specialists();
    p.options.push(aiopt_sdk::Assignment {
        name: "judge_cost_usd".into(),
        value: Value::Real(0.01),
    });
    let without = recommend(&specialists(), 1).unwrap();
    let with = recommend(&p, 1).unwrap();
    let cost = |r: &Report| {
        let p = r
            .proposals
            .iter()
            .find(|p| p.title.starts_with("best-of-2"))
            .unwrap();
        value(p, COST_METRIC).value
    };
    assert!((cost(&with) - cost(&without) - 0.01).abs() < 1e-9);
}

#[test]
fn a_gain_within_the_noise_gets_a_note_not_a_proposal() {
    let p = profile_of(
        &[
            Model {
                label: "base",
                cost: 0.01,
                code: 0.6,
                chat: 0.6,
            },
            Model {
                label: "similar",
                cost: 0.01,
                code: 0.605,
                chat: 0.605,
            },
        ],
        0.6,
        false,
    );
    let r = recommend(&p, 1).unwrap();
    assert!(
        r.proposals.iter().all(|p| p.title != "switch to similar"),
        "{r:#?}"
    );
    assert!(
        r.notes
            .iter()
            .any(|n| n.starts_with("Best single configuration: similar has")
                && n.contains("not a significant improvement")),
        "{:#?}",
        r.notes
    );
    assert!(
        r.notes
            .iter()
            .any(|n| n.starts_with("Routing by category: needs")),
        "{:#?}",
        r.notes
    );
}

#[test]
fn a_specialist_that_only_ties_gets_a_routing_note() {
    // The coder is as good as the generalist on code: routing gains
    // nothing, and the note says so with the numbers.
    let p = profile_of(
        &[
            Model {
                label: "base",
                cost: 0.01,
                code: 0.6,
                chat: 0.6,
            },
            Model {
                label: "generalist",
                cost: 0.002,
                code: 0.75,
                chat: 0.75,
            },
            Model {
                label: "coder",
                cost: 0.001,
                code: 0.755,
                chat: 0.4,
            },
        ],
        0.2,
        true,
    );
    let r = recommend(&p, 3).unwrap();
    assert!(
        r.proposals.iter().all(|p| !p.title.starts_with("route")),
        "{r:#?}"
    );
    assert!(
        r.notes.iter().any(|n| n.starts_with("Routing by category")
            && (n.contains("not a significant improvement") || n.contains("nothing to route"))),
        "{:#?}",
        r.notes
    );
}

#[test]
fn every_proposal_keeps_the_cost_budget_and_the_quality_floor() {
    let mut p = specialists();
    budget(&mut p, 0.0025);
    p.constraints.push(Constraint {
        metric: "quality_score".into(),
        low: Some(0.7),
        high: None,
    });
    let r = recommend(&p, 2).unwrap();
    assert!(!r.proposals.is_empty(), "{r:#?}");
    for proposal in &r.proposals {
        assert!(value(proposal, COST_METRIC).high <= 0.0025, "{proposal:#?}");
        assert!(value(proposal, "quality_score").low >= 0.7, "{proposal:#?}");
    }
    // Two answers cost about $0.003: best-of-n is out of budget.
    assert!(r.proposals.iter().all(|p| !p.title.starts_with("best-of")));
    assert!(
        r.notes
            .iter()
            .any(|n| n.contains("Best-of-2") && n.contains("budget")),
        "{:#?}",
        r.notes
    );
    // The budget option cannot loosen the constraint.
    p.options.push(aiopt_sdk::Assignment {
        name: "cost_budget_usd".into(),
        value: Value::Real(1.0),
    });
    let loose = recommend(&p, 2).unwrap();
    for proposal in &loose.proposals {
        assert!(value(proposal, COST_METRIC).high <= 0.0025, "{proposal:#?}");
    }
}

#[test]
fn a_budget_below_every_configuration_gives_notes_only() {
    let mut p = specialists();
    budget(&mut p, 0.0001);
    let r = recommend(&p, 1).unwrap();
    assert!(r.proposals.is_empty(), "{r:#?}");
    assert!(r
        .notes
        .iter()
        .any(|n| n.starts_with("Best single configuration: none of the 3")));
}

#[test]
fn the_same_seed_gives_the_same_report() {
    let p = specialists();
    let a = recommend(&p, 5).unwrap();
    assert_eq!(a, recommend(&p, 5).unwrap());
    let b = recommend(&p, 6).unwrap();
    let titles = |r: &Report| r.proposals.iter().map(|p| p.title.clone()).collect::<Vec<_>>();
    assert_eq!(
        titles(&a),
        titles(&b),
        "a clear finding does not hang on the seed"
    );
}

#[test]
fn bad_options_are_invalid_input() {
    let mut p = specialists();
    p.options.push(aiopt_sdk::Assignment {
        name: "cost_budget_usd".into(),
        value: Value::Choice("cheap".into()),
    });
    assert!(matches!(recommend(&p, 1), Err(Error::InvalidInput(m)) if m.contains("cost_budget_usd")));
    let mut p = specialists();
    p.options.push(aiopt_sdk::Assignment {
        name: "judge_cost_usd".into(),
        value: Value::Real(-1.0),
    });
    assert!(matches!(recommend(&p, 1), Err(Error::InvalidInput(m)) if m.contains("judge_cost_usd")));
}

/// A profile without request records whose history measures `recall_at_10`
/// and `latency_ms` of three `ef` values: (ef, recall, latency) per trial.
fn observed(trials: &[(i64, f64, f64)]) -> Profile {
    let mut p = Profile {
        name: "search".into(),
        space: vec![Param::new("ef", Domain::integer(10, 400))],
        objectives: vec![
            Objective {
                metric: "recall_at_10".into(),
                direction: Direction::Maximize,
            },
            Objective {
                metric: "latency_ms".into(),
                direction: Direction::Minimize,
            },
        ],
        constraints: vec![Constraint {
            metric: "latency_ms".into(),
            low: None,
            high: Some(2.0),
        }],
        ..Profile::default()
    };
    p.baseline = p.config_from_values([Value::Integer(10)]);
    for (i, &(ef, recall, latency)) in trials.iter().enumerate() {
        p.push_trial(
            i as u32,
            TrialState::Complete,
            &[Value::Integer(ef)],
            &[("recall_at_10", recall), ("latency_ms", latency)],
        );
    }
    p
}

#[test]
fn without_records_the_best_feasible_observation_is_proposed_with_replicates() {
    // ef=400 has the best recall but breaks the latency bound.
    let p = observed(&[
        (10, 0.90, 0.5),
        (10, 0.902, 0.6),
        (50, 0.97, 1.0),
        (50, 0.972, 1.1),
        (400, 0.995, 3.0),
        (400, 0.996, 3.1),
    ]);
    let r = recommend(&p, 1).unwrap();
    assert_eq!(r.proposals.len(), 1, "{r:#?}");
    let first = &r.proposals[0];
    assert_eq!(first.title, "switch to ef=50");
    assert_eq!(first.predicted[0].metric, "recall_at_10");
    let gain = value(first, "recall_at_10_gain");
    assert!(gain.low > 0.0, "{gain:?}");
    assert!(
        first.rationale.contains("a significant gain"),
        "{}",
        first.rationale
    );
    assert!(
        first.rationale.contains("latency_ms 0.5500 → 1.050"),
        "{}",
        first.rationale
    );
    assert!(
        r.notes.iter().any(|n| n.contains("were left out")),
        "{:#?}",
        r.notes
    );
}

#[test]
fn without_records_a_constraint_margin_within_the_noise_is_flagged() {
    // ef=50 keeps latency_ms <= 2 in both replicates, by less than their
    // spread; the baseline breaks the bound.
    let p = observed(&[
        (10, 0.90, 2.5),
        (10, 0.902, 2.6),
        (50, 0.97, 1.9),
        (50, 0.972, 1.95),
    ]);
    let r = recommend(&p, 1).unwrap();
    let first = &r.proposals[0];
    assert!(
        first
            .rationale
            .contains("Every replicate keeps latency_ms <= 2.000, but its latency_ms interval"),
        "{}",
        first.rationale
    );
    assert!(
        first
            .rationale
            .contains("The baseline breaks latency_ms <= 2.000 (measured 2.550)"),
        "{}",
        first.rationale
    );
}

#[test]
fn unusable_records_fall_back_to_observations_and_say_why() {
    let mut p = observed(&[(10, 0.90, 0.5), (50, 0.97, 1.0)]);
    p.requests = RequestLog {
        served_by: vec!["nobody".into()],
        ..RequestLog::default()
    };
    p.requests.push(
        RequestRecord {
            served_by: 0,
            score: Some(1.0),
            ..RequestRecord::default()
        },
        &[],
    );
    let r = recommend(&p, 1).unwrap();
    assert_eq!(r.proposals[0].title, "switch to ef=50");
    assert!(
        r.notes.iter().any(|n| n.starts_with("Request records not used: ")
            && n.contains("no served_by label names a configuration")),
        "{:#?}",
        r.notes
    );
}

#[test]
fn without_records_a_gain_within_the_noise_is_a_note() {
    let p = observed(&[(10, 0.90, 0.5), (10, 0.96, 0.6), (50, 0.93, 1.0), (50, 0.95, 1.1)]);
    let r = recommend(&p, 1).unwrap();
    assert!(r.proposals.is_empty(), "{r:#?}");
    assert!(
        r.notes
            .iter()
            .any(|n| n.contains("within the noise of the replicates")),
        "{:#?}",
        r.notes
    );
}

#[test]
fn without_records_one_measurement_is_said_to_be_one() {
    let p = observed(&[(10, 0.90, 0.5), (50, 0.97, 1.0)]);
    let r = recommend(&p, 1).unwrap();
    let first = &r.proposals[0];
    assert!(
        first.rationale.contains("rests on one measurement of each"),
        "{}",
        first.rationale
    );
}

#[test]
fn without_records_or_observations_it_says_what_it_needs() {
    let mut p = specialists();
    p.requests = RequestLog::default();
    match recommend(&p, 1) {
        Err(Error::Unsupported(m)) => assert!(
            m.contains(
                "needs request records with columns served_by and score, or observations of quality_score"
            ),
            "{m}"
        ),
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_quality_metric_is_named_or_the_first_maximised() {
    let mut p = observed(&[]);
    assert_eq!(quality_metric(&p).as_deref(), Some("recall_at_10"));
    p.objectives[0].metric = "mscoco_text_to_image_recall_at_10".into();
    assert_eq!(
        quality_metric(&p).as_deref(),
        Some("mscoco_text_to_image_recall_at_10")
    );
    p.objectives[0].metric = "throughput_rps".into();
    assert_eq!(quality_metric(&p).as_deref(), Some("throughput_rps"));
    p.objectives.remove(0);
    assert_eq!(quality_metric(&p), None);
}

#[test]
fn subsets_are_every_choice_once() {
    assert_eq!(best_of::subsets(4, 2).len(), 6);
    assert_eq!(best_of::subsets(6, 3).len(), 20);
    assert_eq!(best_of::subsets(2, 3), Vec::<Vec<usize>>::new());
    assert_eq!(best_of::subsets(3, 2), [vec![0, 1], vec![0, 2], vec![1, 2]]);
}
