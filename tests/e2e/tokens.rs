//! Bearer tokens of a real `aiopt serve` on 127.0.0.1: what a token file
//! line means (only `admin TOKEN` makes an admin; a keyword alone is an
//! error at start-up, with file and line), and the `Bearer` scheme in any
//! case (RFC 9110 §11.1: auth schemes are case-insensitive).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::http::Server;
use crate::util::Env;

/// Starts `aiopt serve` with `tokens` as its token file and expects it to
/// refuse to start (bounded wait); returns the file's path and stderr.
fn refused(tokens: &str) -> (String, String) {
    let env = Env::new();
    let file = env.dir.path().join("tokens");
    std::fs::write(&file, tokens).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_aiopt"))
        .arg("--data-dir")
        .arg(env.dir.path())
        .args(["serve", "--addr", "127.0.0.1:0", "--token-file"])
        .arg(&file)
        .env_remove("AIOPT_TOKEN")
        .env_remove("AIOPT_ADMIN_TOKEN")
        .env("AIOPT_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start aiopt serve");
    let (tx, rx) = std::sync::mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut said = String::new();
    loop {
        while let Ok(line) = rx.try_recv() {
            if line.contains("listening on") {
                let _ = child.kill();
                let _ = child.wait();
                panic!("aiopt serve started with the token file {tokens:?}:\n{said}{line}");
            }
            said.push_str(&line);
            said.push('\n');
        }
        if let Some(status) = child.try_wait().unwrap() {
            // The rest of stderr, now that the process is gone.
            while let Ok(line) = rx.recv_timeout(Duration::from_secs(5)) {
                said.push_str(&line);
                said.push('\n');
            }
            assert!(!status.success(), "{said}");
            return (file.display().to_string(), said);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            panic!("aiopt serve neither started nor stopped within 30 s:\n{said}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_keyword_alone_is_an_error_naming_the_file_and_line() {
    // Before: `admin` alone became the token `admin`.
    let (file, said) = refused("# workers\nworker-token\nadmin\n");
    assert!(said.contains(&format!("{file}:3")), "{said}");
    assert!(said.contains("`admin`"), "{said}");
    let (file, said) = refused("admin   \nworker-token\n");
    assert!(said.contains(&format!("{file}:1")), "{said}");
    // Three words, or a token with a space in it, are no line of the file.
    let (file, said) = refused("worker-token\n\nadmin one two\n");
    assert!(said.contains(&format!("{file}:3")), "{said}");
    let (file, said) = refused("two words\n");
    assert!(said.contains(&format!("{file}:1")), "{said}");
}

/// One request with `authorization` as the whole Authorization value; the
/// status.
fn status_with(port: u16, method: &str, path: &str, authorization: &str, body: &[u8]) -> u16 {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\
         Authorization: {authorization}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut reply = String::new();
    stream.read_to_string(&mut reply).unwrap();
    reply
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP status in {reply:?}"))
}

#[test]
fn the_bearer_scheme_is_case_insensitive() {
    let env = Env::new();
    let file = env.dir.path().join("tokens");
    std::fs::write(&file, "worker-token\nadmin admin-token\n").unwrap();
    let server = Server::start(&env, &["--token-file", file.to_str().unwrap()], None);
    let read = |authorization: &str| status_with(server.port, "GET", "/api/v1/profiles", authorization, b"");
    for accepted in [
        "Bearer worker-token",
        "bearer worker-token",
        "BEARER worker-token",
        "bEaReR worker-token",
        "Bearer   worker-token",
    ] {
        assert_eq!(read(accepted), 200, "{accepted}");
    }
    for refused in [
        "Basic worker-token",
        "Bearerworker-token",
        "bearer",
        "bearer wrong",
        "worker-token",
    ] {
        assert_eq!(read(refused), 401, "{refused}");
    }
    // The admin check too: with the admin token in any case of the scheme,
    // a body that is no component gets past it (422), a worker's does not.
    let install =
        |authorization: &str| status_with(server.port, "POST", "/api/v1/plugins", authorization, b"junk");
    assert_eq!(install("bearer admin-token"), 422);
    assert_eq!(install("BEARER admin-token"), 422);
    assert_eq!(install("bearer worker-token"), 403);
}
