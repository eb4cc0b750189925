//! Measuring a configuration by running the user's own command.
//!
//! The command runs through `sh -c` with the configuration as JSON on stdin
//! and in `AIOPT_CONFIG`, and each knob as `AIOPT_KNOB_<NAME>` (upper case).
//! It must print one JSON object of metric values on stdout (the last
//! non-empty line counts, so it may print progress before). It is killed
//! when its time is up; on failure its stderr tail is shown.
//!
//! Every run is one process group, and nothing of it outlives the
//! evaluation or aiopt: see [`Group`] for how each exit path (the command
//! ends, a timeout, an error, a panic, SIGINT or SIGTERM via [`interrupt`],
//! SIGKILL of aiopt itself) kills the whole group.

use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::profile::Config;
use crate::report::serialize_config;

/// How much of the command's stderr a failure shows.
const STDERR_TAIL: usize = 2048;

/// The watchdog that leads each run's process group: `read` blocks until
/// its stdin reaches end of file, which happens only when every copy of the
/// pipe's write end is closed, that is when aiopt is gone (however it
/// ended); then it kills its own group, the command's processes with it.
const WATCHDOG: &str = "read -r _; kill -s KILL 0";

/// The process groups (their watchdogs' pids) of the commands running now.
static RUNNING: Mutex<Vec<i32>> = Mutex::new(Vec::new());

/// Set by [`interrupt`]: the process is exiting, no evaluation may start or
/// report any more.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Kills every running command's process group, and keeps every evaluation
/// from starting or returning from now on (they wait until the process
/// exits). For a process that exits right after, on SIGINT or SIGTERM: the
/// trials being measured are neither told complete nor failed, so they stay
/// `running` and a resumed study (`--stale-after 0`) measures them again.
pub fn interrupt() {
    INTERRUPTED.store(true, Ordering::SeqCst);
    let running = RUNNING.lock().unwrap_or_else(PoisonError::into_inner);
    for &group in running.iter() {
        kill_group(group);
    }
}

/// What an evaluation does once [`interrupt`] was called: nothing, until
/// the process exits.
fn wait_for_exit() -> ! {
    loop {
        std::thread::park();
    }
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EvalError {
    #[error("cannot start `{command}`: {source}")]
    Spawn {
        command: String,
        #[source]
        source: std::io::Error,
    },
    #[error("`{command}` did not finish within {} ms and was killed{}", .limit.as_millis(), tail_note(.stderr))]
    Timeout {
        command: String,
        limit: Duration,
        stderr: String,
    },
    #[error("`{command}` exited with {status}{}", tail_note(.stderr))]
    Failed {
        command: String,
        status: String,
        stderr: String,
    },
    #[error("`{command}` printed no JSON object of metrics on its last line ({why}){}", tail_note(.stderr))]
    BadOutput {
        command: String,
        why: String,
        stderr: String,
    },
}

fn tail_note(stderr: &str) -> String {
    if stderr.trim().is_empty() {
        String::new()
    } else {
        format!("; its stderr ends with:\n{}", stderr.trim_end())
    }
}

/// Runs one command per configuration.
#[derive(Debug, Clone)]
pub struct CommandEvaluator {
    pub command: String,
    pub timeout: Duration,
}

impl CommandEvaluator {
    /// Measures `config`: the metrics the command printed, in its order.
    pub fn evaluate(&self, config: &Config) -> Result<Vec<(String, f64)>, EvalError> {
        struct Json<'a>(&'a Config);
        impl serde::Serialize for Json<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                serialize_config(self.0, s)
            }
        }
        let config_json = serde_json::to_string(&Json(config)).unwrap_or_default();
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(&self.command)
            .env("AIOPT_CONFIG", &config_json)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (name, value) in config {
            cmd.env(format!("AIOPT_KNOB_{}", name.to_uppercase()), value.to_string());
        }
        let spawn = |source| EvalError::Spawn {
            command: self.command.clone(),
            source,
        };
        let mut group = Group::start(&mut cmd).map_err(spawn)?;
        let child = group.command();
        if let Some(mut stdin) = child.stdin.take() {
            // In the background, so a command that never reads a large
            // config still times out. One that closes stdin early is no
            // error.
            let config_json = config_json.clone();
            std::thread::spawn(move || {
                let _ = stdin.write_all(config_json.as_bytes());
            });
        }
        let stdout = read_in_background(child.stdout.take());
        let stderr = read_in_background(child.stderr.take());
        let started = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().map_err(spawn)? {
                break Some(status);
            }
            if started.elapsed() >= self.timeout {
                break None;
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        // The whole group ends here, also what the command left running
        // in the background (which would otherwise keep the pipes open).
        drop(group);
        if INTERRUPTED.load(Ordering::SeqCst) {
            // Killed by `interrupt`, not failed: the trial stays running.
            wait_for_exit();
        }
        let stdout = stdout.join().unwrap_or_default();
        let stderr = tail(&stderr.join().unwrap_or_default());
        let command = self.command.clone();
        let Some(status) = status else {
            return Err(EvalError::Timeout {
                command,
                limit: self.timeout,
                stderr,
            });
        };
        if !status.success() {
            return Err(EvalError::Failed {
                command,
                status: status.to_string(),
                stderr,
            });
        }
        parse_metrics(&stdout).map_err(|why| EvalError::BadOutput { command, why, stderr })
    }
}

