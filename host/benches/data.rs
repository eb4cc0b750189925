//! Data loading benchmark (`cargo xtask bench`): a profile with one million
//! request records, loaded through `profile::load` as a user would.
//!
//! The records are SYNTHETIC (a fixed LCG writes plausible columns): only
//! the file's size and shape matter here. Reports wall time and the growth
//! of the process's peak resident memory while loading.

use std::io::Write;
use std::time::Instant;

const RECORDS: usize = 1_000_000;

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let requests = dir.path().join("requests.csv");
    write_synthetic_requests(&requests);
    let size_mb = std::fs::metadata(&requests).expect("written").len() as f64 / 1e6;
    let profile = dir.path().join("profile.toml");
    std::fs::write(
        &profile,
        "name = \"bench\"\nkind = \"synthetic\"\n[[space]]\nname = \"model\"\ntype = \"choice\"\n\
         values = [\"m0\", \"m1\", \"m2\", \"m3\"]\n[baseline]\nmodel = \"m0\"\n[data]\nrequests = \"requests.csv\"\n",
    )
    .expect("profile written");

    let before = peak_rss_mb();
    let started = Instant::now();
    let loaded = aiopt::profile::load(&profile).expect("valid profile");
    let elapsed = started.elapsed();
    let after = peak_rss_mb();
    assert_eq!(loaded.requests.records.len(), RECORDS);
    println!("aiopt data benchmarks\n");
    println!(
        "load {RECORDS} request records ({size_mb:.0} MB CSV): {:.2} s, {:.0} records/s, peak RSS +{:.0} MiB ({:.0} bytes/record)",
        elapsed.as_secs_f64(),
        RECORDS as f64 / elapsed.as_secs_f64(),
        after - before,
        (after - before) * 1024.0 * 1024.0 / RECORDS as f64,
    );
}

fn write_synthetic_requests(path: &std::path::Path) {
    let file = std::fs::File::create(path).expect("create");
    let mut out = std::io::BufWriter::new(file);
    writeln!(
        out,
        "served_by,prompt,category,latency_ms,input_tokens,output_tokens,cost_usd,score,timestamp_ms"
    )
    .expect("write");
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        state >> 33
    };
    for i in 0..RECORDS {
        let (model, prompt, category) = (next() % 4, next() % 50_000, next() % 5);
        let (input, output) = (20 + next() % 400, 50 + next() % 900);
        writeln!(
            out,
            "m{model},p{prompt},c{category},{:.1},{input},{output},{:.6},{:.3},{}",
            100.0 + (next() % 20_000) as f64 / 10.0,
            (input + output) as f64 * 2e-7,
            (next() % 1000) as f64 / 1000.0,
            1_700_000_000_000u64 + i as u64 * 80,
        )
        .expect("write");
    }
    out.flush().expect("flush");
}

/// The process's peak resident set size so far (Linux `VmHWM`), in MiB.
fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}
