//! `aiopt serve` through real HTTP on 127.0.0.1: every endpoint's happy
//! path and main error, auth, OpenAPI, metrics, concurrent workers, and a
//! SIGTERM under load.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use serde_json::json;

use crate::http::Server;
use crate::util::{fixture, repo_file, Env};

/// An example profile as the upload body: its TOML and data files.
pub fn upload(example: &str) -> serde_json::Value {
    let dir = repo_file(&format!("examples/{example}"));
    let mut files = serde_json::Map::new();
    for name in ["observations.csv", "requests.csv"] {
        if let Ok(text) = std::fs::read_to_string(dir.join(name)) {
            files.insert(name.into(), text.into());
        }
    }
    json!({ "toml": std::fs::read_to_string(dir.join("profile.toml")).unwrap(), "files": files })
}

#[test]
fn every_endpoint_answers_and_says_what_went_wrong() {
    let env = Env::new();
    let server = Server::start(&env, &[], None);
    let health = server.call("GET", "/api/v1/health", None);
    health.expect(200);
    assert_eq!(health.json()["status"], "ok", "{}", health.body);
    assert_eq!(health.json()["database_writable"], true);

    // Profiles: stored as the CLI stores them; problems with file and line.
    let created = server.call("POST", "/api/v1/profiles", Some(&upload("code-review")));
    created.expect(201);
    assert_eq!(created.json()["profile"]["name"], "code-review");
    let bad = server.call(
        "POST",
        "/api/v1/profiles",
        Some(&json!({ "toml": "name = \"x\"\nkind = [\n" })),
    );
    bad.expect(422);
    assert_eq!(bad.content_type, "application/problem+json");
    let problem = bad.json();
    assert_eq!(problem["type"], "urn:aiopt:problem:validation");
    assert_eq!(problem["problems"][0]["file"], "profile.toml");
    assert_eq!(problem["problems"][0]["line"], 2, "{problem}");
    server.call("GET", "/api/v1/profiles", None).expect(200);
    server
        .call("GET", "/api/v1/profiles/code-review", None)
        .expect(200);
    let missing = server.call("GET", "/api/v1/profiles/nope", None);
    missing.expect(404);
    assert_eq!(missing.json()["type"], "urn:aiopt:problem:not-found");

    // Optimization: the real strategies, reports stored.
    let cost = server.call("POST", "/api/v1/cost-reduction/code-review", None);
    cost.expect(200);
    let report_id = cost.json()["report_id"].as_i64().unwrap();
    assert_eq!(
        cost.json()["report"]["proposals"][0]["title"],
        "switch to FuseChat-Llama-3.1-8B-Instruct"
    );
    // Each proposal against today: the knob it changes, before → after.
    let compared = &cost.json()["comparisons"][0];
    assert_eq!(compared["proposal"], 1);
    assert_eq!(compared["changes"][0]["from"], "gpt4_1106_preview", "{compared}");
    let per_request = compared["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["metric"] == "cost_per_request_usd")
        .unwrap();
    assert!(
        per_request["change_percent"].as_f64().unwrap() < -99.0,
        "{per_request}"
    );
    // Malformed input is a problem too, not axum's plain text.
    let malformed = server.call("POST", "/api/v1/optimize", Some(&json!({ "type": "cost" })));
    malformed.expect(400);
    assert_eq!(malformed.content_type, "application/problem+json");
    assert!(malformed.json()["detail"]
        .as_str()
        .unwrap()
        .contains("missing field `model`"));
    let no_query = server.call("GET", "/api/v1/benchmark", None);
    no_query.expect(400);
    assert_eq!(no_query.content_type, "application/problem+json");
    server
        .call(
            "POST",
            "/api/v1/optimize",
            Some(&json!({ "model": "code-review", "type": "quality" })),
        )
        .expect(200);
    server
        .call("POST", "/api/v1/fine-tune/code-review", None)
        .expect(200);
    let no_latency = server.call("POST", "/api/v1/performance/code-review", None);
    no_latency.expect(422);
    assert_eq!(no_latency.json()["type"], "urn:aiopt:problem:strategy-error");
    server
        .call("POST", "/api/v1/quality/code-review", None)
        .expect(200);
    server
        .call(
            "POST",
            "/api/v1/optimize",
            Some(&json!({ "model": "code-review", "type": "magic" })),
        )
        .expect(400);
    server
        .call("POST", "/api/v1/cost-reduction/unknown-model", None)
        .expect(404);
    let ranked = server.call("GET", "/api/v1/recommendations?profile=code-review", None);
    ranked.expect(200);
    assert!(!ranked.json()["strategies"].as_array().unwrap().is_empty());
    let bench = server.call("GET", "/api/v1/benchmark?profile=code-review", None);
    bench.expect(200);
    assert_eq!(bench.json()["run_id"], 1);

    // Configuration: set, apply a proposal, reset, history.
    server.call("GET", "/api/v1/config/code-review", None).expect(200);
    let set = server.call(
        "PUT",
        "/api/v1/config/code-review",
        Some(&json!({ "config": { "model": "FuseChat-Qwen-2.5-7B-Instruct" } })),
    );
    set.expect(200);
    let outside = server.call(
        "PUT",
        "/api/v1/config/code-review",
        Some(&json!({ "config": { "model": "gpt-5" } })),
    );
    outside.expect(400);
    assert!(outside.json()["detail"]
        .as_str()
        .unwrap()
        .contains("is outside its domain"));
    server
        .call(
            "PUT",
            "/api/v1/config/code-review",
            Some(&json!({ "proposal": format!("{report_id}.1") })),
        )
        .expect(200);
    assert_eq!(
        server.call("GET", "/api/v1/config/code-review", None).json()["config"]["model"],
        "FuseChat-Llama-3.1-8B-Instruct"
    );
    server
        .call("POST", "/api/v1/config/code-review/reset", None)
        .expect(200);
    let history = server.call("GET", "/api/v1/config/code-review/history", None);
    assert_eq!(history.json().as_array().unwrap().len(), 4, "{}", history.body);

    // Plugins.
    let plugins = server.call("GET", "/api/v1/plugins", None);
    assert!(plugins.body.contains("\"tpe\""), "{}", plugins.body);
    server.call("GET", "/api/v1/plugins/cost", None).expect(200);
    server.call("GET", "/api/v1/plugins/nope", None).expect(404);
    let activity = server.call("GET", "/api/v1/plugins/activity", None).json();
    let latest = &activity["calls"][0];
    assert_eq!(latest["call"], "recommend", "{activity}");
    assert!(latest["fuel"].as_u64().is_some_and(|f| f > 0), "{activity}");
    let failed = activity["calls"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["plugin"] == "performance")
        .expect("the failed performance call is recorded");
    assert_eq!(failed["outcome"], "strategy-error", "{failed}");

    // Studies for remote workers.
    server
        .call(
            "POST",
            "/api/v1/studies",
            Some(&json!({ "model": "code-review", "name": "s", "seed": 3 })),
        )
        .expect(201);
    server
        .call(
            "POST",
            "/api/v1/studies",
            Some(&json!({ "model": "code-review", "name": "s" })),
        )
        .expect(409);
    let asked = server.call("POST", "/api/v1/studies/s/ask", Some(&json!({ "count": 2 })));
    let trials = asked.json();
    assert_eq!(trials.as_array().unwrap().len(), 2, "{}", asked.body);
    let tell = |trial: &serde_json::Value| json!({ "trial": trial["number"], "metrics": { "quality_score": 0.6, "cost_per_request_usd": 0.001 } });
    server
        .call("POST", "/api/v1/studies/s/tell", Some(&tell(&trials[0])))
        .expect(200);
    server
        .call("POST", "/api/v1/studies/s/tell", Some(&tell(&trials[0])))
        .expect(409);
    server
        .call(
            "POST",
            "/api/v1/studies/s/tell",
            Some(&json!({ "trial": trials[1]["number"], "failed": "OOM" })),
        )
        .expect(200);
    server.call("GET", "/api/v1/studies/s", None).expect(200);
    server.call("GET", "/api/v1/studies", None).expect(200);
    assert_eq!(
        server
            .call("GET", "/api/v1/studies/s/trials", None)
            .json()
            .as_array()
            .unwrap()
            .len(),
        2
    );
    server.call("GET", "/api/v1/studies/s/best", None).expect(200);
    server.call("GET", "/api/v1/studies/none/best", None).expect(404);
    let analysis = server.call("GET", "/api/v1/studies/s/analysis", None).json();
    assert_eq!(analysis["history"].as_array().unwrap().len(), 1, "{analysis}");
    assert!(analysis["pareto"].is_object(), "two objectives: {analysis}");
    // Importance per objective; one complete trial is too few, and the
    // answer says so rather than leaving the list empty.
    let importance = analysis["importance"].as_array().expect("importance");
    assert_eq!(importance.len(), 2, "{analysis}");
    assert_eq!(importance[0]["metric"], "quality_score", "{analysis}");
    assert_eq!(importance[0]["knobs"], json!([]), "{analysis}");
    let reason = importance[0]["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("at least 21 feasible complete trials"),
        "{analysis}"
    );
    server
        .call("GET", "/api/v1/studies/none/analysis", None)
        .expect(404);

    // Unknown routes are problems too.
    let unknown = server.call("GET", "/api/v1/nothing-here", None);
    unknown.expect(404);
    assert_eq!(unknown.content_type, "application/problem+json");
}

/// A plugin that fails is the plugin's fault, not the server's: a 422
/// problem naming the cause, never a 500.
#[test]
fn a_plugin_trap_is_a_problem_with_its_cause_not_a_bare_500() {
    let env = Env::new();
    let panic = fixture("panic").display().to_string();
    env.aiopt(&["plugin", "install", &panic]).expect_code(0);
    let server = Server::start(&env, &[], None);
    server
        .call("POST", "/api/v1/profiles", Some(&upload("code-review")))
        .expect(201);
    let trapped = server.call(
        "POST",
        "/api/v1/optimize",
        Some(&json!({ "model": "code-review", "type": "tuning", "strategy": "fixture-panic" })),
    );
    trapped.expect(422);
    let problem = trapped.json();
    assert_eq!(problem["type"], "urn:aiopt:problem:plugin-trap");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("fixture panic: the strategy gave up on purpose"),
        "{problem}"
    );
    // The server survives and counts the failure.
    server.call("GET", "/api/v1/health", None).expect(200);
    let metrics = server.call("GET", "/metrics", None).body;
    assert!(
        metrics.contains("aiopt_plugin_failures_total{kind=\"plugin-trap\",plugin=\"tuning\"} 1"),
        "{metrics}"
    );
}

