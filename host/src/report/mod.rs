//! What strategies return, and how it is shown to people.

mod compare;
pub mod rank;
mod render;
pub mod terminal;

pub use compare::{compare, Comparison, KnobChange, MetricChange};

pub use render::{
    baseline_metrics, config_changes, config_line, format_number, render_configs, render_report,
};

use serde::Serialize;

use crate::profile::Config;

/// A predicted metric with its 95% interval.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Estimate {
    pub metric: String,
    pub value: f64,
    pub low: f64,
    pub high: f64,
}

/// One proposed change to the deployment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Proposal {
    pub title: String,
    #[serde(serialize_with = "crate::report::serialize_config")]
    pub config: Config,
    pub predicted: Vec<Estimate>,
    pub rationale: String,
}

/// A strategy's answer to `recommend`, best proposal first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub proposals: Vec<Proposal>,
    pub notes: Vec<String>,
}

/// Configs serialize as JSON objects (`{"temperature": 0.2}`) in space order.
pub fn serialize_config<S: serde::Serializer>(config: &Config, s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut map = s.serialize_map(Some(config.len()))?;
    for (name, value) in config {
        map.serialize_entry(name, value)?;
    }
    map.end()
}

/// A list of configs, serialized like [`serialize_config`].
pub fn serialize_configs<S: serde::Serializer>(configs: &[Config], s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeSeq;
    struct One<'a>(&'a Config);
    impl Serialize for One<'_> {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            serialize_config(self.0, s)
        }
    }
    let mut seq = s.serialize_seq(Some(configs.len()))?;
    for config in configs {
        seq.serialize_element(&One(config))?;
    }
    seq.end()
}
