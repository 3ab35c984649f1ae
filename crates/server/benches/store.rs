//! Whole-system store benchmark: put and get through the real server over loopback HTTP
//! (streamed, as the CLI does), against plain `cp` of the same data, in one run.
//!
//! `cargo bench -p covault-server --bench store` (env: BENCH_LARGE_MIB, default 1024;
//! BENCH_SMALL_FILES, default 10000; BENCH_CONCURRENCY, default 16). Prints a table of
//! throughputs and ratios; `bench/RESULTS.md` keeps the figures.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use covault_guard::{InitOptions, NewKekSource, Vault, VaultLimits};
use covault_server::{Application, ServerConfig};
use futures_util::StreamExt;
use secrecy::ExposeSecret;
use tokio::io::AsyncWriteExt;

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Incompressible, deterministic bytes (splitmix64).
fn fill(buf: &mut [u8], mut state: u64) {
    for chunk in buf.chunks_mut(8) {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        let bytes = (z ^ (z >> 31)).to_le_bytes();
        chunk.copy_from_slice(&bytes[..chunk.len()]);
    }
}

fn generate(dir: &Path, large_mib: usize, small: usize) -> (PathBuf, PathBuf, u64) {
    use std::io::Write;
    let large = dir.join("large.bin");
    let mut file = std::io::BufWriter::new(std::fs::File::create(&large).unwrap());
    let mut buf = vec![0u8; 1 << 20];
    for i in 0..large_mib {
        fill(&mut buf, i as u64);
        file.write_all(&buf).unwrap();
    }
    file.flush().unwrap();
    let small_dir = dir.join("small");
    std::fs::create_dir_all(&small_dir).unwrap();
    let mut total = 0u64;
    for i in 0..small {
        let len = 1024 + (i * 7919) % (15 * 1024 + 1);
        fill(&mut buf[..len], 1_000_000 + i as u64);
        std::fs::write(small_dir.join(format!("f{i:05}.bin")), &buf[..len]).unwrap();
        total += len as u64;
    }
    (large, small_dir, total)
}

/// Flushes dirty pages left by earlier phases, so no timed phase pays for another's writeback.
fn settle() {
    let _ = Command::new("sync").status();
}

fn time_cmd(script: &str) -> Duration {
    settle();
    let start = Instant::now();
    let status = Command::new("sh").args(["-c", script]).status().unwrap();
    assert!(status.success(), "{script}");
    start.elapsed()
}

fn drop_dir(path: &Path) {
    let _ = std::fs::remove_dir_all(path);
    let _ = std::fs::remove_file(path);
}

struct Row {
    name: &'static str,
    baseline: Duration,
    baseline_sync: Duration,
    covault: Duration,
    unit: f64,
    unit_name: &'static str,
}