#[test]
fn writes_need_a_token_and_reads_can_be_opened() {
    let env = Env::new();
    let server = Server::start(&env, &["--open-reads"], Some("s3cret"));
    let denied = server.call_as(None, "POST", "/api/v1/profiles", Some(&upload("code-review")));
    denied.expect(401);
    assert_eq!(denied.json()["type"], "urn:aiopt:problem:unauthorized");
    server
        .call_as(
            Some("wrong"),
            "POST",
            "/api/v1/profiles",
            Some(&upload("code-review")),
        )
        .expect(401);
    server
        .call_as(
            Some("s3cret"),
            "POST",
            "/api/v1/profiles",
            Some(&upload("code-review")),
        )
        .expect(201);
    server.call_as(None, "GET", "/api/v1/profiles", None).expect(200);

    let closed_env = Env::new();
    let closed = Server::start(&closed_env, &[], Some("s3cret"));
    closed.call_as(None, "GET", "/api/v1/profiles", None).expect(401);
    closed
        .call_as(Some("s3cret"), "GET", "/api/v1/profiles", None)
        .expect(200);
}

/// The response head of a CORS preflight from `origin` for a PUT.
fn preflight(port: u16, origin: &str) -> String {
    crate::http::raw_head(
        port,
        &format!(
            "OPTIONS /api/v1/config/code-review HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\
             Origin: {origin}\r\nAccess-Control-Request-Method: PUT\r\n\
             Access-Control-Request-Headers: authorization, content-type\r\n\r\n"
        ),
    )
}

