//! Tuning benchmark, part two (`cargo xtask bench-tuning`): sample
//! efficiency. Runs the `tpe` and `random` plugins (see [`SAMPLERS`]) through the sandbox,
//! exactly as `aiopt study run` calls them (the whole history each call,
//! seed `study::seed_for(run seed, trial number)`, default limits), for
//! [`BUDGET`] trials on each problem and each of [`SEEDS`] seeds.
//!
//! Problems: Branin, Hartmann-6, Rosenbrock-10, Levy-6 and Ackley-6
//! (standard test functions, minimised), the semantic-search example's
//! measured HNSW table, and two two-objective problems (ZDT1-6 and the
//! same table as recall vs latency). Every problem, with check values of
//! each function, goes to `target/bench-tuning/problems.json`, which
//! `bench/tuning/optuna_quality.py` reads to run Optuna on the identical
//! problems; every trial of every run goes to `quality_aiopt.json`, which
//! `bench/tuning/quality_report.py` re-evaluates (so both halves provably
//! optimise the same functions) and summarises.

use std::collections::HashMap;
use std::f64::consts::{E, PI, TAU};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use aiopt::profile::{
    self, Direction, Domain, Objective, Param, Profile, Trial, TrialState, Value, Workload,
};
use aiopt::runtime::{Limits, Plugin, Runtime};
use aiopt::study::seed_for;
use serde_json::{json, Map};

const SEEDS: u64 = 20;
const BUDGET: usize = 200;
const CHECKPOINTS: [usize; 3] = [50, 100, 200];
/// The 96-configuration table gets a smaller budget: our samplers never
/// repeat a configuration, so 100 trials would be an exhaustive search
/// there, and Optuna (which may repeat) would be compared with a census.
const TABLE_BUDGET: usize = 50;
const TABLE_CHECKPOINTS: [usize; 3] = [10, 25, 50];
/// A sampler under test: the name it is reported as, its plugin and the
/// profile options it runs with.
struct Sampler {
    name: &'static str,
    plugin: &'static str,
    options: &'static [(&'static str, i64)],
}

/// `tpe` with its defaults, `tpe` with 64 candidates per suggestion (more
/// exploitation for 2.7 times the scoring work: the trade-off is measured,
/// not assumed), and `random` as the floor.
const SAMPLERS: [Sampler; 3] = [
    Sampler {
        name: "aiopt-tpe",
        plugin: "tpe",
        options: &[],
    },
    Sampler {
        name: "aiopt-tpe-c64",
        plugin: "tpe",
        options: &[("n_candidates", 64)],
    },
    Sampler {
        name: "aiopt-random",
        plugin: "random",
        options: &[],
    },
];

/// A standard test function over a box (all minimised).
#[derive(Clone, Copy)]
enum Function {
    Branin,
    Hartmann6,
    Rosenbrock,
    Levy,
    Ackley,
    Zdt1,
}

impl Function {
    fn name(self) -> &'static str {
        match self {
            Function::Branin => "branin",
            Function::Hartmann6 => "hartmann6",
            Function::Rosenbrock => "rosenbrock",
            Function::Levy => "levy",
            Function::Ackley => "ackley",
            Function::Zdt1 => "zdt1",
        }
    }

    /// The objective values at `x` (two for ZDT1, one otherwise).
    fn eval(self, x: &[f64]) -> Vec<f64> {
        match self {
            Function::Branin => vec![branin(x)],
            Function::Hartmann6 => vec![hartmann6(x)],
            Function::Rosenbrock => vec![rosenbrock(x)],
            Function::Levy => vec![levy(x)],
            Function::Ackley => vec![ackley(x)],
            Function::Zdt1 => zdt1(x).to_vec(),
        }
    }
}

fn branin(x: &[f64]) -> f64 {
    let (a, b, c, r, s, t) = (1.0, 5.1 / (4.0 * PI * PI), 5.0 / PI, 6.0, 10.0, 1.0 / (8.0 * PI));
    a * (x[1] - b * x[0] * x[0] + c * x[0] - r).powi(2) + s * (1.0 - t) * x[0].cos() + s
}

