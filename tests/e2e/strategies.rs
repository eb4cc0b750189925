//! The cost, quality and performance strategies through the binary, on the
//! example profiles and their real request records.

use crate::util::{repo_file, Env};

fn example(name: &str) -> String {
    repo_file(&format!("examples/{name}/profile.toml"))
        .display()
        .to_string()
}

#[test]
fn cost_finds_a_cheaper_model_that_keeps_the_quality_floor_and_applies() {
    let env = Env::new();
    let run = env.aiopt(&["optimize", &example("code-review"), "--type", "cost", "--json"]);
    run.expect_code(0);
    let out = run.json();
    let first = &out["report"]["proposals"][0];
    assert_eq!(
        first["title"], "switch to FuseChat-Llama-3.1-8B-Instruct",
        "{out}"
    );
    let predicted = first["predicted"].as_array().unwrap();
    let metric = |name: &str| predicted.iter().find(|e| e["metric"] == name).unwrap().clone();
    // The profile's constraint is quality_score >= 0.5: every proposal keeps
    // it at the lower end of its interval.
    for proposal in out["report"]["proposals"].as_array().unwrap() {
        let q = proposal["predicted"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["metric"] == "quality_score")
            .unwrap()
            .clone();
        assert!(q["low"].as_f64().unwrap() >= 0.5, "{proposal}");
    }
    let cost = metric("cost_per_request_usd");
    assert!(cost["value"].as_f64().unwrap() < 0.0002, "{cost}");
    // The same seed gives the same report.
    let again = env
        .aiopt(&["optimize", "code-review", "--type", "cost", "--json"])
        .json();
    assert_eq!(again["report"], out["report"]);
    let id = out["report_id"].as_i64().unwrap();
    env.aiopt(&["config", "apply", "code-review", "--proposal", &format!("{id}.1")])
        .expect_code(0);
    let shown = env.aiopt(&["config", "show", "code-review", "--json"]).json();
    assert_eq!(
        shown["config"]["model"], "FuseChat-Llama-3.1-8B-Instruct",
        "{shown}"
    );
}

#[test]
fn cost_on_a_two_knob_profile_reads_knob_value_labels() {
    let env = Env::new();
    let run = env.aiopt(&["optimize", &example("doc-generator"), "--type", "cost"]);
    run.expect_code(0);
    let out = run.stdout();
    assert!(
        out.contains("switch to model=FuseChat-Llama-3.1-8B-Instruct;style=default"),
        "{out}"
    );
    assert!(out.contains("cascade: "), "{out}");
    assert!(out.contains("an exact-match cache would not have hit"), "{out}");
}

#[test]
fn a_profile_without_request_records_is_told_which_columns_are_needed() {
    let env = Env::new();
    let run = env.aiopt(&["optimize", &example("semantic-search"), "--type", "cost"]);
    run.expect_code(5);
    assert!(
        run.stderr()
            .contains("needs request records with columns served_by, cost_usd and score"),
        "{}",
        run.stderr()
    );
}

#[test]
fn a_strategy_of_another_kind_is_refused_by_name() {
    let env = Env::new();
    let run = env.aiopt(&[
        "optimize",
        &example("code-review"),
        "--type",
        "cost",
        "--strategy",
        "random",
    ]);
    run.expect_code(2);
    assert!(
        run.stderr()
            .contains("strategy `random` does not do cost optimization"),
        "{}",
        run.stderr()
    );
}

#[test]
fn performance_judges_latency_at_the_peak_and_explains_what_limits_it() {
    let env = Env::new();
    let run = env.aiopt(&["optimize", &example("semantic-search"), "--type", "performance"]);
    run.expect_code(0);
    let out = run.stdout();
    assert!(
        out.contains("report 1 from performance 0.1.0 for `semantic-search` (performance; fuel "),
        "{out}"
    );
    assert!(out.contains("1. lowest p95 latency at the peak: "), "{out}");
    assert!(out.contains("latency_p95_ms_at_peak"), "{out}");
    assert!(
        out.contains("headroom over the peak; the bottleneck is "),
        "{out}"
    );
    // The example's recall floor is 0.99, which the baseline misses.
    assert!(out.contains("but the baseline breaks recall_at_10"), "{out}");
    // Every proposal keeps the recall floor and the p95 SLO at the peak.
    let json = env
        .aiopt(&["optimize", "semantic-search", "--type", "performance", "--json"])
        .json();
    for p in json["report"]["proposals"].as_array().unwrap() {
        let get = |m: &str| {
            p["predicted"]
                .as_array()
                .unwrap()
                .iter()
                .find(|e| e["metric"] == m)
                .unwrap()["value"]
                .as_f64()
                .unwrap()
        };
        assert!(get("recall_at_10") >= 0.99, "{p}");
        assert!(get("latency_p95_ms_at_peak") <= 0.25, "{p}");
    }
}