#[test]
fn cors_is_off_by_default_and_allows_only_the_configured_origins() {
    let env = Env::new();
    let closed = Server::start(&env, &[], None);
    let head = preflight(closed.port, "https://dash.example");
    assert!(!head.contains("access-control-allow-origin"), "{head}");
    drop(closed);

    let open = Server::start(&env, &["--cors-origin", "https://dash.example"], None);
    let head = preflight(open.port, "https://dash.example");
    assert!(
        head.contains("access-control-allow-origin: https://dash.example"),
        "{head}"
    );
    assert!(
        head.contains("access-control-allow-methods") && head.contains("put"),
        "{head}"
    );
    assert!(head.contains("authorization"), "{head}");
    let other = preflight(open.port, "https://elsewhere.example");
    assert!(!other.contains("access-control-allow-origin"), "{other}");
}

#[test]
fn no_token_on_a_public_address_refuses_to_start() {
    let env = Env::new();
    let run = env.aiopt(&["serve", "--addr", "0.0.0.0:0"]);
    assert_ne!(run.code(), 0);
    assert!(
        run.stderr()
            .contains("refusing to serve on 0.0.0.0:0 without a token"),
        "{}",
        run.stderr()
    );
}

#[test]
fn the_openapi_document_lists_every_route() {
    let env = Env::new();
    let server = Server::start(&env, &[], None);
    let doc = server.call("GET", "/api/v1/openapi.json", None).json();
    let listed: BTreeSet<String> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            ["get", "put", "post", "delete"]
                .into_iter()
                .filter(|m| item.get(*m).is_some())
                .map(move |m| format!("{} {path}", m.to_uppercase()))
        })
        .collect();
    let expected = [
        "GET /api/v1/health",
        "GET /api/v1/profiles",
        "POST /api/v1/profiles",
        "GET /api/v1/profiles/{model}",
        "POST /api/v1/optimize",
        "POST /api/v1/fine-tune/{model}",
        "POST /api/v1/performance/{model}",
        "POST /api/v1/cost-reduction/{model}",
        "POST /api/v1/quality/{model}",
        "GET /api/v1/recommendations",
        "GET /api/v1/benchmark",
        "GET /api/v1/config/{model}",
        "PUT /api/v1/config/{model}",
        "POST /api/v1/config/{model}/reset",
        "GET /api/v1/config/{model}/history",
        "GET /api/v1/plugins",
        "POST /api/v1/plugins",
        "GET /api/v1/plugins/{name}",
        "GET /api/v1/plugins/activity",
        "GET /api/v1/studies",
        "POST /api/v1/studies",
        "GET /api/v1/studies/{study}",
        "POST /api/v1/studies/{study}/ask",
        "POST /api/v1/studies/{study}/tell",
        "GET /api/v1/studies/{study}/trials",
        "GET /api/v1/studies/{study}/best",
        "GET /api/v1/studies/{study}/analysis",
    ];
    let expected: BTreeSet<String> = expected.iter().map(|s| s.to_string()).collect();
    assert_eq!(listed, expected);
    // And the library's own list (from the router) agrees.
    let from_router: BTreeSet<String> = aiopt::api::documented_routes().into_iter().collect();
    assert_eq!(from_router, expected);
    // Every route it lists exists: none answers "no such route".
    for route in &expected {
        let (method, path) = route.split_once(' ').unwrap();
        let path = path
            .replace("{model}", "m")
            .replace("{name}", "n")
            .replace("{study}", "s");
        let reply = server.call(method, &path, Some(&json!({})));
        assert!(!reply.body.contains("no such route"), "{route}: {}", reply.body);
    }
}

