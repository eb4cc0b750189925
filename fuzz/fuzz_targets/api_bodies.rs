//! The JSON (and TOML) bodies of the API's POST and PUT routes, through a
//! real `aiopt serve` started in this process on 127.0.0.1 (the router is
//! not public; `aiopt::api::serve` is): malformed or hostile bodies must
//! be answered with a problem, never a panic (which aborts this process)
//! or an internal error.
//!
//! Setup, once per process: a scratch data folder (`$AIOPT_FUZZ_SCRATCH`,
//! else the temp dir), two stored examples (semantic-search, and
//! code-review with its request log) and a `random` study `s` of
//! semantic-search. The first byte picks the route, the rest is the body.
//!
//! A response is a finding when it is a 500 of kind `internal`, or a
//! built-in plugin that trapped or returned invalid output: input the
//! server accepted must not break it. Resource limits (fuel, time, memory)
//! are allowed: a large ask may legitimately hit them.

#![no_main]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;

/// (method, path, content type) by the first byte.
const ROUTES: &[(&str, &str, &str)] = &[
    ("POST", "/api/v1/profiles", "application/json"),
    ("POST", "/api/v1/profiles", "application/toml"),
    ("POST", "/api/v1/optimize", "application/json"),
    ("PUT", "/api/v1/config/semantic-search", "application/json"),
    ("POST", "/api/v1/studies", "application/json"),
    ("POST", "/api/v1/studies/s/ask", "application/json"),
    ("POST", "/api/v1/studies/s/tell", "application/json"),
    ("POST", "/api/v1/cost-reduction/code-review", "application/json"),
    ("POST", "/api/v1/quality/code-review", "application/json"),
    ("POST", "/api/v1/performance/semantic-search", "application/json"),
    ("POST", "/api/v1/fine-tune/semantic-search", "application/json"),
];

fn port() -> u16 {
    static PORT: OnceLock<u16> = OnceLock::new();
    *PORT.get_or_init(start)
}

fn start() -> u16 {
    let root = std::env::var_os("AIOPT_FUZZ_SCRATCH")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let data_dir = root.join(format!("api_bodies-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data_dir);
    std::fs::create_dir_all(&data_dir).expect("scratch folder");
    // A free port: taken and released, then handed to the server.
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let options = aiopt::api::ServeOptions {
        addr: SocketAddr::from(([127, 0, 0, 1], port)),
        tokens: Vec::new(),
        admin_tokens: Vec::new(),
        open_reads: false,
        cors_origins: Vec::new(),
        body_limit_bytes: 1 << 20,
        request_timeout: Duration::from_secs(60),
    };
    std::env::set_var("AIOPT_LOG", "off");
    let db = data_dir.join("aiopt.db");
    std::thread::spawn(move || {
        if let Err(e) = aiopt::api::serve(&db, &data_dir, options) {
            eprintln!("aiopt serve stopped: {e:#}");
            std::process::abort();
        }
    });
    let deadline = Instant::now() + Duration::from_secs(120);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "the server did not listen within 120 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let examples = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples");
    for example in ["semantic-search", "code-review"] {
        let dir = examples.join(example);
        let mut files = serde_json::Map::new();
        for name in ["observations.csv", "requests.csv"] {
            if let Ok(text) = std::fs::read_to_string(dir.join(name)) {
                files.insert(name.into(), text.into());
            }
        }
        let upload = serde_json::json!({
            "toml": std::fs::read_to_string(dir.join("profile.toml")).expect("example profile"),
            "files": files,
        });
        let (status, body) = call(
            port,
            "POST",
            "/api/v1/profiles",
            "application/json",
            upload.to_string().as_bytes(),
        );
        assert_eq!(status, 201, "storing {example}: {body}");
    }
    let study = serde_json::json!({ "model": "semantic-search", "strategy": "random", "name": "s" });
    let (status, body) = call(
        port,
        "POST",
        "/api/v1/studies",
        "application/json",
        study.to_string().as_bytes(),
    );
    assert_eq!(status, 201, "creating the study: {body}");
    port
}

/// One request on a fresh connection: the status and the body.
fn call(port: u16, method: &str, path: &str, content_type: &str, body: &[u8]) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(120)))
        .expect("timeout");
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).expect("send");
    // The server may answer (413) before reading a body it refuses.
    let _ = stream.write_all(body);
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP response to {method} {path}: {text:?}"));
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b).to_string();
    (status, body)
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let port = port();
    let (method, path, content_type) = ROUTES[usize::from(selector) % ROUTES.len()];
    let (status, reply) = call(port, method, path, content_type, body);
    let broken = [
        "urn:aiopt:problem:internal",
        "urn:aiopt:problem:plugin-trap",
        "urn:aiopt:problem:plugin-invalid-output",
    ];
    if status == 500 && broken.iter().any(|kind| reply.contains(kind)) {
        panic!("{method} {path} answered {status}: {reply}");
    }
});
