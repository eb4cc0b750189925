//! The SQLite store through the binary: profiles, configuration history,
//! stored reports and benchmark runs, and crash safety of imports.

use std::process::Command;
use std::time::Duration;

use crate::util::{repo_file, Env};

fn code_review() -> String {
    repo_file("examples/code-review/profile.toml")
        .display()
        .to_string()
}

#[test]
fn import_dedupes_by_content_and_lists_the_latest() {
    let env = Env::new();
    let first = env.aiopt(&["profile", "import", &code_review(), "--json"]).json();
    assert_eq!(first["created"], true);
    assert_eq!(first["profile"]["requests"], 4830);
    let again = env.aiopt(&["profile", "import", &code_review(), "--json"]).json();
    assert_eq!(again["created"], false);
    let list = env.aiopt(&["profile", "list", "--json"]).json();
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["name"], "code-review");
    let shown = env.aiopt(&["profile", "show", "code-review", "--json"]).json();
    assert_eq!(shown["profile"]["baseline"][0][1], "gpt4_1106_preview");
    env.aiopt(&["profile", "show", "nope"]).expect_code(7);
}

#[test]
fn config_history_round_trips_set_apply_and_reset() {
    let env = Env::new();
    env.aiopt(&["profile", "import", &code_review()]).expect_code(0);
    env.aiopt(&[
        "config",
        "set",
        "code-review",
        "model=FuseChat-Qwen-2.5-7B-Instruct",
    ])
    .expect_code(0);
    let report = env.aiopt(&["recommend", "code-review", "--json"]).json();
    let report_id = report["report_id"].as_i64().unwrap();
    let second = report["report"]["proposals"][1]["config"]["model"].clone();
    env.aiopt(&[
        "config",
        "apply",
        "code-review",
        "--proposal",
        &format!("{report_id}.2"),
    ])
    .expect_code(0);
    env.aiopt(&["config", "reset", "code-review"]).expect_code(0);
    let history = env.aiopt(&["config", "history", "code-review", "--json"]).json();
    let versions: Vec<_> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["version"].clone())
        .collect();
    assert_eq!(versions.len(), 4);
    assert_eq!(versions[0]["change"], "baseline");
    assert_eq!(versions[1]["change"], "set");
    assert_eq!(versions[1]["config"]["model"], "FuseChat-Qwen-2.5-7B-Instruct");
    assert_eq!(versions[2]["change"], "apply");
    assert_eq!(versions[2]["report_id"], report_id);
    assert_eq!(versions[2]["config"]["model"], second);
    assert_eq!(versions[3]["change"], "reset");
    assert_eq!(versions[3]["config"]["model"], "gpt4_1106_preview");
    assert_eq!(
        history[1]["diff"][0],
        "model: gpt4_1106_preview → FuseChat-Qwen-2.5-7B-Instruct"
    );
    let current = env.aiopt(&["config", "show", "code-review", "--json"]).json();
    assert_eq!(current["version"], 3);

    let bad = env.aiopt(&["config", "set", "code-review", "model=gpt-5"]);
    bad.expect_code(1);
    assert!(
        bad.stderr().contains("`model` = `gpt-5` is outside its domain"),
        "{}",
        bad.stderr()
    );
    env.aiopt(&["config", "apply", "code-review", "--proposal", "99"])
        .expect_code(7);
}

#[test]
fn benchmark_runs_are_stored() {
    let env = Env::new();
    let run = env.aiopt(&["benchmark", &code_review(), "--json"]);
    run.expect_code(0);
    assert_eq!(run.json()["run_id"], 1);
    assert_eq!(
        env.aiopt(&["benchmark", &code_review(), "--json"]).json()["run_id"],
        2
    );
}

#[test]
fn a_killed_import_leaves_the_database_consistent() {
    let env = Env::new();
    // SYNTHETIC request records, only to make the import take long enough
    // to be killed in the middle.
    let dir = env.dir.path();
    let mut csv = String::from("served_by,prompt,latency_ms,cost_usd,score\n");
    for i in 0..400_000 {
        csv.push_str(&format!("m{},p{},{}.5,0.0001,0.5\n", i % 3, i % 1000, i % 900));
    }
    std::fs::write(dir.join("requests.csv"), csv).unwrap();
    std::fs::write(
        dir.join("big.toml"),
        "name = \"big\"\nkind = \"synthetic\"\n[[space]]\nname = \"model\"\ntype = \"choice\"\nvalues = [\"m0\", \"m1\", \"m2\"]\n[baseline]\nmodel = \"m0\"\n[data]\nrequests = \"requests.csv\"\n",
    )
    .unwrap();
    env.aiopt(&["profile", "import", &code_review()]).expect_code(0);
    let big = dir.join("big.toml").display().to_string();
    for delay_ms in [50, 150, 300, 600] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_aiopt"))
            .arg("--data-dir")
            .arg(dir)
            .args(["profile", "import", &big])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn import");
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        let list = env.aiopt(&["profile", "list", "--json"]);
        list.expect_code(0);
        let names: Vec<String> = list
            .json()
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap().to_string())
            .collect();
        assert!(names.contains(&"code-review".to_string()), "{names:?}");
        if names.contains(&"big".to_string()) {
            // If the import committed, it committed whole.
            let shown = env.aiopt(&["profile", "show", "big", "--json"]).json();
            assert_eq!(shown["summary"]["requests"], 400_000);
        }
    }
    env.aiopt(&["profile", "import", &big]).expect_code(0);
    let shown = env.aiopt(&["profile", "show", "big", "--json"]).json();
    assert_eq!(shown["profile"]["requests"]["records"], 400_000);
}
