//! `aiopt serve` keeps its promises against hostile clients and plugins:
//! a plugin is a name, never a server path; a slow strategy holds up no
//! other study; limits are what they say and every error is a problem.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::api::upload;
use crate::http::{request_bytes, Server};
use crate::util::{fixture, Env};

/// What every lookup of a name that is not a plugin says, whatever it is.
const NO_PLUGIN: &str = "no plugin by that name";

fn started_with(env: &Env, extra: &[&str], token: Option<&str>) -> Server {
    let server = Server::start(env, extra, token);
    server
        .call("POST", "/api/v1/profiles", Some(&upload("code-review")))
        .expect(201);
    server
}

/// Paths, directories, devices and megabyte names are all "no plugin by
/// that name", with a short body: nothing is opened, run or echoed.
#[test]
fn plugin_names_are_never_server_paths() {
    let env = Env::new();
    let server = started_with(&env, &["--open-reads"], Some("tok"));
    let component = fixture("sleep").display().to_string();
    let long = "x".repeat(1_900_000);
    for name in [
        "%2Fdev%2Fzero",
        "..%2F..%2Fetc%2Fpasswd",
        "nope",
        &"y".repeat(10_000),
    ] {
        let started = Instant::now();
        let reply = server.call_as(None, "GET", &format!("/api/v1/plugins/{name}"), None);
        reply.expect(404);
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{name}: {:?}",
            started.elapsed()
        );
        assert_eq!(reply.json()["detail"], NO_PLUGIN, "{}", reply.body);
    }
    for strategy in [
        component.as_str(),
        "/etc",
        "/no/such/file.wasm",
        "../x.wasm",
        &long,
    ] {
        let optimize = json!({ "model": "code-review", "type": "tuning", "strategy": strategy });
        let reply = server.call("POST", "/api/v1/optimize", Some(&optimize));
        reply.expect(404);
        assert_eq!(
            reply.json()["detail"],
            NO_PLUGIN,
            "{}",
            &reply.body[..reply.body.len().min(300)]
        );
        assert!(reply.body.len() < 1024, "a {} byte answer", reply.body.len());
        let study = json!({ "model": "code-review", "name": "s", "strategy": strategy });
        let reply = server.call("POST", "/api/v1/studies", Some(&study));
        reply.expect(404);
        assert_eq!(reply.json()["detail"], NO_PLUGIN);
    }
    // Nothing ran: no plugin call was recorded.
    let activity = server.call("GET", "/api/v1/plugins/activity", None).json();
    assert_eq!(activity["calls"], json!([]), "{activity}");
}

/// A strategy that computes for seconds holds no lock: another study's ask
/// and tell, a configuration change and a profile upload are served while
/// it runs (they all waited for it: 408 and 503 "another aiopt process").
#[test]
fn a_slow_strategy_holds_up_no_other_study() {
    let env = Env::new();
    env.aiopt(&["plugin", "install", &fixture("loop").display().to_string()])
        .expect_code(0);
    let server = started_with(&env, &[], None);
    for (name, strategy) in [("slow", "fixture-loop"), ("quick", "random")] {
        let study = json!({ "model": "code-review", "name": name, "strategy": strategy });
        server.call("POST", "/api/v1/studies", Some(&study)).expect(201);
    }
    let slow_done = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let slow = scope.spawn(|| {
            // The loop spins until its 10^10 fuel is spent (about 2 s).
            let asked = server.call("POST", "/api/v1/studies/slow/ask", None);
            slow_done.store(true, Ordering::SeqCst);
            asked
        });
        std::thread::sleep(Duration::from_millis(300));
        let asked = server.call("POST", "/api/v1/studies/quick/ask", None);
        asked.expect(200);
        let number = asked.json()[0]["number"].as_u64().expect("a trial");
        let tell = json!({ "trial": number, "metrics": { "quality_score": 0.5 } });
        server
            .call("POST", "/api/v1/studies/quick/tell", Some(&tell))
            .expect(200);
        server
            .call(
                "PUT",
                "/api/v1/config/code-review",
                Some(&json!({ "config": { "model": "FuseChat-Llama-3.1-8B-Instruct" } })),
            )
            .expect(200);
        assert!(
            !slow_done.load(Ordering::SeqCst),
            "the quick study waited for the slow strategy"
        );
        let slow = slow.join().expect("slow ask");
        slow.expect(200);
        let trial = &slow.json()[0];
        assert_eq!(trial["state"], "failed", "{trial}");
        assert!(
            trial["reason"].as_str().is_some_and(|r| r.contains("fuel")),
            "{trial}"
        );
    });
}

