//! Plugin output is untrusted input. The `invalid-output` fixture returns a
//! configuration, estimate or text that is wrong in the way its `case`
//! option names; every path (plugin run, studies, optimize, recommend,
//! config apply) must refuse it as invalid output instead of storing,
//! showing or applying it, and text with ESC sequences must reach a
//! terminal escaped.

use std::path::{Path, PathBuf};

use aiopt::profile::{self, Profile};
use aiopt::runtime::{Limits, Plugin, RuntimeError};
use aiopt::store::Store;

use crate::util::{fixture, runtime, Env};

/// Four knobs of every kind, one observation of the baseline; `{case}`
/// becomes the fixture's `case` option.
const PROFILE: &str = r#"name = "hostile-output"
kind = "test"

[[space]]
name = "model"
type = "choice"
values = ["a", "b", "c", "d"]

[[space]]
name = "batch"
type = "integer"
low = 1
high = 64

[[space]]
name = "temperature"
type = "real"
low = 0.0
high = 2.0

[[space]]
name = "cache"
type = "flag"

[baseline]
model = "a"
batch = 8
temperature = 0.5
cache = false

[[objectives]]
metric = "quality_score"
direction = "maximize"

[[observations]]
model = "a"
batch = 8
temperature = 0.5
cache = false
quality_score = 0.5

[[observations]]
model = "b"
batch = 8
temperature = 0.5
cache = false
quality_score = 0.6

[options]
case = "{case}"
"#;

/// Cases that break a configuration: suggest's last one and proposal 2's,
/// with the fault the host must name.
const CONFIG_CASES: &[(&str, &str)] = &[
    ("unknown-knob", "knob `colour` is not a knob of the search space"),
    ("missing-knob", "knob `cache` has no value"),
    ("duplicate-knob", "knob `model` is set twice"),
    (
        "bad-label",
        "knob `model` = \"not-a-label\" is not one of its 4 labels",
    ),
    ("int-range", "knob `batch` = 1000000 is outside [1, 64]"),
    ("int-max", "knob `batch` = 9223372036854775807 is outside [1, 64]"),
    (
        "wrong-type",
        "knob `temperature` = true is a flag, but the knob takes a real",
    ),
    ("nan", "knob `temperature` = NaN is not a finite number"),
    ("inf", "knob `temperature` = inf is not a finite number"),
    ("empty-name", "an assignment has an empty knob name"),
    (
        "esc-name",
        "knob `model\\u{1b}[2J\\u{1b}]0;owned\\u{7}` is not a knob",
    ),
    ("huge-label", "knob `model` = \"xxxx"),
];

/// Cases that break a report elsewhere than in a configuration.
const REPORT_CASES: &[(&str, &str)] = &[
    (
        "low-above-high",
        "proposal 2: the estimate of `quality_score` has low 0.7 above high 0.5",
    ),
    (
        "nan-estimate",
        "proposal 2: the estimate of `quality_score` has a value that is not finite",
    ),
    (
        "inf-estimate",
        "proposal 2: the estimate of `quality_score` has a high that is not finite",
    ),
    (
        "unknown-metric",
        "proposal 2: metric `quality score (%)` is not a metric of the profile",
    ),
    ("empty-metric", "proposal 2: an estimate has an empty metric name"),
    (
        "duplicate-metric",
        "proposal 2: metric `quality_score` is predicted twice",
    ),
    (
        "negative-latency",
        "proposal 2: the estimate of `latency_p95_ms` goes below 0",
    ),
    ("empty-title", "proposal 2: the title is empty"),
    ("huge-note", "note 2 is 1.0 MiB, over the limit"),
];

/// Cases that break only `suggest`.
const SUGGEST_CASES: &[(&str, &str)] = &[("too-many", "suggest returned 3 configurations for a count of 2")];

/// The raw ESC sequence the fixture puts in texts, and how it must look
/// on a terminal.
const ESC: &str = "\x1b[2J\x1b]0;owned\x07";
const ESCAPED: &str = "\\u{1b}[2J\\u{1b}]0;owned\\u{7}";

fn profile_text(case: &str) -> String {
    PROFILE.replace("{case}", case)
}

fn profile_for(case: &str) -> Profile {
    profile::parse(Path::new("hostile-output.toml"), &profile_text(case)).expect("the test profile is valid")
}

fn write_profile(env: &Env, case: &str) -> PathBuf {
    let path = env.dir.path().join(format!("{case}.toml"));
    std::fs::write(&path, profile_text(case)).unwrap();
    path
}

fn hostile() -> Plugin {
    runtime()
        .load_file(&fixture("invalid-output"))
        .expect("the fixture loads: an ESC in its summary is data, shown escaped")
}

