//! The binary encoding of a profile's request log, stored as one blob.
//!
//! Why not JSON like the rest of the profile: a log can hold millions of
//! records, and JSON spells every field name and every `null` for each of
//! them (about 170 bytes for a full record, against 5 to 57 here), and it
//! cannot hold the NaN that marks a missing custom metric in `extra`
//! (serde_json writes `null`, which does not read back as an `f64`). This
//! encoding is exact: floats are stored as their bits.
//!
//! Layout, all integers little-endian:
//!
//! ```text
//! magic "AORQ", format u8 = 1
//! served_by, categories, extra_metrics: each u32 count, then per string u32 length + UTF-8
//! u64 record count, then per record:
//!     u8 presence bits (prompt, category, latency_ms, input_tokens, output_tokens,
//!                       cost_usd, score, timestamp_ms from bit 0 up)
//!     u32 served_by, then only the present fields, in that order
//!     (u64, u32, f64, u32, u32, f64, f64, i64)
//! u64 extra count, then that many f64
//! ```

use crate::profile::{RequestLog, RequestRecord};

const MAGIC: &[u8; 4] = b"AORQ";
const FORMAT: u8 = 1;

/// Encodes `log` exactly (see the module documentation).
pub fn encode(log: &RequestLog) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + log.records.len() * 32 + log.extra.len() * 8);
    out.extend_from_slice(MAGIC);
    out.push(FORMAT);
    for table in [&log.served_by, &log.categories, &log.extra_metrics] {
        out.extend_from_slice(&(table.len() as u32).to_le_bytes());
        for s in table {
            out.extend_from_slice(&(s.len() as u32).to_le_bytes());
            out.extend_from_slice(s.as_bytes());
        }
    }
    out.extend_from_slice(&(log.records.len() as u64).to_le_bytes());
    for r in &log.records {
        let present = [
            r.prompt.is_some(),
            r.category.is_some(),
            r.latency_ms.is_some(),
            r.input_tokens.is_some(),
            r.output_tokens.is_some(),
            r.cost_usd.is_some(),
            r.score.is_some(),
            r.timestamp_ms.is_some(),
        ];
        let bits = present
            .iter()
            .enumerate()
            .fold(0u8, |b, (i, p)| b | (u8::from(*p) << i));
        out.push(bits);
        out.extend_from_slice(&r.served_by.to_le_bytes());
        if let Some(x) = r.prompt {
            out.extend_from_slice(&x.to_le_bytes());
        }
        if let Some(x) = r.category {
            out.extend_from_slice(&x.to_le_bytes());
        }
        if let Some(x) = r.latency_ms {
            out.extend_from_slice(&x.to_le_bytes());
        }
        if let Some(x) = r.input_tokens {
            out.extend_from_slice(&x.to_le_bytes());
        }
        if let Some(x) = r.output_tokens {
            out.extend_from_slice(&x.to_le_bytes());
        }
        if let Some(x) = r.cost_usd {
            out.extend_from_slice(&x.to_le_bytes());
        }
        if let Some(x) = r.score {
            out.extend_from_slice(&x.to_le_bytes());
        }
        if let Some(x) = r.timestamp_ms {
            out.extend_from_slice(&x.to_le_bytes());
        }
    }
    out.extend_from_slice(&(log.extra.len() as u64).to_le_bytes());
    for x in &log.extra {
        out.extend_from_slice(&x.to_le_bytes());
    }
    out
}

