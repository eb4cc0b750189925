//! Native tests of the performance strategy on synthetic observations.

use aiopt_sdk::{Constraint, Direction, Objective, Param, TrialState, Workload};

use super::*;

/// Three variants measured twice each, one request at a time:
/// `small` is fast but misses the recall floor, `big` is accurate but its
/// throughput is barely above the peak, `medium` is in between.
fn profile(peak: Option<f64>) -> Profile {
    let mut p = Profile {
        name: "search".into(),
        space: vec![Param::new("variant", Domain::choice(["small", "medium", "big"]))],
        objectives: vec![Objective {
            metric: P95.into(),
            direction: Direction::Minimize,
        }],
        constraints: vec![
            Constraint {
                metric: "recall".into(),
                low: Some(0.97),
                high: None,
            },
            Constraint {
                metric: P95.into(),
                low: None,
                high: Some(20.0),
            },
        ],
        workload: Workload {
            peak_requests_per_second: peak,
            ..Workload::default()
        },
        ..Profile::default()
    };
    p.baseline = p.config_from_values([Value::Choice("big".into())]);
    let rows = [
        ("small", 1.0, 2.0, 600.0, 0.95),
        ("medium", 3.0, 5.0, 300.0, 0.98),
        ("big", 5.0, 8.0, 150.0, 0.99),
    ];
    let mut number = 0;
    for replicate in [0.98, 1.02] {
        for (label, p50, p95, rps, recall) in rows {
            p.push_trial(
                number,
                TrialState::Complete,
                &[Value::Choice(label.into())],
                &[
                    (P50, p50 * replicate),
                    (P95, p95 * replicate),
                    (THROUGHPUT, rps / replicate),
                    ("recall", recall),
                ],
            );
            number += 1;
        }
    }
    p
}

#[test]
fn a_configuration_fast_at_no_load_but_too_slow_for_the_peak_is_not_recommended() {
    let r = recommend(&profile(Some(140.0)), 0).unwrap();
    let first = &r.proposals[0];
    // big: p95 8 ms measured alone, but 93% busy at 140 requests/s.
    assert_eq!(
        first.title, "lowest p95 latency at the peak: variant=medium",
        "{r:#?}"
    );
    let at_peak = first
        .predicted
        .iter()
        .find(|e| e.metric == "latency_p95_ms_at_peak")
        .unwrap();
    assert!(at_peak.value > 5.0 && at_peak.value <= 20.0, "{at_peak:?}");
    assert!(at_peak.low <= at_peak.value && at_peak.value <= at_peak.high);
    assert!(
        r.notes
            .iter()
            .any(|n| n.contains("meet the p95 SLO when measured one request at a time but not at the peak")),
        "{:?}",
        r.notes
    );
    assert!(
        first.rationale.contains("headroom over the peak"),
        "{}",
        first.rationale
    );
    assert!(
        first.rationale.contains("The baseline's p95 at the peak is"),
        "{}",
        first.rationale
    );
}

#[test]
fn at_a_light_load_the_accurate_variant_is_chosen_only_if_it_is_fastest() {
    // At 10 requests/s nothing queues much: medium is still faster than big,
    // and small stays out for its recall.
    let r = recommend(&profile(Some(10.0)), 0).unwrap();
    assert!(r.proposals[0].title.ends_with("variant=medium"), "{r:#?}");
    for p in &r.proposals {
        let recall = p.predicted.iter().find(|e| e.metric == "recall").unwrap();
        assert!(recall.value >= 0.97, "{p:?}");
    }
}

#[test]
fn a_peak_nothing_holds_gives_a_note_not_a_proposal() {
    let r = recommend(&profile(Some(5000.0)), 0).unwrap();
    assert!(r.proposals.is_empty(), "{r:#?}");
    assert!(
        r.notes
            .iter()
            .any(|n| n.contains("cannot keep up with 5000.0 requests/s")),
        "{:?}",
        r.notes
    );
}

#[test]
fn it_says_what_is_missing() {
    match recommend(&profile(None), 0) {
        Err(Error::InvalidInput(m)) => assert!(m.contains("peak_requests_per_second"), "{m}"),
        other => panic!("{other:?}"),
    }
    let mut p = profile(Some(10.0));
    p.history = Default::default();
    p.push_trial(
        0,
        TrialState::Complete,
        &[Value::Choice("big".into())],
        &[("recall", 0.99)],
    );
    match recommend(&p, 0) {
        Err(Error::Unsupported(m)) => assert!(
            m.contains("needs observations with latency_p50_ms and latency_p95_ms"),
            "{m}"
        ),
        other => panic!("{other:?}"),
    }
}

#[test]
fn more_workers_hold_a_higher_peak() {
    let mut p = profile(Some(400.0));
    assert!(recommend(&p, 0)
        .unwrap()
        .proposals
        .iter()
        .all(|x| !x.title.ends_with("variant=big")));
    p.options = vec![aiopt_sdk::Assignment {
        name: "workers".into(),
        value: Value::Integer(4),
    }];
    let r = recommend(&p, 0).unwrap();
    assert!(!r.proposals.is_empty(), "{r:#?}");
    assert_eq!(r, recommend(&p, 0).unwrap(), "deterministic");
}
