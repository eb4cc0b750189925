//! Measuring a configuration by running the user's own command.
//!
//! The command runs through `sh -c` with the configuration as JSON on stdin
//! and in `AIOPT_CONFIG`, and each knob as `AIOPT_KNOB_<NAME>` (upper case).
//! It must print one JSON object of metric values on stdout (the last
//! non-empty line counts, so it may print progress before). It is killed
//! when its time is up; on failure its stderr tail is shown.

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::profile::Config;
use crate::report::serialize_config;

/// How much of the command's stderr a failure shows.
const STDERR_TAIL: usize = 2048;

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
        // Its own process group, so a timeout kills whatever it started too
        // (otherwise a grandchild keeps the pipes open until it ends).
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let spawn = |source| EvalError::Spawn {
            command: self.command.clone(),
            source,
        };
        let mut child = cmd.spawn().map_err(spawn)?;
        if let Some(mut stdin) = child.stdin.take() {
            // A command that ignores stdin may close it early: not an error.
            let _ = stdin.write_all(config_json.as_bytes());
        }
        let stdout = read_in_background(child.stdout.take());
        let stderr = read_in_background(child.stderr.take());
        let started = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().map_err(spawn)? {
                break Some(status);
            }
            if started.elapsed() >= self.timeout {
                kill_tree(&mut child);
                break None;
            }
            std::thread::sleep(Duration::from_millis(5));
        };
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

/// Kills the command and its process group.
fn kill_tree(child: &mut std::process::Child) {
    #[cfg(unix)]
    {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", child.id())])
            .stderr(Stdio::null())
            .status();
    }
    let _ = child.kill();
    let _ = child.wait();
}

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
}
