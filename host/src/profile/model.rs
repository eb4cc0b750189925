//! The profile's in-memory model: what a strategy may know about one
//! deployment. Independent of the file format and of the WIT wire types.

use serde::{Deserialize, Serialize};

/// The value of one knob.
///
/// In JSON it is the bare value (`true`, `8`, `0.5`, `"large"`): a whole
/// number is an integer, any other number a real. Deserialized by a visitor
/// rather than `#[serde(untagged)]`, which tries each variant in turn and
/// builds an error for every miss: that was most of the time of loading a
/// long study's history.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Value {
    Flag(bool),
    Integer(i64),
    Real(f64),
    Choice(String),
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Value, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Value;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a knob value: true or false, a number, or a label")
            }
            fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
                Ok(Value::Flag(v))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
                Ok(Value::Integer(v))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
                Ok(i64::try_from(v).map_or(Value::Real(v as f64), Value::Integer))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
                Ok(Value::Real(v))
            }
            fn visit_str<E>(self, v: &str) -> Result<Value, E> {
                Ok(Value::Choice(v.to_string()))
            }
            fn visit_string<E>(self, v: String) -> Result<Value, E> {
                Ok(Value::Choice(v))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Flag(b) => write!(f, "{b}"),
            Value::Integer(i) => write!(f, "{i}"),
            Value::Real(x) => write!(f, "{x}"),
            Value::Choice(s) => write!(f, "{s}"),
        }
    }
}

/// The values a knob may take.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Domain {
    Real {
        low: f64,
        high: f64,
        #[serde(default)]
        log: bool,
        #[serde(default)]
        step: Option<f64>,
    },
    Integer {
        low: i64,
        high: i64,
        #[serde(default)]
        log: bool,
        #[serde(default)]
        step: Option<i64>,
    },
    Choice {
        values: Vec<String>,
    },
    Flag,
}

impl Domain {
    /// Whether `value` lies in this domain (bounds, step grid, labels).
    pub fn contains(&self, value: &Value) -> bool {
        match (self, value) {
            (Domain::Real { low, high, step, .. }, Value::Real(x)) => real_in_range(*x, *low, *high, *step),
            (Domain::Real { low, high, step, .. }, Value::Integer(i)) => {
                real_in_range(*i as f64, *low, *high, *step)
            }
            (Domain::Integer { low, high, step, .. }, Value::Integer(i)) => {
                i >= low && i <= high && step.is_none_or(|s| s > 0 && (i - low) % s == 0)
            }
            (Domain::Choice { values }, Value::Choice(s)) => values.contains(s),
            (Domain::Flag, Value::Flag(_)) => true,
            _ => false,
        }
    }

    /// A short description for error messages, e.g. `real in [0, 1]`; a
    /// choice of more than 32 labels shows the first 10 and the count.
    pub fn describe(&self) -> String {
        match self {
            Domain::Real { low, high, log, step } => {
                format!("a real in [{low}, {high}]{}{}", log_note(*log), step_note(*step))
            }
            Domain::Integer { low, high, log, step } => {
                format!(
                    "an integer in [{low}, {high}]{}{}",
                    log_note(*log),
                    step_note(*step)
                )
            }
            // A knob may have a million labels: a message lists a few.
            Domain::Choice { values } if values.len() > 32 => {
                format!("one of {}, … ({} labels)", values[..10].join(", "), values.len())
            }
            Domain::Choice { values } => format!("one of {}", values.join(", ")),
            Domain::Flag => "true or false".into(),
        }
    }

    /// A value as a number, as the WIT history and the host's analyses
    /// encode it: a real as itself, an integer exactly, a choice as its
    /// label's index, a flag as 0 or 1; `None` for a value of another kind
    /// or an unknown label.
    pub fn encode(&self, value: &Value) -> Option<f64> {
        match (self, value) {
            (Domain::Real { .. }, Value::Real(x)) => Some(*x),
            (Domain::Real { .. } | Domain::Integer { .. }, Value::Integer(i)) => Some(*i as f64),
            (Domain::Choice { values }, Value::Choice(label)) => {
                values.iter().position(|l| l == label).map(|i| i as f64)
            }
            (Domain::Flag, Value::Flag(b)) => Some(f64::from(u8::from(*b))),
            _ => None,
        }
    }

