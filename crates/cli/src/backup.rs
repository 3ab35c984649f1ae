//! `covault backup …`: the local operator's backup commands, and the backups and drills
//! `covault serve` schedules. Each opens the workspace beside a running server (no exclusive
//! lock) and goes through the [`Vault`], so every one is authorized and audited; `status`,
//! `snapshots` and `verify` read only the repository.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use covault_guard::backups::{
    self, ChunkerParams, InitOptions, KeepPolicy, PruneOptions, RepoSecret, Repository, Subset,
    VerifyOptions, format_time,
};
use covault_guard::{Caller, LockMode, Vault};
use zeroize::Zeroizing;

use crate::args::{BackupCommand, RepoArgs};
use crate::client::print_line;
use crate::config::{BackupConfig, Config};
use crate::local::{data_dir, open};
use crate::{env, secrets};

fn location(args: &RepoArgs, config: &Config) -> anyhow::Result<String> {
    args.repo
        .clone()
        .or_else(|| {
            std::env::var(env::BACKUP_REPO)
                .ok()
                .filter(|v| !v.is_empty())
        })
        .or_else(|| config.backup.repository.clone())
        .context("no backup repository: pass --repo, set COVAULT_BACKUP_REPO or backup.repository")
}

/// The repository's key: its own (COVAULT_BACKUP_KEY_FILE / _PASSPHRASE), else the
/// workspace's key source.
fn repo_secret(config: &Config) -> anyhow::Result<RepoSecret> {
    if let Some(path) = std::env::var_os(env::BACKUP_KEY_FILE).filter(|v| !v.is_empty()) {
        return Ok(RepoSecret::KeyFile(secrets::read_key_file(Path::new(
            &path,
        ))?));
    }
    if let Some(pass) =
        secrets::passphrase_from(env::BACKUP_PASSPHRASE, env::BACKUP_PASSPHRASE_FILE)?
    {
        return Ok(RepoSecret::Passphrase(pass));
    }
    Ok(match secrets::unlock_source(config.key_file.as_deref())? {
        covault_guard::KekSource::KeyFile(bytes) => RepoSecret::KeyFile(bytes),
        covault_guard::KekSource::Passphrase(pass) => RepoSecret::Passphrase(pass),
    })
}

async fn open_repo(args: &RepoArgs, config: &Config) -> anyhow::Result<Arc<Repository>> {
    let where_ = location(args, config)?;
    let backend = backups::open_location(&where_)?;
    let secret = repo_secret(config)?;
    let mut repo = Repository::open(backend, &secret)
        .await
        .with_context(|| format!("opening the backup repository {where_}"))?;
    if let Some(path) = &args.prune_key_file {
        repo.allow_prune(&secrets::read_key_file(path)?)?;
    }
    Ok(Arc::new(repo))
}

