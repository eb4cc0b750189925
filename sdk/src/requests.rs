//! Reading the per-request log.
//!
//! A request log can hold millions of records, so the contract keeps each
//! [`RequestRecord`] small: who served it and its category are indices into
//! label tables of the [`RequestLog`], the prompt is a 64-bit hash and further
//! metrics are a column list parallel to `extra-metrics`. These helpers turn
//! the indices back into names; loops over many records should resolve a
//! name to its index once and compare indices.
//!
//! ```
//! use aiopt_sdk::{RequestLog, RequestRecord};
//!
//! let record = |served_by, cost| RequestRecord {
//!     served_by,
//!     cost_usd: Some(cost),
//!     extra: vec![Some(0.5)],
//!     ..RequestRecord::default()
//! };
//! let log = RequestLog {
//!     served_by: vec!["small".into(), "large".into()],
//!     categories: vec![],
//!     extra_metrics: vec!["retrieval_recall".into()],
//!     records: vec![record(0, 0.001), record(1, 0.02), record(1, 0.03)],
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
//! assert_eq!(log.extra(&log.records[0], "retrieval_recall"), Some(0.5));
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

    /// The column of further metric `name` in every record's `extra` (the
    /// first, should it be listed twice); read it with
    /// [`RequestRecord::extra_at`].
    pub fn extra_index(&self, name: &str) -> Option<usize> {
        self.extra_metrics.iter().position(|m| m == name)
    }

    /// `record`'s value of further metric `name`: `None` when the log has no
    /// such metric or the record lacks it.
    pub fn extra(&self, record: &RequestRecord, name: &str) -> Option<f64> {
        record.extra_at(self.extra_index(name)?)
    }
}

impl RequestRecord {
    /// The value in further-metric column `index` (see
    /// [`RequestLog::extra_index`]); `None` when missing.
    pub fn extra_at(&self, index: usize) -> Option<f64> {
        self.extra.get(index).copied().flatten()
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
        let log = RequestLog {
            served_by: vec!["a".into(), "b".into()],
            categories: vec!["code".into()],
            extra_metrics: vec!["x".into(), "y".into()],
            records: vec![
                RequestRecord {
                    served_by: 1,
                    category: Some(0),
                    extra: vec![None, Some(2.0)],
                    ..RequestRecord::default()
                },
                RequestRecord {
                    served_by: 7,
                    category: Some(3),
                    ..RequestRecord::default()
                },
            ],
        };
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
        assert_eq!(log.extra(r0, "y"), Some(2.0));
        assert_eq!(log.extra(r0, "x"), None);
        assert_eq!(log.extra(r0, "z"), None);
        assert_eq!(log.extra(r1, "y"), None);
        assert_eq!(r0.extra_at(1), Some(2.0));
        assert_eq!(RequestLog::default().records.len(), 0);
    }
}