fn expect_invalid<T: std::fmt::Debug>(result: Result<T, aiopt::runtime::CallFailure>, case: &str) -> String {
    match result {
        Err(failure) => match failure.error {
            RuntimeError::InvalidOutput { why } => why,
            other => panic!("{case}: expected InvalidOutput, got {other:?}"),
        },
        Ok(value) => panic!("{case}: invalid output was accepted as data: {value:?}"),
    }
}

#[test]
fn every_invalid_output_is_refused_in_process() {
    let plugin = hostile();
    let limits = Limits::default();
    let valid = profile_for("valid");
    let suggested = runtime()
        .suggest(&plugin, &valid, 2, 0, &limits)
        .expect("valid case");
    assert_eq!(suggested.value, vec![valid.baseline.clone(); 2]);
    runtime()
        .recommend(&plugin, &valid, 0, &limits)
        .expect("valid case");
    for (case, fault) in CONFIG_CASES {
        let p = profile_for(case);
        let why = expect_invalid(runtime().suggest(&plugin, &p, 2, 0, &limits), case);
        assert!(why.starts_with("configuration 2: "), "{case}: {why}");
        assert!(why.contains(fault), "{case}: {why}");
        let why = expect_invalid(runtime().recommend(&plugin, &p, 0, &limits), case);
        assert!(why.starts_with("proposal 2: "), "{case}: {why}");
        assert!(why.contains(fault), "{case}: {why}");
        // Messages quote plugin strings escaped and cut, never raw or whole.
        assert!(!why.contains('\x1b') && why.len() < 400, "{case}: {why}");
    }
    for (case, fault) in SUGGEST_CASES {
        let why = expect_invalid(
            runtime().suggest(&plugin, &profile_for(case), 2, 0, &limits),
            case,
        );
        assert!(why.contains(fault), "{case}: {why}");
    }
    for (case, fault) in REPORT_CASES {
        let why = expect_invalid(runtime().recommend(&plugin, &profile_for(case), 0, &limits), case);
        assert!(why.contains(fault), "{case}: {why}");
    }
    // Exactly the example of the issue.
    let why = expect_invalid(
        runtime().recommend(&plugin, &profile_for("bad-label"), 0, &limits),
        "bad-label",
    );
    assert_eq!(
        why,
        "proposal 2: knob `model` = \"not-a-label\" is not one of its 4 labels"
    );
}

#[test]
fn plugin_run_exits_with_the_invalid_output_code_for_every_case() {
    let env = Env::new();
    let plugin = fixture("invalid-output").display().to_string();
    let run = |case: &str, call: &str| {
        let profile = write_profile(&env, case).display().to_string();
        env.aiopt(&[
            "plugin",
            "run",
            &plugin,
            "--profile",
            &profile,
            "--call",
            call,
            "--count",
            "2",
        ])
    };
    let calls = CONFIG_CASES
        .iter()
        .flat_map(|(case, fault)| [(*case, *fault, "suggest"), (*case, *fault, "recommend")])
        .chain(
            SUGGEST_CASES
                .iter()
                .map(|(case, fault)| (*case, *fault, "suggest")),
        )
        .chain(
            REPORT_CASES
                .iter()
                .map(|(case, fault)| (*case, *fault, "recommend")),
        );
    for (case, fault, call) in calls {
        let done = run(case, call);
        assert_eq!(
            done.code(),
            14,
            "{case} {call}: exit code\nstdout:\n{}\nstderr:\n{}",
            done.stdout(),
            done.stderr()
        );
        assert!(done.stderr().contains(fault), "{case} {call}:\n{}", done.stderr());
        assert!(
            !done.stdout().contains("not-a-label"),
            "{case} {call}: shown as data"
        );
    }
    run("valid", "suggest").expect_code(0);
    run("valid", "recommend").expect_code(0);
}

#[test]
fn a_study_never_stores_an_invalid_configuration() {
    let env = Env::new();
    let profile = write_profile(&env, "bad-label").display().to_string();
    let plugin = fixture("invalid-output").display().to_string();
    env.aiopt(&["profile", "import", &profile]).expect_code(0);
    env.aiopt(&[
        "study",
        "create",
        "hostile-output",
        "--strategy",
        &plugin,
        "--name",
        "hostile",
    ])
    .expect_code(0);
    let ran = env.aiopt(&["study", "run", "hostile", "--trials", "2"]);
    assert!(
        ran.stderr().contains("not one of its 4 labels"),
        "{}\n{}",
        ran.stdout(),
        ran.stderr()
    );
    let asked = env.aiopt(&["study", "ask", "hostile", "--count", "2", "--json"]);
    asked.expect_code(0);
    let shown = env.aiopt(&["study", "show", "hostile", "--json"]).json();
    let trials = shown["trials"].as_array().expect("trials");
    assert!(trials.len() >= 3, "{shown:#}");
    for t in trials {
        assert_eq!(t["state"], "failed", "{t:#}");
        assert_eq!(
            t["config"],
            serde_json::json!({}),
            "an invalid config was stored: {t:#}"
        );
        let reason = t["reason"].as_str().unwrap_or_default();
        assert!(reason.contains("invalid output"), "{t:#}");
        assert!(
            reason.contains("knob `model` = \"not-a-label\" is not one of its 4 labels"),
            "{t:#}"
        );
    }
    let best = env.aiopt(&["study", "best", "hostile", "--json"]);
    assert_ne!(best.code(), 0, "no trial is data: {}", best.stdout());
    assert!(!best.stdout().contains("not-a-label"));
}

