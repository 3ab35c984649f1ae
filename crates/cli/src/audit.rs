//! `covault audit …`: search and tail the log through the REST API (as an auditor or
//! admin), and verify, checkpoint, prune and show the signing key in-process (as the local
//! operator, who holds the KEK).

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, bail};
use covault_guard::{
    Checkpoint, ConsistencyProof, InclusionProof, LockMode, Outcome, PublicKey, format_rfc3339,
    now_ms, parse_rfc3339,
};
use futures_util::StreamExt;
use reqwest::Method;

use crate::args::{AuditCommand, AuditFilters};
use crate::client::{Client, print_line, send};
use crate::config::Config;
use crate::local::{data_dir, open};

pub async fn run(command: AuditCommand) -> anyhow::Result<ExitCode> {
    match command {
        AuditCommand::Search {
            filters,
            all,
            json,
            client,
        } => search(&Client::new(&client)?, &filters, all, json).await,
        AuditCommand::Tail {
            filters,
            follow,
            lines,
            json,
            client,
        } => tail(&Client::new(&client)?, &filters, follow, lines, json).await,
        AuditCommand::Verify {
            data,
            checkpoints,
            json,
        } => verify(&data, checkpoints.as_deref(), json).await,
        AuditCommand::Checkpoint { data } => checkpoint(&data).await,
        AuditCommand::Prune { data, before, yes } => prune(&data, &before, yes).await,
        AuditCommand::PublicKey { data } => public_key(&data).await,
        AuditCommand::Prove { seq, client } => prove(&Client::new(&client)?, seq).await,
        AuditCommand::CheckProof { proof, public_key } => check_proof(&proof, &public_key),
        AuditCommand::CheckConsistency {
            checkpoint,
            public_key,
            client,
        } => check_consistency(&Client::new(&client)?, &checkpoint, &public_key).await,
    }
}

async fn prove(client: &Client, seq: u64) -> anyhow::Result<ExitCode> {
    let route = format!("/v1/audit/proof/{seq}");
    let proof: InclusionProof = send(client.request(Method::GET, &route, None))
        .await?
        .json()
        .await
        .context("reading the proof")?;
    print_line(&serde_json::to_string_pretty(&proof)?);
    Ok(ExitCode::SUCCESS)
}

async fn check_consistency(
    client: &Client,
    kept: &Path,
    public_key: &str,
) -> anyhow::Result<ExitCode> {
    let key = PublicKey::from_hex(public_key)?;
    let older = read_checkpoints(kept)?
        .into_iter()
        .max_by_key(|c| c.tree_size)
        .with_context(|| format!("`{}` holds no checkpoint", kept.display()))?;
    let proof: ConsistencyProof = send(
        client
            .request(Method::GET, "/v1/audit/consistency", None)
            .query(&[("from", older.tree_size.to_string())]),
    )
    .await?
    .json()
    .await
    .context("reading the consistency proof")?;
    match proof.check(&older, &key) {
        Ok(()) => {
            print_line(&format!(
                "ok: the log of {} events signed at {} extends the kept checkpoint of {} events",
                proof.checkpoint.tree_size,
                format_rfc3339(proof.checkpoint.at_ms),
                older.tree_size
            ));
            Ok(ExitCode::SUCCESS)
        }
        Err(why) => {
            print_line(&format!("CONSISTENCY FAILS: {why}"));
            Ok(ExitCode::from(3))
        }
    }
}

fn check_proof(file: &Path, public_key: &str) -> anyhow::Result<ExitCode> {
    let text = if file == Path::new("-") {
        std::io::read_to_string(std::io::stdin())
            .context("reading the proof from standard input")?
    } else {
        std::fs::read_to_string(file).with_context(|| format!("reading `{}`", file.display()))?
    };
    let proof: InclusionProof = serde_json::from_str(&text)
        .context("the file is not a proof from `covault audit prove`")?;
    let key = PublicKey::from_hex(public_key)?;
    match proof.check(&key) {
        Ok(()) => {
            print_line(&format!(
                "ok: event {} is in the log of {} events signed at {}",
                proof.seq,
                proof.checkpoint.tree_size,
                format_rfc3339(proof.checkpoint.at_ms)
            ));
            Ok(ExitCode::SUCCESS)
        }
        Err(why) => {
            print_line(&format!("PROOF FAILS: {why}"));
            Ok(ExitCode::from(3))
        }
    }
}

