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
        for _ in 0..3 {
            let t = Instant::now();
            n = scanner.scan_bytes(&data).len();
            best = best.min(t.elapsed().as_secs_f64());
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
                let s = scanner.reconfigured(cfg);
                let t = Instant::now();
                let n = s.scan_bytes(&data).len();
                println!(
                    "  {name}: {:.0} MB/s ({n})",
                    data.len() as f64 / 1e6 / t.elapsed().as_secs_f64()
                );
            }
        }
    }
}
