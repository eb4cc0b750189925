//! Prometheus metrics (text format): the seed's names, plus plugin calls,
//! fuel, traps and HTTP requests.

use prometheus::{
    Encoder, GaugeVec, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry, TextEncoder,
};

use crate::report::Report;

/// Every metric the server exports, registered once.
pub struct Metrics {
    registry: Registry,
    pub optimization_requests: IntCounterVec,
    pub optimization_duration: HistogramVec,
    pub improvement_percent: GaugeVec,
    pub latency_ms: GaugeVec,
    pub accuracy: GaugeVec,
    pub cost_usd: GaugeVec,
    pub quality_score: GaugeVec,
    pub benchmark_runs: IntCounterVec,
    pub plugin_calls: IntCounterVec,
    pub plugin_fuel: IntCounterVec,
    pub plugin_traps: IntCounterVec,
    pub http_requests: IntCounterVec,
    pub http_duration: HistogramVec,
    /// Strategy and benchmark work running now (at most one per core).
    pub work_running: IntGauge,
    /// Strategy and benchmark requests waiting for a core.
    pub work_waiting: IntGauge,
}

fn counter(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    let c = IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric");
    registry.register(Box::new(c.clone())).expect("registered once");
    c
}

fn gauge(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> GaugeVec {
    let g = GaugeVec::new(Opts::new(name, help), labels).expect("valid metric");
    registry.register(Box::new(g.clone())).expect("registered once");
    g
}

fn int_gauge(registry: &Registry, name: &str, help: &str) -> IntGauge {
    let g = IntGauge::new(name, help).expect("valid metric");
    registry.register(Box::new(g.clone())).expect("registered once");
    g
}

fn histogram(
    registry: &Registry,
    name: &str,
    help: &str,
    labels: &[&str],
    buckets: Vec<f64>,
) -> HistogramVec {
    let h = HistogramVec::new(HistogramOpts::new(name, help).buckets(buckets), labels).expect("valid metric");
    registry.register(Box::new(h.clone())).expect("registered once");
    h
}

impl Metrics {
    pub fn new() -> Metrics {
        let r = Registry::new();
        let seconds = vec![0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 30.0];
        Metrics {
            optimization_requests: counter(
                &r,
                "ai_optimization_requests_total",
                "Optimization requests by type, model and outcome.",
                &["type", "model", "outcome"],
            ),
            optimization_duration: histogram(
                &r,
                "ai_optimization_duration_seconds",
                "Time to answer an optimization request.",
                &["type"],
                seconds.clone(),
            ),
            improvement_percent: gauge(
                &r,
                "ai_optimization_improvement_percent",
                "Predicted improvement of the latest best proposal against the baseline, by type and metric.",
                &["type", "metric"],
            ),
            latency_ms: gauge(
                &r,
                "model_performance_latency_ms",
                "Latest benchmark latency (ms).",
                &["model", "metric"],
            ),
            accuracy: gauge(
                &r,
                "model_performance_accuracy",
                "Latest benchmark accuracy.",
                &["model"],
            ),
            cost_usd: gauge(
                &r,
                "model_performance_cost_usd",
                "Latest benchmark cost per request (USD).",
                &["model"],
            ),
            quality_score: gauge(
                &r,
                "model_performance_quality_score",
                "Latest benchmark quality score.",
                &["model"],
            ),
            benchmark_runs: counter(&r, "benchmark_runs_total", "Benchmark runs by model.", &["model"]),
            plugin_calls: counter(
                &r,
                "aiopt_plugin_calls_total",
                "Strategy plugin calls by plugin and outcome.",
                &["plugin", "outcome"],
            ),
            plugin_fuel: counter(
                &r,
                "aiopt_plugin_fuel_total",
                "Fuel used by strategy plugin calls.",
                &["plugin"],
            ),
            plugin_traps: counter(
                &r,
                "aiopt_plugin_failures_total",
                "Plugin calls that failed, by kind.",
                &["plugin", "kind"],
            ),
            http_requests: counter(
                &r,
                "aiopt_http_requests_total",
                "HTTP requests by route and status.",
                &["route", "status"],
            ),
            http_duration: histogram(
                &r,
                "aiopt_http_request_duration_seconds",
                "HTTP request latency by route.",
                &["route"],
                vec![0.0005, 0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5, 1.0, 5.0],
            ),
            work_running: int_gauge(
                &r,
                "aiopt_work_running",
                "Strategy calls and benchmarks running now (one per core at most).",
            ),
            work_waiting: int_gauge(
                &r,
                "aiopt_work_waiting",
                "Strategy and benchmark requests waiting for a core.",
            ),
            registry: r,
        }
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut buffer = Vec::new();
        // Encoding our own registered families cannot fail.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut buffer);
        String::from_utf8(buffer).unwrap_or_default()
    }

    /// Counts a plugin call (`strategy` may be `name@version`) with its
    /// outcome (`ok`, or why it failed) and the fuel it used.
    pub fn record_plugin_call(&self, strategy: &str, outcome: &str, fuel: u64) {
        let name = strategy.split('@').next().unwrap_or(strategy);
        self.plugin_calls.with_label_values(&[name, outcome]).inc();
        self.plugin_fuel.with_label_values(&[name]).inc_by(fuel);
    }

    /// Records the predicted improvement of a report's first proposal for
    /// every metric the baseline measured.
    pub fn record_improvement(&self, kind: &str, report: &Report, before: &[(String, f64)]) {
        let Some(best) = report.proposals.first() else {
            return;
        };
        for e in &best.predicted {
            if let Some((_, b)) = before
                .iter()
                .find(|(m, _)| *m == e.metric)
                .filter(|(_, b)| *b != 0.0)
            {
                self.improvement_percent
                    .with_label_values(&[kind, &e.metric])
                    .set((e.value - b) / b.abs() * 100.0);
            }
        }
    }
}