/// `1h`, `30m`, `7d`, `45s` ago; RFC 3339 UTC; or milliseconds since the epoch.
pub fn parse_time(text: &str) -> anyhow::Result<i64> {
    if let Some(ms) = parse_rfc3339(text) {
        return Ok(ms);
    }
    if let Ok(ms) = text.parse::<i64>() {
        return Ok(ms);
    }
    let (number, unit) = text.split_at(text.len().saturating_sub(1));
    let seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => 0,
    };
    match number.parse::<i64>() {
        Ok(n) if seconds > 0 && n >= 0 => Ok(now_ms() - n * seconds * 1000),
        _ => bail!(
            "`{text}` is not a time: use RFC 3339 (2026-12-01T09:00:00Z), milliseconds, or an age like 30m, 12h, 7d"
        ),
    }
}

fn query_pairs(f: &AuditFilters) -> anyhow::Result<Vec<(&'static str, String)>> {
    let mut pairs = Vec::new();
    if let Some(t) = &f.since {
        pairs.push(("since_ms", parse_time(t)?.to_string()));
    }
    if let Some(t) = &f.until {
        pairs.push(("until_ms", parse_time(t)?.to_string()));
    }
    let texts = [
        ("principal", &f.principal),
        ("action", &f.action),
        ("path", &f.path),
        ("correlation_id", &f.correlation_id),
        ("request_id", &f.request_id),
    ];
    for (key, value) in texts {
        if let Some(v) = value {
            pairs.push((key, v.clone()));
        }
    }
    if let Some(outcome) = &f.outcome {
        Outcome::parse(outcome).map_err(|_| {
            anyhow::anyhow!("--outcome `{outcome}` is not success, denied or failed")
        })?;
        pairs.push(("outcome", outcome.clone()));
    }
    Ok(pairs)
}

/// One line per event: position, time, outcome, action, who, what, why.
fn print_event(e: &serde_json::Value, json: bool) {
    if json {
        print_line(&e.to_string());
        return;
    }
    let text = |k: &str| e[k].as_str().unwrap_or("-").to_owned();
    let what = match (e["path"].as_str(), e["version"].as_i64()) {
        (Some(p), Some(v)) => format!("{p}@{v}"),
        (Some(p), None) => p.to_owned(),
        _ => "-".to_owned(),
    };
    print_line(&format!(
        "{:>8}  {}  {:<7}  {:<18} {:<22} {}  {}",
        e["seq"].as_u64().unwrap_or(0),
        text("time"),
        text("outcome"),
        text("action"),
        text("principal"),
        what,
        text("reason"),
    ));
}

async fn fetch_page(
    client: &Client,
    pairs: &[(&'static str, String)],
    after: Option<u64>,
    limit: u32,
) -> anyhow::Result<(Vec<serde_json::Value>, Option<u64>)> {
    let mut q: Vec<(&str, String)> = pairs.to_vec();
    q.push(("limit", limit.to_string()));
    if let Some(a) = after {
        q.push(("after", a.to_string()));
    }
    let page: serde_json::Value = send(
        client
            .request(Method::GET, "/v1/audit/events", None)
            .query(&q),
    )
    .await?
    .json()
    .await
    .context("reading the audit page")?;
    let events = page["events"].as_array().cloned().unwrap_or_default();
    Ok((events, page["next_after"].as_u64()))
}

async fn search(
    client: &Client,
    f: &AuditFilters,
    all: bool,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let pairs = query_pairs(f)?;
    let mut after = f.after;
    loop {
        let (events, next) = fetch_page(client, &pairs, after, f.limit.unwrap_or(100)).await?;
        events.iter().for_each(|e| print_event(e, json));
        match next {
            Some(n) if all => after = Some(n),
            Some(n) => {
                if !json {
                    eprintln!("more: --after {n} (or --all)");
                }
                break;
            }
            None => break,
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn tail(
    client: &Client,
    f: &AuditFilters,
    follow: bool,
    lines: u32,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let pairs = query_pairs(f)?;
    // The newest `lines` matching events: walk the pages, keeping the last ones.
    let mut after = f.after;
    let mut recent: std::collections::VecDeque<serde_json::Value> = Default::default();
    loop {
        let (events, next) = fetch_page(client, &pairs, after, 1000).await?;
        for e in events {
            after = e["seq"].as_u64().or(after);
            recent.push_back(e);
            if recent.len() > lines as usize {
                recent.pop_front();
            }
        }
        if next.is_none() {
            break;
        }
    }
    recent.iter().for_each(|e| print_event(e, json));
    if !follow {
        return Ok(ExitCode::SUCCESS);
    }
    let mut q: Vec<(&str, String)> = pairs.clone();
    q.push(("follow", "true".into()));
    if let Some(a) = after {
        q.push(("after", a.to_string()));
    }
    let response = send(
        client
            .request(Method::GET, "/v1/audit/events", None)
            .query(&q),
    )
    .await?;
    eprintln!("following new events (Ctrl-C to stop)");
    let mut body = response.bytes_stream();
    let mut pending = Vec::new();
    while let Some(chunk) = body.next().await {
        pending.extend_from_slice(&chunk.context("the audit stream broke")?);
        while let Some(end) = pending.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = pending.drain(..=end).collect();
            if let Ok(e) = serde_json::from_slice::<serde_json::Value>(&line) {
                print_event(&e, json);
            }
        }
    }
    bail!("the server closed the audit stream")
}

/// Reads checkpoints kept outside the workspace: JSON lines, or one JSON array.
fn read_checkpoints(path: &Path) -> anyhow::Result<Vec<Checkpoint>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading `{}`", path.display()))?;
    if text.trim_start().starts_with('[') {
        return serde_json::from_str(&text)
            .with_context(|| format!("parsing `{}`", path.display()));
    }
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l)
                .with_context(|| format!("`{}` line {}: not a checkpoint", path.display(), i + 1))
        })
        .collect()
}