fn main() {
    let large_mib = env_or("BENCH_LARGE_MIB", 1024);
    let small = env_or("BENCH_SMALL_FILES", 10_000);
    let concurrency = env_or("BENCH_CONCURRENCY", 16);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let root = tempfile::tempdir_in(
        std::env::var_os("BENCH_DIR").unwrap_or_else(|| std::env::temp_dir().into_os_string()),
    )
    .unwrap();
    let src = root.path().join("src");
    std::fs::create_dir_all(&src).unwrap();
    eprintln!(
        "generating {large_mib} MiB + {small} small files in {}",
        root.path().display()
    );
    let (large, small_dir, small_bytes) = generate(&src, large_mib, small);
    let large_bytes = (large_mib as u64) << 20;
    Command::new("sync").status().unwrap();

    // baselines: cp, and cp followed by fsync of what it wrote (covault fsyncs every version)
    let dst = root.path().join("dst");
    let cp_large = time_cmd(&format!("cp {} {}", large.display(), dst.display()));
    drop_dir(&dst);
    let cp_large_sync = time_cmd(&format!(
        "cp {} {d} && sync {d}",
        large.display(),
        d = dst.display()
    ));
    let cp_get = time_cmd(&format!(
        "cp {} {}",
        dst.display(),
        root.path().join("back.bin").display()
    ));
    drop_dir(&root.path().join("back.bin"));
    let cp_get_sync = time_cmd(&format!(
        "cp {} {b} && sync {b}",
        dst.display(),
        b = root.path().join("back.bin").display()
    ));
    drop_dir(&dst);
    drop_dir(&root.path().join("back.bin"));
    let cp_small = time_cmd(&format!("cp -r {} {}", small_dir.display(), dst.display()));
    drop_dir(&dst);
    let cp_small_sync = time_cmd(&format!(
        "cp -r {} {d} && sync -f {d}/f00000.bin && find {d} -type f -exec sync {{}} +",
        small_dir.display(),
        d = dst.display()
    ));
    let cp_small_get = time_cmd(&format!(
        "cp -r {} {}",
        dst.display(),
        root.path().join("back").display()
    ));
    drop_dir(&root.path().join("back"));

    let rows = runtime.block_on(async {
        let data = root.path().join("covault");
        let key = covault_guard::generate_key_file().unwrap();
        let init = Vault::init(InitOptions {
            data_dir: data,
            source: NewKekSource::KeyFile(zeroize::Zeroizing::new(key.as_bytes().to_vec())),
            admin_name: "bench".into(),
            limits: VaultLimits {
                max_file_bytes: 64 << 30,
                ..VaultLimits::default()
            },
        })
        .await
        .unwrap();
        let token = init.admin_token.expose_secret().to_owned();
        let vault = Arc::new(init.vault);
        let config = ServerConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            ..ServerConfig::default()
        };
        let app = Application::build(config, vault).await.unwrap();
        let url = app.url();
        tokio::spawn(app.run_until(std::future::pending()));
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(concurrency)
            .build()
            .unwrap();

        // large put: streamed from the file
        settle();
        let start = Instant::now();
        let file = tokio::fs::File::open(&large).await.unwrap();
        let body = reqwest::Body::wrap_stream(tokio_util::io::ReaderStream::with_capacity(
            file,
            256 * 1024,
        ));
        let r = http
            .put(format!("{url}/v1/files/large.bin"))
            .bearer_auth(&token)
            .header("content-length", large_bytes)
            .body(body)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success());
        let put_large = start.elapsed();

        // large get: streamed to a file
        let out_path = root.path().join("got.bin");
        settle();
        let start = Instant::now();
        let r = http
            .get(format!("{url}/v1/files/large.bin"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        let mut out = tokio::fs::File::create(&out_path).await.unwrap();
        let mut stream = r.bytes_stream();
        while let Some(chunk) = stream.next().await {
            out.write_all(&chunk.unwrap()).await.unwrap();
        }
        out.flush().await.unwrap();
        let get_large = start.elapsed();
        assert_eq!(std::fs::metadata(&out_path).unwrap().len(), large_bytes);
        drop_dir(&out_path);

        // small files: `concurrency` requests in flight
        let names: Vec<PathBuf> = (0..small)
            .map(|i| small_dir.join(format!("f{i:05}.bin")))
            .collect();
        settle();
        let start = Instant::now();
        futures_util::stream::iter(names.iter().enumerate())
            .for_each_concurrent(concurrency, |(i, path)| {
                let (http, url, token) = (http.clone(), url.clone(), token.clone());
                async move {
                    let bytes = tokio::fs::read(path).await.unwrap();
                    let r = http
                        .put(format!("{url}/v1/files/small/f{i:05}.bin"))
                        .bearer_auth(&token)
                        .body(bytes)
                        .send()
                        .await
                        .unwrap();
                    assert!(r.status().is_success());
                }
            })
            .await;
        let put_small = start.elapsed();
        let back = root.path().join("back");
        std::fs::create_dir_all(&back).unwrap();
        settle();
        let start = Instant::now();
        futures_util::stream::iter(0..small)
            .for_each_concurrent(concurrency, |i| {
                let (http, url, token, back) =
                    (http.clone(), url.clone(), token.clone(), back.clone());
                async move {
                    let r = http
                        .get(format!("{url}/v1/files/small/f{i:05}.bin"))
                        .bearer_auth(&token)
                        .send()
                        .await
                        .unwrap();
                    let bytes = r.bytes().await.unwrap();
                    tokio::fs::write(back.join(format!("f{i:05}.bin")), bytes)
                        .await
                        .unwrap();
                }
            })
            .await;
        let get_small = start.elapsed();
        let mib = large_bytes as f64 / (1 << 20) as f64;
        vec![
            Row {
                name: "put large file",
                baseline: cp_large,
                baseline_sync: cp_large_sync,
                covault: put_large,
                unit: mib,
                unit_name: "MiB/s",
            },
            Row {
                name: "get large file",
                baseline: cp_get,
                baseline_sync: cp_get_sync,
                covault: get_large,
                unit: mib,
                unit_name: "MiB/s",
            },
            Row {
                name: "put small files",
                baseline: cp_small,
                baseline_sync: cp_small_sync,
                covault: put_small,
                unit: small as f64,
                unit_name: "files/s",
            },
            Row {
                name: "get small files",
                baseline: cp_small_get,
                baseline_sync: cp_small_get,
                covault: get_small,
                unit: small as f64,
                unit_name: "files/s",
            },
        ]
    });

    println!(
        "covault store benchmark: {large_mib} MiB file, {small} small files ({:.1} MiB, 1-16 KiB), {concurrency} requests in flight",
        small_bytes as f64 / 1048576.0
    );
    println!(
        "{:<16} {:>14} {:>14} {:>14} {:>12} {:>14}",
        "", "cp", "cp+fsync", "covault", "vs cp", "vs cp+fsync"
    );
    for row in &rows {
        let rate = |d: Duration| row.unit / d.as_secs_f64();
        println!(
            "{:<16} {:>8.0} {:<5} {:>8.0} {:<5} {:>8.0} {:<5} {:>11.2}x {:>13.2}x",
            row.name,
            rate(row.baseline),
            row.unit_name,
            rate(row.baseline_sync),
            row.unit_name,
            rate(row.covault),
            row.unit_name,
            row.baseline.as_secs_f64() / row.covault.as_secs_f64(),
            row.baseline_sync.as_secs_f64() / row.covault.as_secs_f64(),
        );
    }
}
