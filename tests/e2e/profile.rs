//! `aiopt profile check` on data files: every problem at once, each with
//! file, line and column and the exact message.

use crate::util::Env;

const PROFILE: &str = r#"name = "p"
kind = "code-review"
[[space]]
name = "model"
type = "choice"
values = ["a", "b"]
[baseline]
model = "a"
[[objectives]]
metric = "quality_score"
direction = "maximize"
[data]
observations = ["obs.csv", "obs.jsonl"]
requests = "req.csv"
"#;

/// Writes `files` into a fresh directory, checks `p.toml`, and compares
/// stderr with `expected` (one problem per line, paths relative).
fn check(files: &[(&str, &str)], expected_code: i32, expected: &[&str]) {
    let env = Env::new();
    for (name, text) in files {
        std::fs::write(env.dir.path().join(name), text).unwrap();
    }
    let profile = env.dir.path().join("p.toml");
    let run = env.aiopt(&["profile", "check", &profile.display().to_string()]);
    run.expect_code(expected_code);
    let dir = format!("{}/", env.dir.path().display());
    let stderr = run.stderr().replace(&dir, "").replacen("error: ", "", 1);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines, expected, "full stderr:\n{}", run.stderr());
}

#[test]
fn data_file_problems_are_all_reported_with_positions() {
    check(
        &[
            ("p.toml", PROFILE),
            (
                "obs.csv",
                "model,quality_score,latency_p95_ms\na,0.5,100\nc,0.6,90\nb,abc,-3\nb,0.7\n\"a\",inf,5\n",
            ),
            (
                "obs.jsonl",
                "{\"model\": \"a\", \"quality_score\": 0.4}\n{\"model\": \"b\", \"quality_score\": \"x\"}\nnot json\n",
            ),
            (
                "req.csv",
                "served_by,prompt,latency_ms,score,input_tokens,cost_usd,gpu_ms\nm1,p1,12.5,0.9,10,0.001,3\n,p2,10,1.5,-1,0.002,\nm2,p1,-4,0.5,3,x,2\n",
            ),
        ],
        3,
        &[
            "obs.csv:3:1: `model` = `c` is outside its domain: expected one of a, b",
            "obs.csv:4:3: `quality_score` must be a number, found `abc`",
            "obs.csv:4:7: `latency_p95_ms` must not be negative, found -3",
            "obs.csv:5:1: this row has 2 fields, the header has 3",
            "obs.csv:6:5: `quality_score` must be a finite number, found `inf`",
            "obs.jsonl:2:16: `quality_score` must be a number, found `x`",
            "obs.jsonl:3:2: expected one JSON object per line: expected ident at line 1 column 2",
            "req.csv:3:8: `score` must lie in [0, 1], found 1.5",
            "req.csv:3:12: `input_tokens` must be a whole number ≥ 0, found `-1`",
            "req.csv:3:1: no `served_by`: which model or configuration served this request",
            "req.csv:4:7: `latency_ms` must not be negative, found -4",
            "req.csv:4:16: `cost_usd` must be a number, found `x`",
        ],
    );
}

#[test]
fn valid_data_files_load_with_counts() {
    let env = Env::new();
    for (name, text) in [
        ("p.toml", PROFILE),
        ("obs.csv", "model,quality_score\na,0.5\nb,0.7\n"),
        ("obs.jsonl", "{\"model\": \"b\", \"quality_score\": 0.69}\n\n"),
        (
            "req.csv",
            "served_by,prompt,score,gpu_ms\nm1,p1,0.9,3\nm2,p1,0.5,\n",
        ),
    ] {
        std::fs::write(env.dir.path().join(name), text).unwrap();
    }
    let profile = env.dir.path().join("p.toml").display().to_string();
    let json = env.aiopt(&["profile", "check", &profile, "--json"]).json();
    assert_eq!(json["valid"], true);
    assert_eq!(json["observations"], 3);
    assert_eq!(json["requests"], 2);
}

#[test]
fn missing_knob_columns_and_files_are_named() {
    check(
        &[
            ("p.toml", PROFILE),
            ("obs.csv", "quality_score\n0.5\n"),
            ("obs.jsonl", ""),
        ],
        3,
        &[
            "obs.csv:2:1: no column for knob(s) model; every knob needs a column",
            "obs.jsonl:1:1: the file has no JSON objects: expected one per measured configuration; if nothing has been measured yet, leave it out of `[data]`",
            "req.csv: cannot read the data file: No such file or directory (os error 2)",
        ],
    );
}

