//! HTTP API benchmark (`cargo xtask bench-api`): ask+tell pairs per second
//! and their latency through the real `aiopt serve` on 127.0.0.1, at 1, 8
//! and 32 concurrent clients; then a mixed load of 32 clients (ask/tell
//! beside benchmarks, recommendations, cost optimizations and
//! configuration changes of the code-review example), with every answer
//! counted per endpoint by status.
//!
//! Each client keeps one connection alive and loops: ask one trial, tell
//! it. A pair is counted when the tell's 200 arrives, so every counted
//! pair is committed to the SQLite file (WAL, `synchronous = FULL`: the
//! store's durability setting). The study uses the `random` strategy on a
//! one-knob continuous space, so the numbers measure the server, the
//! store and a cheap sandboxed `suggest`, not a model. Bounded: each level
//! runs [`LEVEL_SECONDS`] after a warm-up.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const LEVELS: [usize; 3] = [1, 8, 32];
const LEVEL_SECONDS: u64 = 8;
const WARM_UP: Duration = Duration::from_secs(1);

const PROFILE: &str = r#"name = "bench-api"
kind = "benchmark"

[[space]]
name = "x"
type = "real"
low = 0.0
high = 1.0

[baseline]
x = 0.5

[[objectives]]
metric = "loss"
direction = "minimize"
"#;

/// A keep-alive HTTP/1.1 connection.
struct Connection {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Connection {
    fn open(port: u16) -> Connection {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .expect("timeout");
        Connection {
            reader: BufReader::new(stream.try_clone().expect("clone")),
            writer: stream,
        }
    }

    /// POSTs JSON and returns (status, body).
    fn post(&mut self, path: &str, body: &str) -> (u16, String) {
        self.send("POST", path, body)
    }

