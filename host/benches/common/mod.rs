//! Shared by the benchmarks: the synthetic tuning history they all time.

use aiopt::profile::{Direction, Domain, Objective, Param, Profile, Trial, TrialState, Value, Workload};

/// A mixed search space with `trials` synthetic completed trials (SYNTHETIC:
/// values come from a fixed LCG, only their size matters here).
pub fn synthetic_profile(trials: usize) -> Profile {
    let space = vec![
        param(
            "learning_rate",
            Domain::Real {
                low: 1e-5,
                high: 1e-1,
                log: true,
                step: None,
            },
        ),
        param(
            "dropout",
            Domain::Real {
                low: 0.0,
                high: 0.5,
                log: false,
                step: Some(0.05),
            },
        ),
        param(
            "layers",
            Domain::Integer {
                low: 1,
                high: 8,
                log: false,
                step: None,
            },
        ),
        param(
            "batch_size",
            Domain::Integer {
                low: 8,
                high: 512,
                log: true,
                step: None,
            },
        ),
        param(
            "optimizer",
            Domain::Choice {
                values: vec!["adam".into(), "sgd".into(), "adamw".into()],
            },
        ),
        param("warmup", Domain::Flag),
    ];
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let trials = (0..trials)
        .map(|n| Trial {
            number: n as u32,
            config: vec![
                ("learning_rate".into(), Value::Real(1e-5 * (1e4f64).powf(next()))),
                ("dropout".into(), Value::Real((next() * 10.0).floor() * 0.05)),
                ("layers".into(), Value::Integer(1 + (next() * 8.0) as i64 % 8)),
                ("batch_size".into(), Value::Integer(8 + (next() * 504.0) as i64)),
                (
                    "optimizer".into(),
                    Value::Choice(["adam", "sgd", "adamw"][(next() * 3.0) as usize % 3].into()),
                ),
                ("warmup".into(), Value::Flag(next() < 0.5)),
            ],
            metrics: vec![
                ("accuracy".into(), next()),
                ("latency_p95_ms".into(), 100.0 + 900.0 * next()),
            ],
            state: TrialState::Complete,
        })
        .collect();
    Profile {
        name: "bench".into(),
        kind: "synthetic".into(),
        description: None,
        baseline: vec![
            ("learning_rate".into(), Value::Real(1e-3)),
            ("dropout".into(), Value::Real(0.1)),
            ("layers".into(), Value::Integer(4)),
            ("batch_size".into(), Value::Integer(64)),
            ("optimizer".into(), Value::Choice("adam".into())),
            ("warmup".into(), Value::Flag(true)),
        ],
        space,
        objectives: vec![Objective {
            metric: "accuracy".into(),
            direction: Direction::Maximize,
        }],
        constraints: Vec::new(),
        workload: Workload::default(),
        trials,
        requests: Default::default(),
        options: Vec::new(),
    }
}

fn param(name: &str, domain: Domain) -> Param {
    Param {
        name: name.into(),
        domain,
    }
}