    /// Brings an integer written for a real knob (`temperature = 1`) to the
    /// type the domain expects.
    pub fn coerce(&self, value: Value) -> Value {
        match (self, value) {
            (Domain::Real { .. }, Value::Integer(i)) => Value::Real(i as f64),
            (_, v) => v,
        }
    }
}

fn real_in_range(x: f64, low: f64, high: f64, step: Option<f64>) -> bool {
    if !(x.is_finite() && x >= low && x <= high) {
        return false;
    }
    step.is_none_or(|s| {
        let k = ((x - low) / s).round();
        (low + k * s - x).abs() <= 1e-9 * s.abs().max(1.0)
    })
}

fn log_note(log: bool) -> &'static str {
    if log {
        ", log scale"
    } else {
        ""
    }
}

fn step_note<T: std::fmt::Display>(step: Option<T>) -> String {
    step.map(|s| format!(", step {s}")).unwrap_or_default()
}

/// One knob of the search space.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Param {
    pub name: String,
    #[serde(flatten)]
    pub domain: Domain,
}

/// A configuration: knob name to value, in search-space order.
pub type Config = Vec<(String, Value)>;

/// Whether a smaller or larger value of a metric is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Minimize,
    Maximize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Objective {
    pub metric: String,
    pub direction: Direction,
}

/// `low <= metric <= high`; at least one bound is set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Constraint {
    pub metric: String,
    pub low: Option<f64>,
    pub high: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TrialState {
    Complete,
    Failed,
    Running,
    Pruned,
}

/// One measured (or in-flight) configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trial {
    pub number: u32,
    pub config: Config,
    pub metrics: Vec<(String, f64)>,
    pub state: TrialState,
}

/// The traffic the deployment must serve.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Workload {
    pub requests_per_day: Option<f64>,
    pub peak_requests_per_second: Option<f64>,
    pub mean_input_tokens: Option<f64>,
    pub mean_output_tokens: Option<f64>,
}

/// One served request, compact: labels are indices into the log's tables and
/// the prompt is a hash, because a log can hold millions of records (about
/// 80 bytes each in memory).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RequestRecord {
    /// Index into [`RequestLog::served_by`].
    pub served_by: u32,
    /// [`prompt_hash`] of the prompt id or text.
    pub prompt: Option<u64>,
    /// Index into [`RequestLog::categories`].
    pub category: Option<u32>,
    pub latency_ms: Option<f64>,
    pub input_tokens: Option<u32>,
    pub output_tokens: Option<u32>,
    pub cost_usd: Option<f64>,
    pub score: Option<f64>,
    pub timestamp_ms: Option<i64>,
}

/// Per-request data with its label tables; `extra` is row-major over
/// `extra_metrics`, NaN where a record lacks the metric.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RequestLog {
    pub served_by: Vec<String>,
    pub categories: Vec<String>,
    pub records: Vec<RequestRecord>,
    pub extra_metrics: Vec<String>,
    pub extra: Vec<f64>,
}

impl RequestLog {
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }
}

/// FNV-1a of a prompt id or text: stable across processes and versions,
/// which a hash that strategies compare (cache hit rates) must be.
pub fn prompt_hash(prompt: &str) -> u64 {
    prompt.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Everything a strategy may know about one deployment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    pub name: String,
    /// What the model does: `code-review`, `semantic-search`, ... or custom.
    pub kind: String,
    pub description: Option<String>,
    pub space: Vec<Param>,
    pub baseline: Config,
    pub objectives: Vec<Objective>,
    pub constraints: Vec<Constraint>,
    pub workload: Workload,
    pub trials: Vec<Trial>,
    pub requests: RequestLog,
    /// Strategy options chosen by the user.
    pub options: Vec<(String, Value)>,
}