#[test]
fn optimize_and_recommend_store_no_report_from_invalid_output() {
    let env = Env::new();
    let profile = write_profile(&env, "bad-label").display().to_string();
    let plugin = fixture("invalid-output").display().to_string();
    let optimized = env.aiopt(&["optimize", &profile, "--type", "cost", "--strategy", &plugin]);
    optimized.expect_code(14);
    assert!(
        optimized.stderr().contains("not one of its 4 labels"),
        "{}",
        optimized.stderr()
    );
    let recommended = env.aiopt(&["recommend", "hostile-output", "--strategy", &plugin, "--json"]);
    recommended.expect_code(14);
    assert!(
        !recommended.stdout().contains("not-a-label"),
        "{}",
        recommended.stdout()
    );
    let store = Store::open(&env.dir.path().join("aiopt.db")).expect("store");
    assert!(store.report(1).is_err(), "a report of invalid output was stored");
    env.aiopt(&["config", "apply", "hostile-output", "--proposal", "1.2"])
        .expect_code(7);
}

#[test]
fn config_apply_refuses_a_stored_proposal_config_set_would_refuse() {
    let env = Env::new();
    let profile = write_profile(&env, "valid").display().to_string();
    env.aiopt(&["profile", "import", &profile]).expect_code(0);
    let db = env.dir.path().join("aiopt.db");
    let set = env.aiopt(&["config", "set", "hostile-output", "model=not-a-label"]);
    assert_ne!(set.code(), 0);
    // Reports stored before validation existed may hold anything.
    let stored = |config: serde_json::Value| {
        let report = serde_json::json!({
            "proposals": [{ "title": "old", "config": config, "predicted": [], "rationale": "" }],
            "notes": [],
        });
        Store::open(&db)
            .unwrap()
            .save_report("hostile-output", "cost", "old-plugin@0.1.0", &report.to_string())
            .unwrap()
    };
    let before = env.aiopt(&["config", "show", "hostile-output", "--json"]).json();
    let cases = [
        (
            serde_json::json!({ "model": "not-a-label", "batch": 8, "temperature": 0.5, "cache": false }),
            "`model` = `not-a-label` is outside its domain",
        ),
        (
            serde_json::json!({ "model": "b", "batch": 9223372036854775807i64, "temperature": 0.5, "cache": false }),
            "`batch` = `9223372036854775807` is outside its domain",
        ),
        (
            serde_json::json!({ "model": "b", "batch": 8, "temperature": true, "cache": false }),
            "`temperature` = `true` is outside its domain",
        ),
        (
            serde_json::json!({ "model": "b", "colour": "red" }),
            "`colour` is not a knob of `hostile-output`",
        ),
    ];
    for (config, message) in cases {
        let id = stored(config.clone());
        let applied = env.aiopt(&[
            "config",
            "apply",
            "hostile-output",
            "--proposal",
            &format!("{id}.1"),
        ]);
        assert_ne!(applied.code(), 0, "{config} was applied: {}", applied.stdout());
        assert!(
            applied.stderr().contains(message),
            "{config}: {}",
            applied.stderr()
        );
        assert!(
            applied.stderr().contains(&format!("proposal {id}.1")),
            "{config}: {}",
            applied.stderr()
        );
    }
    let after = env.aiopt(&["config", "show", "hostile-output", "--json"]).json();
    assert_eq!(before, after, "a refused proposal changed the configuration");
    // A valid stored proposal still applies.
    let id = stored(serde_json::json!({ "model": "b", "batch": 8, "temperature": 1, "cache": true }));
    env.aiopt(&[
        "config",
        "apply",
        "hostile-output",
        "--proposal",
        &format!("{id}.1"),
    ])
    .expect_code(0);
    let now = env.aiopt(&["config", "show", "hostile-output", "--json"]).json();
    assert_eq!(now["config"]["model"], "b", "{now:#}");
}

fn assert_escaped(what: &str, text: &str) {
    assert!(
        !text.contains('\x1b') && !text.contains('\x07'),
        "{what} holds a raw ESC or BEL:\n{text:?}"
    );
    assert!(
        text.contains(ESCAPED),
        "{what} does not show the sequence escaped:\n{text}"
    );
}