#[test]
fn every_example_profile_is_valid() {
    let env = Env::new();
    let examples = crate::util::repo_file("examples");
    let mut checked = 0;
    for entry in std::fs::read_dir(examples).unwrap() {
        let profile = entry.unwrap().path().join("profile.toml");
        if profile.is_file() {
            env.aiopt(&["profile", "check", &profile.display().to_string()])
                .expect_code(0);
            checked += 1;
        }
    }
    assert!(checked >= 3, "found {checked} example profiles");
}

#[test]
fn every_example_profile_benchmarks_with_intervals() {
    let env = Env::new();
    let examples = crate::util::repo_file("examples");
    for entry in std::fs::read_dir(examples).unwrap() {
        let profile = entry.unwrap().path().join("profile.toml");
        if !profile.is_file() {
            continue;
        }
        let path = profile.display().to_string();
        let run = env.aiopt(&["benchmark", &path, "--json"]);
        run.expect_code(0);
        let report = run.json();
        assert!(report["run_id"].as_i64().is_some(), "{path}: the run is stored");
        let configurations = report["configurations"].as_array().unwrap();
        assert!(!configurations.is_empty(), "{path}");
        assert_eq!(
            configurations.iter().filter(|c| c["is_baseline"] == true).count(),
            1,
            "{path}"
        );
        for c in configurations {
            for m in c["metrics"].as_array().unwrap() {
                let (low, value, high) = (
                    m["low"].as_f64().unwrap(),
                    m["value"].as_f64().unwrap(),
                    m["high"].as_f64().unwrap(),
                );
                assert!(low <= value && value <= high, "{path}: {m}");
            }
        }
        // The same seed gives the same report (each run is stored anew).
        let mut again = env.aiopt(&["benchmark", &path, "--json"]).json();
        assert_ne!(again["run_id"], report["run_id"]);
        again["run_id"] = report["run_id"].clone();
        assert_eq!(again, report);
    }
}

#[test]
fn benchmark_compares_baseline_and_best_from_request_records() {
    let env = Env::new();
    let profile = crate::util::repo_file("examples/code-review/profile.toml")
        .display()
        .to_string();
    let report = env.aiopt(&["benchmark", &profile, "--json"]).json();
    let quality = report["comparisons"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["metric"] == "quality_score")
        .expect("quality_score is an objective");
    assert_eq!(quality["best"]["model"], "FuseChat-Gemma-2-9B-Instruct");
    assert_eq!(quality["significant"], true);
    let gpt4 = report["served_by"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["served_by"] == "gpt4_1106_preview")
        .unwrap();
    assert_eq!(gpt4["requests"], 805);
    let cost = &gpt4["cost_per_1000_requests_usd"];
    assert!(cost["low"].as_f64().unwrap() < cost["value"].as_f64().unwrap());

    let filtered = env
        .aiopt(&[
            "benchmark",
            &profile,
            "--config",
            "model=gpt-3.5-turbo-1106",
            "--json",
        ])
        .json();
    assert_eq!(filtered["configurations"].as_array().unwrap().len(), 1);
    let bad = env.aiopt(&["benchmark", &profile, "--config", "modle=x"]);
    bad.expect_code(1);
    assert!(
        bad.stderr().contains("`modle` is not a knob of `code-review`"),
        "{}",
        bad.stderr()
    );
}

