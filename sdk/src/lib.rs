//! Write aiopt strategy plugins: implement one trait, invoke one macro.
//!
//! A strategy is a WebAssembly component (WASI 0.2) that the aiopt host loads
//! into a sandbox with no files, network, environment or real clock. The
//! contract is the WIT package `aiopt:strategy@0.1.0` in the repository's
//! `wit/` directory; this crate generates its bindings, keeps them private and
//! re-exports the data types at the crate root, so a plugin author writes
//! plain Rust and no `unsafe`:
//!
//! ```
//! use aiopt_sdk::{Config, Domain, Error, Info, IntRange, Kind, Param, Profile, Rng, Strategy};
//!
//! /// Proposes `count` random values of every knob.
//! struct Dice;
//!
//! impl Strategy for Dice {
//!     fn info() -> Info {
//!         Info {
//!             name: "dice".into(),
//!             version: env!("CARGO_PKG_VERSION").into(),
//!             kinds: vec![Kind::Tuning],
//!             summary: "Rolls a die for every knob.".into(),
//!             options: vec![],
//!         }
//!     }
//!
//!     fn suggest(profile: Profile, count: u32, seed: u64) -> Result<Vec<Config>, Error> {
//!         profile.validate_space()?;
//!         let mut rng = Rng::new(seed);
//!         Ok((0..count).map(|_| profile.sample_config(&mut rng)).collect())
//!     }
//!     // `recommend` keeps its default: `Err(Error::Unsupported(..))`.
//! }
//!
//! // Exports `Dice` as the component's `strategy` interface when built for
//! // wasm32; on other targets it only checks that `Dice` is a `Strategy`.
//! aiopt_sdk::export_strategy!(Dice);
//!
//! // Natively the strategy is plain Rust: call it directly.
//! let profile = Profile {
//!     name: "demo".into(),
//!     space: vec![Param {
//!         name: "batch_size".into(),
//!         domain: Domain::Integer(IntRange { low: 1, high: 6, log: false, step: None }),
//!     }],
//!     ..Profile::default()
//! };
//! let configs = Dice::suggest(profile.clone(), 3, 42).unwrap();
//! assert_eq!(configs.len(), 3);
//! for config in &configs {
//!     let value = aiopt_sdk::ConfigExt::value(config.as_slice(), "batch_size").unwrap();
//!     assert!(profile.space[0].domain.contains(value));
//! }
//! // The same seed gives the same configurations: studies replay exactly.
//! assert_eq!(configs, Dice::suggest(profile.clone(), 3, 42).unwrap());
//! assert!(matches!(Dice::recommend(profile, 42), Err(Error::Unsupported(_))));
//! ```
//!
//! # History is flat
//!
//! Outputs are named (a [`Config`] is a list of `name = value`
//! [`Assignment`]s), but the history the host sends on every call is not:
//! it can hold thousands of trials, and every string or list that crosses
//! the boundary costs an allocation on both sides, while a list of numbers
//! is one copy. So [`History`] is a few flat blocks with one row per trial,
//! oldest first:
//!
//! * `numbers[i]`, `states[i]`: row `i`'s trial number and [`TrialState`];
//! * `values[i * space.len() + j]`: its value of knob `profile.space[j]`,
//!   encoded as a number ([`Domain::encode`]): a real as itself, an integer
//!   exactly (the host refuses integer knobs beyond ±2^53), a choice as the
//!   index of its label in the domain, a flag as 0 or 1;
//! * `metrics[i * metric_names.len() + k]`: its measurement of metric
//!   `metric_names[k]`, NaN where it was not measured. Objective and
//!   constraint metrics come first.
//!
//! The request log's further metrics work the same way ([`RequestLog`]).
//! [`Profile::trials`] reads the rows as borrowed [`TrialView`]s (slices of
//! the blocks, no allocation); lookups by name are methods of [`Profile`],
//! which holds the names, and take the view. In a loop, resolve a column
//! once ([`Profile::metric_index`], [`Profile::param_index`]) and read
//! [`TrialView::metric_at`] or `view.values[j]`: no string comparison per
//! trial. To compare a configuration with history, encode it
//! ([`Profile::encode_config`]) and compare numbers.
//!
//! ```
//! use aiopt_sdk::{ConfigExt, Domain, Param, Profile, TrialState, Value};
//!
//! let mut profile = Profile {
//!     space: vec![
//!         Param::new("model", Domain::choice(["small", "large"])),
//!         Param::new("batch_size", Domain::integer(1, 64)),
//!     ],
//!     ..Profile::default()
//! };
//! // The host sends history ready-made; tests and examples build it by name.
//! let model = |label: &str| Value::Choice(label.into());
//! let large = [model("large"), Value::Integer(8)];
//! profile.push_trial(0, TrialState::Complete, &large, &[("latency_ms", 420.0)]);
//! profile.push_trial(
//!     1,
//!     TrialState::Complete,
//!     &[model("small"), Value::Integer(8)],
//!     &[("latency_ms", 180.0), ("accuracy", 0.9)],
//! );
//! // The flat layout: "large" is label 1, "small" label 0.
//! assert_eq!(profile.history.values, [1.0, 8.0, 0.0, 8.0]);
//! assert_eq!(profile.history.metric_names, ["latency_ms", "accuracy"]);
//! assert!(profile.history.metrics[1].is_nan()); // trial 0 did not measure accuracy
//!
//! let latency = profile.metric_index("latency_ms").unwrap();
//! let fastest = profile
//!     .completed_trials()
//!     .filter(|t| t.metric_at(latency).is_some())
//!     .min_by(|a, b| a.metric_at(latency).partial_cmp(&b.metric_at(latency)).unwrap())
//!     .unwrap();
//! assert_eq!(profile.trial_metric(&fastest, "latency_ms"), Some(180.0));
//! assert_eq!(profile.trial_value(&fastest, "model"), Some(model("small")));
//! assert_eq!(fastest.label(0), Some("small")); // without allocating
//! // Output is named: turn the trial back into a configuration.
//! let config = profile.trial_config(&fastest);
//! assert_eq!(config.describe(), "model=small, batch_size=8");
//! // A named configuration encodes to the row it would have in history.
//! assert_eq!(profile.encode_config(&config).as_deref(), Some(fastest.values));
//! assert_eq!(profile.config_key(&config), Some(fastest.key()));
//! ```
//!
//! # What the SDK adds to the WIT types
//!
//! * [`Rng`]: a seeded generator whose output is fixed forever, because a
//!   study must replay byte-identically from its seeds.
//! * [`TrialView`]: one row of the flat history, borrowed.
//! * Helpers on [`Profile`], [`History`], [`RequestLog`], [`Direction`],
//!   [`Domain`], [`Value`] (inherent methods, no import needed) and on
//!   configurations ([`ConfigExt`]; a [`Config`] is a `Vec`, so these are a
//!   trait); [`ConfigKey`], the exact identity of a configuration.
//! * [`log!`], [`info!`], [`warn!`], [`debug!`], [`error!`], [`trace!`]: log
//!   through the host (stderr when not built for wasm32).
//! * [`stats`]: small statistics every strategy needs (t-intervals).
//!
//! # Safety
//!
//! The crate cannot `#![forbid(unsafe_code)]` because the generated bindings
//! (the hidden `__private` module, produced by `wit_bindgen::generate!`) lift
//! and lower values across the component ABI with raw pointers. All `unsafe`
//! lives in that generated code and in the exports `export_strategy!` expands
//! to; every hand-written module is free of it (they carry
//! `#![forbid(unsafe_code)]`). Plugin crates can and should
//! `#![forbid(unsafe_code)]`: the lint does not attribute the export glue
//! expanded from this crate's macro to them (the `random` plugin does so).
//!
//! # Determinism
//!
//! Strategies must give equal results for equal inputs, in the sandbox and
//! natively. Beyond [`Rng`], avoid `HashMap`/`HashSet` iteration order (their
//! hasher is randomly seeded; use `BTreeMap`, `BTreeSet` or [`ConfigKey`]
//! ordering) and any clock. Log-scaled sampling uses `f64::ln` and `f64::exp`
//! from the target's math library: bit-identical across runs of one build, but
//! a native build and the wasm build may differ in the last bit.

