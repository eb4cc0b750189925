//! Tuning studies through the binary: table and command evaluators,
//! reproducibility, resuming after SIGKILL, ask/tell by hand.

use std::process::{Command, Stdio};
use std::time::Duration;

use crate::util::{repo_file, Env};

fn setup(env: &Env, example: &str, name: &str, seed: &str) {
    let profile = repo_file(&format!("examples/{example}/profile.toml"))
        .display()
        .to_string();
    env.aiopt(&["profile", "import", &profile]).expect_code(0);
    create(env, example, name, seed);
}

/// Another `random` study of an imported model.
fn create(env: &Env, model: &str, name: &str, seed: &str) {
    env.aiopt(&[
        "study",
        "create",
        model,
        "--strategy",
        "random",
        "--name",
        name,
        "--seed",
        seed,
    ])
    .expect_code(0);
}

fn configs(env: &Env, study: &str) -> Vec<serde_json::Value> {
    let shown = env.aiopt(&["study", "show", study, "--json"]).json();
    shown["trials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["config"].clone())
        .collect()
}

#[test]
fn a_table_study_finds_the_best_feasible_configuration() {
    let env = Env::new();
    setup(&env, "code-review", "cr", "3");
    let run = env.aiopt(&["study", "run", "cr", "--trials", "6"]);
    run.expect_code(0);
    // Six models, six trials, no repeats: every model was tried.
    let mut models: Vec<String> = configs(&env, "cr")
        .iter()
        .map(|c| c["model"].as_str().unwrap().to_string())
        .collect();
    models.sort();
    models.dedup();
    assert_eq!(models.len(), 6);
    let best = env.aiopt(&["study", "best", "cr", "--json"]).json();
    assert_eq!(best["config"]["model"], "FuseChat-Gemma-2-9B-Instruct");
    assert!(
        run.stdout()
            .contains("changes: model: gpt4_1106_preview → FuseChat-Gemma-2-9B-Instruct"),
        "{}",
        run.stdout()
    );
    let csv = env.aiopt(&["study", "export", "cr", "--csv"]).stdout();
    assert!(csv.starts_with("number,state,model,"), "{csv}");
    assert_eq!(csv.lines().count(), 7);
}

#[test]
fn studies_are_reproducible_and_resume_in_steps() {
    let env = Env::new();
    setup(&env, "doc-generator", "whole", "11");
    create(&env, "doc-generator", "steps", "11");
    env.aiopt(&["study", "run", "whole", "--trials", "8", "--nearest"])
        .expect_code(0);
    for _ in 0..2 {
        env.aiopt(&["study", "run", "steps", "--trials", "4", "--nearest"])
            .expect_code(0);
    }
    assert_eq!(configs(&env, "whole"), configs(&env, "steps"));
}

#[test]
fn a_killed_run_resumes_with_the_same_suggestions() {
    let env = Env::new();
    setup(&env, "doc-generator", "reference", "5");
    create(&env, "doc-generator", "killed", "5");
    // The evaluator is a command that takes a while, so the run can be
    // killed while a trial is out; it reports a metric from the config.
    let command = r#"sleep 0.15; case "$AIOPT_KNOB_STYLE" in concise) q=1;; verbose) q=2;; *) q=3;; esac; echo "{\"quality_score\": $q, \"cost_per_request_usd\": 0.1}""#;
    let run = |study: &str, trials: &str, extra: &[&str]| {
        let mut args = vec![
            "study",
            "run",
            study,
            "--trials",
            trials,
            "--evaluator",
            "command",
            "--command",
            command,
        ];
        args.extend_from_slice(extra);
        args.iter().map(|s| s.to_string()).collect::<Vec<_>>()
    };
    let args = run("reference", "6", &[]);
    env.aiopt(&args.iter().map(String::as_str).collect::<Vec<_>>())
        .expect_code(0);

    let args = run("killed", "6", &[]);
    let mut child = Command::new(env!("CARGO_BIN_EXE_aiopt"))
        .arg("--data-dir")
        .arg(env.dir.path())
        .args(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    child.kill().unwrap(); // SIGKILL, mid-run
    child.wait().unwrap();
    let shown = env.aiopt(&["study", "show", "killed", "--json"]).json();
    let done = shown["study"]["complete"].as_u64().unwrap();
    assert!(
        done < 6,
        "the kill came too late to test anything ({done} trials done)"
    );
    // Resume: interrupted trials are handed out again first.
    let remaining = (6 - done).to_string();
    let args = run("killed", &remaining, &["--stale-after", "0"]);
    env.aiopt(&args.iter().map(String::as_str).collect::<Vec<_>>())
        .expect_code(0);
    assert_eq!(configs(&env, "killed"), configs(&env, "reference"));
    let shown = env.aiopt(&["study", "show", "killed", "--json"]).json();
    assert_eq!(shown["study"]["complete"], 6);
}

#[test]
fn ask_and_tell_by_hand() {
    let env = Env::new();
    setup(&env, "code-review", "manual", "1");
    let asked = env
        .aiopt(&["study", "ask", "manual", "--count", "2", "--json"])
        .json();
    assert_eq!(asked.as_array().unwrap().len(), 2);
    assert_eq!(asked[0]["state"], "running");
    env.aiopt(&[
        "study",
        "tell",
        "manual",
        "0",
        "quality_score=0.7",
        "cost_per_request_usd=0.0002",
    ])
    .expect_code(0);
    env.aiopt(&[
        "study",
        "tell",
        "manual",
        "1",
        "--failed",
        "--reason",
        "GPU out of memory",
    ])
    .expect_code(0);
    let again = env.aiopt(&["study", "tell", "manual", "0", "quality_score=0.1"]);
    again.expect_code(1);
    assert!(
        again.stderr().contains("trial 0 is already complete"),
        "{}",
        again.stderr()
    );
    env.aiopt(&["study", "tell", "manual", "9", "quality_score=0.1"])
        .expect_code(7);
    let bad = env.aiopt(&["study", "tell", "manual", "0", "latency_p95_ms=-1"]);
    assert!(bad.stderr().contains("must not be negative"), "{}", bad.stderr());
    let shown = env.aiopt(&["study", "show", "manual", "--json"]).json();
    assert_eq!(shown["trials"][1]["reason"], "GPU out of memory");
    assert_eq!(shown["study"]["complete"], 1);
}

#[test]
fn a_failing_strategy_fails_one_trial_not_the_study() {
    let env = Env::new();
    let profile = repo_file("examples/code-review/profile.toml")
        .display()
        .to_string();
    env.aiopt(&["profile", "import", &profile]).expect_code(0);
    let panicking = crate::util::fixture("panic").display().to_string();
    env.aiopt(&[
        "study",
        "create",
        "code-review",
        "--strategy",
        &panicking,
        "--name",
        "p",
    ])
    .expect_code(0);
    env.aiopt(&["study", "run", "p", "--trials", "2"]).expect_code(0);
    let shown = env.aiopt(&["study", "show", "p", "--json"]).json();
    assert_eq!(shown["study"]["failed"], 2);
    let reason = shown["trials"][0]["reason"].as_str().unwrap();
    assert!(
        reason.contains("fixture panic: the strategy gave up on purpose"),
        "{reason}"
    );
}

#[test]
fn two_concurrent_runs_never_duplicate_a_trial() {
    let env = Env::new();
    setup(&env, "doc-generator", "shared", "2");
    let spawn = || {
        Command::new(env!("CARGO_BIN_EXE_aiopt"))
            .arg("--data-dir")
            .arg(env.dir.path())
            .args(["study", "run", "shared", "--trials", "5", "--nearest"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(), spawn());
    for child in [a, b] {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let shown = env.aiopt(&["study", "show", "shared", "--json"]).json();
    let trials = shown["trials"].as_array().unwrap();
    assert_eq!(trials.len(), 10);
    let numbers: Vec<u64> = trials.iter().map(|t| t["number"].as_u64().unwrap()).collect();
    assert_eq!(numbers, (0..10).collect::<Vec<_>>());
    let mut distinct: Vec<String> = trials.iter().map(|t| t["config"].to_string()).collect();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 10, "no configuration was handed out twice");
}

#[test]
fn warm_start_seeds_the_history() {
    let env = Env::new();
    setup(&env, "code-review", "first", "4");
    env.aiopt(&["study", "run", "first", "--trials", "3"])
        .expect_code(0);
    let from_study = env.aiopt(&[
        "study",
        "create",
        "code-review",
        "--strategy",
        "random",
        "--name",
        "second",
        "--warm-start",
        "first",
    ]);
    from_study.expect_code(0);
    assert!(
        from_study
            .stdout()
            .contains("warm start: 3 complete trials from first"),
        "{}",
        from_study.stdout()
    );
    // The three models tried already are not suggested again.
    env.aiopt(&["study", "run", "second", "--trials", "3"])
        .expect_code(0);
    let mut models: Vec<String> = configs(&env, "second")
        .iter()
        .map(|c| c["model"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(models.len(), 6);
    models.sort();
    models.dedup();
    assert_eq!(models.len(), 6);
    let from_profile = env.aiopt(&[
        "study",
        "create",
        "code-review",
        "--strategy",
        "random",
        "--name",
        "third",
        "--warm-start",
        "profile",
    ]);
    assert!(
        from_profile
            .stdout()
            .contains("warm start: 6 complete trials from profile"),
        "{}",
        from_profile.stdout()
    );
    let other = env.aiopt(&[
        "study",
        "create",
        "code-review",
        "--name",
        "fourth",
        "--warm-start",
        "nope",
    ]);
    other.expect_code(7);
}

#[test]
fn optimize_tuning_reports_before_and_after() {
    let env = Env::new();
    let profile = repo_file("examples/code-review/profile.toml")
        .display()
        .to_string();
    let run = env.aiopt(&["optimize", &profile, "--type", "tuning", "--trials", "6"]);
    run.expect_code(0);
    let out = run.stdout();
    assert!(
        out.contains("quality_score                0.5000 → 0.7050  (+41.0%)"),
        "{out}"
    );
    assert!(
        out.contains("model: gpt4_1106_preview → FuseChat-Gemma-2-9B-Instruct"),
        "{out}"
    );
}

#[test]
fn a_tpe_study_through_the_sandbox_is_reproducible() {
    let env = Env::new();
    let profile = repo_file("examples/doc-generator/profile.toml")
        .display()
        .to_string();
    env.aiopt(&["profile", "import", &profile]).expect_code(0);
    for name in ["tpe-a", "tpe-b"] {
        env.aiopt(&["study", "create", "doc-generator", "--name", name, "--seed", "9"])
            .expect_code(0);
        env.aiopt(&[
            "study",
            "run",
            name,
            "--trials",
            "14",
            "--parallel",
            "2",
            "--nearest",
        ])
        .expect_code(0);
    }
    let a = env.aiopt(&["study", "show", "tpe-a", "--json"]).json();
    assert_eq!(
        a["study"]["strategy"], "tpe",
        "tpe is the default tuning strategy"
    );
    assert_eq!(a["study"]["complete"], 14);
    assert_eq!(configs(&env, "tpe-a"), configs(&env, "tpe-b"));
    // Every trial records the fuel of the suggest that produced it.
    assert!(a["trials"]
        .as_array()
        .unwrap()
        .iter()
        .all(|t| t["fuel"].as_u64().is_some_and(|f| f > 0)));
    let best = env.aiopt(&["study", "best", "tpe-a", "--json"]).json();
    assert_eq!(best["config"]["model"], "FuseChat-Gemma-2-9B-Instruct");
}

#[test]
fn a_run_stops_when_the_space_is_exhausted() {
    let env = Env::new();
    setup(&env, "code-review", "small", "8");
    let run = env.aiopt(&["study", "run", "small", "--trials", "20"]);
    run.expect_code(0);
    assert!(
        run.stderr()
            .contains("stopping: every configuration of the search space has been tried"),
        "{}",
        run.stderr()
    );
    let shown = env.aiopt(&["study", "show", "small", "--json"]).json();
    assert_eq!(shown["study"]["complete"], 6);
    assert_eq!(
        shown["study"]["failed"], 1,
        "one trial records the exhaustion, then the run stops"
    );
    let reason = shown["trials"][6]["reason"].as_str().unwrap();
    assert!(reason.starts_with("search space exhausted"), "{reason}");
}

/// A 10 × 10 grid, every point measured: loss is a bowl with its minimum 0
/// at (a, b) = (7, 2), and a `quality` that is at most 1.
fn write_grid_profile(env: &Env, extra: &str) -> String {
    let mut csv = String::from("a,b,loss,quality\n");
    for a in 0..10 {
        for b in 0..10 {
            let loss = (a - 7) * (a - 7) + (b - 2) * (b - 2);
            csv.push_str(&format!("{a},{b},{loss},{}\n", 1.0 / (1.0 + f64::from(loss))));
        }
    }
    std::fs::write(env.dir.path().join("grid.csv"), csv).unwrap();
    let toml = format!(
        "name = \"grid\"\nkind = \"test\"\n\n\
         [[space]]\nname = \"a\"\ntype = \"integer\"\nlow = 0\nhigh = 9\n\n\
         [[space]]\nname = \"b\"\ntype = \"integer\"\nlow = 0\nhigh = 9\n\n\
         [baseline]\na = 0\nb = 9\n\n\
         [[objectives]]\nmetric = \"loss\"\ndirection = \"minimize\"\n\n\
         {extra}\
         [data]\nobservations = \"grid.csv\"\n"
    );
    let path = env.dir.path().join("grid.toml");
    std::fs::write(&path, toml).unwrap();
    path.display().to_string()
}

#[test]
fn tpe_finds_the_optimum_of_a_small_discrete_problem_within_a_budget() {
    let env = Env::new();
    let profile = write_grid_profile(&env, "");
    // 30 of 100 configurations (10 of them random start-up trials): random
    // search would find the single optimum with probability 0.3.
    let run = env.aiopt(&[
        "optimize", &profile, "--type", "tuning", "--trials", "30", "--seed", "1",
    ]);
    run.expect_code(0);
    let best = env.aiopt(&["study", "best", "grid-optimize-1", "--json"]).json();
    assert_eq!(best["config"]["a"], 7, "{best}");
    assert_eq!(best["config"]["b"], 2, "{best}");
    assert_eq!(best["metrics"][0], serde_json::json!(["loss", 0.0]), "{best}");
    // The study's analysis names the knobs that mattered, and `study show`
    // gives the same figures.
    let out = run.stdout();
    assert!(out.contains("before → after (baseline → best trial"), "{out}");
    let (_, importance) = out
        .split_once("\nknob importance (PED-ANOVA")
        .unwrap_or_else(|| panic!("knob importance: {out}"));
    let line = importance
        .lines()
        .find(|l| l.trim_start().starts_with("loss "))
        .unwrap_or_else(|| panic!("an importance line for loss: {out}"));
    assert!(line.ends_with("(30 feasible trials)"), "{line}");
    let show = env.aiopt(&["study", "show", "grid-optimize-1", "--json"]).json();
    let loss = &show["importance"][0];
    assert_eq!(
        (&loss["metric"], &loss["trials"]),
        (&"loss".into(), &30.into()),
        "{loss}"
    );
    let shares: Vec<f64> = loss["knobs"]
        .as_array()
        .expect("knobs")
        .iter()
        .map(|k| k["importance"].as_f64().expect("a share"))
        .collect();
    assert_eq!(shares.len(), 2, "{loss}");
    assert!((shares.iter().sum::<f64>() - 1.0).abs() < 1e-9, "{loss}");
    assert!(shares[0] >= shares[1], "largest first: {loss}");
    let text = env.aiopt(&["study", "show", "grid-optimize-1"]).stdout();
    assert!(text.contains(line), "`study show` repeats `{line}`: {text}");
}

#[test]
fn a_constraint_no_configuration_meets_is_explained_not_a_crash() {
    let env = Env::new();
    let profile = write_grid_profile(&env, "[[constraints]]\nmetric = \"quality\"\nlow = 2.0\n\n");
    let run = env.aiopt(&["optimize", &profile, "--type", "tuning", "--trials", "12"]);
    run.expect_code(9);
    let err = run.stderr();
    assert!(
        err.contains("no configuration satisfies the constraints (quality >= 2): all 12 complete trials"),
        "{err}"
    );
    assert!(err.contains("the closest was trial "), "{err}");
    assert!(
        err.contains("None of the profile's 100 measured configurations satisfies them either"),
        "{err}"
    );
    // The trials are kept, and `study best` explains the same way.
    let best = env.aiopt(&["study", "best", "grid-optimize-1"]);
    best.expect_code(9);
    assert!(
        best.stderr()
            .contains("no configuration satisfies the constraints"),
        "{}",
        best.stderr()
    );
}