#[test]
fn performance_without_latency_says_which_metrics_it_needs() {
    let env = Env::new();
    let run = env.aiopt(&["optimize", &example("code-review"), "--type", "performance"]);
    run.expect_code(5);
    assert!(
        run.stderr()
            .contains("needs observations with latency_p50_ms and latency_p95_ms"),
        "{}",
        run.stderr()
    );
}

#[test]
fn reports_show_before_and_after_against_the_baseline() {
    let env = Env::new();
    let run = env.aiopt(&["optimize", &example("code-review"), "--type", "cost"]);
    run.expect_code(0);
    let out = run.stdout();
    assert!(
        out.contains("cost_per_request_usd     0.01578 → 0.0001099"),
        "{out}"
    );
    assert!(out.contains("(-99.3%)"), "{out}");
    assert!(out.contains("quality_score            0.5000 → 0.6333"), "{out}");
}

#[test]
fn recommend_runs_every_applicable_strategy_and_ranks_by_score() {
    let env = Env::new();
    env.aiopt(&["profile", "import", &example("code-review")])
        .expect_code(0);
    let out = env.aiopt(&["recommend", "code-review", "--json"]).json();
    let strategies = out["strategies"].as_array().unwrap();
    assert!(
        strategies
            .iter()
            .any(|s| s.as_str().unwrap().starts_with("cost@")),
        "{out}"
    );
    let notes = out["report"]["notes"].as_array().unwrap();
    // No latency in this profile: performance says why it does not apply.
    assert!(
        notes
            .iter()
            .any(|n| n.as_str().unwrap().starts_with("performance: not applicable: ")),
        "{out}"
    );
    // Titles carry the strategy and score, best first.
    let scores: Vec<f64> = out["report"]["proposals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let title = p["title"].as_str().unwrap();
            let score = title.split("score ").nth(1).unwrap().split(']').next().unwrap();
            score.parse().unwrap()
        })
        .collect();
    assert!(scores.len() >= 2, "{out}");
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");
}

/// A copy of example `name` in `dir` whose request records are only the
/// prompts with `train(prompt)`; returns the profile's path and the other
/// records' mean (cost, score) per served_by label.
fn split_example(
    env: &Env,
    name: &str,
    train: impl Fn(u64) -> bool,
) -> (String, std::collections::BTreeMap<String, (f64, f64)>) {
    let dir = env.dir.path().join(name);
    std::fs::create_dir_all(&dir).unwrap();
    let source = repo_file(&format!("examples/{name}"));
    for file in std::fs::read_dir(&source).unwrap().flatten() {
        let path = file.path();
        if path.extension().is_some_and(|e| e == "toml" || e == "csv")
            && path.file_name().unwrap() != "requests.csv"
        {
            std::fs::copy(&path, dir.join(path.file_name().unwrap())).unwrap();
        }
    }
    let text = std::fs::read_to_string(source.join("requests.csv")).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    let columns: Vec<&str> = header.split(',').collect();
    let at = |c: &str| columns.iter().position(|x| *x == c).unwrap();
    let (label, prompt, cost, score) = (at("served_by"), at("prompt"), at("cost_usd"), at("score"));
    let mut kept = vec![header.to_string()];
    let mut sums: std::collections::BTreeMap<String, (f64, f64, f64)> = Default::default();
    for line in lines {
        let fields: Vec<&str> = line.split(',').collect();
        if train(fields[prompt].parse().unwrap()) {
            kept.push(line.to_string());
        } else {
            let e = sums.entry(fields[label].to_string()).or_default();
            e.0 += fields[cost].parse::<f64>().unwrap();
            e.1 += fields[score].parse::<f64>().unwrap();
            e.2 += 1.0;
        }
    }
    std::fs::write(dir.join("requests.csv"), kept.join("\n") + "\n").unwrap();
    let held_out = sums
        .into_iter()
        .map(|(l, (c, s, n))| (l, (c / n, s / n)))
        .collect();
    (dir.join("profile.toml").display().to_string(), held_out)
}