fn hartmann6(x: &[f64]) -> f64 {
    const ALPHA: [f64; 4] = [1.0, 1.2, 3.0, 3.2];
    const A: [[f64; 6]; 4] = [
        [10.0, 3.0, 17.0, 3.5, 1.7, 8.0],
        [0.05, 10.0, 17.0, 0.1, 8.0, 14.0],
        [3.0, 3.5, 1.7, 10.0, 17.0, 8.0],
        [17.0, 8.0, 0.05, 10.0, 0.1, 14.0],
    ];
    const P: [[f64; 6]; 4] = [
        [1312.0, 1696.0, 5569.0, 124.0, 8283.0, 5886.0],
        [2329.0, 4135.0, 8307.0, 3736.0, 1004.0, 9991.0],
        [2348.0, 1451.0, 3522.0, 2883.0, 3047.0, 6650.0],
        [4047.0, 8828.0, 8732.0, 5743.0, 1091.0, 381.0],
    ];
    -(0..4)
        .map(|i| {
            let inner: f64 = (0..6).map(|j| A[i][j] * (x[j] - 1e-4 * P[i][j]).powi(2)).sum();
            ALPHA[i] * (-inner).exp()
        })
        .sum::<f64>()
}

fn rosenbrock(x: &[f64]) -> f64 {
    x.windows(2)
        .map(|w| 100.0 * (w[1] - w[0] * w[0]).powi(2) + (1.0 - w[0]).powi(2))
        .sum()
}

fn levy(x: &[f64]) -> f64 {
    let w: Vec<f64> = x.iter().map(|v| 1.0 + (v - 1.0) / 4.0).collect();
    let d = w.len();
    let middle: f64 = w[..d - 1]
        .iter()
        .map(|wi| (wi - 1.0).powi(2) * (1.0 + 10.0 * (PI * wi + 1.0).sin().powi(2)))
        .sum();
    let last = (w[d - 1] - 1.0).powi(2) * (1.0 + (TAU * w[d - 1]).sin().powi(2));
    (PI * w[0]).sin().powi(2) + middle + last
}

fn ackley(x: &[f64]) -> f64 {
    let d = x.len() as f64;
    let squares = x.iter().map(|v| v * v).sum::<f64>() / d;
    let cosines = x.iter().map(|v| (TAU * v).cos()).sum::<f64>() / d;
    -20.0 * (-0.2 * squares.sqrt()).exp() - cosines.exp() + 20.0 + E
}

fn zdt1(x: &[f64]) -> [f64; 2] {
    let f1 = x[0];
    let g = 1.0 + 9.0 / (x.len() - 1) as f64 * x[1..].iter().sum::<f64>();
    [f1, g * (1.0 - (f1 / g).sqrt())]
}

/// How a problem scores a configuration.
enum Scorer {
    Function(Function),
    /// Measured configurations (by [`table_key`]) and their objectives.
    Table(HashMap<Vec<String>, (Vec<Value>, Vec<f64>)>),
}

struct Problem {
    name: &'static str,
    space: Vec<Param>,
    directions: Vec<Direction>,
    scorer: Scorer,
    budget: usize,
    /// Problem-specific fields for problems.json (optimum, checks, ...).
    extra: Map<String, serde_json::Value>,
}

impl Problem {
    fn score(&self, config: &[(String, Value)]) -> Vec<f64> {
        match &self.scorer {
            Scorer::Function(f) => f.eval(&reals(config)),
            Scorer::Table(rows) => {
                let key = table_key(config.iter().map(|(_, v)| v));
                rows.get(&key)
                    .map(|row| row.1.clone())
                    .unwrap_or_else(|| panic!("{}: no table row for {key:?}", self.name))
            }
        }
    }

    fn metric_names(&self) -> Vec<String> {
        (0..self.directions.len()).map(|i| format!("f{i}")).collect()
    }

    /// The profile a study of this problem hands the strategy.
    fn profile(&self) -> Profile {
        Profile {
            name: self.name.into(),
            kind: "benchmark".into(),
            description: None,
            baseline: Vec::new(),
            space: self.space.clone(),
            objectives: self
                .metric_names()
                .into_iter()
                .zip(&self.directions)
                .map(|(metric, &direction)| Objective { metric, direction })
                .collect(),
            constraints: Vec::new(),
            workload: Workload::default(),
            trials: Vec::new(),
            requests: Default::default(),
            options: Vec::new(),
        }
    }