fn json_line<T: serde::Serialize>(value: &T) -> anyhow::Result<()> {
    print_line(&serde_json::to_string_pretty(value)?);
    Ok(())
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

/// A progress bar on standard error, shown only on a terminal.
struct Bar(indicatif::ProgressBar);

impl backups::Progress for Bar {
    fn advance(&self, bytes: u64) {
        self.0.inc(bytes);
    }
}

pub async fn run(command: BackupCommand) -> anyhow::Result<ExitCode> {
    let args = match &command {
        BackupCommand::Init { repo, .. }
        | BackupCommand::Run { repo, .. }
        | BackupCommand::Snapshots { repo }
        | BackupCommand::Verify { repo, .. }
        | BackupCommand::Restore { repo, .. }
        | BackupCommand::Drill { repo, .. }
        | BackupCommand::Forget { repo, .. }
        | BackupCommand::Prune { repo, .. }
        | BackupCommand::Erase { repo }
        | BackupCommand::Status { repo } => repo.clone(),
    };
    let dir = data_dir(&args.data)?;
    let config = Config::load(&dir)?;
    crate::local::init_logging_if_asked(&config);
    match command {
        BackupCommand::Init {
            append_only,
            zstd_level,
            chunk_size,
            ..
        } => init(&args, &config, append_only, zstd_level, chunk_size).await,
        BackupCommand::Run { quiet, .. } => {
            let repo = open_repo(&args, &config).await?;
            let opened = open(&dir, &config, LockMode::Concurrent).await?;
            let progress =
                (!quiet && std::io::IsTerminal::is_terminal(&std::io::stderr())).then(|| {
                    let bar = indicatif::ProgressBar::new_spinner();
                    bar.set_style(
                        indicatif::ProgressStyle::with_template(
                            "{spinner} {bytes} read ({bytes_per_sec}) {elapsed}",
                        )
                        .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
                    );
                    Arc::new(Bar(bar))
                });
            let snap = opened
                .vault
                .backup_run(
                    &opened.operator,
                    &repo,
                    progress.clone().map(|b| b as Arc<dyn backups::Progress>),
                )
                .await?;
            if let Some(bar) = progress {
                bar.0.finish_and_clear();
            }
            if args.json {
                json_line(&serde_json::json!({"snapshot": snap.id, "stats": snap.stats}))?;
            } else {
                let s = &snap.stats;
                print_line(&format!(
                    "snapshot {} saved: {} files, {} versions ({}); read {} new versions ({}); added {} chunks ({}, {} stored) in {:.2} s",
                    snap.short_id(),
                    s.files,
                    s.versions,
                    mib(s.bytes),
                    s.versions_read,
                    mib(s.bytes_read),
                    s.chunks_added,
                    mib(s.plain_added),
                    mib(s.bytes_added),
                    s.duration_ms as f64 / 1000.0
                ));
            }
            Ok(ExitCode::SUCCESS)
        }
        BackupCommand::Snapshots { .. } => {
            let repo = open_repo(&args, &config).await?;
            let snaps = repo.snapshot_infos().await?;
            if args.json {
                let rows: Vec<_> = snaps
                    .iter()
                    .map(|s| serde_json::json!({"id": s.id, "time_ms": s.time_ms, "hostname": s.hostname, "source": s.source, "stats": s.stats, "erased": s.erased}))
                    .collect();
                json_line(&rows)?;
            } else {
                print_line("ID        TIME                     VERSIONS  SIZE        SOURCE");
                for s in &snaps {
                    print_line(&format!(
                        "{:<9} {:<24} {:>8}  {:<11} {}",
                        s.short_id(),
                        format_time(s.time_ms),
                        s.stats.versions,
                        mib(s.stats.bytes),
                        s.source
                    ));
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        BackupCommand::Verify {
            read_data,
            read_data_subset,
            ..
        } => {
            let repo = open_repo(&args, &config).await?;
            let subset = match &read_data_subset {
                Some(text) => text.parse::<Subset>()?,
                None => Subset::All,
            };
            let report = backups::verify(
                &repo,
                VerifyOptions {
                    read_data: read_data || read_data_subset.is_some(),
                    subset,
                },
            )
            .await?;
            if args.json {
                json_line(&report)?;
            } else {
                for p in &report.problems {
                    print_line(&format!("PROBLEM {p}"));
                }
                print_line(&format!(
                    "{} snapshots, {} index files, {} packs, {} chunks; read {} packs ({}), {} chunks; {} unreferenced packs; {} problems",
                    report.snapshots,
                    report.index_files,
                    report.packs,
                    report.chunks,
                    report.packs_read,
                    mib(report.bytes_read),
                    report.chunks_read,
                    report.unreferenced_packs,
                    report.problems.len()
                ));
            }
            Ok(if report.is_ok() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(3)
            })
        }
        BackupCommand::Restore {
            snapshot,
            target,
            path,
            version,
            dry_run,
            ..
        } => {
            let repo = open_repo(&args, &config).await?;
            let snap = repo.snapshot(&snapshot).await?;
            if let Some(target) = target {
                let source = secrets::unlock_source(config.key_file.as_deref())?;
                let (report, _) = covault_guard::restore_workspace(
                    &repo,
                    &snap,
                    &target,
                    source,
                    config.limits.clone(),
                    None,
                    dry_run,
                )
                .await?;
                if args.json {
                    json_line(&report)?;
                } else if dry_run {
                    print_line(&format!(
                        "would restore snapshot {} ({} versions, {}) into `{}`; every chunk is present",
                        snap.short_id(),
                        report.versions,
                        mib(report.bytes),
                        target.display()
                    ));
                } else {
                    print_line(&format!(
                        "restored snapshot {} into `{}`: {} versions ({}), {} erased files recorded as purged; it opens with the key the workspace had then",
                        snap.short_id(),
                        target.display(),
                        report.versions,
                        mib(report.bytes),
                        report.files_purged
                    ));
                }
                return Ok(ExitCode::SUCCESS);
            }
            let Some(path) = path else {
                bail!("say what to restore: --target DIR (the whole workspace) or --path PATH");
            };
            let opened = open(&dir, &config, LockMode::Concurrent).await?;
            let (entry, written) = opened
                .vault
                .backup_restore_path(&opened.operator, &repo, &snap, &path, version, dry_run)
                .await?;
            match written {
                None => print_line(&format!(
                    "would restore {path} version {} ({} bytes) from snapshot {} as a new version",
                    entry.version.unwrap_or(0),
                    entry.size,
                    snap.short_id()
                )),
                Some(info) if args.json => json_line(&info)?,
                Some(info) => print_line(&format!(
                    "restored {path} version {} from snapshot {} as version {}",
                    entry.version.unwrap_or(0),
                    snap.short_id(),
                    info.version
                )),
            }
            Ok(ExitCode::SUCCESS)
        }
        BackupCommand::Drill { sample, all, .. } => {
            let repo = open_repo(&args, &config).await?;
            let opened = open(&dir, &config, LockMode::Concurrent).await?;
            let sample = if all {
                None
            } else {
                sample.or(config.backup.drill_sample)
            };
            let ok = drill(
                &opened.vault,
                &opened.operator,
                &repo,
                sample,
                &config,
                &dir,
                args.json,
            )
            .await?;
            Ok(if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(3)
            })
        }
        BackupCommand::Forget {
            keep_last,
            keep_hourly,
            keep_daily,
            keep_weekly,
            keep_monthly,
            keep_yearly,
            prune,
            dry_run,
            ..
        } => {
            let repo = open_repo(&args, &config).await?;
            let opened = open(&dir, &config, LockMode::Concurrent).await?;
            let policy = KeepPolicy {
                last: keep_last,
                hourly: keep_hourly,
                daily: keep_daily,
                weekly: keep_weekly,
                monthly: keep_monthly,
                yearly: keep_yearly,
            };
            let (decisions, report) = opened
                .vault
                .backup_forget(
                    &opened.operator,
                    &repo,
                    policy,
                    prune.then(PruneOptions::default),
                    dry_run,
                )
                .await?;
            if args.json {
                json_line(&serde_json::json!({"decisions": decisions, "prune": report}))?;
            } else {
                for d in &decisions {
                    print_line(&format!(
                        "{} {:<9} {}  {}",
                        if d.keep { "keep  " } else { "forget" },
                        d.id.get(..8).unwrap_or(&d.id),
                        format_time(d.time_ms),
                        d.reasons.join(",")
                    ));
                }
                if let Some(r) = report {
                    print_prune(&r);
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        BackupCommand::Prune {
            max_unused_percent,
            dry_run,
            ..
        } => {
            let repo = open_repo(&args, &config).await?;
            let opened = open(&dir, &config, LockMode::Concurrent).await?;
            let report = opened
                .vault
                .backup_prune(
                    &opened.operator,
                    &repo,
                    PruneOptions {
                        max_unused_percent,
                        erase: false,
                        dry_run,
                    },
                )
                .await?;
            if args.json {
                json_line(&report)?;
            } else {
                print_prune(&report);
            }
            Ok(ExitCode::SUCCESS)
        }
        BackupCommand::Erase { .. } => {
            let repo = open_repo(&args, &config).await?;
            let opened = open(&dir, &config, LockMode::Concurrent).await?;
            let (files, rewritten, report) =
                opened.vault.backup_erase(&opened.operator, &repo).await?;
            if args.json {
                json_line(
                    &serde_json::json!({"purged_files": files, "snapshots_rewritten": rewritten, "prune": report}),
                )?;
            } else {
                print_line(&format!(
                    "{files} purged files: {rewritten} snapshots rewritten without them"
                ));
                print_prune(&report);
            }
            Ok(ExitCode::SUCCESS)
        }
        BackupCommand::Status { .. } => status(&args, &config).await,
    }
}

fn print_prune(r: &backups::PruneReport) {
    print_line(&format!(
        "{}{} packs deleted, {} repacked into {}, {} unreferenced packs removed, {} chunks removed, {} freed of {}",
        if r.dry_run { "(dry run) " } else { "" },
        r.packs_deleted,
        r.packs_repacked,
        r.packs_written,
        r.orphan_packs_deleted,
        r.chunks_removed,
        mib(r.bytes_freed),
        mib(r.bytes_before)
    ));
}

async fn init(
    args: &RepoArgs,
    config: &Config,
    append_only: bool,
    zstd_level: i32,
    chunk_size: Option<u32>,
) -> anyhow::Result<ExitCode> {
    let chunker = match chunk_size {
        Some(kib) => ChunkerParams::with_average(kib.saturating_mul(1024))?,
        None => ChunkerParams::default(),
    };
    let where_ = location(args, config)?;
    let prune_path = match (append_only, &args.prune_key_file) {
        (true, Some(p)) if p.exists() => bail!(
            "`{}` exists: choose a new path for the prune key",
            p.display()
        ),
        (true, Some(p)) => Some(p.clone()),
        (true, None) => bail!(
            "an append-only repository needs --prune-key-file PATH (created here, keep it offline)"
        ),
        (false, Some(_)) => bail!("--prune-key-file only applies with --append-only"),
        (false, None) => None,
    };
    let backend = backups::open_location(&where_)?;
    let secret = repo_secret(config)?;
    let (repo, prune_key) = Repository::init(
        backend,
        &secret,
        InitOptions {
            append_only,
            zstd_level,
            chunker,
            ..InitOptions::default()
        },
    )
    .await?;
    if let (Some(path), Some(key)) = (prune_path, prune_key) {
        write_private(&path, &key)?;
        eprintln!(
            "prune key written to `{}`: keep it away from the machine that runs backups",
            path.display()
        );
    }
    print_line(&format!(
        "created backup repository {} at {}{}",
        repo.id(),
        repo.location(),
        if append_only { " (append-only)" } else { "" }
    ));
    Ok(ExitCode::SUCCESS)
}

fn write_private(path: &Path, text: &Zeroizing<String>) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("creating `{}`", path.display()))?;
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    Ok(())
}

async fn status(args: &RepoArgs, config: &Config) -> anyhow::Result<ExitCode> {
    let repo = open_repo(args, config).await?;
    let snaps = repo.snapshot_infos().await?;
    let drills = repo.drills(5).await?;
    let locks = backups::held_locks(&repo).await?;
    let last_drill = drills.first();
    if args.json {
        json_line(&serde_json::json!({
            "repository": repo.id(),
            "location": repo.location(),
            "append_only": repo.append_only(),
            "snapshots": snaps.len(),
            "latest": snaps.last().map(|s| serde_json::json!({"id": s.id, "time_ms": s.time_ms, "stats": s.stats})),
            "drills": drills,
            "locks": locks.iter().map(|(d, stale)| serde_json::json!({"holder": d, "stale": stale})).collect::<Vec<_>>(),
        }))?;
    } else {
        print_line(&format!(
            "repository {} at {}{}",
            repo.id(),
            repo.location(),
            if repo.append_only() {
                " (append-only)"
            } else {
                ""
            }
        ));
        match snaps.last() {
            Some(s) => print_line(&format!(
                "{} snapshots; latest {} at {}: {} versions, {}",
                snaps.len(),
                s.short_id(),
                format_time(s.time_ms),
                s.stats.versions,
                mib(s.stats.bytes)
            )),
            None => print_line("no snapshots yet"),
        }
        match last_drill {
            Some(d) => print_line(&format!(
                "last drill {} at {}: snapshot {}, {} of {} versions restored and compared, database {}{}",
                if d.ok { "PASSED" } else { "FAILED" },
                format_time(d.time_ms),
                d.snapshot.get(..8).unwrap_or(&d.snapshot),
                d.versions_checked,
                d.versions_in_snapshot,
                if d.database_checked {
                    "verified"
                } else {
                    "not checked"
                },
                d.problems
                    .first()
                    .map(|p| format!("; {p}"))
                    .unwrap_or_default()
            )),
            None => print_line("no restore drill yet: run `covault backup drill`"),
        }
        for (holder, stale) in &locks {
            print_line(&format!(
                "lock: {holder}{}",
                if *stale { " (stale)" } else { "" }
            ));
        }
    }
    Ok(match last_drill {
        Some(d) if !d.ok => ExitCode::from(3),
        _ => ExitCode::SUCCESS,
    })
}

/// Runs a drill, prints it, alerts on failure. Returns whether it passed.
async fn drill(
    vault: &Vault,
    operator: &Caller,
    repo: &Arc<Repository>,
    sample: Option<usize>,
    config: &Config,
    dir: &Path,
    json: bool,
) -> anyhow::Result<bool> {
    let source = secrets::unlock_source(config.key_file.as_deref())?;
    let record = vault
        .backup_drill(operator, repo, sample, source, dir)
        .await?;
    if json {
        json_line(&record)?;
    } else {
        for p in &record.problems {
            print_line(&format!("PROBLEM {p}"));
        }
        print_line(&format!(
            "drill {}: snapshot {}, {} of {} versions ({}) restored into scratch space and compared, audit chain {} in {:.2} s",
            if record.ok { "passed" } else { "FAILED" },
            record.snapshot.get(..8).unwrap_or(&record.snapshot),
            record.versions_checked,
            record.versions_in_snapshot,
            mib(record.bytes_checked),
            if record.database_checked {
                "verified"
            } else {
                "not checked"
            },
            record.duration_ms as f64 / 1000.0
        ));
    }
    if !record.ok {
        alert(
            &config.backup,
            "backup.drill",
            &serde_json::to_value(&record)?,
        )
        .await;
    }
    Ok(record.ok)
}

/// POSTs a failure to `backup.alert_url` (if set) and logs it at error level.
async fn alert(config: &BackupConfig, what: &str, detail: &serde_json::Value) {
    tracing::error!(event = what, "backup failure");
    let Some(url) = &config.alert_url else {
        return;
    };
    let body = serde_json::json!({
        "source": "covault",
        "event": what,
        "outcome": "failed",
        "hostname": backups::hostname(),
        "detail": detail,
    });
    let sent = reqwest::Client::new()
        .post(url)
        .timeout(std::time::Duration::from_secs(10))
        .json(&body)
        .send()
        .await
        .and_then(reqwest::Response::error_for_status);
    if let Err(e) = sent {
        tracing::error!(error = %e, "could not deliver the backup alert");
    }
}

/// The backups and drills `covault serve` runs on `[backup]`'s schedule.
pub fn spawn_schedule(
    vault: Arc<Vault>,
    operator: Caller,
    config: Config,
    dir: std::path::PathBuf,
) {
    let backup = config.backup.clone();
    for (every, is_drill) in [(backup.backup_every, false), (backup.drill_every, true)] {
        let Some(every) = every else { continue };
        let (vault, operator, config, dir) = (
            Arc::clone(&vault),
            operator.clone(),
            config.clone(),
            dir.clone(),
        );
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            ticks.tick().await; // the first tick is immediate: wait one period first
            loop {
                ticks.tick().await;
                let args = RepoArgs {
                    data: crate::args::DataArgs {
                        data_dir: Some(dir.clone()),
                    },
                    repo: None,
                    prune_key_file: None,
                    json: false,
                };
                let result: anyhow::Result<()> = async {
                    let repo = open_repo(&args, &config).await?;
                    if is_drill {
                        drill(&vault, &operator, &repo, config.backup.drill_sample, &config, &dir, false).await?;
                    } else {
                        let snap = vault.backup_run(&operator, &repo, None).await?;
                        tracing::info!(snapshot = %snap.id, versions_read = snap.stats.versions_read, "scheduled backup done");
                    }
                    Ok(())
                }
                .await;
                if let Err(e) = result {
                    let what = if is_drill {
                        "backup.drill"
                    } else {
                        "backup.run"
                    };
                    eprintln!("scheduled {what} failed: {e:#}");
                    alert(
                        &config.backup,
                        what,
                        &serde_json::json!({"error": e.to_string()}),
                    )
                    .await;
                }
            }
        });
    }
}