/// One run of the command as a process group, killed whole when dropped.
///
/// The group is led by a watchdog (`sh` running [`WATCHDOG`], a child of
/// aiopt) whose stdin is a pipe that only aiopt holds open; the command
/// joins the watchdog's group. Dropping the `Group` (the command ended or
/// timed out, the evaluation failed or panicked) kills the group with
/// SIGKILL and reaps both children, so whatever the command left behind
/// in its group ends with it. [`interrupt`] kills every group before aiopt
/// exits on SIGINT or SIGTERM. After SIGKILL of aiopt no code of aiopt
/// runs, but the kernel closes its end of the pipe and the watchdog kills
/// the group.
///
/// Why this design:
/// * `PR_SET_PDEATHSIG` reaches only the direct child (`sh -c`), not what
///   that started (a `sleep`, a benchmark), so something that outlives
///   aiopt must kill the group, and notice aiopt's death without polling:
///   end of file on a pipe is the kernel's notice.
/// * A one-line `sh` rather than aiopt re-executed as a hidden
///   supervisor: `sh` is required anyway (commands run through `sh -c`),
///   it needs no hidden command-line entry point, and `read` and `kill`
///   are builtins, so the watchdog is one small process per run.
/// * The watchdog leads the group instead of being told the command's
///   group after the fact, so there is no moment at which aiopt can die
///   and leave a group that nobody kills: the command joins the group
///   before it execs, and until then it holds a copy of the pipe's write
///   end (aiopt's pipes are close-on-exec), so the watchdog cannot see end
///   of file while a command is still on its way into the group. And as
///   long as the watchdog is aiopt's unreaped child, the group's id cannot
///   be reused by another process group that aiopt would then kill.
/// * Starting is serialized with [`interrupt`] (one lock), so an
///   interrupt either sees a group or prevents it.
struct Group {
    /// The watchdog's pid, which is the group's id.
    id: i32,
    watchdog: Option<Child>,
    /// The command (`sh -c`); `None` only while starting.
    command: Option<Child>,
}

impl Group {
    /// Starts `command` in a new group led by a new watchdog.
    fn start(command: &mut Command) -> std::io::Result<Group> {
        let mut running = RUNNING.lock().unwrap_or_else(PoisonError::into_inner);
        if INTERRUPTED.load(Ordering::SeqCst) {
            drop(running);
            wait_for_exit();
        }
        let (id, watchdog) = start_watchdog()?;
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(command, id);
        let started = command.spawn();
        if watchdog.is_some() {
            running.push(id);
        }
        // Unlocked before `group` can be dropped: its drop locks too.
        drop(running);
        let mut group = Group {
            id,
            watchdog,
            command: None,
        };
        let child = started?;
        if group.watchdog.is_none() {
            group.id = child.id() as i32;
        }
        group.command = Some(child);
        Ok(group)
    }

    fn command(&mut self) -> &mut Child {
        self.command.as_mut().expect("set by Group::start")
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        kill_group(self.id);
        RUNNING
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|g| *g != self.id);
        if let Some(command) = &mut self.command {
            // On unix it died with its group (a kill of the unreaped
            // process is harmless); elsewhere this is its only kill.
            let _ = command.kill();
            let _ = command.wait();
        }
        if let Some(watchdog) = &mut self.watchdog {
            let _ = watchdog.wait();
        }
    }
}

/// The watchdog, leading a new process group; its stdin's write end stays
/// in the returned `Child` (closed when that is dropped).
#[cfg(unix)]
fn start_watchdog() -> std::io::Result<(i32, Option<Child>)> {
    let mut watchdog = Command::new("sh");
    watchdog
        .arg("-c")
        .arg(WATCHDOG)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    std::os::unix::process::CommandExt::process_group(&mut watchdog, 0);
    let watchdog = watchdog.spawn()?;
    Ok((watchdog.id() as i32, Some(watchdog)))
}

#[cfg(not(unix))]
fn start_watchdog() -> std::io::Result<(i32, Option<Child>)> {
    Ok((0, None))
}

/// SIGKILL to every process of the group.
#[cfg(unix)]
fn kill_group(group: i32) {
    if group > 0 {
        // SAFETY: killpg takes plain integers and touches no memory of ours.
        unsafe {
            libc::killpg(group, libc::SIGKILL);
        }
    }
}

