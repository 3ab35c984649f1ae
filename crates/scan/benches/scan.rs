//! In-process scanner throughput (one core): `cargo bench -p covault-scan --bench scan -- FILE…`
//! prints MB/s per file; without arguments it scans the samples `bench/scan.sh` prepares under
//! `target/scan-bench/` (prose, dense, code). `bench/scan.sh` runs the side-by-side comparison
//! with Presidio and detect-secrets.

#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use covault_scan::Scanner;

fn main() {
    let mut files: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    if files.is_empty() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../target/scan-bench");
        files = ["prose.txt", "dense.txt", "code.txt"]
            .iter()
            .map(|f| format!("{dir}/{f}"))
            .collect();
    }
    let t = Instant::now();
    let scanner = Scanner::new().expect("scanner");
    let warm = scanner.scan("warm up: john@example.com 4111 1111 1111 1111");
    println!(
        "scanner build {:.0} ms ({} warm-up findings)",
        t.elapsed().as_secs_f64() * 1e3,
        warm.len()
    );
    for f in files {
        let Ok(data) = std::fs::read(&f) else {
            println!("{f}: missing (run bench/scan.sh first)");
            continue;
        };
        let mut best = f64::MAX;
        let mut n = 0;
        // SCAN_BENCH_PARTS=<part> profiles one part: the full scan then runs once.
        let reps = if std::env::var("SCAN_BENCH_PARTS").is_ok_and(|p| p != "1") {
            0
        } else {
            3
        };
        for _ in 0..reps {
            let t = Instant::now();
            n = scanner.scan_bytes(&data).len();
            if std::env::var_os("SCAN_BENCH_EACH").is_some() {
                println!("  rep {:.1} ms", t.elapsed().as_secs_f64() * 1e3);
            }
            best = best.min(t.elapsed().as_secs_f64());
        }
        // SCAN_BENCH_DUMP=DIR writes every finding (for comparing two builds).
        if let Some(dir) = std::env::var_os("SCAN_BENCH_DUMP") {
            let name = std::path::Path::new(&f).file_name().unwrap().to_owned();
            let lines: String = scanner
                .scan_bytes(&data)
                .iter()
                .map(|x| {
                    format!(
                        "{:?} {} {} {:.3} {}\n",
                        x.kind, x.start, x.end, x.score, x.detector
                    )
                })
                .collect();
            std::fs::write(std::path::Path::new(&dir).join(name), lines).unwrap();
        }
        println!(
            "{f}: {:.1} MB, {n} findings, {:.0} MB/s",
            data.len() as f64 / 1e6,
            data.len() as f64 / 1e6 / best
        );
        if std::env::var_os("SCAN_BENCH_PARTS").is_some() {
            let off = covault_scan::ScanConfig {
                pii: false,
                names: false,
                secrets: false,
                injection: false,
                ..Default::default()
            };
            for (name, cfg) in [
                ("none", off.clone()),
                (
                    "pii",
                    covault_scan::ScanConfig {
                        pii: true,
                        ..off.clone()
                    },
                ),
                (
                    "names",
                    covault_scan::ScanConfig {
                        names: true,
                        ..off.clone()
                    },
                ),
                (
                    "secrets",
                    covault_scan::ScanConfig {
                        secrets: true,
                        ..off.clone()
                    },
                ),
                (
                    "injection",
                    covault_scan::ScanConfig {
                        injection: true,
                        ..off.clone()
                    },
                ),
            ] {
                // SCAN_BENCH_PARTS=names runs that part alone (for profiling).
                let only = std::env::var("SCAN_BENCH_PARTS").unwrap_or_default();
                if !only.is_empty() && only != "1" && only != name {
                    continue;
                }
                let s = scanner.reconfigured(cfg);
                let mut best = f64::MAX;
                let mut n = 0;
                for _ in 0..if only == name { 5 } else { 1 } {
                    let t = Instant::now();
                    n = s.scan_bytes(&data).len();
                    if std::env::var_os("SCAN_BENCH_EACH").is_some() {
                        println!("    rep {:.1} ms", t.elapsed().as_secs_f64() * 1e3);
                    }
                    best = best.min(t.elapsed().as_secs_f64());
                }
                println!("  {name}: {:.0} MB/s ({n})", data.len() as f64 / 1e6 / best);
            }
        }
    }
}