#[test]
fn text_from_plugins_reaches_the_terminal_escaped_and_json_exact() {
    let env = Env::new();
    let plugin = fixture("invalid-output").display().to_string();
    let profile = write_profile(&env, "esc-text").display().to_string();
    let run = |extra: &[&str]| {
        let mut args = vec!["plugin", "run", plugin.as_str(), "--profile", profile.as_str()];
        args.extend_from_slice(extra);
        env.aiopt(&args)
    };
    // Title, rationale and notes on stdout; the log line on stderr.
    let recommended = run(&["--call", "recommend"]);
    recommended.expect_code(0);
    assert_escaped("plugin run stdout", &recommended.stdout());
    assert!(
        recommended.stdout().contains("here\\nsecond line"),
        "{}",
        recommended.stdout()
    );
    assert_escaped("plugin run stderr", &recommended.stderr());
    // JSON is exact data.
    let json = run(&["--call", "recommend", "--json"]);
    json.expect_code(0);
    let doc = json.json();
    assert_eq!(doc["result"]["notes"][1], format!("note {ESC}here"));
    assert_eq!(doc["result"]["proposals"][1]["title"], format!("title {ESC}here"));
    assert!(doc["logs"]
        .as_array()
        .unwrap()
        .iter()
        .any(|l| l["message"] == format!("log line {ESC}here")));
    assert!(doc["plugin"]["summary"].as_str().unwrap().contains(ESC));
    // The summary from `info`.
    let inspected = env.aiopt(&["plugin", "inspect", &plugin]);
    inspected.expect_code(0);
    assert_escaped("plugin inspect", &inspected.stdout());
    // A stored report, printed by recommend.
    env.aiopt(&["profile", "import", &profile]).expect_code(0);
    let stored = env.aiopt(&["recommend", "hostile-output", "--strategy", &plugin]);
    stored.expect_code(0);
    assert_escaped("recommend", &stored.stdout());
    // A strategy's error and a panic message, in the error line.
    for case in ["esc-error", "esc-panic"] {
        let profile = write_profile(&env, case).display().to_string();
        let failed = env.aiopt(&["plugin", "run", &plugin, "--profile", &profile]);
        assert_ne!(failed.code(), 0);
        assert_escaped(case, &failed.stderr());
        let json = env.aiopt(&["plugin", "run", &plugin, "--profile", &profile, "--json"]);
        assert!(
            !json.stdout().contains('\x1b'),
            "{case}: JSON escapes control characters"
        );
    }
}

#[test]
fn shadow_stack_overflow_is_a_named_stack_overflow() {
    let failure = runtime()
        .suggest(&hostile(), &profile_for("stack-locals"), 1, 0, &Limits::default())
        .expect_err("unbounded recursion with locals");
    match failure.error {
        RuntimeError::Trap { message, .. } => assert!(message.contains("stack overflow"), "{message}"),
        other => panic!("expected Trap, got {other:?}"),
    }
    // The host keeps serving the same plugin.
    runtime()
        .suggest(&hostile(), &profile_for("valid"), 1, 0, &Limits::default())
        .expect("valid case after the overflow");
}

#[test]
fn the_api_refuses_invalid_output_and_stores_none_of_it() {
    let env = Env::new();
    env.aiopt(&[
        "plugin",
        "install",
        &fixture("invalid-output").display().to_string(),
    ])
    .expect_code(0);
    let server = crate::http::Server::start(&env, &[], None);
    let upload = serde_json::json!({ "toml": profile_text("bad-label") });
    server.call("POST", "/api/v1/profiles", Some(&upload)).expect(201);
    let strategy = serde_json::json!({ "strategy": "fixture-invalid-output" });
    let cost = server.call("POST", "/api/v1/cost-reduction/hostile-output", Some(&strategy));
    assert_eq!(
        cost.json()["type"],
        "urn:aiopt:problem:plugin-invalid-output",
        "{}",
        cost.body
    );
    assert!(cost.body.contains("not one of its 4 labels"), "{}", cost.body);
    assert!(Store::open(&env.dir.path().join("aiopt.db"))
        .unwrap()
        .report(1)
        .is_err());
    let study =
        serde_json::json!({ "model": "hostile-output", "name": "h", "strategy": "fixture-invalid-output" });
    server.call("POST", "/api/v1/studies", Some(&study)).expect(201);
    server.call(
        "POST",
        "/api/v1/studies/h/ask",
        Some(&serde_json::json!({ "count": 2 })),
    );
    let trials = server.call("GET", "/api/v1/studies/h/trials", None).json();
    let trials = trials.as_array().expect("trials");
    assert!(!trials.is_empty());
    for t in trials {
        assert_eq!(t["state"], "failed", "{t:#}");
        assert_eq!(
            t["config"],
            serde_json::json!({}),
            "an invalid config was stored: {t:#}"
        );
    }
}
