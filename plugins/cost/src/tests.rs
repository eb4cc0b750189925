//! Native tests of the cost strategy on synthetic request logs.

use aiopt_sdk::{Constraint, RequestLog, RequestRecord};

use super::*;

/// Three models answering the same 400 prompts: `big` (expensive, 0.8),
/// `mid` (a tenth of the price, 0.7) and `tiny` (a hundredth, 0.4 but
/// 0.9 on the easy half of the prompts, 0.0 elsewhere... scored per prompt).
fn profile() -> Profile {
    let models = ["big", "mid", "tiny"];
    let mut log = RequestLog {
        served_by: models.iter().map(|m| m.to_string()).collect(),
        categories: vec!["easy".into(), "hard".into()],
        ..RequestLog::default()
    };
    let mut rng = Rng::new(11);
    for prompt in 0..400u64 {
        let easy = prompt % 2 == 0;
        for (i, (cost, quality)) in [(0.01, 0.8), (0.001, 0.7), (0.0001, if easy { 0.9 } else { 0.1 })]
            .into_iter()
            .enumerate()
        {
            let noise = 0.1 * (rng.f64() - 0.5);
            log.push(
                RequestRecord {
                    served_by: i as u32,
                    prompt: Some(prompt),
                    category: Some(u32::from(!easy)),
                    cost_usd: Some(cost * (0.5 + rng.f64())),
                    score: Some((quality + noise).clamp(0.0, 1.0)),
                    ..RequestRecord::default()
                },
                &[],
            );
        }
    }
    aiopt_sdk::testing::served_models_profile(log)
}

fn floor(p: &mut Profile, low: f64) {
    p.constraints = vec![Constraint {
        metric: "quality_score".into(),
        low: Some(low),
        high: None,
    }];
}

#[test]
fn substitution_picks_the_cheapest_model_that_surely_keeps_the_floor() {
    let mut p = profile();
    floor(&mut p, 0.6);
    let r = recommend(&p, 1).unwrap();
    let first = &r.proposals[0];
    assert_eq!(first.title, "switch to mid", "{r:#?}");
    let quality = first
        .predicted
        .iter()
        .find(|e| e.metric == "quality_score")
        .unwrap();
    assert!(quality.low >= 0.6 && quality.low <= quality.value && quality.value <= quality.high);
    assert!(
        first
            .rationale
            .contains("above the floor 0.6000 (the profile's constraint"),
        "{}",
        first.rationale
    );
    assert!(
        first.rationale.contains("Against the baseline big"),
        "{}",
        first.rationale
    );
}

#[test]
fn a_cascade_reaches_the_strongest_quality_for_less() {
    let mut p = profile();
    floor(&mut p, 0.6);
    let r = recommend(&p, 1).unwrap();
    let cascade = r
        .proposals
        .iter()
        .find(|p| p.title.starts_with("cascade: "))
        .unwrap_or_else(|| panic!("no cascade: {r:#?}"));
    // tiny is right on easy prompts: escalating the rest to big reaches
    // big's quality at about half its cost.
    assert!(
        cascade.title.starts_with("cascade: tiny first, big below score"),
        "{}",
        cascade.title
    );
    let share = cascade
        .predicted
        .iter()
        .find(|e| e.metric == "escalation_share")
        .unwrap();
    assert!((share.value - 0.5).abs() < 0.1, "{share:?}");
    let cost = cascade
        .predicted
        .iter()
        .find(|e| e.metric == COST_METRIC)
        .unwrap();
    assert!(cost.value < 0.007, "{cost:?}");
    assert!(cascade
        .rationale
        .contains("in production a scorer must produce it"));
}

#[test]
fn no_repeats_means_no_cache_proposal_and_a_note_says_so() {
    let p = profile();
    let r = recommend(&p, 1).unwrap();
    assert!(r.proposals.iter().all(|p| !p.title.contains("cache")));
    assert!(
        r.notes
            .iter()
            .any(|n| n.contains("no prompt repeats in the 400 requests served by big")),
        "{:?}",
        r.notes
    );
}

#[test]
fn repeated_prompts_make_a_cache_proposal() {
    let mut p = profile();
    // The baseline's second 200 prompts repeat the first 200.
    for r in p.requests.records.iter_mut().filter(|r| r.served_by == 0) {
        r.prompt = r.prompt.map(|x| x % 200);
    }
    let r = recommend(&p, 1).unwrap();
    let cache = r
        .proposals
        .iter()
        .find(|p| p.title.contains("cache"))
        .expect("cache proposal");
    let hit = cache
        .predicted
        .iter()
        .find(|e| e.metric == "cache_hit_rate")
        .unwrap();
    assert!((hit.value - 0.5).abs() < 1e-12, "{hit:?}");
}

#[test]
fn without_request_records_it_names_the_columns_it_needs() {
    let mut p = profile();
    p.requests = RequestLog::default();
    match recommend(&p, 1) {
        Err(Error::Unsupported(m)) => {
            assert!(
                m.contains("needs request records with columns served_by, cost_usd and score"),
                "{m}"
            )
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_floor_no_model_keeps_gives_notes_not_proposals() {
    let mut p = profile();
    floor(&mut p, 0.95);
    let r = recommend(&p, 1).unwrap();
    assert!(r.proposals.is_empty(), "{r:#?}");
    assert!(r
        .notes
        .iter()
        .any(|n| n.starts_with("Substitution: no other served configuration keeps")));
}

#[test]
fn proposals_never_break_the_floor_and_repeat_for_a_seed() {
    let mut p = profile();
    floor(&mut p, 0.6);
    let a = recommend(&p, 5).unwrap();
    assert_eq!(a, recommend(&p, 5).unwrap());
    for proposal in &a.proposals {
        let q = proposal
            .predicted
            .iter()
            .find(|e| e.metric == "quality_score")
            .unwrap();
        assert!(q.low >= 0.6, "{proposal:?}");
    }
}
