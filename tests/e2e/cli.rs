//! The `aiopt` binary: plugin commands, exit codes, determinism across
//! processes, and clear one-line errors for bad input.

use crate::util::{component, example_profile, fixture, Env};

fn profile_arg() -> String {
    example_profile().display().to_string()
}

#[test]
fn plugin_list_shows_the_builtin_random() {
    let env = Env::new();
    let run = env.aiopt(&["plugin", "list"]);
    run.expect_code(0);
    let line = run
        .stdout()
        .lines()
        .find(|l| l.starts_with("random "))
        .unwrap_or_else(|| panic!("no random in:\n{}", run.stdout()))
        .to_string();
    assert!(
        line.contains("tuning") && line.contains("0.1.0") && line.contains("built-in"),
        "{line}"
    );
    let json = env.aiopt(&["plugin", "list", "--json"]).json();
    let random = json
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "random")
        .unwrap();
    assert_eq!(random["contract"], "0.1.0");
    assert_eq!(random["sha256"].as_str().unwrap().len(), 64);
}

#[test]
fn cache_hit_skips_compilation_in_the_next_process() {
    let env = Env::new();
    let first = env.aiopt(&["plugin", "inspect", "random", "--json"]).json();
    assert_eq!(first["loaded_from"], "compiled");
    let second = env.aiopt(&["plugin", "inspect", "random", "--json"]).json();
    assert_eq!(second["loaded_from"], "cache");
    assert_eq!(first["sha256"], second["sha256"]);
}

#[test]
fn same_seed_same_output_across_processes() {
    let env = Env::new();
    let run = |seed: &str| {
        let profile = profile_arg();
        let out = env.aiopt(&[
            "plugin",
            "run",
            "random",
            "--profile",
            &profile,
            "--count",
            "4",
            "--seed",
            seed,
            "--json",
        ]);
        out.expect_code(0);
        let json = out.json();
        (json["result"].clone(), json["usage"]["fuel"].clone())
    };
    let (a, fuel_a) = run("11");
    let (b, fuel_b) = run("11");
    assert_eq!(a, b);
    assert_eq!(fuel_a, fuel_b, "fuel is deterministic too");
    let (c, _) = run("12");
    assert_ne!(a, c);
    assert_eq!(a.as_array().unwrap().len(), 4);
}

#[test]
fn run_prints_result_usage_and_logs() {
    let env = Env::new();
    let profile = profile_arg();
    let run = env.aiopt(&[
        "plugin",
        "run",
        "random",
        "--profile",
        &profile,
        "--call",
        "recommend",
    ]);
    run.expect_code(0);
    assert!(run.stdout().contains("why:"), "{}", run.stdout());
    assert!(
        run.stderr().contains("fuel ") && run.stderr().contains("peak memory"),
        "{}",
        run.stderr()
    );
}

/// Each hostile fixture maps to its documented exit code and error kind.
#[test]
fn hostile_plugins_map_to_exit_codes() {
    let env = Env::new();
    let profile = profile_arg();
    let cases: &[(&str, &[&str], i32, &str)] = &[
        ("loop", &["--fuel", "100000000"], 10, "fuel-exhausted"),
        (
            "loop",
            &["--fuel", "unlimited", "--timeout-ms", "300"],
            11,
            "timeout",
        ),
        ("memory-bomb", &["--memory-mb", "64"], 12, "memory-limit"),
        ("panic", &[], 13, "trap"),
        ("big-output", &[], 14, "invalid-output"),
    ];
    for (name, extra, code, kind) in cases {
        let path = fixture(name).display().to_string();
        let mut args = vec![
            "plugin",
            "run",
            path.as_str(),
            "--profile",
            profile.as_str(),
            "--json",
        ];
        args.extend_from_slice(extra);
        let run = env.aiopt(&args);
        run.expect_code(*code);
        assert_eq!(run.json()["error"]["kind"], *kind, "{name}");
        // The guest's own panic output is echoed; the host itself must not panic.
        assert!(
            !run.stderr().contains("thread 'main'"),
            "the host must not panic:\n{}",
            run.stderr()
        );
    }
    let run = env.aiopt(&[
        "plugin",
        "run",
        &fixture("panic").display().to_string(),
        "--profile",
        &profile,
    ]);
    run.expect_code(13);
    assert!(
        run.stderr()
            .contains("fixture panic: the strategy gave up on purpose"),
        "{}",
        run.stderr()
    );
}