/// A request answered at its deadline is a problem with `Retry-After`, and
/// what it computed is not stored.
#[test]
fn a_request_past_its_deadline_is_a_problem_and_stores_nothing() {
    let env = Env::new();
    env.aiopt(&["plugin", "install", &fixture("sleep").display().to_string()])
        .expect_code(0);
    let server = Server::start(&env, &["--timeout-s", "1"], None);
    // The sleep fixture reading its clock in a loop: each reading is a host
    // call, so it spends little fuel and runs until its own 10 s deadline.
    let mut spinning = upload("code-review");
    let toml = spinning["toml"].as_str().expect("toml").to_string();
    spinning["toml"] = json!(format!("{toml}\n[options]\nwait = \"spin-forever\"\n"));
    server
        .call("POST", "/api/v1/profiles", Some(&spinning))
        .expect(201);
    let started = Instant::now();
    let optimize = json!({ "model": "code-review", "type": "tuning", "strategy": "fixture-sleep" });
    let reply = server.call("POST", "/api/v1/optimize", Some(&optimize));
    reply.expect(503);
    assert_eq!(reply.content_type, "application/problem+json");
    assert_eq!(
        reply.json()["type"],
        "urn:aiopt:problem:timeout",
        "{}",
        reply.body
    );
    assert!(
        started.elapsed() < Duration::from_millis(1900),
        "answered after {:?}, not at the 1 s deadline",
        started.elapsed()
    );
    // The call goes on after the answer, holding its core until it ends.
    let running = |n: u32| {
        let metrics = server.call("GET", "/metrics", None).body;
        metrics.contains(&format!("\naiopt_work_running {n}\n"))
    };
    assert!(running(1), "the timed-out call no longer holds its core");
    let until = Instant::now() + Duration::from_secs(20);
    while !running(0) {
        assert!(Instant::now() < until, "the call never ended");
        std::thread::sleep(Duration::from_millis(50));
    }
    // Its outcome was never stored: there is no report 1 to apply.
    env.aiopt(&["config", "apply", "code-review", "--proposal", "1.1"])
        .expect_code(7);
    assert!(raw(server.port, "POST /api/v1/optimize", &optimize.to_string()).contains("retry-after: 1"));
}

