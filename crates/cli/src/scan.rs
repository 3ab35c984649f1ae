//! `covault scan`: the content scanner over local files and directories, in parallel, with
//! text, JSON-lines and SARIF output and optional redacted copies. Output carries positions,
//! types and scores — never the matched values.

use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use covault_scan::{
    EntityType, Finding, PlaceholderVault, RedactMode, ScanConfig, Scanner, SecretRules,
};
use serde::Serialize;

use crate::args::{ScanArgs, ScanFormat};

/// Bytes read to decide whether a file is binary.
const SNIFF: usize = 8192;

struct FileResult {
    path: PathBuf,
    outcome: Outcome,
}

enum Outcome {
    Scanned {
        findings: Vec<Finding>,
        lossy: bool,
        bytes: u64,
        line_starts: Vec<usize>,
    },
    /// A document (PDF, Office, HTML, email, …): findings located by part.
    Document {
        format: &'static str,
        findings: Vec<DocFinding>,
        bytes: u64,
        /// Parts (attachments) that could not be examined: the run reports an error.
        unread: usize,
    },
    Skipped(&'static str),
    Failed(String),
}

struct DocFinding {
    finding: Finding,
    location: String,
    hidden: Option<&'static str>,
    /// 1-based line and column within the part's text.
    line: usize,
    column: usize,
}

#[derive(Serialize)]
struct JsonFinding<'a> {
    path: &'a str,
    #[serde(rename = "type")]
    kind: EntityType,
    start: usize,
    end: usize,
    score: f32,
    detector: &'a str,
    validation: covault_scan::Validation,
    line: usize,
    column: usize,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    lossy: bool,
    /// For documents: the format, where the finding is (`page 2`, `sheet Sales, row 7`), and
    /// — for text a reader would not see — why (`hidden-white-text`, …). `start`, `end`,
    /// `line` and `column` are then within that part's text.
    #[serde(skip_serializing_if = "Option::is_none")]
    format: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    location: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    hidden: Option<&'a str>,
}