#[test]
fn incompatible_and_non_components_are_refused_at_install() {
    let env = Env::new();
    let run = env.aiopt(&["plugin", "install", &fixture("version-9").display().to_string()]);
    run.expect_code(15);
    assert!(
        run.stderr().contains("aiopt:strategy@9.0.0") && run.stderr().contains("0.1"),
        "{}",
        run.stderr()
    );
    let junk = env.dir.path().join("junk.wasm");
    std::fs::write(&junk, b"definitely not wasm").unwrap();
    env.aiopt(&["plugin", "install", &junk.display().to_string()])
        .expect_code(16);
    let list = env.aiopt(&["plugin", "list", "--json"]).json();
    let installed = list
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["source"]["kind"] == "installed")
        .count();
    assert_eq!(installed, 0, "nothing was installed: {list}");
}

#[test]
fn install_run_and_remove_a_third_party_plugin() {
    let env = Env::new();
    let path = fixture("log-flood").display().to_string();
    let run = env.aiopt(&["plugin", "install", &path]);
    run.expect_code(0);
    assert!(
        run.stdout().contains("installed fixture-log-flood"),
        "{}",
        run.stdout()
    );
    assert!(env
        .aiopt(&["plugin", "list"])
        .stdout()
        .contains("fixture-log-flood"));
    let profile = profile_arg();
    let ran = env.aiopt(&[
        "plugin",
        "run",
        "fixture-log-flood",
        "--profile",
        &profile,
        "--json",
    ]);
    ran.expect_code(0);
    let logs = ran.json()["logs"].as_array().unwrap().clone();
    assert!(logs.last().unwrap()["message"]
        .as_str()
        .unwrap()
        .starts_with("log truncated"));
    // The database records the installation with its hash.
    let db = env.dir.path().join("aiopt.db");
    let store = aiopt::store::Store::open(&db).unwrap();
    let recorded = store.plugins().unwrap();
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].name, "fixture-log-flood");
    assert_eq!(recorded[0].sha256.len(), 64);
    drop(store);
    env.aiopt(&["plugin", "remove", "fixture-log-flood"])
        .expect_code(0);
    assert!(aiopt::store::Store::open(&db)
        .unwrap()
        .plugins()
        .unwrap()
        .is_empty());
    env.aiopt(&["plugin", "inspect", "fixture-log-flood"])
        .expect_code(4);
    // A built-in cannot be shadowed or removed: a usage error (exit 2).
    let random = component("aiopt_random").display().to_string();
    env.aiopt(&["plugin", "install", &random]).expect_code(2);
    env.aiopt(&["plugin", "remove", "random"]).expect_code(2);
}

/// Bad input: one clear line naming the file and position, no panic.
fn assert_one_clear_error(run: &crate::util::Run, code: i32, needle: &str) {
    run.expect_code(code);
    let stderr = run.stderr();
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(stderr.contains(needle), "expected `{needle}` in:\n{stderr}");
    assert!(
        !stderr.contains("panicked") && !stderr.contains("backtrace"),
        "{stderr}"
    );
}

#[test]
fn bad_cli_input_gives_one_clear_error() {
    let env = Env::new();
    let missing = env.dir.path().join("missing.toml");
    let run = env.aiopt(&[
        "plugin",
        "run",
        "random",
        "--profile",
        &missing.display().to_string(),
    ]);
    assert_one_clear_error(&run, 3, "missing.toml: cannot read the profile");
    assert_eq!(run.stderr().lines().count(), 1);

    let profile = profile_arg();
    let run = env.aiopt(&["plugin", "run", "randm", "--profile", &profile]);
    assert_one_clear_error(&run, 4, "no plugin named `randm` (did you mean `random`?)");

    let malformed = env.dir.path().join("malformed.toml");
    std::fs::write(&malformed, "name = \"x\"\nkind = [\n").unwrap();
    let run = env.aiopt(&["profile", "check", &malformed.display().to_string()]);
    assert_one_clear_error(&run, 3, "malformed.toml:");
    assert!(
        run.stderr().contains("malformed.toml:2:") || run.stderr().contains("malformed.toml:3:"),
        "{}",
        run.stderr()
    );

    let missing_wasm = env.dir.path().join("nothing.wasm");
    let run = env.aiopt(&["plugin", "inspect", &missing_wasm.display().to_string()]);
    assert_one_clear_error(&run, 3, "nothing.wasm");
}

