//! The server's most recent plugin calls, kept in memory for the
//! dashboard's plugins page: which strategy ran, how much fuel it used and
//! how it failed, without a metrics stack to query. Prometheus keeps the
//! totals; this keeps the last [`RECENT_CALLS`] calls.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use utoipa::ToSchema;

/// How many calls are kept.
pub const RECENT_CALLS: usize = 200;

/// One plugin call.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PluginCall {
    /// The strategy's name.
    pub plugin: String,
    /// `recommend` or `suggest`.
    pub call: &'static str,
    /// When it started, RFC 3339 UTC.
    pub at: String,
    /// `ok`, or the problem kind of the failure (`plugin-trap`,
    /// `plugin-fuel`, `plugin-timeout`, ...).
    pub outcome: String,
    /// Fuel used, when the call finished.
    pub fuel: Option<u64>,
    pub duration_ms: f64,
    /// What went wrong, in words.
    pub error: Option<String>,
}

/// The recent calls, oldest first.
#[derive(Default)]
pub struct Activity {
    calls: Mutex<VecDeque<PluginCall>>,
}

impl Activity {
    /// Records a call that started at `started` (wall clock `at`).
    pub fn record(
        &self,
        plugin: &str,
        call: &'static str,
        (at, started): (SystemTime, Instant),
        outcome: Result<u64, (String, String)>,
    ) {
        let (outcome, fuel, error) = match outcome {
            Ok(fuel) => ("ok".to_string(), Some(fuel), None),
            Err((kind, detail)) => (kind, None, Some(detail)),
        };
        let entry = PluginCall {
            plugin: plugin.split('@').next().unwrap_or(plugin).to_string(),
            call,
            at: rfc3339(at),
            outcome,
            fuel,
            duration_ms: started.elapsed().as_secs_f64() * 1e3,
            error,
        };
        if let Ok(mut calls) = self.calls.lock() {
            if calls.len() == RECENT_CALLS {
                calls.pop_front();
            }
            calls.push_back(entry);
        }
    }

    /// The recent calls, newest first.
    pub fn recent(&self) -> Vec<PluginCall> {
        self.calls
            .lock()
            .map(|calls| calls.iter().rev().cloned().collect())
            .unwrap_or_default()
    }
}

/// `2026-11-25T19:56:00.123Z` (as the store writes times).
fn rfc3339(at: SystemTime) -> String {
    let since = at.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let (year, month, day) = civil_from_days(days as i64);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60,
        since.subsec_millis()
    )
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (Howard
/// Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn timestamps_are_rfc3339_utc() {
        let at = UNIX_EPOCH + Duration::from_millis(1_795_636_560_123);
        assert_eq!(rfc3339(at), "2026-11-25T19:56:00.123Z");
        assert_eq!(
            rfc3339(UNIX_EPOCH + Duration::from_secs(951_782_400)),
            "2000-02-29T00:00:00.000Z"
        );
    }

    #[test]
    fn only_the_most_recent_calls_are_kept_newest_first() {
        let activity = Activity::default();
        for i in 0..RECENT_CALLS + 5 {
            activity.record(
                "tpe@0.1.0",
                "suggest",
                (SystemTime::now(), Instant::now()),
                Ok(i as u64),
            );
        }
        let recent = activity.recent();
        assert_eq!(recent.len(), RECENT_CALLS);
        assert_eq!(recent[0].fuel, Some((RECENT_CALLS + 4) as u64));
        assert_eq!(recent[0].plugin, "tpe");
        assert_eq!(recent.last().and_then(|c| c.fuel), Some(5));
    }
}