#[test]
fn cost_proposals_learned_on_half_the_prompts_hold_on_the_other_half() {
    for (example, baseline) in [
        ("code-review", "gpt4_1106_preview"),
        ("doc-generator", "model=gpt4_1106_preview;style=default"),
    ] {
        let env = Env::new();
        let (profile, held_out) = split_example(&env, example, |p| p % 2 == 0);
        let out = env
            .aiopt(&["optimize", &profile, "--type", "cost", "--json"])
            .json();
        let first = &out["report"]["proposals"][0];
        let title = first["title"].as_str().unwrap();
        let label = title
            .strip_prefix("switch to ")
            .unwrap_or_else(|| panic!("{out}"));
        let (cost, quality) = held_out[label];
        let (baseline_cost, _) = held_out[baseline];
        // The predicted saving is real on prompts the strategy never saw,
        // and the quality floor (0.5 and 0.3) holds there too.
        assert!(
            cost < baseline_cost / 10.0,
            "{example}: {label} {cost} vs {baseline_cost}"
        );
        let floor = if example == "code-review" { 0.5 } else { 0.3 };
        assert!(quality >= floor, "{example}: {label} {quality}");
    }
}

#[test]
fn quality_gains_learned_on_half_the_prompts_hold_on_the_other_half() {
    let env = Env::new();
    let (profile, held_out) = split_example(&env, "code-review", |p| p % 2 == 0);
    let out = env
        .aiopt(&["optimize", &profile, "--type", "quality", "--json"])
        .json();
    let proposals = out["report"]["proposals"].as_array().unwrap();
    let switch = proposals
        .iter()
        .find(|p| p["title"].as_str().unwrap().starts_with("switch to "))
        .unwrap_or_else(|| panic!("{out}"));
    let label = switch["title"]
        .as_str()
        .unwrap()
        .strip_prefix("switch to ")
        .unwrap();
    let (_, quality) = held_out[label];
    let (_, baseline_quality) = held_out["gpt4_1106_preview"];
    assert!(
        quality > baseline_quality + 0.1,
        "{label}: {quality} vs {baseline_quality}"
    );
    // Best-of-n says what it rests on.
    for p in proposals
        .iter()
        .filter(|p| p["title"].as_str().unwrap().starts_with("best-of-"))
    {
        assert!(p["title"].as_str().unwrap().contains("needs a judge"), "{p}");
    }
}

#[test]
fn quality_without_request_records_uses_the_observations_and_keeps_the_constraints() {
    let env = Env::new();
    let out = env
        .aiopt(&[
            "optimize",
            &example("semantic-search"),
            "--type",
            "quality",
            "--json",
        ])
        .json();
    let first = &out["report"]["proposals"][0];
    let recall = first["predicted"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["metric"] == "recall_at_10")
        .unwrap();
    assert!(recall["low"].as_f64().unwrap() >= 0.99, "{first}");
    let notes = out["report"]["notes"].to_string();
    assert!(notes.contains("No usable request records"), "{notes}");
}

#[test]
fn performance_chosen_on_one_replicate_keeps_the_constraints_on_the_other() {
    let env = Env::new();
    let source = repo_file("examples/semantic-search");
    let dir = env.dir.path().join("hnsw");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(source.join("profile.toml"), dir.join("profile.toml")).unwrap();
    let text = std::fs::read_to_string(source.join("observations.csv")).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    // The first measurement of each configuration is seen, the second held out.
    let mut seen = std::collections::BTreeSet::new();
    let (mut train, mut held_out) = (vec![header.to_string()], Vec::new());
    for line in lines {
        let key: Vec<&str> = line.split(',').take(3).collect();
        if seen.insert(key.join(",")) {
            train.push(line.to_string());
        } else {
            held_out.push(line.to_string());
        }
    }
    std::fs::write(dir.join("observations.csv"), train.join("\n") + "\n").unwrap();
    let profile = dir.join("profile.toml").display().to_string();
    let out = env
        .aiopt(&["optimize", &profile, "--type", "performance", "--json"])
        .json();
    let config = &out["report"]["proposals"][0]["config"];
    let key = format!(
        "{},{},{}",
        config["m"], config["ef_construction"], config["ef_search"]
    );
    let columns: Vec<&str> = header.split(',').collect();
    let at = |c: &str| columns.iter().position(|x| *x == c).unwrap();
    let row: Vec<f64> = held_out
        .iter()
        .find(|l| l.starts_with(&format!("{key},")))
        .unwrap_or_else(|| panic!("{key} not held out"))
        .split(',')
        .map(|f| f.parse().unwrap())
        .collect();
    assert!(row[at("recall_at_10")] >= 0.99, "{key}: {row:?}");
    assert!(row[at("latency_p95_ms")] <= 0.25, "{key}: {row:?}");
}
