//! Reading the per-request log.
//!
//! A request log can hold millions of records, so the contract keeps each
//! [`RequestRecord`] fixed-size: who served it and its category are indices
//! into label tables of the [`RequestLog`], the prompt is a 64-bit hash, and
//! further metrics live in one flat block beside the records, `extra`, row
//! `i` for record `i` with one column per name in `extra_metrics` (NaN where
//! not measured). These helpers turn the indices back into names and read
//! the block; loops over many records should resolve a name to its index
//! once and compare indices.
//!
//! ```
//! use aiopt_sdk::{RequestLog, RequestRecord};
//!
//! let record = |served_by, cost| RequestRecord {
//!     served_by,
//!     cost_usd: Some(cost),
//!     ..RequestRecord::default()
//! };
//! let log = RequestLog {
//!     served_by: vec!["small".into(), "large".into()],
//!     categories: vec![],
//!     records: vec![record(0, 0.001), record(1, 0.02), record(1, 0.03)],
//!     extra_metrics: vec!["retrieval_recall".into()],
//!     // One column: one number per record.
//!     extra: vec![0.5, f64::NAN, 0.75],
//! };
//! let large = log.served_by_index("large").unwrap();
//! let cost: f64 = log
//!     .records
//!     .iter()
//!     .filter(|r| r.served_by == large)
//!     .filter_map(|r| r.cost_usd)
//!     .sum();
//! assert_eq!(cost, 0.05);
//! assert_eq!(log.served_by_name(&log.records[0]), Some("small"));
//! assert_eq!(log.extra(0, "retrieval_recall"), Some(0.5));
//! assert_eq!(log.extra(1, "retrieval_recall"), None); // not measured
//! // In a loop, resolve the column once.
//! let recall = log.extra_index("retrieval_recall").unwrap();
//! let measured = (0..log.records.len()).filter_map(|i| log.extra_at(i, recall)).count();
//! assert_eq!(measured, 2);
//! ```

#![forbid(unsafe_code)]

use crate::{RequestLog, RequestRecord};

impl RequestLog {
    /// The label of the model or configuration that served `record`; `None`
    /// when its index is outside `served_by`.
    pub fn served_by_name(&self, record: &RequestRecord) -> Option<&str> {
        label(&self.served_by, Some(record.served_by))
    }

    /// The category label of `record`; `None` when it has no category or
    /// its index is outside `categories`.
    pub fn category_name(&self, record: &RequestRecord) -> Option<&str> {
        label(&self.categories, record.category)
    }

    /// The index `label` has in `served_by`, to compare with
    /// [`RequestRecord::served_by`](RequestRecord) (the first, should it be
    /// listed twice).
    pub fn served_by_index(&self, label: &str) -> Option<u32> {
        index(&self.served_by, label)
    }

    /// The index `label` has in `categories`, to compare with
    /// [`RequestRecord::category`](RequestRecord).
    pub fn category_index(&self, label: &str) -> Option<u32> {
        index(&self.categories, label)
    }

    /// The column of further metric `name` in `extra` (the first, should it
    /// be listed twice); read it with [`RequestLog::extra_at`].
    pub fn extra_index(&self, name: &str) -> Option<usize> {
        self.extra_metrics.iter().position(|m| m == name)
    }

    /// Record `record`'s value of further metric `name` (`record` is its
    /// index in `records`): `None` when the log has no such metric or the
    /// record lacks it (NaN).
    pub fn extra(&self, record: usize, name: &str) -> Option<f64> {
        self.extra_at(record, self.extra_index(name)?)
    }

    /// Record `record`'s value in further-metric column `k` (see
    /// [`RequestLog::extra_index`]); `None` when missing (NaN) or outside
    /// the block.
    pub fn extra_at(&self, record: usize, k: usize) -> Option<f64> {
        let width = self.extra_metrics.len();
        if k >= width {
            return None;
        }
        let at = record.checked_mul(width)?.checked_add(k)?;
        self.extra.get(at).copied().filter(|x| !x.is_nan())
    }

    /// Record `record`'s row of `extra`: one number per name in
    /// `extra_metrics`, NaN where not measured; empty when the block does
    /// not hold the row.
    pub fn extra_row(&self, record: usize) -> &[f64] {
        let width = self.extra_metrics.len();
        record
            .checked_mul(width)
            .and_then(|start| self.extra.get(start..start.checked_add(width)?))
            .unwrap_or(&[])
    }

    /// Appends `record` with its further metrics `extra`, one per name in
    /// `extra_metrics` (NaN where not measured); for tests and examples.
    ///
    /// # Panics
    ///
    /// When `extra` does not have one entry per name in `extra_metrics`.
    pub fn push(&mut self, record: RequestRecord, extra: &[f64]) {
        assert_eq!(
            extra.len(),
            self.extra_metrics.len(),
            "a request needs one extra value per extra metric"
        );
        self.records.push(record);
        self.extra.extend_from_slice(extra);
    }
}

fn label(labels: &[String], index: Option<u32>) -> Option<&str> {
    labels.get(usize::try_from(index?).ok()?).map(String::as_str)
}

fn index(labels: &[String], label: &str) -> Option<u32> {
    labels.iter().position(|l| l == label)?.try_into().ok()
}

#[cfg(test)]
mod tests {
    use crate::{RequestLog, RequestRecord};

    #[test]
    fn indices_resolve_to_labels_and_back() {
        let mut log = RequestLog {
            served_by: vec!["a".into(), "b".into()],
            categories: vec!["code".into()],
            extra_metrics: vec!["x".into(), "y".into()],
            ..RequestLog::default()
        };
        log.push(
            RequestRecord {
                served_by: 1,
                category: Some(0),
                ..RequestRecord::default()
            },
            &[f64::NAN, 2.0],
        );
        log.push(
            RequestRecord {
                served_by: 7,
                category: Some(3),
                ..RequestRecord::default()
            },
            &[f64::NAN, f64::NAN],
        );
        assert_eq!(log.extra.len(), 4);
        let [r0, r1] = &log.records[..] else {
            unreachable!()
        };
        assert_eq!(log.served_by_name(r0), Some("b"));
        assert_eq!(log.category_name(r0), Some("code"));
        assert_eq!(log.served_by_name(r1), None);
        assert_eq!(log.category_name(r1), None);
        assert_eq!(log.category_name(&RequestRecord::default()), None);
        assert_eq!(log.served_by_index("b"), Some(1));
        assert_eq!(log.served_by_index("c"), None);
        assert_eq!(log.category_index("code"), Some(0));
        assert_eq!(log.extra_index("y"), Some(1));
        assert_eq!(log.extra(0, "y"), Some(2.0));
        assert_eq!(log.extra(0, "x"), None);
        assert_eq!(log.extra(0, "z"), None);
        assert_eq!(log.extra(1, "y"), None);
        assert_eq!(log.extra_at(0, 1), Some(2.0));
        // Outside the block: no column 2, no record 2.
        assert_eq!(log.extra_at(0, 2), None);
        assert_eq!(log.extra_at(2, 1), None);
        assert_eq!(log.extra_row(0)[1], 2.0);
        assert!(log.extra_row(2).is_empty());
        assert_eq!(RequestLog::default().records.len(), 0);
    }

    #[test]
    #[should_panic(expected = "one extra value per extra metric")]
    fn push_needs_every_extra_column() {
        RequestLog::default().push(RequestRecord::default(), &[1.0]);
    }
}
