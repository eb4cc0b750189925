//! Data loading benchmark (`cargo bench -p aiopt --bench data`, also run by
//! `cargo xtask bench`): profiles loaded through `profile::load` as a user
//! would, in three shapes.
//!
//! * `records`: one million request records (a 56 MB CSV), with the growth
//!   of the process's peak resident memory while loading.
//! * `wide`: a JSON Lines request log in which every line adds a new key,
//!   at several sizes. Loading it once took cubic time (2,000 lines 11 s,
//!   4,000 lines 97 s); now each size takes time in proportion to its lines,
//!   and a log with more keys than a data file may have (1,024 columns) is
//!   refused at the first line beyond, the rest still read. A load over
//!   [`WIDE_BOUND_PER_LINE`] per line fails the benchmark.
//! * `labels`: a choice knob with many labels and 10,000 observations
//!   naming them (200,000 labels once took 20 s).
//!
//! All data are SYNTHETIC (a fixed LCG or a counter writes plausible
//! values): only the files' size and shape matter here. Pick shapes and
//! sizes with arguments, e.g. `cargo bench -p aiopt --bench data -- wide
//! 1000 2000`; without any, every shape runs at its default sizes. Each
//! time is the median of three loads (one for loads over a second).

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

const RECORDS: usize = 1_000_000;
const WIDE_LINES: &[usize] = &[1_000, 2_000, 4_000, 8_000, 16_000, 32_000];
const LABELS: &[usize] = &[50_000, 100_000, 200_000, 400_000];
const LABEL_OBSERVATIONS: usize = 10_000;

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let shape = args.first().map(String::as_str);
    let sizes: Vec<usize> = args.iter().skip(1).filter_map(|a| a.parse().ok()).collect();
    let pick = |defaults: &[usize]| {
        if sizes.is_empty() {
            defaults.to_vec()
        } else {
            sizes.clone()
        }
    };
    println!("aiopt data benchmarks\n");
    if matches!(shape, None | Some("records")) {
        records();
    }
    if matches!(shape, None | Some("wide")) {
        println!("\nJSON Lines request log, one new key per line:");
        for lines in pick(WIDE_LINES) {
            wide(lines);
        }
    }
    if matches!(shape, None | Some("labels")) {
        println!("\nchoice knob with many labels, {LABEL_OBSERVATIONS} observations:");
        for labels in pick(LABELS) {
            many_labels(labels);
        }
    }
}

fn records() {
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
    println!(
        "load {RECORDS} request records ({size_mb:.0} MB CSV): {:.2} s, {:.0} records/s, peak RSS +{:.0} MiB ({:.0} bytes/record)",
        elapsed.as_secs_f64(),
        RECORDS as f64 / elapsed.as_secs_f64(),
        after - before,
        (after - before) * 1024.0 * 1024.0 / RECORDS as f64,
    );
}

fn write_synthetic_requests(path: &Path) {
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

/// The shape found by the hostile-input campaign: line `i` is
/// `{"served_by": "m0", "latency_ms": …, "k{i}": …}`.
fn wide(lines: usize) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut log = String::new();
    for i in 0..lines {
        log.push_str(&format!(
            "{{\"served_by\": \"m{}\", \"latency_ms\": {}.5, \"k{i}\": {}}}\n",
            i % 4,
            100 + i % 900,
            i % 1000
        ));
    }
    std::fs::write(dir.path().join("requests.jsonl"), &log).expect("log written");
    let profile = dir.path().join("profile.toml");
    std::fs::write(
        &profile,
        "name = \"wide\"\nkind = \"synthetic\"\n[[space]]\nname = \"model\"\ntype = \"choice\"\n\
         values = [\"m0\", \"m1\", \"m2\", \"m3\"]\n[baseline]\nmodel = \"m0\"\n[data]\nrequests = \"requests.jsonl\"\n",
    )
    .expect("profile written");
    let (elapsed, outcome) = time_load(&profile, |p| format!("{} records", p.requests.records.len()));
    println!(
        "  {lines:>6} lines ({:>4.0} KB): {} ({outcome})",
        log.len() as f64 / 1e3,
        show(elapsed)
    );
    // The time bound: a regression to super-linear loading (4,000 lines
    // once took 97 s) fails the benchmark instead of only slowing it.
    assert!(
        elapsed <= WIDE_BOUND_PER_LINE * lines as u32,
        "{lines} wide lines took {}, over the bound of {} ({} per line)",
        show(elapsed),
        show(WIDE_BOUND_PER_LINE * lines as u32),
        show(WIDE_BOUND_PER_LINE)
    );
}

/// The most a wide JSON Lines line may take to load: 100 µs, about 50×
/// what it takes (32,000 lines in 38-55 ms on the 2-core machine).
const WIDE_BOUND_PER_LINE: Duration = Duration::from_micros(100);

/// A choice knob of `labels` labels, and observations naming spread-out
/// labels (each one looked up in the domain).
fn many_labels(labels: usize) {
    let dir = tempfile::tempdir().expect("temp dir");
    let values: Vec<String> = (0..labels).map(|i| format!("\"label-{i}\"")).collect();
    let profile = dir.path().join("profile.toml");
    let toml = format!(
        "name = \"labels\"\nkind = \"synthetic\"\n[[space]]\nname = \"prompt\"\ntype = \"choice\"\nvalues = [{}]\n\
         [baseline]\nprompt = \"label-0\"\n[data]\nobservations = \"observations.csv\"\n",
        values.join(", ")
    );
    std::fs::write(&profile, &toml).expect("profile written");
    let mut rows = String::from("prompt,quality_score\n");
    for i in 0..LABEL_OBSERVATIONS {
        let label = (i * 7_919) % labels;
        rows.push_str(&format!("label-{label},0.{}\n", i % 1000));
    }
    std::fs::write(dir.path().join("observations.csv"), rows).expect("observations written");
    let (elapsed, outcome) = time_load(&profile, |p| format!("{} observations", p.trials.len()));
    println!(
        "  {labels:>7} labels ({:>4.1} MB TOML): {} ({outcome})",
        toml.len() as f64 / 1e6,
        show(elapsed)
    );
}

/// The median time of three loads of `profile` (one when a load takes over
/// a second), and what the load gave.
fn time_load(profile: &Path, loaded: impl Fn(&aiopt::profile::Profile) -> String) -> (Duration, String) {
    let mut times = Vec::new();
    let mut outcome = String::new();
    while times.len() < 3 {
        let started = Instant::now();
        let result = aiopt::profile::load(profile);
        times.push(started.elapsed());
        outcome = match result {
            Ok(p) => format!("loaded: {}", loaded(&p)),
            Err(e) => {
                let first = e.problems.first().map(|p| p.to_string()).unwrap_or_default();
                let first: String = first.chars().take(110).collect();
                format!("refused, {} problems; first: {first}", e.problems.len())
            }
        };
        if times[0] > Duration::from_secs(1) {
            break;
        }
    }
    times.sort();
    (times[times.len() / 2], outcome)
}

fn show(elapsed: Duration) -> String {
    let s = elapsed.as_secs_f64();
    if s >= 1.0 {
        format!("{s:>7.2} s ")
    } else {
        format!("{:>7.2} ms", s * 1e3)
    }
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
