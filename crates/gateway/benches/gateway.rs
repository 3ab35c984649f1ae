//! Gateway benchmark: the same 4 KB prompt with PII sent straight to a fixture provider, through
//! covault (a release `covault serve` in its own process, scanning on), and through the LiteLLM
//! proxy when one is given, side by side in one run. Prints CPU per request of the proxy
//! process, requests per second at fixed concurrency, p50/p99 latency at a fixed arrival rate
//! (open loop, so queueing counts), and time to first byte of streamed answers.
//!
//! Run by `bench/gateway.sh`, which builds the binary and installs LiteLLM. Environment:
//! `COVAULT_BIN` (the covault binary), `LITELLM_BIN` (optional), `BENCH_RATE` (requests per
//! second, default 1000), `BENCH_SECONDS` (default 5), `BENCH_REQUESTS` (closed loop, 2000).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout
)]

use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};

const ANSWER: &str = "Thanks. I wrote to [EMAIL_ADDRESS_1] and left a note for [PERSON_1]; the \
                      summary of the quarter follows in the next message, with the open items.";

fn prompt() -> String {
    let para = "Quarterly planning notes. The team reviewed the roadmap, agreed on the release \
                train for the next two sprints, and moved the database migration behind the \
                feature flag until the load tests pass. Budget stays flat; hiring is paused. ";
    let pii = "Please follow up with Maria Garcia (maria.garcia@example.com, +1 415 555 0182) \
               and with John Miller at john.miller@example.org about the vendor contract. ";
    let mut text = String::new();
    while text.len() < 4096 - pii.len() {
        text.push_str(para);
        if text.len().is_multiple_of(3) {
            text.push_str(pii);
        }
    }
    text.push_str(pii);
    text.truncate(4096);
    text
}

// ---- fixture provider ---------------------------------------------------------------------