    fn json(&self) -> serde_json::Value {
        let mut object = Map::new();
        object.insert("name".into(), json!(self.name));
        object.insert(
            "kind".into(),
            json!(match self.scorer {
                Scorer::Function(_) => "function",
                Scorer::Table(_) => "table",
            }),
        );
        if let Scorer::Function(f) = self.scorer {
            object.insert("function".into(), json!(f.name()));
        }
        object.insert(
            "space".into(),
            json!(self.space.iter().map(space_json).collect::<Vec<_>>()),
        );
        object.insert("budget".into(), json!(self.budget));
        object.extend(self.extra.clone());
        serde_json::Value::Object(object)
    }
}

fn reals(config: &[(String, Value)]) -> Vec<f64> {
    config
        .iter()
        .map(|(name, v)| match v {
            Value::Real(x) => *x,
            other => panic!("knob {name}: expected a real, got {other:?}"),
        })
        .collect()
}

/// A table row's key: each knob's value as text (an integer's digits, a
/// label).
fn table_key<'v>(values: impl IntoIterator<Item = &'v Value>) -> Vec<String> {
    values
        .into_iter()
        .map(|v| match v {
            Value::Integer(i) => i.to_string(),
            Value::Choice(label) => label.clone(),
            other => panic!("table knobs are integers or choices, got {other:?}"),
        })
        .collect()
}

fn value_json(v: &Value) -> serde_json::Value {
    match v {
        Value::Real(x) => json!(x),
        Value::Integer(i) => json!(i),
        Value::Choice(label) => json!(label),
        Value::Flag(b) => json!(b),
    }
}

/// Table rows keyed for lookup, from `(values, objectives)` pairs.
fn table_rows(
    rows: impl IntoIterator<Item = (Vec<Value>, Vec<f64>)>,
) -> HashMap<Vec<String>, (Vec<Value>, Vec<f64>)> {
    rows.into_iter().map(|row| (table_key(&row.0), row)).collect()
}

fn integer(v: &Value) -> i64 {
    match v {
        Value::Integer(i) => *i,
        other => panic!("expected an integer, got {other:?}"),
    }
}

fn real_box(d: usize, low: f64, high: f64) -> Vec<Param> {
    (0..d)
        .map(|i| Param {
            name: format!("x{i}"),
            domain: Domain::Real {
                low,
                high,
                log: false,
                step: None,
            },
        })
        .collect()
}

fn space_json(p: &Param) -> serde_json::Value {
    match &p.domain {
        Domain::Real { low, high, log, .. } => {
            json!({ "name": p.name, "type": "real", "low": low, "high": high, "log": log })
        }
        Domain::Integer { low, high, .. } => {
            json!({ "name": p.name, "type": "integer", "low": low, "high": high })
        }
        Domain::Choice { values } => json!({ "name": p.name, "type": "choice", "values": values }),
        other => panic!("benchmark spaces have no flags, got {other:?}"),
    }
}

