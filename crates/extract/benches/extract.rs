//! Extraction throughput per format: every file in `$COVAULT_BENCH_DOCS` (made by
//! `bench/extract.sh`) extracted repeatedly; prints MB/s of input and of text per format, and
//! the same for the scan of the extracted text. Without the variable it says so and exits.

#![allow(clippy::print_stdout)]

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

fn main() {
    let Some(dir) = std::env::var_os("COVAULT_BENCH_DOCS") else {
        eprintln!(
            "set COVAULT_BENCH_DOCS to a directory of documents (bench/extract.sh makes one)"
        );
        return;
    };
    let limits = covault_extract::Limits::default();
    let scanner = match covault_scan::Scanner::with_config(covault_scan::ScanConfig::default()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("scanner: {e}");
            return;
        }
    };
    let mut by_format: BTreeMap<String, (u64, u64, Duration, Duration)> = BTreeMap::new();
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .flatten()
        .collect();
    entries.sort_by_key(|e| e.path());
    for entry in entries {
        let path = entry.path();
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        let name = path.to_string_lossy().into_owned();
        let format = covault_extract::Format::detect(&bytes, Some(&name));
        let rounds = (16 << 20) / bytes.len().max(1) + 1;
        let started = Instant::now();
        let mut text = 0u64;
        let mut doc = None;
        for _ in 0..rounds.min(200) {
            match covault_extract::extract_as(&bytes, format, &limits) {
                Ok(d) => {
                    text = d.text_len() as u64;
                    doc = Some(d);
                }
                Err(e) => {
                    eprintln!("{name}: {e}");
                    break;
                }
            }
        }
        let extract_time = started.elapsed() / rounds.min(200) as u32;
        let Some(doc) = doc else { continue };
        let started = Instant::now();
        let scan_rounds = 5;
        for _ in 0..scan_rounds {
            std::hint::black_box(covault_extract::scan_document(&scanner, &doc));
        }
        let scan_time = started.elapsed() / scan_rounds;
        let e = by_format.entry(format.name().to_owned()).or_default();
        e.0 += bytes.len() as u64;
        e.1 += text;
        e.2 += extract_time;
        e.3 += scan_time;
    }
    println!(
        "format      input MB   text MB   extract MB/s (input)   extract MB/s (text)   extract+scan MB/s (input)"
    );
    for (format, (input, text, extract, scan)) in by_format {
        let mb = |b: u64| b as f64 / 1e6;
        println!(
            "{format:<10} {:>9.2} {:>9.2} {:>22.2} {:>21.2} {:>27.2}",
            mb(input),
            mb(text),
            mb(input) / extract.as_secs_f64(),
            mb(text) / extract.as_secs_f64(),
            mb(input) / (extract + scan).as_secs_f64(),
        );
    }
}