async fn fixture_openai(body: String) -> Response {
    let v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    if v["stream"].as_bool().unwrap_or(false) {
        let mut events = Vec::new();
        for (i, w) in ANSWER.split_inclusive(' ').enumerate() {
            let delta = if i == 0 {
                json!({"role": "assistant", "content": w})
            } else {
                json!({"content": w})
            };
            events.push(Event::default().data(
                json!({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "echo",
                       "choices": [{"index": 0, "delta": delta, "finish_reason": null}]})
                .to_string(),
            ));
        }
        events.push(
            Event::default().data(
                json!({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "echo",
                   "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
                   "usage": {"prompt_tokens": 1000, "completion_tokens": 30, "total_tokens": 1030}})
                .to_string(),
            ),
        );
        events.push(Event::default().data("[DONE]"));
        let s = futures_util::stream::iter(events.into_iter().map(Ok::<_, Infallible>));
        return Sse::new(s).into_response();
    }
    axum::Json(json!({"id": "c", "object": "chat.completion", "created": 1, "model": "echo",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": ANSWER}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1000, "completion_tokens": 30, "total_tokens": 1030}}))
    .into_response()
}

async fn fixture_anthropic(body: String) -> Response {
    let v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    let usage = json!({"input_tokens": 1000, "output_tokens": 30});
    if v["stream"].as_bool().unwrap_or(false) {
        let ev = |name: &str, data: Value| Event::default().event(name).data(data.to_string());
        let mut events = vec![
            ev(
                "message_start",
                json!({"type": "message_start", "message": {"id": "m", "type": "message",
                "role": "assistant", "model": "echo", "content": [], "stop_reason": null, "usage": usage}}),
            ),
            ev(
                "content_block_start",
                json!({"type": "content_block_start", "index": 0,
                "content_block": {"type": "text", "text": ""}}),
            ),
        ];
        for w in ANSWER.split_inclusive(' ') {
            events.push(ev(
                "content_block_delta",
                json!({"type": "content_block_delta", "index": 0,
                "delta": {"type": "text_delta", "text": w}}),
            ));
        }
        events.push(ev(
            "content_block_stop",
            json!({"type": "content_block_stop", "index": 0}),
        ));
        events.push(ev(
            "message_delta",
            json!({"type": "message_delta",
            "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 30}}),
        ));
        events.push(ev("message_stop", json!({"type": "message_stop"})));
        let s = futures_util::stream::iter(events.into_iter().map(Ok::<_, Infallible>));
        return Sse::new(s).into_response();
    }
    axum::Json(
        json!({"id": "m", "type": "message", "role": "assistant", "model": "echo",
        "content": [{"type": "text", "text": ANSWER}], "stop_reason": "end_turn", "usage": usage}),
    )
    .into_response()
}

async fn start_fixture() -> String {
    let app = Router::new()
        .route("/v1/chat/completions", post(fixture_openai))
        .route("/v1/messages", post(fixture_anthropic));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    // Small SSE writes must not wait for ACKs (Nagle), as on a real provider's edge.
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

// ---- processes ----------------------------------------------------------------------------

struct Proc {
    child: Child,
    _dir: Option<tempfile::TempDir>,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// CPU seconds (user + system) of a process and all its descendants.
fn tree_cpu(root: u32) -> f64 {
    let ticks = 100.0; // USER_HZ on Linux
    let mut total = 0u64;
    let mut pids = vec![root];
    let mut seen = std::collections::HashSet::new();
    while let Some(pid) = pids.pop() {
        if !seen.insert(pid) {
            continue;
        }
        if let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            let after = &stat[stat.rfind(')').unwrap_or(0) + 2..];
            let f: Vec<&str> = after.split_whitespace().collect();
            // Fields after the name: state(0) ppid(1) ... utime(11) stime(12).
            total += f[11].parse::<u64>().unwrap_or(0) + f[12].parse::<u64>().unwrap_or(0);
        }
        if let Ok(children) = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")) {
            pids.extend(
                children
                    .split_whitespace()
                    .filter_map(|c| c.parse::<u32>().ok()),
            );
        }
    }
    total as f64 / ticks
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn wait_ready(url: &str) {
    let http = reqwest::Client::new();
    for _ in 0..600 {
        if http.get(url).send().await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{url} did not come up");
}

fn covault(bin: &Path, fixture: &str) -> (Proc, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let key = dir.path().join("kek");
    let out = Command::new(bin)
        .args(["init", "--data-dir"])
        .arg(&data)
        .arg("--key-file")
        .arg(&key)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let config = data.join("covault.toml");
    let mut text = std::fs::read_to_string(&config).unwrap();
    for (k, v) in [
        (
            "requests_per_minute_per_token = 600",
            "requests_per_minute_per_token = 100000000",
        ),
        (
            "requests_per_minute_per_user = 1200",
            "requests_per_minute_per_user = 100000000",
        ),
        (
            "tokens_per_minute_per_token = 1000000",
            "tokens_per_minute_per_token = 4000000000",
        ),
        (
            "tokens_per_minute_per_user = 2000000",
            "tokens_per_minute_per_user = 4000000000",
        ),
        (
            "concurrent_streams_per_user = 32",
            "concurrent_streams_per_user = 100000",
        ),
    ] {
        text = text.replace(k, v);
    }
    for (name, kind) in [("bench-anthropic", "anthropic"), ("bench-openai", "openai")] {
        text.push_str(&format!(
            "\n[[gateway.providers]]\nname = \"{name}\"\nkind = \"{kind}\"\nbase_url = \"{fixture}\"\nmodels = [\"echo\"]\n"
        ));
    }
    std::fs::write(&config, text).unwrap();
    for name in ["bench-anthropic", "bench-openai"] {
        let out = Command::new(bin)
            .args([
                "provider",
                "set-key",
                name,
                "--from-env",
                "BENCH_KEY",
                "--data-dir",
            ])
            .arg(&data)
            .env("BENCH_KEY", "sk-bench-fixture")
            .env("COVAULT_KEY_FILE", &key)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let port = free_port();
    let child = Command::new(bin)
        .args(["serve", "--data-dir"])
        .arg(&data)
        .env("COVAULT_KEY_FILE", &key)
        .env("COVAULT_SERVER__LISTEN", format!("127.0.0.1:{port}"))
        .env("COVAULT_LOG__LEVEL", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    (
        Proc {
            child,
            _dir: Some(dir),
        },
        format!("http://127.0.0.1:{port}"),
        token,
    )
}

fn litellm(bin: &Path, fixture: &str) -> (Proc, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("litellm.yaml");
    std::fs::write(
        &cfg,
        format!(
            "model_list:\n  - model_name: echo\n    litellm_params:\n      model: openai/echo\n      api_base: {fixture}/v1\n      api_key: sk-bench-fixture\ngeneral_settings:\n  master_key: sk-litellm-bench\nlitellm_settings:\n  telemetry: false\n"
        ),
    )
    .unwrap();
    let port = free_port();
    let child = Command::new(bin)
        .arg("--config")
        .arg(&cfg)
        .args([
            "--port",
            &port.to_string(),
            "--host",
            "127.0.0.1",
            "--num_workers",
            "1",
        ])
        .env("LITELLM_LOG", "ERROR")
        .env("LITELLM_TELEMETRY", "False")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    (
        Proc {
            child,
            _dir: Some(dir),
        },
        format!("http://127.0.0.1:{port}"),
        "sk-litellm-bench".into(),
    )
}

// ---- load ---------------------------------------------------------------------------------

#[derive(Clone)]
struct Target {
    name: &'static str,
    url: String,
    token: String,
    anthropic: bool,
    pid: Option<u32>,
}

impl Target {
    fn request(
        &self,
        http: &reqwest::Client,
        prompt: &str,
        stream: bool,
    ) -> reqwest::RequestBuilder {
        if self.anthropic {
            http.post(format!("{}/v1/messages", self.url))
                .header("x-api-key", &self.token)
                .header("anthropic-version", "2023-06-01")
                .json(
                    &json!({"model": "echo", "max_tokens": 256, "stream": stream,
                              "messages": [{"role": "user", "content": prompt}]}),
                )
        } else {
            http.post(format!("{}/v1/chat/completions", self.url))
                .bearer_auth(&self.token)
                .json(&json!({"model": "echo", "stream": stream,
                              "messages": [{"role": "user", "content": prompt}]}))
        }
    }
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

struct Closed {
    rps: f64,
    cpu_ms_per_req: Option<f64>,
    errors: usize,
}

/// `n` requests at concurrency `c`.
async fn closed_loop(t: &Target, prompt: &Arc<String>, n: usize, c: usize) -> Closed {
    let http = reqwest::Client::new();
    let cpu0 = t.pid.map(tree_cpu);
    let started = Instant::now();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..c {
        let (http, t, prompt, next) = (http.clone(), t.clone(), prompt.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut errors = 0;
            while next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < n {
                match t.request(&http, &prompt, false).send().await {
                    Ok(r) if r.status().is_success() => {
                        let _ = r.bytes().await;
                    }
                    _ => errors += 1,
                }
            }
            errors
        }));
    }
    let mut errors = 0;
    for task in tasks {
        errors += task.await.unwrap();
    }
    let secs = started.elapsed().as_secs_f64();
    let cpu = t
        .pid
        .map(|pid| (tree_cpu(pid) - cpu0.unwrap_or(0.0)) * 1000.0 / n as f64);
    Closed {
        rps: n as f64 / secs,
        cpu_ms_per_req: cpu,
        errors,
    }
}

/// Requests arriving at `rate` per second for `secs`, each timed from its scheduled start.
async fn open_loop(t: &Target, prompt: &Arc<String>, rate: f64, secs: f64) -> (f64, f64, usize) {
    let http = reqwest::Client::new();
    let n = (rate * secs) as usize;
    let start = tokio::time::Instant::now() + Duration::from_millis(50);
    let mut tasks = Vec::with_capacity(n);
    for i in 0..n {
        let (http, t, prompt) = (http.clone(), t.clone(), prompt.clone());
        let at = start + Duration::from_secs_f64(i as f64 / rate);
        tasks.push(tokio::spawn(async move {
            tokio::time::sleep_until(at).await;
            let ok = match t.request(&http, &prompt, false).send().await {
                Ok(r) if r.status().is_success() => r.bytes().await.is_ok(),
                _ => false,
            };
            (at.elapsed().as_secs_f64() * 1000.0, ok)
        }));
    }
    let mut lat = Vec::with_capacity(n);
    let mut errors = 0;
    for task in tasks {
        let (ms, ok) = task.await.unwrap();
        if !ok {
            errors += 1;
        }
        lat.push(ms);
    }
    lat.sort_by(|a, b| a.partial_cmp(b).unwrap());
    (pct(&lat, 0.5), pct(&lat, 0.99), errors)
}

/// Streamed requests one at a time: median time to the first content byte and to the end, and
/// the median number of SSE events.
async fn streams(t: &Target, prompt: &Arc<String>, n: usize) -> (f64, f64, f64) {
    let http = reqwest::Client::new();
    let (mut first, mut total, mut events) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..n {
        let started = Instant::now();
        let mut r = t.request(&http, prompt, true).send().await.unwrap();
        assert!(r.status().is_success(), "{}: {}", t.name, r.status());
        let mut got_first = None;
        let mut body = Vec::new();
        while let Some(chunk) = r.chunk().await.unwrap() {
            body.extend_from_slice(&chunk);
            if got_first.is_none() && body.windows(5).any(|w| w == b"text\"" || w == b"ntent") {
                got_first = Some(started.elapsed().as_secs_f64() * 1000.0);
            }
        }
        total.push(started.elapsed().as_secs_f64() * 1000.0);
        first.push(got_first.unwrap_or(f64::NAN));
        let text = String::from_utf8_lossy(&body);
        events.push(text.matches("data:").count() as f64);
    }
    for v in [&mut first, &mut total, &mut events] {
        v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    }
    (pct(&first, 0.5), pct(&total, 0.5), pct(&events, 0.5))
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let bin = PathBuf::from(std::env::var("COVAULT_BIN").expect("COVAULT_BIN: the covault binary"));
    let rate: f64 = std::env::var("BENCH_RATE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000.0);
    let secs: f64 = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5.0);
    let n: usize = std::env::var("BENCH_REQUESTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let prompt = Arc::new(prompt());
    let fixture = start_fixture().await;
    let (cv, cv_url, cv_token) = covault(&bin, &fixture);
    wait_ready(&format!("{cv_url}/healthz")).await;
    let lite = std::env::var_os("LITELLM_BIN")
        .map(PathBuf::from)
        .map(|b| litellm(&b, &fixture));
    if let Some((_, url, _)) = &lite {
        wait_ready(&format!("{url}/health/liveliness")).await;
    }
    let direct = |anthropic| Target {
        name: "direct",
        url: fixture.clone(),
        token: "x".into(),
        anthropic,
        pid: None,
    };
    let through = |anthropic| Target {
        name: "covault",
        url: cv_url.clone(),
        token: cv_token.clone(),
        anthropic,
        pid: Some(cv.child.id()),
    };
    // Warm up (connections, lazy statics).
    for t in [direct(false), through(false), through(true)] {
        closed_loop(&t, &prompt, 200, 4).await;
    }
    println!(
        "gateway benchmark: 4 KB prompt with PII ({} bytes), scanning and redaction on",
        prompt.len()
    );
    println!("\n-- OpenAI chat completions, non-streaming, {n} requests at concurrency 16 --");
    let mut targets = vec![direct(false), through(false)];
    if let Some((p, url, token)) = &lite {
        targets.push(Target {
            name: "litellm",
            url: url.clone(),
            token: token.clone(),
            anthropic: false,
            pid: Some(p.child.id()),
        });
        closed_loop(targets.last().unwrap(), &prompt, 100, 4).await;
    }
    let mut cpu = Vec::new();
    for t in &targets {
        let c = closed_loop(t, &prompt, n, 16).await;
        println!(
            "{:8} {:8.0} req/s  cpu/request {:>10}  errors {}",
            t.name,
            c.rps,
            c.cpu_ms_per_req
                .map_or("-".into(), |v| format!("{v:.3} ms")),
            c.errors
        );
        cpu.push((t.name, c.cpu_ms_per_req, c.rps));
    }
    if let (Some((_, Some(c), _)), Some((_, Some(l), _))) = (cpu.get(1), cpu.get(2)) {
        println!(
            "ratio: LiteLLM uses {:.1}x covault's CPU per request",
            l / c
        );
    }
    println!("\n-- Anthropic messages, non-streaming, {n} requests at concurrency 16 --");
    for t in [direct(true), through(true)] {
        let c = closed_loop(&t, &prompt, n, 16).await;
        println!(
            "{:8} {:8.0} req/s  cpu/request {:>10}  errors {}",
            t.name,
            c.rps,
            c.cpu_ms_per_req
                .map_or("-".into(), |v| format!("{v:.3} ms")),
            c.errors
        );
    }
    println!("\n-- open loop at {rate:.0} req/s for {secs} s (latency from scheduled arrival) --");
    let (d50, d99, de) = open_loop(&direct(false), &prompt, rate, secs).await;
    println!("direct   p50 {d50:7.3} ms  p99 {d99:7.3} ms  errors {de}");
    let (c50, c99, ce) = open_loop(&through(false), &prompt, rate, secs).await;
    println!("covault  p50 {c50:7.3} ms  p99 {c99:7.3} ms  errors {ce}");
    println!(
        "added by covault: p50 {:.3} ms, p99 {:.3} ms",
        c50 - d50,
        c99 - d99
    );
    if let Some((_, url, token)) = &lite {
        let lrate = (rate / 10.0).max(10.0);
        let l = Target {
            name: "litellm",
            url: url.clone(),
            token: token.clone(),
            anthropic: false,
            pid: None,
        };
        let (d50, d99, _) = open_loop(&direct(false), &prompt, lrate, secs).await;
        let (l50, l99, le) = open_loop(&l, &prompt, lrate, secs).await;
        let (c50, c99, _) = open_loop(&through(false), &prompt, lrate, secs).await;
        println!(
            "at {lrate:.0} req/s: added p50/p99 by covault {:.3}/{:.3} ms, by LiteLLM {:.3}/{:.3} ms (errors {le})",
            c50 - d50,
            c99 - d99,
            l50 - d50,
            l99 - d99
        );
    }
    println!("\n-- streaming, 200 sequential requests (median) --");
    for (label, anthropic) in [("openai", false), ("anthropic", true)] {
        let (f0, t0, e0) = streams(&direct(anthropic), &prompt, 200).await;
        let (f1, t1, e1) = streams(&through(anthropic), &prompt, 200).await;
        println!(
            "{label:9} first byte: direct {f0:.3} ms, covault {f1:.3} ms (added {:.3} ms); whole answer {t0:.3} / {t1:.3} ms; events {e0:.0} / {e1:.0}",
            f1 - f0
        );
    }
    if let Some((p, url, token)) = &lite {
        let l = Target {
            name: "litellm",
            url: url.clone(),
            token: token.clone(),
            anthropic: false,
            pid: Some(p.child.id()),
        };
        let (f0, _, _) = streams(&direct(false), &prompt, 100).await;
        let (fl, tl, el) = streams(&l, &prompt, 100).await;
        println!(
            "litellm   first byte {fl:.3} ms (added {:.3} ms); whole answer {tl:.3} ms; events {el:.0}",
            fl - f0
        );
    }
    drop(lite);
    drop(cv);
}