/// Every error body is a problem: 405 from the router, 413 from the body
/// limit (which is the one configured, not axum's 2 MiB), also when the
/// client sends the whole oversized body without waiting.
#[test]
fn limits_are_what_they_say_and_answer_problems() {
    let env = Env::new();
    let small = Server::start(&env, &["--body-limit-mb", "1"], None);
    let not_allowed = small.call("DELETE", "/api/v1/profiles", None);
    not_allowed.expect(405);
    assert_eq!(not_allowed.content_type, "application/problem+json");

    let big_upload = |megabytes: usize| {
        let mut body = upload("doc-generator");
        body["files"]["padding.csv"] = json!("x".repeat(megabytes << 20));
        body
    };
    let refused = small.call("POST", "/api/v1/profiles", Some(&big_upload(1)));
    refused.expect(413);
    assert_eq!(refused.content_type, "application/problem+json");
    assert_eq!(refused.json()["type"], "urn:aiopt:problem:too-large");

    let env = Env::new();
    let large = Server::start(&env, &["--body-limit-mb", "8"], None);
    large
        .call("POST", "/api/v1/profiles", Some(&big_upload(3)))
        .expect(201);

    // 200 MB sent in full, as `curl --data-binary @big.wasm` without
    // `Expect: 100-continue` would: the client still reads a 413 problem.
    let mut stream = TcpStream::connect(("127.0.0.1", small.port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .expect("timeout");
    let length = 200usize << 20;
    let head = format!(
        "POST /api/v1/plugins HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/wasm\r\n\
         Content-Length: {length}\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).expect("head");
    let chunk = vec![0u8; 1 << 20];
    for _ in 0..(length >> 20) {
        if stream.write_all(&chunk).is_err() {
            break;
        }
    }
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    assert!(response.starts_with("HTTP/1.1 413"), "{response}");
    assert!(response.contains("application/problem+json"), "{response}");
}

/// Installing a plugin under a built-in's name, or another component under
/// an installed name, is refused (it was a 500, and a silent replace); the
/// same component again is fine, and `--replace` replaces.
#[test]
fn installing_over_a_taken_name_is_a_conflict() {
    let env = Env::new();
    let cli = env.aiopt(&["plugin", "install", &fixture("impostor").display().to_string()]);
    cli.expect_code(2);
    assert!(cli.stderr().contains("built in"), "{}", cli.stderr());

    let sleep = fixture("sleep");
    env.aiopt(&["plugin", "install", &sleep.display().to_string()])
        .expect_code(0);
    env.aiopt(&["plugin", "install", &sleep.display().to_string()])
        .expect_code(0);
    // Another component with the same name: the same bytes with a custom
    // section appended.
    let mut other = std::fs::read(&sleep).expect("fixture");
    other.extend_from_slice(&[0x00, 0x06, 0x05, b'o', b't', b'h', b'e', b'r']);
    let other_path = env.dir.path().join("other.wasm");
    std::fs::write(&other_path, &other).expect("write");
    let refused = env.aiopt(&["plugin", "install", &other_path.display().to_string()]);
    refused.expect_code(2);
    assert!(refused.stderr().contains("--replace"), "{}", refused.stderr());
    env.aiopt(&[
        "plugin",
        "install",
        &other_path.display().to_string(),
        "--replace",
    ])
    .expect_code(0);
}

/// Installs over HTTP with an admin token: the same rules, as 409 problems.
#[test]
fn installing_over_a_taken_name_over_http_is_a_409() {
    let env = Env::new();
    let token_file = env.dir.path().join("tokens");
    std::fs::write(&token_file, "admin root-token\n").expect("tokens");
    let server = Server::start(&env, &["--token-file", &token_file.display().to_string()], None);
    let install = |body: &[u8], query: &str| {
        request_bytes(
            server.port,
            Some("root-token"),
            "POST",
            &format!("/api/v1/plugins{query}"),
            body,
            Some("application/wasm"),
        )
    };
    let impostor = install(&std::fs::read(fixture("impostor")).expect("fixture"), "");
    impostor.expect(409);
    assert_eq!(impostor.content_type, "application/problem+json");
    let sleep = std::fs::read(fixture("sleep")).expect("fixture");
    install(&sleep, "").expect(201);
    install(&sleep, "").expect(201);
    let mut other = sleep.clone();
    other.extend_from_slice(&[0x00, 0x06, 0x05, b'o', b't', b'h', b'e', b'r']);
    install(&other, "").expect(409);
    install(&other, "?replace=true").expect(201);
}

/// The raw response head (lower case) of `request` with a JSON body.
fn raw(port: u16, request: &str, body: &str) -> String {
    crate::http::raw_head(
        port,
        &format!(
            "{request} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\n\r\n{body}",
            body.len()
        ),
    )
}

/// Under many ask/tell clients, configuration changes and benchmarks of
/// the same server wait their turn instead of failing busy (they got 503
/// "another aiopt process is writing to it" from their own server).
#[test]
fn writes_under_load_wait_instead_of_failing_busy() {
    let env = Env::new();
    let server = started_with(&env, &[], None);
    server
        .call("POST", "/api/v1/profiles", Some(&upload("semantic-search")))
        .expect(201);
    let study = json!({ "model": "semantic-search", "name": "load", "strategy": "tpe" });
    server.call("POST", "/api/v1/studies", Some(&study)).expect(201);
    let stop = AtomicBool::new(false);
    let changes = std::thread::scope(|scope| {
        for _ in 0..16 {
            scope.spawn(|| {
                while !stop.load(Ordering::SeqCst) {
                    let asked = server.call("POST", "/api/v1/studies/load/ask", None);
                    asked.expect(200);
                    let number = asked.json()[0]["number"].as_u64().expect("a trial");
                    let tell =
                        json!({ "trial": number, "metrics": { "recall_at_10": 0.9, "latency_p95_ms": 0.2 } });
                    server
                        .call("POST", "/api/v1/studies/load/tell", Some(&tell))
                        .expect(200);
                }
            });
        }
        let models = ["FuseChat-Llama-3.1-8B-Instruct", "gpt4_1106_preview"];
        let mut statuses = Vec::new();
        let until = Instant::now() + Duration::from_secs(6);
        let mut i = 0;
        while Instant::now() < until {
            let change = json!({ "config": { "model": models[i % 2] } });
            let put = server.call("PUT", "/api/v1/config/code-review", Some(&change));
            statuses.push((put.status, put.body.chars().take(300).collect::<String>()));
            let bench = server.call("GET", "/api/v1/benchmark?profile=code-review", None);
            statuses.push((bench.status, bench.body.chars().take(300).collect::<String>()));
            i += 1;
        }
        stop.store(true, Ordering::SeqCst);
        statuses
    });
    let failed: Vec<_> = changes.iter().filter(|(status, _)| *status != 200).collect();
    assert!(
        failed.is_empty(),
        "{} of {} failed: {failed:?}",
        failed.len(),
        changes.len()
    );
    assert!(changes.len() >= 4, "only {} requests in 6 s", changes.len());
}
