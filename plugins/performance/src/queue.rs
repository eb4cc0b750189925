//! What a configuration measured one request at a time does under load.
//!
//! Service time is lognormal, fitted to the measured median and p95 (a
//! right-skewed, positive distribution whose tail the two quantiles pin
//! down); its mean is the measured single-worker throughput's inverse when
//! the profile has one. Arrivals are Poisson at the workload's rate and `c`
//! identical workers share one queue: an M/G/c queue, approximated the
//! standard way (Allen–Cunneen): an arrival waits with the Erlang C
//! probability, and the wait, when there is one, is exponential with mean
//! `E[Wq] / C`, `E[Wq] = C / (cμ − λ) · (1 + cs²) / 2`. This is exact for
//! M/M/c and the usual engineering approximation otherwise; its point is
//! that a configuration whose latency was measured at no load is judged at
//! the load it will see.

use aiopt_sdk::stats::normal_cdf;

/// z of the standard normal's 95th percentile.
const Z95: f64 = 1.644_853_626_951_472_2;

/// A fitted service-time distribution, in milliseconds.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Service {
    pub median_ms: f64,
    pub sigma: f64,
    pub mean_ms: f64,
}

impl Service {
    /// Fits `p50 <= p95` (both > 0); the mean from `throughput_rps` (one
    /// worker, requests per second) when given, else the lognormal's.
    pub fn fit(p50: f64, p95: f64, throughput_rps: Option<f64>) -> Option<Service> {
        if !(p50 > 0.0 && p95 >= p50 && p95.is_finite()) {
            return None;
        }
        let sigma = ((p95 / p50).ln() / Z95).max(1e-3);
        let lognormal_mean = p50 * (sigma * sigma / 2.0).exp();
        let mean_ms = throughput_rps
            .filter(|t| *t > 0.0 && t.is_finite())
            .map_or(lognormal_mean, |t| 1000.0 / t);
        Some(Service {
            median_ms: p50,
            sigma,
            mean_ms,
        })
    }

    /// Squared coefficient of variation of the service time.
    fn cs2(&self) -> f64 {
        (self.sigma * self.sigma).exp() - 1.0
    }

    /// `P(S > t)`.
    fn survival(&self, t: f64) -> f64 {
        if t <= 0.0 {
            return 1.0;
        }
        1.0 - normal_cdf((t / self.median_ms).ln() / self.sigma)
    }

    /// The density of `S` at `t`.
    fn density(&self, t: f64) -> f64 {
        if t <= 0.0 {
            return 0.0;
        }
        let z = (t / self.median_ms).ln() / self.sigma;
        (-0.5 * z * z).exp() / (t * self.sigma * (2.0 * std::f64::consts::PI).sqrt())
    }

    /// The service rate of one worker, requests per millisecond.
    fn rate(&self) -> f64 {
        1.0 / self.mean_ms
    }
}

/// The queue at one arrival rate.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Load {
    /// Share of the workers' capacity in use.
    pub utilization: f64,
    /// Probability that an arrival waits (Erlang C).
    pub wait_probability: f64,
    /// Mean wait over all arrivals, milliseconds.
    pub mean_wait_ms: f64,
}

/// Erlang C: the probability an arrival waits with `c` workers and offered
/// load `a = λ / μ < c`.
fn erlang_c(c: u32, a: f64) -> f64 {
    // Terms a^k / k! accumulated without overflow.
    let mut term = 1.0;
    let mut sum = 1.0;
    for k in 1..c {
        term *= a / f64::from(k);
        sum += term;
    }
    let last = term * a / f64::from(c) * (f64::from(c) / (f64::from(c) - a));
    last / (sum + last)
}

/// The queue with `c` workers at `rps` arrivals per second; `None` when it
/// cannot keep up (utilization ≥ 1).
pub(crate) fn load(service: &Service, c: u32, rps: f64) -> Option<Load> {
    let lambda = rps / 1000.0;
    let mu = service.rate();
    let a = lambda / mu;
    let utilization = a / f64::from(c);
    if utilization.is_nan() || utilization >= 1.0 {
        return None;
    }
    let wait_probability = if lambda > 0.0 { erlang_c(c, a) } else { 0.0 };
    let mean_wait_ms = wait_probability / (f64::from(c) * mu - lambda) * (1.0 + service.cs2()) / 2.0;
    Some(Load {
        utilization,
        wait_probability,
        mean_wait_ms,
    })
}