/// The value of a sample line `name{labels} value` in Prometheus text.
fn sample(text: &str, name_and_labels: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(name_and_labels) && l[name_and_labels.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[test]
fn metrics_parse_and_move_after_a_call() {
    let env = Env::new();
    let server = Server::start(&env, &[], None);
    let before = server.call("GET", "/metrics", None);
    before.expect(200);
    assert!(
        before.content_type.starts_with("text/plain"),
        "{}",
        before.content_type
    );
    server
        .call("POST", "/api/v1/profiles", Some(&upload("code-review")))
        .expect(201);
    server
        .call("POST", "/api/v1/cost-reduction/code-review", None)
        .expect(200);
    server
        .call("GET", "/api/v1/benchmark?profile=code-review", None)
        .expect(200);
    let text = server.call("GET", "/metrics", None).body;
    // Every non-comment line is `name{labels} value` with a number.
    for line in text.lines().filter(|l| !l.starts_with('#') && !l.is_empty()) {
        let value = line.rsplit(' ').next().unwrap();
        assert!(value.parse::<f64>().is_ok(), "{line}");
    }
    let requests = "ai_optimization_requests_total{model=\"code-review\",outcome=\"ok\",type=\"cost\"}";
    assert_eq!(sample(&text, requests), Some(1.0), "{text}");
    assert_eq!(
        sample(&text, "benchmark_runs_total{model=\"code-review\"}"),
        Some(1.0)
    );
    assert!(sample(
        &text,
        "ai_optimization_improvement_percent{metric=\"cost_per_request_usd\",type=\"cost\"}"
    )
    .is_some_and(|v| v < -99.0));
    assert!(
        sample(&text, "model_performance_quality_score{model=\"code-review\"}").is_some(),
        "{text}"
    );
    assert!(
        text.contains("aiopt_http_requests_total{route=\"/api/v1/cost-reduction/{model}\",status=\"200\"} 1")
    );
}

/// `workers` threads ask and tell until `total` trials are told.
fn run_workers(server: &Server, study: &str, workers: usize, total: usize) {
    let claimed = Arc::new(AtomicUsize::new(0));
    std::thread::scope(|scope| {
        for _ in 0..workers {
            let claimed = Arc::clone(&claimed);
            scope.spawn(move || {
                while claimed.fetch_add(1, Ordering::SeqCst) < total {
                    let asked = server.call("POST", &format!("/api/v1/studies/{study}/ask"), Some(&json!({})));
                    asked.expect(200);
                    let trial = asked.json()[0].clone();
                    let x = trial["config"]["m"].as_f64().unwrap_or(1.0);
                    let told = json!({ "trial": trial["number"], "metrics": { "recall_at_10": 0.9 + x / 1000.0, "latency_p95_ms": x / 100.0 } });
                    server.call("POST", &format!("/api/v1/studies/{study}/tell"), Some(&told)).expect(200);
                }
            });
        }
    });
}

/// A server with the semantic-search example and an empty study `name`
/// of `strategy`.
fn semantic_search_study(env: &Env, name: &str, strategy: &str) -> Server {
    let server = Server::start(env, &[], None);
    server
        .call("POST", "/api/v1/profiles", Some(&upload("semantic-search")))
        .expect(201);
    let study = json!({ "model": "semantic-search", "name": name, "strategy": strategy });
    server.call("POST", "/api/v1/studies", Some(&study)).expect(201);
    server
}

#[test]
fn sixteen_workers_run_a_200_trial_study_without_a_duplicate_or_a_loss() {
    let env = Env::new();
    let server = semantic_search_study(&env, "w", "random");
    run_workers(&server, "w", 16, 200);
    let trials = server.call("GET", "/api/v1/studies/w/trials", None).json();
    let trials = trials.as_array().unwrap();
    assert_eq!(trials.len(), 200);
    assert!(
        trials.iter().all(|t| t["state"] == "complete"),
        "every asked trial was told"
    );
    let numbers: BTreeSet<u64> = trials.iter().map(|t| t["number"].as_u64().unwrap()).collect();
    assert_eq!(numbers, (0..200).collect());
    let configs: BTreeSet<String> = trials.iter().map(|t| t["config"].to_string()).collect();
    assert_eq!(configs.len(), 200, "no configuration handed out twice");
}

#[test]
fn asks_arriving_together_each_get_their_own_trials() {
    // Asks that wait together are served by one suggest call: each must
    // still get exactly its count, and no trial or configuration twice.
    let env = Env::new();
    let server = semantic_search_study(&env, "g", "tpe");
    let counts: Vec<usize> = (0..12).map(|i| 1 + i % 3).collect();
    let start = std::sync::Barrier::new(counts.len());
    let answers: Vec<(usize, serde_json::Value)> = std::thread::scope(|scope| {
        let handles: Vec<_> = counts
            .iter()
            .map(|&count| {
                let (server, start) = (&server, &start);
                scope.spawn(move || {
                    start.wait();
                    let asked =
                        server.call("POST", "/api/v1/studies/g/ask", Some(&json!({ "count": count })));
                    asked.expect(200);
                    (count, asked.json())
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut numbers = BTreeSet::new();
    let mut configs = BTreeSet::new();
    for (count, asked) in &answers {
        let trials = asked.as_array().unwrap();
        assert_eq!(trials.len(), *count, "{asked}");
        for t in trials {
            assert_eq!(t["state"], "running");
            assert!(
                numbers.insert(t["number"].as_u64().unwrap()),
                "trial handed out twice: {t}"
            );
            assert!(
                configs.insert(t["config"].to_string()),
                "configuration repeated: {t}"
            );
        }
    }
    let total: usize = counts.iter().sum();
    assert_eq!(numbers, (0..total as u64).collect());
    let study = server.call("GET", "/api/v1/studies/g", None).json();
    assert_eq!(study["running"], total);
}

#[test]
fn sigterm_during_load_loses_no_told_trial() {
    let env = Env::new();
    let mut server = semantic_search_study(&env, "t", "random");
    // Workers tell until the server goes away; each counts its 200s.
    let told_ok = Arc::new(AtomicUsize::new(0));
    let port = server.port;
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let told_ok = Arc::clone(&told_ok);
            std::thread::spawn(move || loop {
                let Ok(asked) = std::panic::catch_unwind(|| {
                    crate::http::request(port, None, "POST", "/api/v1/studies/t/ask", Some(&json!({})))
                }) else {
                    return;
                };
                if asked.status != 200 {
                    return;
                }
                let trial = asked.json()[0]["number"].clone();
                let told =
                    json!({ "trial": trial, "metrics": { "recall_at_10": 0.99, "latency_p95_ms": 0.1 } });
                match std::panic::catch_unwind(|| {
                    crate::http::request(port, None, "POST", "/api/v1/studies/t/tell", Some(&told))
                }) {
                    Ok(reply) if reply.status == 200 => {
                        told_ok.fetch_add(1, Ordering::SeqCst);
                    }
                    _ => return,
                }
            })
        })
        .collect();
    // Let them work, then stop the server under load.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while told_ok.load(Ordering::SeqCst) < 30 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let status = server.terminate();
    assert!(status.success(), "graceful shutdown exits 0: {status}");
    for h in handles {
        let _ = h.join();
    }
    // Every tell that got a 200 is in the database.
    let show = env.aiopt(&["study", "show", "t", "--json"]).json();
    let complete = show["trials"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["state"] == "complete")
        .count();
    assert!(told_ok.load(Ordering::SeqCst) >= 30);
    assert_eq!(complete, told_ok.load(Ordering::SeqCst), "{show}");
}

#[test]
fn plugins_install_only_with_the_admin_token() {
    let env = Env::new();
    let token_file = env.dir.path().join("tokens");
    std::fs::write(&token_file, "# workers\nworker-token\nadmin admin-token\n").unwrap();
    let server = Server::start(&env, &["--token-file", token_file.to_str().unwrap()], None);
    let wasm = std::fs::read(fixture("sneaky")).unwrap();
    let install = |token: &str| {
        crate::http::request_bytes(
            server.port,
            Some(token),
            "POST",
            "/api/v1/plugins",
            &wasm,
            Some("application/wasm"),
        )
    };
    let refused = install("worker-token");
    refused.expect(403);
    assert_eq!(refused.json()["type"], "urn:aiopt:problem:forbidden");
    let installed = install("admin-token");
    installed.expect(201);
    let name = installed.json()["name"].as_str().unwrap().to_string();
    server
        .call_as(
            Some("worker-token"),
            "GET",
            &format!("/api/v1/plugins/{name}"),
            None,
        )
        .expect(200);
    // Not a component: a clear problem, not a crash.
    let junk = crate::http::request_bytes(
        server.port,
        Some("admin-token"),
        "POST",
        "/api/v1/plugins",
        b"junk",
        None,
    );
    junk.expect(422);
    assert_eq!(junk.json()["type"], "urn:aiopt:problem:not-a-component");
}

/// The README's API examples, one shell command each (continuation lines
/// ending in `\` or `|` joined).
fn readme_examples() -> Vec<String> {
    let readme = std::fs::read_to_string(repo_file("README.md")).unwrap();
    let block = readme
        .split("<!-- api-examples -->")
        .nth(1)
        .and_then(|rest| rest.split("<!-- /api-examples -->").next())
        .expect("README has the api-examples block");
    let mut commands = Vec::new();
    let mut current = String::new();
    for line in block
        .lines()
        .filter(|l| !l.starts_with("```") && !l.starts_with('#') && !l.trim().is_empty())
    {
        current.push_str(line.trim_end_matches('\\'));
        current.push(' ');
        if !(line.ends_with('\\') || line.ends_with('|')) {
            commands.push(std::mem::take(&mut current));
        }
    }
    commands
}

#[test]
fn the_readme_curl_examples_run() {
    let env = Env::new();
    let server = Server::start(&env, &[], Some("readme-token"));
    let commands = readme_examples();
    assert!(commands.len() >= 10, "{commands:?}");
    for command in &commands {
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(command)
            .current_dir(repo_file(""))
            .env("AIOPT", format!("http://127.0.0.1:{}", server.port))
            .env("TOKEN", "readme-token")
            .output()
            .expect("sh");
        assert!(
            out.status.success(),
            "{command}\nstdout: {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        if command.contains("application/toml") {
            assert!(String::from_utf8_lossy(&out.stdout).contains("urn:aiopt:problem:validation"));
        }
    }
}
