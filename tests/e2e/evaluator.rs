//! The command evaluator leaves no process behind: SIGINT, SIGTERM and
//! SIGKILL of a running `aiopt study run` end the command's whole process
//! group (the `sh -c` and what it started), and an interrupted trial stays
//! running, so the study resumes it.

use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::util::{repo_file, Env};

const METRICS: &str = r#"{"quality_score": 0.9, "cost_per_request_usd": 0.1}"#;

/// A process seen running: its pid and its start time (field 22 of
/// `/proc/PID/stat`), so that a reused pid is not taken for it.
struct Seen {
    pid: u32,
    started: String,
}

impl Seen {
    fn new(pid: u32) -> Seen {
        let started = stat(pid)
            .map(|(_, started)| started)
            .unwrap_or_else(|| panic!("process {pid} is not running"));
        Seen { pid, started }
    }

    /// Running: it exists, is not a zombie, and is the same process.
    fn alive(&self) -> bool {
        stat(self.pid).is_some_and(|(state, started)| state != "Z" && started == self.started)
    }
}

/// The state and start time of a process, from `/proc/PID/stat`.
fn stat(pid: u32) -> Option<(String, String)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (in parentheses) may hold spaces: fields follow the
    // last `)`, state first; the start time is field 22 of the whole line.
    let fields: Vec<&str> = text.rsplit_once(')')?.1.split_whitespace().collect();
    Some((fields.first()?.to_string(), fields.get(19)?.to_string()))
}

/// A `random` study of doc-generator named `name`.
fn study(env: &Env, name: &str) {
    let profile = repo_file("examples/doc-generator/profile.toml")
        .display()
        .to_string();
    env.aiopt(&["profile", "import", &profile]).expect_code(0);
    env.aiopt(&[
        "study",
        "create",
        "doc-generator",
        "--strategy",
        "random",
        "--name",
        name,
    ])
    .expect_code(0);
}

/// Starts `aiopt study run NAME` whose command writes the pids of its
/// `sh -c` and of a long `sleep` it starts (not the last command, so
/// neither shell replaces itself with it), and waits (bounded) until both
/// run. Returns aiopt and the two processes.
fn start_run(env: &Env, name: &str) -> (Child, Vec<Seen>) {
    let dir = env.dir.path();
    let (sh_pid, sleep_pid) = (dir.join("sh.pid"), dir.join("sleep.pid"));
    let command = format!(
        "echo $$ > {sh}.tmp && mv {sh}.tmp {sh}; sh -c 'echo $$ > {sleep}.tmp && mv {sleep}.tmp {sleep}; exec sleep 60'; echo '{METRICS}'",
        sh = sh_pid.display(),
        sleep = sleep_pid.display(),
    );
    let mut aiopt = Command::new(env!("CARGO_BIN_EXE_aiopt"))
        .arg("--data-dir")
        .arg(dir)
        .args([
            "study",
            "run",
            name,
            "--trials",
            "1",
            "--evaluator",
            "command",
            "--command",
        ])
        .arg(&command)
        .env_remove("AIOPT_DATA_DIR")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start aiopt study run");
    let deadline = Instant::now() + Duration::from_secs(60);
    let pids = loop {
        let read = |path: &Path| std::fs::read_to_string(path).ok()?.trim().parse::<u32>().ok();
        if let (Some(sh), Some(sleep)) = (read(&sh_pid), read(&sleep_pid)) {
            break vec![sh, sleep];
        }
        if let Some(status) = aiopt.try_wait().expect("wait") {
            panic!(
                "aiopt exited ({status}) before its command ran:\n{}",
                stderr(&mut aiopt)
            );
        }
        assert!(
            Instant::now() < deadline,
            "the evaluator's command did not start within 60 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    (aiopt, pids.into_iter().map(Seen::new).collect())
}

fn signal(child: &Child, name: &str) {
    let sent = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(child.id().to_string())
        .status()
        .expect("run kill");
    assert!(sent.success(), "kill -{name} failed");
}

/// Waits (bounded) for aiopt to exit.
fn exited(child: &mut Child) -> ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            panic!("aiopt did not exit within 30 s of the signal");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Asserts that none of `processes` runs any more, within a bounded wait.
fn assert_gone(processes: &[Seen], after: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while processes.iter().any(Seen::alive) {
        if Instant::now() >= deadline {
            let left: Vec<u32> = processes.iter().filter(|p| p.alive()).map(|p| p.pid).collect();
            // Not left to outlive the test either.
            for pid in &left {
                let _ = Command::new("kill").arg("-KILL").arg(pid.to_string()).status();
            }
            panic!("the evaluator's processes {left:?} still ran 10 s after {after}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn stderr(child: &mut Child) -> String {
    let mut text = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut pipe, &mut text);
    }
    text
}

/// SIGINT or SIGTERM: aiopt kills the group, says so, exits 128 + signal,
/// and the trial it was measuring resumes.
fn interrupted(name: &str, code: i32) {
    let env = Env::new();
    study(&env, "s");
    let (mut aiopt, processes) = start_run(&env, "s");
    signal(&aiopt, name);
    let status = exited(&mut aiopt);
    assert_gone(&processes, &format!("SIG{name} of aiopt"));
    let said = stderr(&mut aiopt);
    assert_eq!(status.code(), Some(code), "{status}; stderr:\n{said}");
    assert!(said.contains(&format!("interrupted by SIG{name}")), "{said}");

    // Neither complete nor failed: running, and measured first on resume.
    let shown = env.aiopt(&["study", "show", "s", "--json"]).json();
    assert_eq!(shown["trials"][0]["state"], "running", "{shown}");
    let config = shown["trials"][0]["config"].clone();
    let command = format!("echo '{METRICS}'");
    env.aiopt(&[
        "study",
        "run",
        "s",
        "--trials",
        "1",
        "--evaluator",
        "command",
        "--command",
        &command,
        "--stale-after",
        "0",
    ])
    .expect_code(0);
    let shown = env.aiopt(&["study", "show", "s", "--json"]).json();
    assert_eq!(shown["study"]["trials"], 1, "{shown}");
    assert_eq!(shown["trials"][0]["state"], "complete", "{shown}");
    assert_eq!(shown["trials"][0]["config"], config);
}

#[test]
fn sigint_kills_the_evaluator_and_the_trial_resumes() {
    interrupted("INT", 130);
}

#[test]
fn sigterm_kills_the_evaluator_and_the_trial_resumes() {
    interrupted("TERM", 143);
}

#[test]
fn sigkill_of_aiopt_kills_the_evaluator() {
    let env = Env::new();
    study(&env, "s");
    let (mut aiopt, processes) = start_run(&env, "s");
    aiopt.kill().expect("SIGKILL");
    aiopt.wait().expect("wait");
    assert_gone(&processes, "SIGKILL of aiopt");
}