#[cfg(not(unix))]
fn kill_group(_group: i32) {}

fn read_in_background(pipe: Option<impl Read + Send + 'static>) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut text = String::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_string(&mut text);
        }
        text
    })
}

fn tail(text: &str) -> String {
    let start = text.len().saturating_sub(STDERR_TAIL);
    let start = (start..=text.len())
        .find(|i| text.is_char_boundary(*i))
        .unwrap_or(text.len());
    text[start..].to_string()
}

/// The metrics on the last non-empty line: a JSON object of finite numbers.
fn parse_metrics(stdout: &str) -> Result<Vec<(String, f64)>, String> {
    let line = stdout
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .ok_or("stdout was empty")?;
    let object: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(line.trim()).map_err(|e| format!("last line `{}`: {e}", line.trim()))?;
    object
        .into_iter()
        .map(|(metric, value)| match value.as_f64().filter(|x| x.is_finite()) {
            Some(x) => Ok((metric, x)),
            None => Err(format!("`{metric}` is {value}, not a finite number")),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::Value;

    fn config() -> Config {
        vec![
            ("batch_size".into(), Value::Integer(8)),
            ("model".into(), Value::Choice("a".into())),
        ]
    }

    fn run(command: &str, timeout_ms: u64) -> Result<Vec<(String, f64)>, EvalError> {
        CommandEvaluator {
            command: command.into(),
            timeout: Duration::from_millis(timeout_ms),
        }
        .evaluate(&config())
    }

    #[test]
    fn passes_the_config_and_reads_the_last_json_line() {
        let metrics = run(
            r#"read cfg; echo "progress..."; echo "{\"latency_ms\": $AIOPT_KNOB_BATCH_SIZE, \"ok\": 1}""#,
            5000,
        )
        .unwrap();
        assert_eq!(
            metrics,
            vec![("latency_ms".to_string(), 8.0), ("ok".to_string(), 1.0)]
        );
        let echoed = run(r#"python3 -c 'import json,sys; print(json.dumps({"n": len(json.load(sys.stdin))}))' 2>/dev/null || echo '{"n": 2}'"#, 5000).unwrap();
        assert_eq!(echoed, vec![("n".to_string(), 2.0)]);
    }

    #[test]
    fn failures_say_why_with_the_stderr_tail() {
        let e = run("echo boom >&2; exit 3", 5000).unwrap_err().to_string();
        assert!(
            e.contains("exited with exit status: 3") && e.ends_with("boom"),
            "{e}"
        );
        let e = run("echo not-json", 5000).unwrap_err().to_string();
        assert!(e.contains("printed no JSON object"), "{e}");
        let e = run(r#"echo '{"x": "high"}'"#, 5000).unwrap_err().to_string();
        assert!(e.contains("`x` is \"high\", not a finite number"), "{e}");
        let e = run("sleep 5", 200).unwrap_err();
        assert!(matches!(e, EvalError::Timeout { .. }), "{e}");
    }

    /// The pid a command wrote to `file`, waiting (bounded) for it.
    fn pid_in(file: &std::path::Path) -> u32 {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(pid) = std::fs::read_to_string(file)
                .ok()
                .and_then(|t| t.trim().parse().ok())
            {
                return pid;
            }
            assert!(
                Instant::now() < deadline,
                "no pid in {} within 30 s",
                file.display()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Asserts that `pid` is gone (or a zombie) within a bounded wait.
    fn assert_gone(pid: u32) {
        let running = || {
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|stat| Some(stat.rsplit_once(')')?.1.split_whitespace().next()? != "Z"))
                .unwrap_or(false)
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while running() {
            if Instant::now() >= deadline {
                let _ = Command::new("kill").args(["-KILL", &pid.to_string()]).status();
                panic!("process {pid} still runs");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    #[test]
    fn what_the_command_leaves_running_ends_with_it() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pid");
        let command = format!(
            r#"sleep 30 >/dev/null 2>&1 </dev/null & echo $! > {}.tmp && mv {0}.tmp {0}; echo '{{"x": 1}}'"#,
            file.display()
        );
        assert_eq!(run(&command, 5000).unwrap(), vec![("x".to_string(), 1.0)]);
        assert_gone(pid_in(&file));
    }

    #[test]
    fn a_panic_while_the_command_runs_kills_its_group() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pid");
        let command = format!(
            "sh -c 'echo $$ > {}.tmp && mv {0}.tmp {0}; exec sleep 30'; true",
            file.display()
        );
        let panicked = std::panic::catch_unwind(|| {
            let mut cmd = Command::new("sh");
            cmd.arg("-c").arg(&command);
            let _group = Group::start(&mut cmd).unwrap();
            pid_in(&file);
            panic!("an evaluation panicked");
        });
        assert!(panicked.is_err());
        assert_gone(pid_in(&file));
    }
}