    /// `method path` with a JSON body (empty: none); returns (status, body).
    fn send(&mut self, method: &str, path: &str, body: &str) -> (u16, String) {
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        self.writer.write_all(request.as_bytes()).expect("send");
        let mut status_line = String::new();
        self.reader.read_line(&mut status_line).expect("status");
        let status = status_line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .expect("status code");
        let mut length = 0;
        loop {
            let mut line = String::new();
            self.reader.read_line(&mut line).expect("header");
            if line == "\r\n" {
                break;
            }
            if let Some((k, v)) = line.split_once(':') {
                if k.eq_ignore_ascii_case("content-length") {
                    length = v.trim().parse().expect("length");
                }
            }
        }
        let mut body = vec![0; length];
        self.reader.read_exact(&mut body).expect("body");
        (status, String::from_utf8_lossy(&body).to_string())
    }
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(root: &Path, data: &Path) -> (Server, u16) {
    let mut child = Command::new(root.join("target/release/aiopt"))
        .arg("--data-dir")
        .arg(data)
        .args(["serve", "--addr", "127.0.0.1:0"])
        .env("AIOPT_LOG", "warn")
        .env_remove("AIOPT_TOKEN")
        .stderr(Stdio::piped())
        .spawn()
        .expect("target/release/aiopt: run `cargo xtask bench-api`, which builds it");
    let stderr = child.stderr.take().expect("piped");
    let mut lines = BufReader::new(stderr).lines();
    let port = loop {
        let line = lines
            .next()
            .expect("the server printed its port")
            .expect("a line");
        if let Some(rest) = line.split("http://127.0.0.1:").nth(1) {
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            break digits.parse().expect("a port");
        }
    };
    // Keep draining stderr so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (Server(child), port)
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace");
    let data = tempfile::tempdir().expect("temp dir");
    let (_server, port) = start(root, data.path());
    let mut setup = Connection::open(port);
    let profile = serde_json::json!({ "toml": PROFILE }).to_string();
    assert_eq!(setup.post("/api/v1/profiles", &profile).0, 201);
    println!(
        "aiopt API benchmark: ask+tell pairs through `aiopt serve` on 127.0.0.1 ({} cores), study strategy \
         `random`, SQLite WAL synchronous=FULL; {LEVEL_SECONDS} s per level after {} s warm-up",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        WARM_UP.as_secs()
    );
    println!(
        "{:>8} {:>14} {:>12} {:>12} {:>12}",
        "clients", "pairs/s", "p50 ms", "p99 ms", "pairs"
    );
    let mut rows = Vec::new();
    for clients in LEVELS {
        let study = format!("level-{clients}");
        let created = setup.post(
            "/api/v1/studies",
            &serde_json::json!({ "model": "bench-api", "name": study, "strategy": "random" }).to_string(),
        );
        assert_eq!(created.0, 201, "{}", created.1);
        let (pairs_per_s, p50, p99, pairs) = run_level(port, &study, clients);
        println!("{clients:>8} {pairs_per_s:>14.0} {p50:>12.2} {p99:>12.2} {pairs:>12}");
        rows.push(serde_json::json!({
            "clients": clients, "pairs_per_second": pairs_per_s, "p50_ms": p50, "p99_ms": p99, "pairs": pairs,
        }));
    }
    let mixed = mixed_load(root, port, &mut setup);
    let out = root.join("target/bench-api.json");
    let doc = serde_json::json!({ "ask_tell": rows, "mixed": mixed });
    std::fs::write(&out, serde_json::to_string_pretty(&doc).expect("json")).expect("write");
    println!("wrote {}", out.display());
}

/// Clients of the mixed load that loop on ask/tell; the rest cycle over
/// [`MIXED_ROUTES`], two each.
const MIXED_ASK_TELL_CLIENTS: usize = 24;

/// The other endpoints of the mixed load: (label, method, path, body).
const MIXED_ROUTES: [(&str, &str, &str, &str); 4] = [
    (
        "GET /benchmark",
        "GET",
        "/api/v1/benchmark?profile=code-review",
        "",
    ),
    (
        "GET /recommendations",
        "GET",
        "/api/v1/recommendations?profile=code-review",
        "",
    ),
    (
        "POST /cost-reduction",
        "POST",
        "/api/v1/cost-reduction/code-review",
        "{}",
    ),
    (
        "PUT /config",
        "PUT",
        "/api/v1/config/code-review",
        r#"{"config":{"model":"FuseChat-Llama-3.1-8B-Instruct"}}"#,
    ),
];

/// Answers of one endpoint in the mixed load.
#[derive(Default)]
struct Answers {
    latencies: Vec<Duration>,
    ok: usize,
    busy: usize,
    other: usize,
}

/// 32 clients at once for [`LEVEL_SECONDS`]: [`MIXED_ASK_TELL_CLIENTS`] on
/// ask/tell, the others on [`MIXED_ROUTES`]. Prints and returns every
/// endpoint's answers by status (2xx, 503, other) with p50/p99.
fn mixed_load(root: &Path, port: u16, setup: &mut Connection) -> serde_json::Value {
    let dir = root.join("examples/code-review");
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).expect("example file");
    let upload = serde_json::json!({
        "toml": read("profile.toml"),
        "files": { "observations.csv": read("observations.csv"), "requests.csv": read("requests.csv") },
    });
    assert_eq!(setup.post("/api/v1/profiles", &upload.to_string()).0, 201);
    let created = setup.post(
        "/api/v1/studies",
        &serde_json::json!({ "model": "bench-api", "name": "mixed", "strategy": "random" }).to_string(),
    );
    assert_eq!(created.0, 201, "{}", created.1);
    let stop = Arc::new(AtomicBool::new(false));
    let measuring = Arc::new(AtomicBool::new(false));
    let others = MIXED_ROUTES.len() * 2;
    let handles: Vec<_> = (0..MIXED_ASK_TELL_CLIENTS + others)
        .map(|i| {
            let (stop, measuring) = (Arc::clone(&stop), Arc::clone(&measuring));
            std::thread::spawn(move || {
                let mut conn = Connection::open(port);
                let mut answers: Vec<(&'static str, u16, Duration)> = Vec::new();
                let mut first_errors: Vec<(&'static str, u16, String)> = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let mut record = |label, status, started: Instant| {
                        if measuring.load(Ordering::Relaxed) {
                            answers.push((label, status, started.elapsed()));
                        }
                    };
                    if i < MIXED_ASK_TELL_CLIENTS {
                        let started = Instant::now();
                        let (status, body) = conn.post("/api/v1/studies/mixed/ask", "{}");
                        record("POST /studies/{study}/ask", status, started);
                        if status != 200 {
                            continue;
                        }
                        let asked: serde_json::Value = serde_json::from_str(&body).expect("json");
                        let trial = &asked[0];
                        let x = trial["config"]["x"].as_f64().unwrap_or(0.5);
                        let told = serde_json::json!({ "trial": trial["number"], "metrics": { "loss": (x - 0.3).abs() } });
                        let started = Instant::now();
                        let (status, _) = conn.post("/api/v1/studies/mixed/tell", &told.to_string());
                        record("POST /studies/{study}/tell", status, started);
                    } else {
                        let (label, method, path, body) = MIXED_ROUTES[(i - MIXED_ASK_TELL_CLIENTS) / 2];
                        let started = Instant::now();
                        let (status, answer) = conn.send(method, path, body);
                        record(label, status, started);
                        if !(200..300).contains(&status) && !first_errors.iter().any(|(l, ..)| *l == label) {
                            first_errors.push((label, status, answer.chars().take(200).collect()));
                        }
                    }
                }
                (answers, first_errors)
            })
        })
        .collect();
    std::thread::sleep(WARM_UP);
    measuring.store(true, Ordering::Relaxed);
    std::thread::sleep(Duration::from_secs(LEVEL_SECONDS));
    measuring.store(false, Ordering::Relaxed);
    stop.store(true, Ordering::Relaxed);
    let mut by_route: std::collections::BTreeMap<&str, Answers> = Default::default();
    let mut first_errors: std::collections::BTreeMap<&str, (u16, String)> = Default::default();
    for h in handles {
        let (answers, errors) = h.join().expect("client");
        for (label, status, body) in errors {
            first_errors.entry(label).or_insert((status, body));
        }
        for (label, status, took) in answers {
            let answers = by_route.entry(label).or_default();
            answers.latencies.push(took);
            match status {
                200..=299 => answers.ok += 1,
                503 => answers.busy += 1,
                _ => answers.other += 1,
            }
        }
    }
    println!(
        "\nmixed load: {} clients for {LEVEL_SECONDS} s ({MIXED_ASK_TELL_CLIENTS} on ask/tell, {others} on the \
         code-review endpoints below)",
        MIXED_ASK_TELL_CLIENTS + others
    );
    println!(
        "{:<28} {:>8} {:>8} {:>8} {:>8} {:>10} {:>10}",
        "endpoint", "answers", "2xx", "503", "other", "p50 ms", "p99 ms"
    );
    let mut rows = Vec::new();
    for (label, mut answers) in by_route {
        answers.latencies.sort();
        let at = |q: f64| {
            answers
                .latencies
                .get(((answers.latencies.len().max(1) - 1) as f64 * q) as usize)
                .map_or(f64::NAN, |d| d.as_secs_f64() * 1e3)
        };
        let total = answers.latencies.len();
        println!(
            "{label:<28} {total:>8} {:>8} {:>8} {:>8} {:>10.2} {:>10.2}",
            answers.ok,
            answers.busy,
            answers.other,
            at(0.5),
            at(0.99)
        );
        rows.push(serde_json::json!({
            "endpoint": label, "answers": total, "ok": answers.ok, "busy_503": answers.busy,
            "other_errors": answers.other, "p50_ms": at(0.5), "p99_ms": at(0.99),
        }));
    }
    for (label, (status, body)) in &first_errors {
        println!("first error of {label}: {status} {body}");
    }
    serde_json::Value::Array(rows)
}

/// Runs `clients` workers on `study`; returns pairs/s, p50 and p99 of a
/// pair's latency (ms) and the number of pairs measured.
fn run_level(port: u16, study: &str, clients: usize) -> (f64, f64, f64, usize) {
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let measuring = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let handles: Vec<_> = (0..clients)
        .map(|_| {
            let (latencies, measuring, stop) = (Arc::clone(&latencies), Arc::clone(&measuring), Arc::clone(&stop));
            let study = study.to_string();
            std::thread::spawn(move || {
                let mut conn = Connection::open(port);
                let mut mine = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let started = Instant::now();
                    let (status, body) = conn.post(&format!("/api/v1/studies/{study}/ask"), "{}");
                    assert_eq!(status, 200, "{body}");
                    let asked: serde_json::Value = serde_json::from_str(&body).expect("json");
                    let trial = &asked[0];
                    let x = trial["config"]["x"].as_f64().unwrap_or(0.5);
                    let told = serde_json::json!({ "trial": trial["number"], "metrics": { "loss": (x - 0.3).abs() } });
                    let (status, body) = conn.post(&format!("/api/v1/studies/{study}/tell"), &told.to_string());
                    assert_eq!(status, 200, "{body}");
                    if measuring.load(Ordering::Relaxed) {
                        mine.push(started.elapsed());
                    }
                }
                latencies.lock().expect("no panic").extend(mine);
            })
        })
        .collect();
    std::thread::sleep(WARM_UP);
    measuring.store(true, Ordering::Relaxed);
    let started = Instant::now();
    std::thread::sleep(Duration::from_secs(LEVEL_SECONDS));
    measuring.store(false, Ordering::Relaxed);
    let elapsed = started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    for h in handles {
        h.join().expect("client");
    }
    let mut all = Arc::try_unwrap(latencies)
        .expect("joined")
        .into_inner()
        .expect("no panic");
    all.sort();
    let at = |q: f64| {
        all.get(((all.len().max(1) - 1) as f64 * q) as usize)
            .map_or(f64::NAN, |d| d.as_secs_f64() * 1e3)
    };
    (all.len() as f64 / elapsed, at(0.5), at(0.99), all.len())
}