#[test]
fn profile_check_reports_every_problem_with_positions() {
    let env = Env::new();
    let file = env.dir.path().join("p.toml");
    std::fs::write(
        &file,
        "name = \"p\"\nkind = \"code-review\"\nobjectivs = []\n\n[[space]]\nname = \"t\"\ntype = \"real\"\nlow = 0.0\nhigh = 1.0\n\n[baseline]\nt = 2.0\n",
    )
    .unwrap();
    let run = env.aiopt(&["profile", "check", &file.display().to_string()]);
    run.expect_code(3);
    let stderr = run.stderr();
    assert!(
        stderr.contains("p.toml:3:1: unknown key `objectivs`")
            && stderr.contains("did you mean `objectives`?"),
        "{stderr}"
    );
    assert!(
        stderr.contains("p.toml:12:5: `t` = 2.0 is outside its domain"),
        "{stderr}"
    );
    env.aiopt(&["profile", "check", &profile_arg()]).expect_code(0);
}

#[test]
fn every_command_has_help_with_an_example() {
    let env = Env::new();
    for args in [
        vec!["--help"],
        vec!["plugin", "list", "--help"],
        vec!["plugin", "inspect", "--help"],
        vec!["plugin", "install", "--help"],
        vec!["plugin", "remove", "--help"],
        vec!["plugin", "run", "--help"],
        vec!["profile", "check", "--help"],
        vec!["benchmark", "--help"],
        vec!["profile", "import", "--help"],
        vec!["profile", "list", "--help"],
        vec!["profile", "show", "--help"],
        vec!["config", "show", "--help"],
        vec!["config", "set", "--help"],
        vec!["config", "apply", "--help"],
        vec!["config", "reset", "--help"],
        vec!["config", "history", "--help"],
        vec!["recommend", "--help"],
        vec!["optimize", "--help"],
        vec!["study", "create", "--help"],
        vec!["study", "ask", "--help"],
        vec!["study", "tell", "--help"],
        vec!["study", "run", "--help"],
        vec!["study", "show", "--help"],
        vec!["study", "list", "--help"],
        vec!["study", "best", "--help"],
        vec!["study", "export", "--help"],
    ] {
        let run = env.aiopt(&args);
        run.expect_code(0);
        assert!(run.stdout().contains("Example"), "{args:?}:\n{}", run.stdout());
    }
}

/// The profile shown in the README must stay valid.
#[test]
fn readme_profile_example_is_valid() {
    let readme = std::fs::read_to_string(crate::util::repo_file("README.md")).unwrap();
    let section = readme.split("## Profiles").nth(1).expect("a Profiles section");
    let block = section
        .split("```toml\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("a toml block");
    let env = Env::new();
    let file = env.dir.path().join("readme.toml");
    std::fs::write(&file, block).unwrap();
    env.aiopt(&["profile", "check", &file.display().to_string()])
        .expect_code(0);
}

/// `aiopt … | head` must end quietly, not panic on the closed pipe.
#[test]
fn a_closed_stdout_pipe_ends_quietly() {
    let env = Env::new();
    let profile = crate::util::repo_file("examples/code-review/profile.toml");
    let script = format!(
        "'{}' --data-dir '{}' benchmark '{}' | true; echo \"status=${{PIPESTATUS[0]}}\"",
        env!("CARGO_BIN_EXE_aiopt"),
        env.dir.path().display(),
        profile.display()
    );
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(&script)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "status=0",
        "{stderr}"
    );
}