#![warn(missing_docs)]

mod config;
mod domain;
mod fingerprint;
mod history;
mod logging;
mod profile;
mod replicates;
mod requests;
mod rng;
pub mod served;
pub mod stats;
pub mod testing;
pub mod text;

/// The bindings generated from `wit/strategy.wit`. Public only because
/// [`export_strategy!`] expands in the plugin's crate and must name them; not
/// part of the API and may change in any release.
#[doc(hidden)]
pub mod __private {
    wit_bindgen::generate!({
        world: "plugin",
        path: "../wit",
        // The export macro must be reachable from plugin crates, through
        // `export_strategy!`.
        pub_export_macro: true,
        export_macro_name: "__export_plugin",
        default_bindings_module: "$crate::__private",
        additional_derives: [PartialEq],
        // Lets authors and tests write `Profile { space, ..Default::default() }`.
        additional_type_attributes: {
            "aiopt:strategy/types@0.1.0/workload": [#[derive(Default)]],
            "aiopt:strategy/types@0.1.0/profile": [#[derive(Default)]],
            "aiopt:strategy/types@0.1.0/history": [#[derive(Default)]],
            "aiopt:strategy/types@0.1.0/request-log": [#[derive(Default)]],
            "aiopt:strategy/types@0.1.0/request-record": [#[derive(Default)]],
            "aiopt:strategy/types@0.1.0/report": [#[derive(Default)]],
        },
    });

    use crate::Strategy;
    use exports::aiopt::strategy::strategy::Guest;

    /// Every [`Strategy`] is a `Guest`, so the generated export glue can call
    /// the author's type directly, with no adapter type for them to name.
    impl<T: Strategy> Guest for T {
        fn info() -> crate::Info {
            <T as Strategy>::info()
        }

        fn recommend(profile: crate::Profile, seed: u64) -> Result<crate::Report, crate::Error> {
            <T as Strategy>::recommend(profile, seed)
        }

        fn suggest(
            profile: crate::Profile,
            count: u32,
            seed: u64,
        ) -> Result<Vec<crate::Config>, crate::Error> {
            <T as Strategy>::suggest(profile, count, seed)
        }
    }

    /// Lets `export_strategy!` check the bound with a readable error on every
    /// target, including those where nothing is exported.
    pub const fn assert_strategy<T: Strategy>() {}
}

/// One knob set to one value.
pub use __private::aiopt::strategy::types::Assignment;
/// A full configuration: one assignment per knob, in search-space order.
pub use __private::aiopt::strategy::types::Config;
/// A bound a feasible configuration must keep.
pub use __private::aiopt::strategy::types::Constraint;
/// Whether a metric is minimized or maximized; see [`Direction::is_better`].
pub use __private::aiopt::strategy::types::Direction;
/// The set of values a knob may take; see [`Domain::sample`] for the exact
/// sampling rules and [`Domain::cardinality`] for its size.
pub use __private::aiopt::strategy::types::Domain;
/// Why a call failed: invalid input, unsupported, or failed.
pub use __private::aiopt::strategy::types::Error;
/// A predicted metric with its 95% interval.
pub use __private::aiopt::strategy::types::Estimate;
/// The measured history as flat row-major blocks (`profile.history`): read
/// it through [`Profile::trials`] and [`TrialView`], build it with
/// [`Profile::push_trial`] or [`History::push`]. See the crate docs,
/// "History is flat".
pub use __private::aiopt::strategy::types::History;
/// The inclusive bounds of an integer knob.
pub use __private::aiopt::strategy::types::IntRange;
/// An optimization type a strategy implements.
pub use __private::aiopt::strategy::types::Kind;
/// The severity of a log line.
pub use __private::aiopt::strategy::types::Level;
/// What "better" means for one metric.
pub use __private::aiopt::strategy::types::Objective;
/// An option the strategy understands, with its default.
pub use __private::aiopt::strategy::types::OptionSpec;
/// One knob of the search space.
pub use __private::aiopt::strategy::types::Param;
/// Who the plugin is: name, version, kinds, summary and options (the WIT
/// record `plugin-info`; `Info` reads better in plugin code).
pub use __private::aiopt::strategy::types::PluginInfo as Info;
/// Everything a strategy may know about one deployment.
pub use __private::aiopt::strategy::types::Profile;
/// One proposed change to the deployment.
pub use __private::aiopt::strategy::types::Proposal;
/// The bounds of a real knob.
pub use __private::aiopt::strategy::types::RealRange;
/// What `recommend` returns: proposals, best first, and notes.
pub use __private::aiopt::strategy::types::Report;
/// The served requests with their label tables and a flat block of further
/// metrics (`profile.requests`); see [`RequestLog::served_by_name`] and
/// [`RequestLog::extra`].
pub use __private::aiopt::strategy::types::RequestLog;
/// One served request: indices into its [`RequestLog`]'s label tables, a
/// prompt hash and fixed-size measurements.
pub use __private::aiopt::strategy::types::RequestRecord;
/// Where a trial stands: complete, failed, running or pruned.
pub use __private::aiopt::strategy::types::TrialState;
/// The value of one knob (a real, an integer, a choice label or a flag).
pub use __private::aiopt::strategy::types::Value;
/// The traffic the deployment must serve.
pub use __private::aiopt::strategy::types::Workload;

pub use config::{ConfigExt, ConfigKey};
pub use fingerprint::fingerprint;
pub use history::TrialView;
pub use logging::log;
pub use replicates::{group_replicates, summarize, Replicates};
pub use rng::Rng;

/// Everything a strategy usually needs, for `use aiopt_sdk::prelude::*;`.
pub mod prelude {
    pub use crate::{
        Assignment, Config, ConfigExt, ConfigKey, Constraint, Direction, Domain, Error, Estimate, History,
        Info, IntRange, Kind, Level, Objective, OptionSpec, Param, Profile, Proposal, RealRange, Report,
        RequestLog, RequestRecord, Rng, Strategy, TrialState, TrialView, Value, Workload,
    };
}

/// An optimization strategy: the one trait a plugin implements.
///
/// Every call is stateless. The host passes the whole profile (space,
/// baseline, goals, history) and a seed, so a strategy must compute its answer
/// from its arguments alone: equal arguments must give equal results, which is
/// what lets studies resume after a crash and replay exactly. Use [`Rng`]
/// seeded from `seed` for any randomness; the sandbox offers no clock or
/// entropy a strategy should depend on.
///
/// A panic aborts the call: the host sees a trap and reports the plugin as
/// failed. Return an [`Error`] instead for anything the user can fix.
pub trait Strategy {
    /// Who the plugin is. The host calls it once per load and expects it not
    /// to fail, so build the value from constants.
    fn info() -> Info;

    /// `count` new configurations to evaluate next, one assignment per knob in
    /// search-space order. The history is `profile.history`, read through
    /// [`Profile::trials`].
    ///
    /// The default answers [`Error::Unsupported`], which is right for
    /// strategies that only analyse (cost, quality).
    fn suggest(profile: Profile, count: u32, seed: u64) -> Result<Vec<Config>, Error> {
        let _ = (profile, count, seed);
        Err(Error::Unsupported(format!(
            "strategy `{}` does not suggest configurations",
            Self::info().name
        )))
    }

    /// Proposals for the profile, best first, with the reasons in plain
    /// words.
    ///
    /// The default answers [`Error::Unsupported`], which is right for
    /// strategies that only search (tuning samplers).
    fn recommend(profile: Profile, seed: u64) -> Result<Report, Error> {
        let _ = (profile, seed);
        Err(Error::Unsupported(format!(
            "strategy `{}` does not make recommendations",
            Self::info().name
        )))
    }
}

/// Exports a [`Strategy`] as the plugin's `strategy` interface.
///
/// Invoke it once, at the top level of the plugin crate, with the name of
/// the type implementing [`Strategy`]:
///
/// ```
/// # use aiopt_sdk::{Info, Kind, Strategy};
/// struct Noop;
/// impl Strategy for Noop {
///     fn info() -> Info {
///         Info {
///             name: "noop".into(),
///             version: "0.1.0".into(),
///             kinds: vec![Kind::Tuning],
///             summary: "Does nothing.".into(),
///             options: vec![],
///         }
///     }
/// }
/// aiopt_sdk::export_strategy!(Noop);
/// ```
///
/// For `wasm32` it forwards to the export macro wit-bindgen generated for the
/// `plugin` world, which defines the component's exported functions (and the
/// custom section describing the world) in the plugin crate; the SDK's
/// blanket `Guest` impl for every `Strategy` connects them to the type. On
/// other targets nothing is exported, so native tests and benchmarks can link
/// any number of strategies into one binary without duplicate symbols; the
/// macro then only checks that the type implements [`Strategy`].
#[macro_export]
macro_rules! export_strategy {
    ($strategy:ident) => {
        const _: () = $crate::__private::assert_strategy::<$strategy>();
        #[cfg(target_arch = "wasm32")]
        $crate::__private::__export_plugin!($strategy with_types_in $crate::__private);
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Minimal;

    impl Strategy for Minimal {
        fn info() -> Info {
            Info {
                name: "minimal".into(),
                version: "0.0.0".into(),
                kinds: vec![Kind::Cost],
                summary: "Implements nothing but `info`.".into(),
                options: vec![],
            }
        }
    }

    export_strategy!(Minimal);

    #[test]
    fn defaults_are_unsupported_and_name_the_strategy() {
        let Err(Error::Unsupported(why)) = Minimal::suggest(Profile::default(), 1, 0) else {
            panic!("default suggest must be unsupported");
        };
        assert!(why.contains("`minimal`"), "{why}");
        let Err(Error::Unsupported(why)) = Minimal::recommend(Profile::default(), 0) else {
            panic!("default recommend must be unsupported");
        };
        assert!(why.contains("`minimal`"), "{why}");
    }

    #[test]
    fn strategies_are_guests() {
        use __private::exports::aiopt::strategy::strategy::Guest;
        assert_eq!(<Minimal as Guest>::info().name, "minimal");
    }

    #[test]
    fn native_logging_goes_to_stderr_instead_of_the_import() {
        // The wit-bindgen import stub panics off wasm32; this must not.
        log!(Level::Info, "native {} line", "log");
        info!("info");
        warn!("warn {}", 1);
        debug!("debug");
        error!("error");
        trace!("trace");
    }
}