pub fn run(args: ScanArgs) -> ExitCode {
    match scan(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn scan(args: ScanArgs) -> anyhow::Result<ExitCode> {
    let rules = match &args.rules {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read rules file {}", path.display()))?;
            SecretRules::from_toml(&text)?
        }
        None => SecretRules::builtin()?,
    };
    let only = args
        .only
        .iter()
        .map(|t| t.parse::<EntityType>())
        .collect::<Result<Vec<_>, _>>()?;
    let config = ScanConfig {
        pii: !args.no_pii,
        names: !args.no_pii && !args.no_names,
        secrets: !args.no_secrets,
        injection: !args.no_injection,
        min_score: args.min_score,
        only,
    };
    let scanner = Scanner::with_rules(config, rules)?;

    let mut files = Vec::new();
    let mut errors = 0usize;
    for path in &args.paths {
        if let Err(e) = collect(path, &mut files) {
            eprintln!("error: {}: {e}", path.display());
            errors += 1;
        }
    }
    files.sort();
    files.dedup();

    // Checked before any file is read: a bad mode or a missing key fails the run up front.
    let redaction = match &args.redact {
        Some(dir) => Some((dir.clone(), redact_mode(&args.redact_mode)?)),
        None => None,
    };
    let results = scan_files(&scanner, &files, &args, redaction.as_ref());
    let mut stdout = std::io::stdout().lock();
    let mut total = 0usize;
    let mut failing = 0usize;
    let mut skipped = 0usize;
    let mut sarif_results = Vec::new();
    for r in &results {
        match &r.outcome {
            Outcome::Scanned {
                findings,
                lossy,
                line_starts,
                ..
            } => {
                let path = r.path.to_string_lossy();
                for f in findings {
                    total += 1;
                    if f.score >= args.fail_score {
                        failing += 1;
                    }
                    let (line, column) = line_col(line_starts, f.start);
                    match args.format {
                        ScanFormat::Text => writeln!(
                            stdout,
                            "{path}:{line}:{column}: {} ({}, score {:.2}, bytes {}..{})",
                            f.kind, f.detector, f.score, f.start, f.end
                        )?,
                        ScanFormat::Jsonl => {
                            let j = JsonFinding {
                                path: &path,
                                kind: f.kind,
                                start: f.start,
                                end: f.end,
                                score: f.score,
                                detector: f.detector,
                                validation: f.validation,
                                line,
                                column,
                                lossy: *lossy,
                                format: None,
                                location: None,
                                hidden: None,
                            };
                            serde_json::to_writer(&mut stdout, &j)?;
                            stdout.write_all(b"\n")?;
                        }
                        ScanFormat::Sarif => {
                            let (end_line, end_column) = line_col(line_starts, f.end);
                            sarif_results.push(sarif_result(
                                &path,
                                f,
                                (line, column),
                                (end_line, end_column),
                            ));
                        }
                    }
                }
                if *lossy && args.format == ScanFormat::Text {
                    eprintln!("note: {path}: not valid UTF-8; scanned as bytes");
                }
            }
            Outcome::Document {
                format,
                findings,
                unread,
                ..
            } => {
                let path = r.path.to_string_lossy();
                if *unread > 0 {
                    errors += 1;
                    eprintln!(
                        "error: {path}: {unread} part(s) could not be examined (see the notes above)"
                    );
                }
                for d in findings {
                    let f = &d.finding;
                    total += 1;
                    if f.score >= args.fail_score {
                        failing += 1;
                    }
                    match args.format {
                        ScanFormat::Text => writeln!(
                            stdout,
                            "{path} [{}{}]:{}:{}: {} ({}, score {:.2})",
                            d.location,
                            d.hidden.map(|h| format!(", {h}")).unwrap_or_default(),
                            d.line,
                            d.column,
                            f.kind,
                            f.detector,
                            f.score
                        )?,
                        ScanFormat::Jsonl => {
                            let j = JsonFinding {
                                path: &path,
                                kind: f.kind,
                                start: f.start,
                                end: f.end,
                                score: f.score,
                                detector: f.detector,
                                validation: f.validation,
                                line: d.line,
                                column: d.column,
                                lossy: false,
                                format: Some(format),
                                location: Some(&d.location),
                                hidden: d.hidden,
                            };
                            serde_json::to_writer(&mut stdout, &j)?;
                            stdout.write_all(b"\n")?;
                        }
                        ScanFormat::Sarif => {
                            let mut result =
                                sarif_result(&path, f, (d.line, d.column), (d.line, d.column));
                            result["locations"][0]["logicalLocations"] =
                                serde_json::json!([{ "name": d.location, "kind": "section" }]);
                            if let Some(region) =
                                result["locations"][0]["physicalLocation"].as_object_mut()
                            {
                                region.remove("region");
                            }
                            sarif_results.push(result);
                        }
                    }
                }
            }
            Outcome::Skipped(why) => {
                skipped += 1;
                if args.verbose {
                    eprintln!("skipped: {}: {why}", r.path.display());
                }
            }
            Outcome::Failed(e) => {
                errors += 1;
                eprintln!("error: {}: {e}", r.path.display());
            }
        }
    }
    if args.format == ScanFormat::Sarif {
        serde_json::to_writer_pretty(&mut stdout, &sarif_log(sarif_results, &scanner))?;
        stdout.write_all(b"\n")?;
    }
    stdout.flush()?;
    if args.format == ScanFormat::Text || args.verbose {
        eprintln!(
            "{} files scanned, {skipped} skipped, {errors} errors, {total} findings",
            results.len() - skipped
        );
    }
    Ok(if failing >= args.fail_count.max(1) {
        ExitCode::from(1)
    } else if errors > 0 {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

/// Walks `path` (not following symlinks; `.git` directories are skipped).
fn collect(path: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let meta = std::fs::symlink_metadata(path)?;
    if meta.is_file() {
        out.push(path.to_owned());
    } else if meta.is_dir() {
        let mut stack = vec![path.to_owned()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir)? {
                let entry = entry?;
                let kind = entry.file_type()?;
                let p = entry.path();
                if kind.is_dir() {
                    if entry.file_name() != ".git" {
                        stack.push(p);
                    }
                } else if kind.is_file() {
                    out.push(p);
                }
            }
        }
    }
    Ok(())
}

/// Where redacted copies go, and how values are rewritten.
type Redaction = (PathBuf, RedactMode);

fn scan_files(
    scanner: &Scanner,
    files: &[PathBuf],
    args: &ScanArgs,
    redaction: Option<&Redaction>,
) -> Vec<FileResult> {
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let bytes = AtomicU64::new(0);
    let slots: Mutex<Vec<Option<FileResult>>> =
        Mutex::new((0..files.len()).map(|_| None).collect());
    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .clamp(1, 64);
    let progress = std::io::stderr().is_terminal() && !args.no_progress;
    std::thread::scope(|scope| {
        for _ in 0..jobs.min(files.len().max(1)) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(path) = files.get(i) else { break };
                    let outcome = scan_file(scanner, path, args, redaction);
                    if let Outcome::Scanned { bytes: n, .. } | Outcome::Document { bytes: n, .. } =
                        &outcome
                    {
                        bytes.fetch_add(*n, Ordering::Relaxed);
                    }
                    if let Ok(mut slots) = slots.lock() {
                        slots[i] = Some(FileResult {
                            path: path.clone(),
                            outcome,
                        });
                    }
                    done.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
        if progress {
            let start = Instant::now();
            while done.load(Ordering::Relaxed) < files.len() {
                std::thread::sleep(Duration::from_millis(200));
                let mb = bytes.load(Ordering::Relaxed) as f64 / 1e6;
                eprint!(
                    "\rscanned {}/{} files, {mb:.1} MB, {:.0} MB/s   ",
                    done.load(Ordering::Relaxed),
                    files.len(),
                    mb / start.elapsed().as_secs_f64().max(1e-3)
                );
            }
            eprint!("\r\x1b[K");
        }
    });
    slots
        .into_inner()
        .unwrap_or_default()
        .into_iter()
        .flatten()
        .collect()
}

fn scan_file(
    scanner: &Scanner,
    path: &Path,
    args: &ScanArgs,
    redaction: Option<&Redaction>,
) -> Outcome {
    let data = match read_limited(path, args.max_file_size) {
        Ok(Some(d)) => d,
        Ok(None) => return Outcome::Skipped("larger than --max-file-size"),
        Err(e) => return Outcome::Failed(e.to_string()),
    };
    let name = path.to_string_lossy();
    if covault_extract::Format::wants_whole(&data[..data.len().min(SNIFF)], Some(&name)) {
        return scan_document(scanner, &data, &name, redaction.is_some());
    }
    if data[..data.len().min(SNIFF)].contains(&0) {
        return Outcome::Skipped("binary");
    }
    let lossy = std::str::from_utf8(&data).is_err();
    let findings = scanner.scan_bytes(&data);
    if let Some((dir, mode)) = redaction
        && !findings.is_empty()
        && let Err(e) = write_redacted(dir, mode, path, &data, &findings)
    {
        return Outcome::Failed(format!("writing redacted copy: {e}"));
    }
    // Line starts only matter for reporting findings' lines and columns.
    let line_starts = if findings.is_empty() {
        vec![0]
    } else {
        std::iter::once(0)
            .chain(memchr::memchr_iter(b'\n', &data).map(|i| i + 1))
            .collect()
    };
    Outcome::Scanned {
        findings,
        lossy,
        bytes: data.len() as u64,
        line_starts,
    }
}

/// A document: extracted (hidden content included) by the same code the workspace uses on
/// write, then scanned part by part.
fn scan_document(scanner: &Scanner, data: &[u8], name: &str, redacting: bool) -> Outcome {
    let format = covault_extract::Format::detect(data, Some(name));
    if format == covault_extract::Format::Binary {
        return Outcome::Skipped("binary");
    }
    let limits = covault_extract::Limits {
        max_input: data.len().max(1),
        ..covault_extract::Limits::default()
    };
    let doc = match covault_extract::extract_as(data, format, &limits) {
        Ok(doc) => doc,
        Err(e) => return Outcome::Failed(format!("cannot examine this document: {e}")),
    };
    for note in &doc.notes {
        eprintln!("note: {name}: {note}");
    }
    if redacting {
        eprintln!("note: {name}: redacted copies are written for text files only");
    }
    let scan = covault_extract::scan_document(scanner, &doc);
    let findings = scan
        .findings
        .into_iter()
        .map(|located| {
            let part = &doc.parts[located.part];
            let before = &part.text.as_bytes()[..located.finding.start.min(part.text.len())];
            let line = 1 + before.iter().filter(|&&b| b == b'\n').count();
            let column = 1 + before.len()
                - before
                    .iter()
                    .rposition(|&b| b == b'\n')
                    .map_or(0, |i| i + 1);
            DocFinding {
                location: part.location.clone(),
                hidden: part.hidden.map(|h| h.detector()),
                finding: located.finding,
                line,
                column,
            }
        })
        .collect();
    Outcome::Document {
        format: format.name(),
        findings,
        bytes: data.len() as u64,
        unread: doc.unread,
    }
}

/// 1-based line and column (in bytes) of `offset`.
fn line_col(line_starts: &[usize], offset: usize) -> (usize, usize) {
    let line = line_starts.partition_point(|&s| s <= offset).max(1);
    (line, offset - line_starts[line - 1] + 1)
}

fn read_limited(path: &Path, max: u64) -> std::io::Result<Option<Vec<u8>>> {
    let file = std::fs::File::open(path)?;
    let len = file.metadata()?.len();
    if len > max {
        return Ok(None);
    }
    let mut data = Vec::with_capacity(len as usize);
    file.take(max + 1).read_to_end(&mut data)?;
    Ok((data.len() as u64 <= max).then_some(data))
}

fn redact_mode(name: &str) -> anyhow::Result<RedactMode> {
    Ok(match name {
        "mask" => RedactMode::Mask,
        "drop" => RedactMode::Drop,
        "placeholder" => RedactMode::Placeholder,
        "hash" => {
            let key = std::env::var("COVAULT_REDACT_KEY")
                .context("--redact-mode hash needs COVAULT_REDACT_KEY (the HMAC key)")?;
            RedactMode::Hash(zeroize::Zeroizing::new(key.into_bytes()))
        }
        other => {
            anyhow::bail!("unknown --redact-mode `{other}`: use mask, hash, drop or placeholder")
        }
    })
}

fn write_redacted(
    dir: &Path,
    mode: &RedactMode,
    path: &Path,
    data: &[u8],
    findings: &[Finding],
) -> anyhow::Result<()> {
    let mut vault = PlaceholderVault::new();
    let out = covault_scan::redact_bytes(data, findings, mode, &mut vault);
    // Mirror the scanned path below `dir`, without escaping it.
    let relative: PathBuf = path
        .components()
        .filter(|c| matches!(c, std::path::Component::Normal(_)))
        .collect();
    let target = dir.join(relative);
    if let Some(parent) = target.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(&target, out).with_context(|| format!("{}", target.display()))?;
    Ok(())
}

fn sarif_result(
    path: &str,
    f: &Finding,
    start: (usize, usize),
    end: (usize, usize),
) -> serde_json::Value {
    let level = if f.score >= 0.85 { "error" } else { "warning" };
    serde_json::json!({
        "ruleId": f.detector,
        "level": level,
        "message": { "text": format!("{} detected (score {:.2})", f.kind, f.score) },
        "locations": [{
            "physicalLocation": {
                "artifactLocation": { "uri": path },
                "region": {
                    "startLine": start.0, "startColumn": start.1,
                    "endLine": end.0, "endColumn": end.1,
                    "byteOffset": f.start, "byteLength": f.end - f.start
                }
            }
        }],
        "properties": { "type": f.kind, "score": f.score, "validation": f.validation }
    })
}

fn sarif_log(results: Vec<serde_json::Value>, scanner: &Scanner) -> serde_json::Value {
    let mut rule_ids: Vec<&str> = results
        .iter()
        .filter_map(|r| r["ruleId"].as_str())
        .collect();
    rule_ids.sort_unstable();
    rule_ids.dedup();
    let rules: Vec<serde_json::Value> = rule_ids
        .iter()
        .map(|id| serde_json::json!({ "id": id, "shortDescription": { "text": id } }))
        .collect();
    serde_json::json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "covault",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
                "properties": { "secretRules": scanner.secret_rule_count() }
            }},
            "results": results
        }]
    })
}