async fn verify(
    data: &crate::args::DataArgs,
    checkpoints: Option<&Path>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let extra = checkpoints
        .map(read_checkpoints)
        .transpose()?
        .unwrap_or_default();
    let dir = data_dir(data)?;
    let config = Config::load(&dir)?;
    let opened = open(&dir, &config, LockMode::Concurrent).await?;
    let report = opened.vault.audit_verify(&opened.operator, extra).await?;
    if json {
        print_line(&serde_json::to_string_pretty(&report)?);
    } else {
        for p in &report.problems {
            let range = p.until.map_or(String::new(), |u| format!("..={u}"));
            print_line(&format!(
                "PROBLEM {} at event {}{range}: {}",
                p.kind.as_str(),
                p.seq,
                p.message
            ));
        }
        print_line(&format!(
            "checked {} events (from {}) and {} checkpoints: {} problems; root {}",
            report.events,
            if report.anchored_at == 0 {
                "genesis".to_owned()
            } else {
                format!("checkpoint {}", report.anchored_at)
            },
            report.checkpoints_checked,
            report.problems.len(),
            report.merkle_root
        ));
    }
    Ok(if report.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(3)
    })
}

async fn checkpoint(data: &crate::args::DataArgs) -> anyhow::Result<ExitCode> {
    let dir = data_dir(data)?;
    let config = Config::load(&dir)?;
    let opened = open(&dir, &config, LockMode::Concurrent).await?;
    match opened.vault.audit_checkpoint(&opened.operator).await? {
        Some(cp) => print_line(&serde_json::to_string(&cp)?),
        None => eprintln!("no new events since the last checkpoint"),
    }
    Ok(ExitCode::SUCCESS)
}

async fn prune(data: &crate::args::DataArgs, before: &str, yes: bool) -> anyhow::Result<ExitCode> {
    let before_ms = parse_time(before)?;
    if !yes {
        bail!(
            "pruning deletes audit events before {} for good: pass --yes to confirm",
            format_rfc3339(before_ms)
        );
    }
    let dir = data_dir(data)?;
    let config = Config::load(&dir)?;
    let opened = open(&dir, &config, LockMode::Concurrent).await?;
    let report = opened
        .vault
        .audit_prune(&opened.operator, before_ms)
        .await?;
    if report.deleted == 0 {
        eprintln!("nothing pruned: no signed checkpoint lies entirely before that time");
    } else {
        eprintln!(
            "pruned {} events; the log now starts after checkpoint {}",
            report.deleted, report.anchored_at
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn public_key(data: &crate::args::DataArgs) -> anyhow::Result<ExitCode> {
    let dir = data_dir(data)?;
    let config = Config::load(&dir)?;
    let opened = open(&dir, &config, LockMode::Concurrent).await?;
    print_line(&opened.vault.audit_public_key()?);
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        assert_eq!(
            parse_time("2026-11-22T05:09:31Z").unwrap(),
            1_795_324_171_000
        );
        assert_eq!(parse_time("1795324171000").unwrap(), 1_795_324_171_000);
        let hour_ago = parse_time("1h").unwrap();
        assert!((now_ms() - hour_ago - 3_600_000).abs() < 5_000);
        assert!(parse_time("yesterday").is_err());
        assert!(parse_time("-5d").is_err());
    }
}