/// A single-objective test function with its known minimum and check
/// values at a few fixed points (a corner, the centre, a seeded draw).
fn function_problem(name: &'static str, f: Function, space: Vec<Param>, optimum: Option<f64>) -> Problem {
    let d = space.len();
    let bounds: Vec<(f64, f64)> = space
        .iter()
        .map(|p| match p.domain {
            Domain::Real { low, high, .. } => (low, high),
            _ => unreachable!("function spaces are real boxes"),
        })
        .collect();
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut unit = || {
        state = seed_for(state, 1);
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let points: Vec<Vec<f64>> = vec![
        bounds.iter().map(|b| b.0).collect(),
        bounds.iter().map(|b| 0.5 * (b.0 + b.1)).collect(),
        bounds.iter().map(|b| b.0 + (b.1 - b.0) * unit()).collect(),
        bounds.iter().map(|b| b.0 + (b.1 - b.0) * unit()).collect(),
    ];
    let checks: Vec<_> = points
        .iter()
        .map(|x| {
            let params: Map<String, serde_json::Value> =
                (0..d).map(|i| (format!("x{i}"), json!(x[i]))).collect();
            let values = f.eval(x);
            if values.len() == 1 {
                json!({ "params": params, "value": values[0] })
            } else {
                json!({ "params": params, "values": values })
            }
        })
        .collect();
    let mut extra = Map::new();
    extra.insert("checks".into(), json!(checks));
    if let Some(optimum) = optimum {
        extra.insert("optimum".into(), json!(optimum));
    }
    let directions = vec![Direction::Minimize; f.eval(&points[0]).len()];
    Problem {
        name,
        space,
        directions,
        scorer: Scorer::Function(f),
        budget: BUDGET,
        extra,
    }
}

/// The semantic-search example's measured grid (4 × 4 × 6 HNSW builds, two
/// replicates each, averaged): knobs become ordinal grid indices so every
/// suggestion is a measured configuration.
struct HnswTable {
    space: Vec<Param>,
    /// (grid indices, mean recall@10, mean p95 latency ms)
    rows: Vec<(Vec<i64>, f64, f64)>,
    grids: Vec<(String, Vec<i64>)>,
}

fn hnsw_table(root: &Path) -> HnswTable {
    let path = root.join("examples/semantic-search/profile.toml");
    let profile = profile::load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let knobs: Vec<String> = profile.space.iter().map(|p| p.name.clone()).collect();
    let mut grids: Vec<(String, Vec<i64>)> = knobs.iter().map(|k| (k.clone(), Vec::new())).collect();
    let mut sums: HashMap<Vec<i64>, (f64, f64, f64)> = HashMap::new();
    for t in &profile.trials {
        let raw: Vec<i64> = knobs
            .iter()
            .map(|k| integer(&t.config.iter().find(|(n, _)| n == k).expect("knob measured").1))
            .collect();
        let metric = |m: &str| t.metrics.iter().find(|(n, _)| n == m).expect("metric measured").1;
        let entry = sums.entry(raw.clone()).or_default();
        *entry = (
            entry.0 + metric("recall_at_10"),
            entry.1 + metric("latency_p95_ms"),
            entry.2 + 1.0,
        );
        for (grid, v) in grids.iter_mut().zip(raw) {
            if !grid.1.contains(&v) {
                grid.1.push(v);
            }
        }
    }
    for grid in &mut grids {
        grid.1.sort_unstable();
    }
    let size: usize = grids.iter().map(|g| g.1.len()).product();
    assert_eq!(
        sums.len(),
        size,
        "{}: the measured grid is not complete",
        path.display()
    );
    let index = |k: usize, v: i64| grids[k].1.iter().position(|&g| g == v).expect("on grid") as i64;
    let mut rows: Vec<_> = sums
        .into_iter()
        .map(|(raw, (recall, latency, n))| {
            let key: Vec<i64> = raw.iter().enumerate().map(|(k, &v)| index(k, v)).collect();
            (key, recall / n, latency / n)
        })
        .collect();
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    let space = grids
        .iter()
        .map(|(name, values)| Param {
            name: name.clone(),
            domain: Domain::Integer {
                low: 0,
                high: values.len() as i64 - 1,
                log: false,
                step: None,
            },
        })
        .collect();
    HnswTable { space, rows, grids }
}

/// Recall floor of the single-objective table problem (the example's
/// constraint).
const RECALL_FLOOR: f64 = 0.99;

/// Minimise p95 latency subject to recall@10 ≥ 0.99, the constraint folded
/// in as a penalty every sampler sees alike: an infeasible configuration
/// scores above every feasible one, less infeasible being better.
fn hnsw_single(table: &HnswTable) -> Problem {
    let worst = table.rows.iter().map(|r| r.2).fold(0.0, f64::max);
    let value = |recall: f64, latency: f64| {
        if recall >= RECALL_FLOOR {
            latency
        } else {
            worst + 1.0 + (RECALL_FLOOR - recall)
        }
    };
    let rows = table_rows(
        table
            .rows
            .iter()
            .map(|(k, recall, latency)| (integers(k), vec![value(*recall, *latency)])),
    );
    let optimum = rows.values().map(|v| v.1[0]).fold(f64::INFINITY, f64::min);
    let mut extra = Map::new();
    extra.insert("optimum".into(), json!(optimum));
    extra.insert("checkpoints".into(), json!(TABLE_CHECKPOINTS));
    extra.insert("table".into(), table_json(&table.space, &rows, false));
    extra.insert(
        "note".into(),
        json!(format!(
            "examples/semantic-search measured HNSW grid ({}), mean of replicates; knobs are grid indices; \
             minimise latency_p95_ms subject to recall_at_10 >= {RECALL_FLOOR} (infeasible = worst latency \
             + 1 + shortfall)",
            grid_note(table)
        )),
    );
    Problem {
        name: "semantic-search",
        space: table.space.clone(),
        directions: vec![Direction::Minimize],
        scorer: Scorer::Table(rows),
        budget: TABLE_BUDGET,
        extra,
    }
}

/// Recall@10 (maximise) against p95 latency (minimise) over the same grid.
fn hnsw_multi(table: &HnswTable) -> Problem {
    let rows = table_rows(
        table
            .rows
            .iter()
            .map(|(k, recall, latency)| (integers(k), vec![*recall, *latency])),
    );
    let column = |i: usize| rows.values().map(move |v| v.1[i]);
    let low = [
        column(0).fold(f64::INFINITY, f64::min),
        column(1).fold(f64::INFINITY, f64::min),
    ];
    let high = [column(0).fold(0.0, f64::max), column(1).fold(0.0, f64::max)];
    let directions = [Direction::Maximize, Direction::Minimize];
    let points: Vec<[f64; 2]> = rows
        .values()
        .map(|v| normalized(&v.1, &directions, &low, &high))
        .collect();
    let mut extra = Map::new();
    extra.insert("directions".into(), json!(["maximize", "minimize"]));
    extra.insert("normalize".into(), json!({ "low": low, "high": high }));
    extra.insert("true_hypervolume".into(), json!(hypervolume(&points)));
    extra.insert("table".into(), table_json(&table.space, &rows, true));
    extra.insert(
        "note".into(),
        json!(format!(
            "examples/semantic-search measured HNSW grid ({}), mean of replicates: recall_at_10 vs \
             latency_p95_ms",
            grid_note(table)
        )),
    );
    Problem {
        name: "semantic-search-mo",
        space: table.space.clone(),
        directions: directions.to_vec(),
        scorer: Scorer::Table(rows),
        budget: TABLE_BUDGET,
        extra,
    }
}

fn grid_note(table: &HnswTable) -> String {
    table
        .grids
        .iter()
        .map(|(name, values)| format!("{name} {values:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn table_json(
    space: &[Param],
    rows: &HashMap<Vec<String>, (Vec<Value>, Vec<f64>)>,
    multi: bool,
) -> serde_json::Value {
    let mut keys: Vec<&Vec<String>> = rows.keys().collect();
    keys.sort();
    keys.into_iter()
        .map(|key| {
            let (values, objectives) = &rows[key];
            let params: Map<String, serde_json::Value> = space
                .iter()
                .zip(values)
                .map(|(p, v)| (p.name.clone(), value_json(v)))
                .collect();
            if multi {
                json!({ "params": params, "values": objectives })
            } else {
                json!({ "params": params, "value": objectives[0] })
            }
        })
        .collect()
}

fn integers(k: &[i64]) -> Vec<Value> {
    k.iter().map(|&i| Value::Integer(i)).collect()
}

/// The multimodal-search example: 12 published CLIP models, one choice
/// knob; maximise MSCOCO text-to-image recall@10 (value = −recall). Only
/// 12 configurations, so its budget is 12: it checks categorical handling
/// and the cost of repeats, not the model (TPE starts after 10 trials).
fn clip_table(root: &Path) -> Problem {
    let path = root.join("examples/multimodal-search/profile.toml");
    let profile = profile::load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let metric = "mscoco_text_to_image_recall_at_10";
    let rows = table_rows(profile.trials.iter().map(|t| {
        let recall = t
            .metrics
            .iter()
            .find(|(m, _)| m == metric)
            .expect("recall measured")
            .1;
        (t.config.iter().map(|(_, v)| v.clone()).collect(), vec![-recall])
    }));
    let size = match &profile.space[0].domain {
        Domain::Choice { values } => values.len(),
        other => panic!("{}: expected one choice knob, got {other:?}", path.display()),
    };
    assert_eq!(
        rows.len(),
        size,
        "{}: every model is measured once",
        path.display()
    );
    let optimum = rows.values().map(|v| v.1[0]).fold(f64::INFINITY, f64::min);
    let mut extra = Map::new();
    extra.insert("optimum".into(), json!(optimum));
    extra.insert("checkpoints".into(), json!([3, 6, 12]));
    extra.insert("table".into(), table_json(&profile.space, &rows, false));
    extra.insert(
        "note".into(),
        json!(format!(
            "examples/multimodal-search: {size} CLIP models (one choice knob); maximise {metric} \
             (value = -recall)"
        )),
    );
    Problem {
        name: "multimodal-search",
        space: profile.space.clone(),
        directions: vec![Direction::Minimize],
        scorer: Scorer::Table(rows),
        budget: size,
        extra,
    }
}

/// ZDT1 over 6 knobs. Its Pareto front is `f2 = 1 − sqrt(f1)` on [0, 1],
/// so the true hypervolume (reference point (1.1, 1.1), objectives already
/// in [0, 1] on the front) comes from a dense sample of that curve.
fn zdt1_problem() -> Problem {
    let mut p = function_problem("zdt1", Function::Zdt1, real_box(6, 0.0, 1.0), None);
    let front: Vec<[f64; 2]> = (0..=100_000)
        .map(|i| {
            let f1 = i as f64 / 100_000.0;
            [f1, 1.0 - f1.sqrt()]
        })
        .collect();
    p.extra
        .insert("directions".into(), json!(["minimize", "minimize"]));
    p.extra.insert(
        "normalize".into(),
        json!({ "low": [0.0, 0.0], "high": [1.0, 1.0] }),
    );
    p.extra
        .insert("true_hypervolume".into(), json!(hypervolume(&front)));
    p
}

/// Objectives mapped so 0 is best and 1 the worst bound.
fn normalized(v: &[f64], directions: &[Direction], low: &[f64; 2], high: &[f64; 2]) -> [f64; 2] {
    let mut out = [0.0; 2];
    for i in 0..2 {
        let span = high[i] - low[i];
        out[i] = match directions[i] {
            Direction::Minimize => (v[i] - low[i]) / span,
            Direction::Maximize => (high[i] - v[i]) / span,
        };
    }
    out
}

/// 2-D hypervolume of minimised points against reference (1.1, 1.1).
fn hypervolume(points: &[[f64; 2]]) -> f64 {
    let reference = 1.1;
    let mut inside: Vec<[f64; 2]> = points
        .iter()
        .copied()
        .filter(|p| p[0] < reference && p[1] < reference)
        .collect();
    inside.sort_by(|a, b| a[0].total_cmp(&b[0]).then(a[1].total_cmp(&b[1])));
    let mut volume = 0.0;
    let mut ceiling = reference;
    for p in inside {
        if p[1] < ceiling {
            volume += (reference - p[0]) * (ceiling - p[1]);
            ceiling = p[1];
        }
    }
    volume
}

/// One optimisation run: the problem's budget of sequential trials, one suggestion each.
fn run(
    runtime: &Runtime,
    plugin: &Plugin,
    sampler: &Sampler,
    problem: &Problem,
    seed: u64,
) -> Vec<(Vec<Value>, Vec<f64>)> {
    let mut profile = problem.profile();
    profile.options = sampler
        .options
        .iter()
        .map(|&(name, value)| (name.to_string(), Value::Integer(value)))
        .collect();
    let metric_names = problem.metric_names();
    let limits = Limits::default();
    let mut trials = Vec::with_capacity(problem.budget);
    for number in 0..problem.budget as u32 {
        let called = runtime
            .suggest(plugin, &profile, 1, seed_for(seed, number), &limits)
            .unwrap_or_else(|e| panic!("{} seed {seed} trial {number}: {e}", problem.name));
        let config = called
            .value
            .into_iter()
            .next()
            .unwrap_or_else(|| panic!("{} seed {seed} trial {number}: no suggestion", problem.name));
        let values = problem.score(&config);
        trials.push((config.iter().map(|(_, v)| v.clone()).collect(), values.clone()));
        profile.trials.push(Trial {
            number,
            config,
            metrics: metric_names.iter().cloned().zip(values).collect(),
            state: TrialState::Complete,
        });
    }
    trials
}

fn run_json(
    problem: &Problem,
    sampler: &str,
    seed: u64,
    seconds: f64,
    trials: &[(Vec<Value>, Vec<f64>)],
) -> serde_json::Value {
    let trials: Vec<_> = trials
        .iter()
        .map(|(values, objectives)| {
            let params: Map<String, serde_json::Value> = problem
                .space
                .iter()
                .zip(values)
                .map(|(p, v)| (p.name.clone(), value_json(v)))
                .collect();
            if objectives.len() == 1 {
                json!({ "params": params, "value": objectives[0] })
            } else {
                json!({ "params": params, "values": objectives })
            }
        })
        .collect();
    json!({
        "problem": problem.name,
        "sampler": sampler,
        "seed": seed,
        "seconds": seconds,
        "trials": trials,
    })
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("host/ lives in the workspace");
    let out = root.join("target/bench-tuning");
    std::fs::create_dir_all(&out).expect("create target/bench-tuning");
    let runtime = Runtime::new(None).expect("runtime");
    let load = |name: &str| {
        let path = root.join(format!("target/wasm32-wasip2/plugin/aiopt_{name}.wasm"));
        let bytes = std::fs::read(&path).unwrap_or_else(|e| {
            panic!(
                "{}: {e}; run `cargo xtask bench-tuning`, which builds the plugins first",
                path.display()
            )
        });
        runtime.load_bytes(&bytes, &path).expect("load plugin")
    };
    let plugins: Vec<(&Sampler, Plugin)> = SAMPLERS.iter().map(|s| (s, load(s.plugin))).collect();

    let table = hnsw_table(root);
    let single = [
        function_problem(
            "branin",
            Function::Branin,
            branin_space(),
            Some(0.397_887_357_729_738_2),
        ),
        function_problem(
            "hartmann6",
            Function::Hartmann6,
            real_box(6, 0.0, 1.0),
            Some(-3.322_368_011_391_339),
        ),
        function_problem(
            "rosenbrock10",
            Function::Rosenbrock,
            real_box(10, -5.0, 10.0),
            Some(0.0),
        ),
        function_problem("levy6", Function::Levy, real_box(6, -10.0, 10.0), Some(0.0)),
        function_problem(
            "ackley6",
            Function::Ackley,
            real_box(6, -32.768, 32.768),
            Some(0.0),
        ),
        hnsw_single(&table),
        clip_table(root),
    ];
    let multi = [zdt1_problem(), hnsw_multi(&table)];
    let problems = json!({
        "seeds": SEEDS,
        "budget": BUDGET,
        "checkpoints": CHECKPOINTS,
        "single": single.iter().map(Problem::json).collect::<Vec<_>>(),
        "multi": multi.iter().map(Problem::json).collect::<Vec<_>>(),
    });
    let path = out.join("problems.json");
    std::fs::write(&path, serde_json::to_string_pretty(&problems).expect("json"))
        .expect("write problems.json");
    println!("wrote {}", path.display());

    let jobs: Vec<(&Problem, &Sampler, &Plugin, u64)> = single
        .iter()
        .chain(&multi)
        .flat_map(|problem| {
            plugins.iter().flat_map(move |(sampler, plugin)| {
                (0..SEEDS).map(move |seed| (problem, *sampler, plugin, seed))
            })
        })
        .collect();
    let next = AtomicUsize::new(0);
    let results = Mutex::new(Vec::new());
    let started = Instant::now();
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get()).min(2);
    println!(
        "aiopt sample efficiency: {} runs of up to {BUDGET} trials on {workers} threads (plugins through the sandbox)",
        jobs.len()
    );
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(&(problem, sampler, plugin, seed)) = jobs.get(i) else {
                    break;
                };
                let start = Instant::now();
                let trials = run(&runtime, plugin, sampler, problem, seed);
                let seconds = start.elapsed().as_secs_f64();
                let best = trials.iter().map(|t| t.1[0]).fold(f64::INFINITY, f64::min);
                println!(
                    "[{:>3}/{}] {:<20} {:<14} seed {seed:>2}: {seconds:6.2} s  best f0 {best:.6}  ({:.0} s elapsed)",
                    i + 1,
                    jobs.len(),
                    problem.name,
                    sampler.name,
                    started.elapsed().as_secs_f64()
                );
                results
                    .lock()
                    .expect("no worker panicked")
                    .push((i, run_json(problem, sampler.name, seed, seconds, &trials)));
            });
        }
    });
    let mut results = results.into_inner().expect("no worker panicked");
    results.sort_by_key(|r| r.0);
    let report = json!({
        "tool": "aiopt",
        "aiopt_version": env!("CARGO_PKG_VERSION"),
        "runs": results.into_iter().map(|r| r.1).collect::<Vec<_>>(),
    });
    let path = out.join("quality_aiopt.json");
    std::fs::write(&path, serde_json::to_string(&report).expect("json")).expect("write quality_aiopt.json");
    println!(
        "wrote {} ({:.0} s)",
        path.display(),
        started.elapsed().as_secs_f64()
    );
}

fn branin_space() -> Vec<Param> {
    let mut space = real_box(2, -5.0, 10.0);
    space[1].domain = Domain::Real {
        low: 0.0,
        high: 15.0,
        log: false,
        step: None,
    };
    space
}