#[test]
fn benchmark_run_measures_a_configuration_with_the_users_command() {
    let env = Env::new();
    let profile = crate::util::repo_file("examples/code-review/profile.toml")
        .display()
        .to_string();
    // A stand-in for the user's measurement script: it echoes a metric
    // derived from the knob it was given, so the test can see the wiring.
    let command = r#"read config; case "$AIOPT_KNOB_MODEL" in gpt-3.5-turbo-1106) echo '{"latency_p95_ms": 412.5}';; *) exit 9;; esac"#;
    let run = env.aiopt(&[
        "benchmark",
        &profile,
        "--config",
        "model=gpt-3.5-turbo-1106",
        "--run",
        command,
        "--repeat",
        "3",
        "--json",
    ]);
    run.expect_code(0);
    let report = run.json();
    let configuration = &report["configurations"][0];
    assert_eq!(configuration["config"]["model"], "gpt-3.5-turbo-1106");
    assert_eq!(configuration["replicates"], 4, "1 observation + 3 live runs");
    let latency = configuration["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["metric"] == "latency_p95_ms")
        .expect("the live metric");
    assert_eq!(
        (latency["value"].as_f64(), latency["n"].as_u64()),
        (Some(412.5), Some(3))
    );

    let failing = env.aiopt(&[
        "benchmark",
        &profile,
        "--run",
        "echo 'cuda error' >&2; exit 2",
        "--repeat",
        "1",
    ]);
    failing.expect_code(8);
    assert!(
        failing.stderr().contains("exited with exit status: 2"),
        "{}",
        failing.stderr()
    );
    assert!(failing.stderr().contains("cuda error"), "{}", failing.stderr());
    let slow = env.aiopt(&[
        "benchmark",
        &profile,
        "--run",
        "sleep 10",
        "--repeat",
        "1",
        "--timeout-ms",
        "200",
    ]);
    slow.expect_code(8);
    assert!(
        slow.stderr().contains("did not finish within 200 ms"),
        "{}",
        slow.stderr()
    );
}

/// One failing profile per validation rule, with the exact message. Each
/// case replaces part of a valid profile.
#[test]
fn every_toml_rule_has_an_exact_message() {
    const VALID: &str = "name = \"p\"\nkind = \"code-review\"\n[[space]]\nname = \"t\"\ntype = \"real\"\nlow = 0.0\nhigh = 1.0\n[baseline]\nt = 0.5\n[[objectives]]\nmetric = \"quality_score\"\ndirection = \"maximize\"\n[[observations]]\nt = 0.5\nquality_score = 0.8\n";
    let cases: &[(&str, &str, &str)] = &[
        ("name = \"p\"", "nmae = \"p\"", "p.toml:1:1: unknown key `nmae` in the profile (did you mean `name`?); expected one of: format, name, kind, description, space, baseline, objectives, constraints, workload, options, data, observations"),
        ("t = 0.5\n[[objectives]]", "t = 1.5\n[[objectives]]", "p.toml:9:5: `t` = 1.5 is outside its domain: expected a real in [0, 1]"),
        ("low = 0.0\nhigh = 1.0", "low = 1.0\nhigh = 0.0", "p.toml:3:1: knob `t`: `low` (1) must be below `high` (0)"),
        ("type = \"real\"", "type = \"reel\"", "p.toml:5:8: knob `t` has unknown type `reel` (did you mean `real`?); expected real, integer, choice or flag"),
        ("low = 0.0\nhigh = 1.0", "low = 0.0\nhigh = 1.0\nlog = true", "p.toml:3:1: knob `t`: a log scale needs `low` > 0 (>= 1 for integers)"),
        ("direction = \"maximize\"", "direction = \"maximise\"", "p.toml:10:1: direction `maximise` is not `minimize` or `maximize`"),
        ("metric = \"quality_score\"\ndirection", "metric = \"quality\"\ndirection", "p.toml:10:1: objectives name metric `quality`, which no observation measures; measured: quality_score"),
        ("quality_score = 0.8", "quality_score = nan", "p.toml:15:17: `quality_score` must be a finite number, found nan"),
        ("quality_score = 0.8", "quality_score = 0.8\nlatency_p95_ms = -5.0", "p.toml:16:18: `latency_p95_ms` must not be negative, found -5"),
        ("[baseline]\nt = 0.5", "[baseline]\nt = 0.5\ntemperature = 0.5", "p.toml:10:1: `[baseline]` sets `temperature`, which is not a knob of the search space"),
        ("[baseline]\nt = 0.5\n", "", "p.toml:1:1: missing `[baseline]`: the configuration in use today"),
        ("[[objectives]]", "[workload]\npeak_requests_per_second = -1\n[[objectives]]", "p.toml:11:28: `peak_requests_per_second` must not be negative"),
        ("[[objectives]]", "[[constraints]]\nmetric = \"quality_score\"\nlow = 0.9\nhigh = 0.1\n[[objectives]]", "p.toml:10:1: constraint on `quality_score`: `low` (0.9) is above `high` (0.1)"),
        ("[[objectives]]", "[[constraints]]\nmetric = \"quality_score\"\n[[objectives]]", "p.toml:10:1: constraint on `quality_score` needs `low`, `high` or both"),
        ("type = \"real\"\nlow = 0.0\nhigh = 1.0", "type = \"choice\"\nvalues = []", "p.toml:6:10: choice knob `t` has no values"),
        ("type = \"real\"\nlow = 0.0\nhigh = 1.0", "type = \"choice\"\nvalues = [\"a\", \"a\"]", "p.toml:6:16: choice knob `t` lists `a` twice"),
        ("type = \"real\"\nlow = 0.0\nhigh = 1.0", "type = \"integer\"\nlow = 0\nhigh = 9007199254740993", "p.toml:3:1: knob `t`: integer bounds must lie within ±2^53 (9007199254740992)"),
        ("direction = \"maximize\"", "direction = \"maximize\"\n[[objectives]]\nmetric = \"quality_score\"\ndirection = \"minimize\"", "p.toml:13:1: metric `quality_score` is an objective twice"),
        ("quality_score = 0.8", "", "p.toml:13:1: observation 1 has no metric values (columns that are not knobs)"),
        ("name = \"p\"", "format = 2\nname = \"p\"", "p.toml:1:10: profile format 2 is not supported; this aiopt reads format 1"),
        ("[[space]]\nname = \"t\"", "[[space]]\nname = \"t\"\ntype = \"flag\"\n[[space]]\nname = \"t\"", "p.toml:6:1: duplicate knob `t` in the search space"),
    ];
    let env = Env::new();
    let file = env.dir.path().join("p.toml");
    let path = file.display().to_string();
    for (from, to, expected) in cases {
        assert!(VALID.contains(from), "case {from:?} does not apply");
        std::fs::write(&file, VALID.replacen(from, to, 1)).unwrap();
        let run = env.aiopt(&["profile", "check", &path]);
        run.expect_code(3);
        let dir = format!("{}/", env.dir.path().display());
        let stderr = run.stderr().replace(&dir, "").replacen("error: ", "", 1);
        assert!(
            stderr.lines().any(|l| l == *expected),
            "expected line:\n{expected}\nin:\n{stderr}"
        );
    }
    std::fs::write(&file, VALID).unwrap();
    env.aiopt(&["profile", "check", &path]).expect_code(0);
}

#[test]
fn invalid_profiles_report_problems_as_json_too() {
    let env = Env::new();
    let file = env.dir.path().join("p.toml");
    std::fs::write(&file, "name = \"p\"\nkind = \"k\"\nspace = 3\n").unwrap();
    let run = env.aiopt(&["profile", "check", &file.display().to_string(), "--json"]);
    run.expect_code(3);
    let doc = run.json();
    assert_eq!(doc["valid"], false);
    let first = &doc["problems"][0];
    assert_eq!(
        (first["line"].as_u64(), first["column"].as_u64()),
        (Some(3), Some(9))
    );
    assert_eq!(
        first["message"],
        "`space` must be an array of tables (`[[...]]`), found integer"
    );
}

/// A one-knob profile reading `[data] KEY = ENTRY` (line 10, column
/// `KEY.len() + 4`).
fn profile_with_data(key: &str, entry: &str) -> String {
    format!(
        "name = \"p\"\nkind = \"k\"\n[[space]]\nname = \"m\"\ntype = \"choice\"\nvalues = [\"a\", \"b\"]\n\
         [baseline]\nm = \"a\"\n[data]\n{key} = {}\n",
        serde_json::to_string(entry).unwrap()
    )
}

/// Runs `aiopt profile check DIR/p.toml EXTRA...` and returns the run with
/// its stderr, `DIR/` removed.
fn check_in(env: &Env, dir: &std::path::Path, extra: &[&str]) -> (crate::util::Run, String) {
    let profile = dir.join("p.toml").display().to_string();
    let mut args = vec!["profile", "check", profile.as_str()];
    args.extend_from_slice(extra);
    let run = env.aiopt(&args);
    let stderr = run
        .stderr()
        .replace(&format!("{}/", dir.display()), "")
        .replacen("error: ", "", 1);
    (run, stderr)
}

#[test]
fn data_outside_the_profile_folder_is_refused_unless_allowed() {
    let env = Env::new();
    let root = env.dir.path().canonicalize().unwrap();
    let (folder, shared) = (root.join("profile"), root.join("shared"));
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::create_dir_all(&shared).unwrap();
    // Malformed, so that a read would show in a problem.
    std::fs::write(shared.join("obs.csv"), "m,quality_score\nTOPSECRET-ROW,1\n").unwrap();
    std::os::unix::fs::symlink(shared.join("obs.csv"), folder.join("link.csv")).unwrap();
    let absolute = shared.join("obs.csv").display().to_string();
    std::fs::create_dir_all(folder.join("sub")).unwrap();
    for entry in [
        "../shared/obs.csv",
        absolute.as_str(),
        "link.csv",
        "sub/../../shared/obs.csv",
    ] {
        std::fs::write(folder.join("p.toml"), profile_with_data("observations", entry)).unwrap();
        let (run, stderr) = check_in(&env, &folder, &[]);
        run.expect_code(3);
        assert_eq!(
            stderr.trim_end(),
            format!(
                "p.toml:10:16: `[data] observations` = {} is outside the profile's folder (it resolves to \
                 {absolute}); a profile reads data only from its own folder: move the file there, or \
                 pass --allow-data {absolute}",
                serde_json::to_string(entry).unwrap()
            ),
            "{entry}"
        );
        assert!(!run.stderr().contains("TOPSECRET"), "{}", run.stderr());
        // Allowed explicitly (the file, or a folder holding it), it is read.
        let shared_dir = shared.display().to_string();
        for allowed in [absolute.as_str(), shared_dir.as_str()] {
            let (run, stderr) = check_in(&env, &folder, &["--allow-data", allowed]);
            run.expect_code(3);
            assert!(
                stderr.contains("`m` = `TOPSECRET-ROW` is outside its domain"),
                "{stderr}"
            );
        }
    }
    // A path that leaves the folder and comes back stays inside.
    std::fs::write(folder.join("obs.csv"), "m,quality_score\na,0.5\n").unwrap();
    std::fs::write(
        folder.join("p.toml"),
        profile_with_data("observations", "../profile/obs.csv"),
    )
    .unwrap();
    check_in(&env, &folder, &[]).0.expect_code(0);
    // Every command that loads a profile file takes the flag.
    std::fs::write(shared.join("obs.csv"), "m,quality_score\na,0.5\n").unwrap();
    std::fs::write(
        folder.join("p.toml"),
        profile_with_data("observations", "../shared/obs.csv"),
    )
    .unwrap();
    let profile = folder.join("p.toml").display().to_string();
    env.aiopt(&["profile", "import", &profile]).expect_code(3);
    env.aiopt(&["profile", "import", &profile, "--allow-data", &absolute])
        .expect_code(0);
    env.aiopt(&["--allow-data", &absolute, "benchmark", &profile, "--json"])
        .expect_code(0);
    let missing = env.aiopt(&["profile", "check", &profile, "--allow-data", "/no/such/path"]);
    missing.expect_code(2);
    assert!(
        missing
            .stderr()
            .contains("invalid value '/no/such/path' for '--allow-data <PATH>'"),
        "{}",
        missing.stderr()
    );
}

#[test]
fn invalid_utf8_in_a_profile_is_located() {
    let env = Env::new();
    std::fs::write(
        env.dir.path().join("p.toml"),
        b"name = \"p\"\nkind = \"k\xc3\xa9\xff\"\n",
    )
    .unwrap();
    let (run, stderr) = check_in(&env, env.dir.path(), &[]);
    run.expect_code(3);
    assert_eq!(
        stderr.trim_end(),
        "p.toml:2:11: invalid UTF-8: byte 0xff cannot appear here; a profile must be UTF-8 text"
    );
}

/// Every way a data file can be empty or cut short, with its problem.
#[test]
fn empty_and_cut_short_data_files_are_refused() {
    let cases: &[(&str, &str, &str, &str)] = &[
        ("observations", "obs.csv", "", "obs.csv:1:1: the file is empty: expected a header line, then one row per measured configuration; if nothing has been measured yet, leave it out of `[data]`"),
        ("observations", "obs.csv", "m,quality_score\n", "obs.csv:1:1: the file has a header but no rows: expected one row per measured configuration; if nothing has been measured yet, leave it out of `[data]`"),
        ("observations", "obs.jsonl", "\n\n", "obs.jsonl:1:1: the file has no JSON objects: expected one per measured configuration; if nothing has been measured yet, leave it out of `[data]`"),
        ("requests", "req.csv", "", "req.csv:1:1: the file is empty: expected a header line, then one row per served request; if no requests were recorded, leave it out of `[data]`"),
        ("requests", "req.csv", "served_by,score\n", "req.csv:1:1: the file has a header but no rows: expected one row per served request; if no requests were recorded, leave it out of `[data]`"),
        ("requests", "req.csv", "served_by,prompt,score\na,p1,0.5\nb,p2,0.", "req.csv:3:1: the file ends inside this row (no line break after it), so it may have been cut short; if the row is complete, end it with a line break"),
        ("requests", "req.csv", "served_by,prompt,score\na,p1,0.5\nb,p2,", "req.csv:3:1: the file ends inside this row (no line break after it), so it may have been cut short; if the row is complete, end it with a line break"),
        ("observations", "obs.csv", "m,quality_score\na,0.5\nb,0.6", "obs.csv:3:1: the file ends inside this row (no line break after it), so it may have been cut short; if the row is complete, end it with a line break"),
        ("requests", "req.jsonl", "{\"served_by\": \"a\", \"score\": 0.5}\n{\"served_by\": \"b\", \"score\": 0.", "req.jsonl:2:30: the file ends inside this JSON object, so it was cut short: EOF while parsing a value at line 1 column 30"),
    ];
    for (key, name, text, expected) in cases {
        let env = Env::new();
        std::fs::write(env.dir.path().join("p.toml"), profile_with_data(key, name)).unwrap();
        std::fs::write(env.dir.path().join(name), text).unwrap();
        let (run, stderr) = check_in(&env, env.dir.path(), &[]);
        assert_eq!(stderr.trim_end(), *expected, "{name}: {text:?}");
        run.expect_code(3);
    }
    // JSON Lines may end without a line break after a whole object.
    let env = Env::new();
    std::fs::write(
        env.dir.path().join("p.toml"),
        profile_with_data("requests", "req.jsonl"),
    )
    .unwrap();
    std::fs::write(
        env.dir.path().join("req.jsonl"),
        "{\"served_by\": \"a\"}\n{\"served_by\": \"b\"}",
    )
    .unwrap();
    check_in(&env, env.dir.path(), &[]).0.expect_code(0);
}

/// A JSON Lines problem points at the key in its own line, not in the first.
#[test]
fn json_lines_columns_are_found_in_the_problem_line() {
    check(
        &[
            ("p.toml", PROFILE),
            ("obs.csv", "model,quality_score\na,0.5\n"),
            (
                "obs.jsonl",
                "{\"model\": \"a\", \"quality_score\": 0.4}\n{\"quality_score\": \"x\", \"model\": \"b\"}\n",
            ),
            ("req.csv", "served_by\nm1\n"),
        ],
        3,
        &["obs.jsonl:2:2: `quality_score` must be a number, found `x`"],
    );
}

/// Builds a JSON Lines request log where line `i` adds the key `m{i}`:
/// the shape that took cubic time to load.
fn wide_request_log(lines: usize) -> String {
    (1..=lines)
        .map(|i| format!("{{\"served_by\": \"a\", \"m{i}\": {i}}}\n"))
        .collect()
}

#[test]
fn data_files_have_at_most_1024_columns() {
    let env = Env::new();
    std::fs::write(
        env.dir.path().join("p.toml"),
        profile_with_data("requests", "req.jsonl"),
    )
    .unwrap();
    // `served_by` and 1,023 custom metrics: exactly the limit, loads.
    std::fs::write(env.dir.path().join("req.jsonl"), wide_request_log(1023)).unwrap();
    let profile = env.dir.path().join("p.toml").display().to_string();
    let json = env.aiopt(&["profile", "check", &profile, "--json"]).json();
    assert_eq!(json["requests"], 1023, "{json}");
    // One more key is refused where it appears; the rest of the file is
    // still checked.
    std::fs::write(env.dir.path().join("req.jsonl"), wide_request_log(1100)).unwrap();
    let (run, stderr) = check_in(&env, env.dir.path(), &[]);
    run.expect_code(3);
    let first = stderr.lines().next().unwrap_or_default();
    assert_eq!(
        first,
        "req.jsonl:1024:20: this line adds a 1025th column, `m1024`; a data file may have at most 1024 \
         columns (CSV header fields or distinct JSON keys)"
    );
    // 77 lines add a column beyond the limit: 50 listed, the rest counted.
    assert_eq!(
        stderr.lines().last().unwrap_or_default(),
        "req.jsonl: 27 more problems in this file were not listed"
    );

    let header: Vec<String> = (0..1025).map(|i| format!("c{i}")).collect();
    std::fs::write(
        env.dir.path().join("p.toml"),
        profile_with_data("observations", "obs.csv"),
    )
    .unwrap();
    std::fs::write(
        env.dir.path().join("obs.csv"),
        format!("m,{}\n", header.join(",")),
    )
    .unwrap();
    let (run, stderr) = check_in(&env, env.dir.path(), &[]);
    run.expect_code(3);
    assert_eq!(
        stderr.trim_end(),
        "obs.csv:1:1: the header has 1026 columns; a data file may have at most 1024"
    );
}

#[test]
fn data_file_lines_are_at_most_one_mib() {
    let env = Env::new();
    std::fs::write(
        env.dir.path().join("p.toml"),
        profile_with_data("requests", "req.csv"),
    )
    .unwrap();
    let long = "x".repeat(1 << 20);
    std::fs::write(
        env.dir.path().join("req.csv"),
        format!("served_by,prompt\na,p\nb,{long}\nc,p\n"),
    )
    .unwrap();
    let (run, stderr) = check_in(&env, env.dir.path(), &[]);
    run.expect_code(3);
    assert_eq!(
        stderr.trim_end(),
        "req.csv:3:1: this line is longer than 1 MiB (1048576 bytes), the limit for one line of a data \
         file; reading stopped here"
    );
    // A line of exactly 1 MiB (without its line break) is fine.
    let long = "x".repeat((1 << 20) - 2);
    std::fs::write(
        env.dir.path().join("req.csv"),
        format!("served_by,prompt\nb,{long}\n"),
    )
    .unwrap();
    check_in(&env, env.dir.path(), &[]).0.expect_code(0);
}

#[test]
fn choice_knobs_have_at_most_a_million_labels() {
    let env = Env::new();
    let knob = |labels: usize| {
        let values: Vec<String> = (0..labels).map(|i| format!("\"l{i}\"")).collect();
        format!(
            "name = \"p\"\nkind = \"k\"\n[[space]]\nname = \"m\"\ntype = \"choice\"\nvalues = [{}]\n\
             [baseline]\nm = \"l0\"\n[data]\nobservations = \"obs.csv\"\n",
            values.join(", ")
        )
    };
    // 200,000 labels, and observations of some of them, load.
    let rows: String = (0..2000).map(|i| format!("l{},0.5\n", i * 97)).collect();
    std::fs::write(env.dir.path().join("obs.csv"), format!("m,quality_score\n{rows}")).unwrap();
    std::fs::write(env.dir.path().join("p.toml"), knob(200_000)).unwrap();
    let profile = env.dir.path().join("p.toml").display().to_string();
    let json = env.aiopt(&["profile", "check", &profile, "--json"]).json();
    assert_eq!(json["observations"], 2000, "{json}");
    // A label outside the domain: the message lists a few, not 200,000.
    std::fs::write(env.dir.path().join("obs.csv"), "m,quality_score\nzzz,0.5\n").unwrap();
    let (run, stderr) = check_in(&env, env.dir.path(), &[]);
    run.expect_code(3);
    assert_eq!(
        stderr.trim_end(),
        "obs.csv:2:1: `m` = `zzz` is outside its domain: expected one of l0, l1, l2, l3, l4, l5, l6, l7, \
         l8, l9, … (200000 labels)"
    );
    std::fs::write(env.dir.path().join("p.toml"), knob(1_000_001)).unwrap();
    let (run, stderr) = check_in(&env, env.dir.path(), &[]);
    run.expect_code(3);
    assert_eq!(
        stderr.trim_end(),
        "p.toml:6:10: choice knob `m` has 1000001 labels; a choice knob may have at most 1000000"
    );
}