/// Decodes a blob written by [`encode`]; the error says what is wrong with it.
pub fn decode(data: &[u8]) -> Result<RequestLog, String> {
    let mut r = Reader { data, at: 0 };
    if r.take(4)? != MAGIC {
        return Err("request log does not start with the expected magic bytes".into());
    }
    let format = r.take(1)?[0];
    if format != FORMAT {
        return Err(format!("request log has format {format}, expected {FORMAT}"));
    }
    let served_by = r.strings()?;
    let categories = r.strings()?;
    let extra_metrics = r.strings()?;
    // Each record takes at least 5 bytes: a count larger than the rest of
    // the blob allows is damage, not a reason to allocate gigabytes.
    let count = r.count(5)?;
    let mut records = Vec::with_capacity(count);
    for _ in 0..count {
        let bits = r.take(1)?[0];
        let has = |i: u32| bits & (1 << i) != 0;
        let served_by = r.u32()?;
        records.push(RequestRecord {
            served_by,
            prompt: has(0).then(|| r.u64()).transpose()?,
            category: has(1).then(|| r.u32()).transpose()?,
            latency_ms: has(2).then(|| r.f64()).transpose()?,
            input_tokens: has(3).then(|| r.u32()).transpose()?,
            output_tokens: has(4).then(|| r.u32()).transpose()?,
            cost_usd: has(5).then(|| r.f64()).transpose()?,
            score: has(6).then(|| r.f64()).transpose()?,
            timestamp_ms: has(7).then(|| r.u64().map(|x| x as i64)).transpose()?,
        });
    }
    let count = r.count(8)?;
    let extra = (0..count).map(|_| r.f64()).collect::<Result<_, _>>()?;
    if r.at != data.len() {
        return Err(format!(
            "request log has {} unexpected trailing bytes",
            data.len() - r.at
        ));
    }
    Ok(RequestLog {
        served_by,
        categories,
        records,
        extra_metrics,
        extra,
    })
}

struct Reader<'a> {
    data: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], String> {
        let end = self.at.checked_add(n).filter(|end| *end <= self.data.len());
        let Some(end) = end else {
            return Err(format!("request log is truncated at byte {}", self.at));
        };
        let bytes = &self.data[self.at..end];
        self.at = end;
        Ok(bytes)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], String> {
        let mut a = [0; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    fn u32(&mut self) -> Result<u32, String> {
        self.array().map(u32::from_le_bytes)
    }

    fn u64(&mut self) -> Result<u64, String> {
        self.array().map(u64::from_le_bytes)
    }

    fn f64(&mut self) -> Result<f64, String> {
        self.array().map(f64::from_le_bytes)
    }

    /// A u64 count of items of at least `min_size` bytes each.
    fn count(&mut self, min_size: usize) -> Result<usize, String> {
        let n = self.u64()?;
        let left = (self.data.len() - self.at) / min_size;
        usize::try_from(n)
            .ok()
            .filter(|n| *n <= left)
            .ok_or_else(|| format!("request log claims {n} items but has room for {left}"))
    }

    fn strings(&mut self) -> Result<Vec<String>, String> {
        let n = self.u32()? as usize;
        let left = (self.data.len() - self.at) / 4;
        if n > left {
            return Err(format!("request log claims {n} labels but has room for {left}"));
        }
        (0..n)
            .map(|_| {
                let len = self.u32()? as usize;
                let bytes = self.take(len)?;
                String::from_utf8(bytes.to_vec())
                    .map_err(|_| "request log has a label that is not UTF-8".into())
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> RequestLog {
        RequestLog {
            served_by: vec!["gpt-4".into(), "mixtral".into()],
            categories: vec!["ünïcode".into()],
            records: vec![
                RequestRecord {
                    served_by: 1,
                    prompt: Some(u64::MAX),
                    category: Some(0),
                    latency_ms: Some(12.5),
                    input_tokens: Some(20),
                    output_tokens: Some(0),
                    cost_usd: Some(1e-7),
                    score: Some(0.5),
                    timestamp_ms: Some(-3),
                },
                RequestRecord::default(),
            ],
            extra_metrics: vec!["judge".into()],
            extra: vec![0.25, f64::NAN],
        }
    }

    #[test]
    fn round_trips_exactly_including_nan() {
        let log = sample();
        let back = decode(&encode(&log)).unwrap();
        assert_eq!(back.records, log.records);
        assert_eq!(back.served_by, log.served_by);
        assert_eq!(back.categories, log.categories);
        assert_eq!(back.extra_metrics, log.extra_metrics);
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&back.extra), bits(&log.extra));
        assert_eq!(
            decode(&encode(&RequestLog::default())).unwrap(),
            RequestLog::default()
        );
    }

    #[test]
    fn damaged_blobs_are_errors_not_panics() {
        let data = encode(&sample());
        for end in 0..data.len() {
            assert!(decode(&data[..end]).is_err(), "truncated at {end}");
        }
        let mut longer = data.clone();
        longer.push(0);
        assert!(decode(&longer).unwrap_err().contains("trailing"));
        let mut wrong = data;
        wrong[0] = b'X';
        assert!(decode(&wrong).unwrap_err().contains("magic"));
    }
}