/// `P(R > t)` for response time `R = S + W`.
fn response_survival(service: &Service, load: &Load, t: f64) -> f64 {
    let c = load.wait_probability;
    if c <= 0.0 || load.mean_wait_ms <= 0.0 {
        return service.survival(t);
    }
    // Given a wait, it is exponential with mean E[Wq] / C.
    let rate = c / load.mean_wait_ms;
    // P(S > t) + ∫₀ᵗ f_S(s) · C · e^{−rate (t − s)} ds, by Simpson's rule.
    const STEPS: usize = 64;
    let h = t / STEPS as f64;
    let f = |s: f64| service.density(s) * (-rate * (t - s)).exp();
    let mut integral = f(0.0) + f(t);
    for k in 1..STEPS {
        integral += f(k as f64 * h) * if k % 2 == 1 { 4.0 } else { 2.0 };
    }
    (service.survival(t) + c * integral * h / 3.0).min(1.0)
}

/// The `q`-quantile of response time at `rps`, milliseconds; `None` when
/// the queue cannot keep up.
pub(crate) fn response_quantile(service: &Service, c: u32, rps: f64, q: f64) -> Option<f64> {
    let load = load(service, c, rps)?;
    let target = 1.0 - q;
    let (mut lo, mut hi) = (0.0, service.median_ms);
    while response_survival(service, &load, hi) > target {
        hi *= 2.0;
        if hi > 1e9 {
            return None;
        }
    }
    for _ in 0..40 {
        let mid = 0.5 * (lo + hi);
        if response_survival(service, &load, mid) > target {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Some(hi)
}

/// The largest arrival rate (requests per second) whose `q`-quantile of
/// response time stays within `slo_ms`; 0 when even an idle worker misses
/// it.
pub(crate) fn capacity(service: &Service, c: u32, slo_ms: f64, q: f64) -> f64 {
    let within = |rps: f64| response_quantile(service, c, rps, q).is_some_and(|r| r <= slo_ms);
    if !within(0.0) {
        return 0.0;
    }
    let saturation = f64::from(c) * service.rate() * 1000.0;
    let (mut lo, mut hi) = (0.0, saturation);
    for _ in 0..30 {
        let mid = 0.5 * (lo + hi);
        if within(mid) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    lo
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fits_the_measured_quantiles() {
        let s = Service::fit(10.0, 20.0, None).unwrap();
        assert!((s.survival(10.0) - 0.5).abs() < 1e-6);
        assert!((s.survival(20.0) - 0.05).abs() < 1e-6);
        // No load: the response quantiles are the service's.
        let p95 = response_quantile(&s, 1, 0.0, 0.95).unwrap();
        assert!((p95 - 20.0).abs() < 1e-3, "{p95}");
    }

    #[test]
    fn exponential_service_on_one_worker_is_m_m_1() {
        // An exponential service time is not lognormal; use M/M/1's closed
        // form for the wait instead: E[Wq] = ρ / (μ − λ) with cs² = 1.
        let s = Service {
            median_ms: 1.0,
            sigma: (2.0f64).ln().sqrt(),
            mean_ms: 10.0,
        };
        assert!((s.cs2() - 1.0).abs() < 1e-12);
        let l = load(&s, 1, 50.0).unwrap();
        // μ = 0.1 per ms, λ = 0.05 per ms: ρ = 0.5, E[Wq] = 0.5 / 0.05 = 10 ms.
        assert!((l.utilization - 0.5).abs() < 1e-12);
        assert!((l.wait_probability - 0.5).abs() < 1e-12);
        assert!((l.mean_wait_ms - 10.0).abs() < 1e-9, "{l:?}");
        assert!(
            load(&s, 1, 100.0).is_none(),
            "at saturation the queue grows without bound"
        );
        // Two workers: Erlang C for a = 1, c = 2 is 1/3.
        assert!((load(&s, 2, 100.0).unwrap().wait_probability - 1.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn latency_grows_with_load_and_capacity_meets_the_slo() {
        let s = Service::fit(10.0, 20.0, Some(80.0)).unwrap();
        let at = |rps| response_quantile(&s, 1, rps, 0.95).unwrap();
        assert!(at(10.0) < at(40.0) && at(40.0) < at(70.0));
        let cap = capacity(&s, 1, 40.0, 0.95);
        assert!(cap > 0.0 && cap < 80.0, "{cap}");
        assert!((at(cap) - 40.0).abs() < 0.05, "{}", at(cap));
        // An SLO below the idle p95 cannot be met at any load.
        assert_eq!(capacity(&s, 1, 15.0, 0.95), 0.0);
        // More workers, more capacity.
        assert!(capacity(&s, 2, 40.0, 0.95) > 1.9 * cap);
    }
}
