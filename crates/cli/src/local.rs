//! Commands that work on the data directory in-process, as its local operator (whoever holds
//! the directory and its KEK): init, serve, demo, verify, keys rotate. They go through the
//! same [`Vault`] as the API, so they are authorized and audited like any request.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use covault_guard::{InitOptions, LockMode, OpenOptions, RequestContext, Tier, Vault};
use covault_server::{Application, AuditTasks};
use futures_util::stream;
use secrecy::ExposeSecret;

use crate::args::DataArgs;
use crate::config::{Config, TEMPLATE};
use crate::secrets::{self, KdfArgs};
use crate::{client::print_line, env};

pub fn data_dir(args: &DataArgs) -> anyhow::Result<PathBuf> {
    if let Some(dir) = &args.data_dir {
        return Ok(dir.clone());
    }
    if let Some(dir) = std::env::var_os(env::DATA) {
        return Ok(PathBuf::from(dir));
    }
    if let Some(xdg) = std::env::var_os("XDG_DATA_HOME") {
        return Ok(PathBuf::from(xdg).join("covault"));
    }
    let home = std::env::var_os("HOME")
        .context("cannot find a data directory: set COVAULT_DATA or pass --data-dir")?;
    Ok(PathBuf::from(home).join(".local/share/covault"))
}

/// Third-party parsers whose `log` records can quote document content (pdf-extract logs the
/// characters it lays out): silenced whatever the configured level, so no plaintext reaches
/// the log.
const CONTENT_LOGGERS: &[&str] = &[
    "pdf_extract",
    "lopdf",
    "calamine",
    "quick_xml",
    "zip",
    "html5gum",
    "mail_parser",
    "csv",
];

/// Logging for one-shot commands: only when `RUST_LOG` asks for it, so their output stays
/// what they print.
pub(crate) fn init_logging_if_asked(config: &Config) {
    if std::env::var_os("RUST_LOG").is_some() {
        init_logging(config);
    }
}

fn init_logging(config: &Config) {
    let mut filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(&config.log_level));
    for target in CONTENT_LOGGERS {
        if let Ok(directive) = format!("{target}=off").parse() {
            filter = filter.add_directive(directive);
        }
    }
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr);
    let _ = if config.log_json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

fn write_config(dir: &Path, key_file: Option<&Path>) -> anyhow::Result<()> {
    let path = dir.join("covault.toml");
    if path.exists() {
        return Ok(());
    }
    let text = match key_file {
        Some(k) => TEMPLATE.replace(
            "key_file = \"\"",
            &format!("key_file = {:?}", k.display().to_string()),
        ),
        None => TEMPLATE.to_owned(),
    };
    std::fs::write(&path, text).with_context(|| format!("writing `{}`", path.display()))
}

pub(crate) async fn open(
    dir: &Path,
    config: &Config,
    lock: LockMode,
) -> anyhow::Result<covault_guard::Opened> {
    let source = secrets::unlock_source(config.key_file.as_deref())?;
    Vault::open(OpenOptions {
        data_dir: dir.to_path_buf(),
        source,
        lock,
        limits: config.limits.clone(),
    })
    .await
    .with_context(|| format!("opening the workspace in `{}`", dir.display()))
}

pub async fn init(
    data: &DataArgs,
    admin: &str,
    key_file: Option<&Path>,
    kdf: &KdfArgs,
) -> anyhow::Result<ExitCode> {
    let dir = data_dir(data)?;
    if dir.join("meta.db").exists() {
        bail!("a workspace already exists in `{}`", dir.display());
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("creating `{}`", dir.display()))?;
    let key_file = key_file.map(absolute).transpose()?;
    let source = secrets::init_source(key_file.as_deref(), kdf)?;
    write_config(&dir, key_file.as_deref())?;
    let config = Config::load(&dir)?;
    let init = Vault::init(InitOptions {
        data_dir: dir.clone(),
        source,
        admin_name: admin.to_owned(),
        limits: config.limits,
    })
    .await?;
    eprintln!("created workspace in `{}`", dir.display());
    eprintln!(
        "admin `{}` ({}); its API token is shown once, below — store it safely:",
        init.admin.name, init.admin.id
    );
    print_line(init.admin_token.expose_secret());
    eprintln!(
        "next: `covault serve`, then `export COVAULT_TOKEN=<the token above>` and `covault ls`"
    );
    Ok(ExitCode::SUCCESS)
}

fn absolute(path: &Path) -> anyhow::Result<PathBuf> {
    if path.is_absolute() {
        return Ok(path.to_path_buf());
    }
    Ok(std::env::current_dir()?.join(path))
}

pub async fn serve(data: &DataArgs, listen: Option<SocketAddr>) -> anyhow::Result<ExitCode> {
    let dir = data_dir(data)?;
    let mut config = Config::load(&dir)?;
    if let Some(addr) = listen {
        config.server.listen = addr;
    }
    init_logging(&config);
    let opened = open(&dir, &config, LockMode::Exclusive).await?;
    run_server(opened, config, &dir).await
}

async fn run_server(
    opened: covault_guard::Opened,
    config: Config,
    dir: &Path,
) -> anyhow::Result<ExitCode> {
    let vault = Arc::new(opened.vault);
    let app = Application::build(config.server.clone(), Arc::clone(&vault)).await?;
    #[cfg(unix)]
    spawn_policy_reloader(Arc::clone(&vault), opened.operator.clone());
    crate::backup::spawn_schedule(
        Arc::clone(&vault),
        opened.operator.clone(),
        config.clone(),
        dir.to_path_buf(),
    );
    let audit = AuditTasks::start(Arc::clone(&vault), opened.operator, config.audit)?;
    eprintln!("covault listening on {}", app.url());
    tracing::info!(url = %app.url(), "listening");
    let served = app.run_until(shutdown_signal()).await;
    // A last checkpoint covers everything the server did before it stopped.
    audit.shutdown().await;
    served?;
    eprintln!("covault stopped");
    Ok(ExitCode::SUCCESS)
}

/// SIGHUP re-reads the policy files; a set that does not load leaves the one in force.
#[cfg(unix)]
fn spawn_policy_reloader(vault: Arc<Vault>, operator: covault_guard::Caller) {
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(mut hangup) = signal(SignalKind::hangup()) else {
        tracing::warn!("cannot listen for SIGHUP: policy reload needs a restart");
        return;
    };
    tokio::spawn(async move {
        while hangup.recv().await.is_some() {
            match vault.reload_policies(&operator).await {
                Ok(n) => {
                    tracing::info!(policies = n, "policies reloaded");
                    eprintln!("policies reloaded: {n} in force");
                }
                Err(e) => eprintln!("policy reload failed, previous set stays in force: {e}"),
            }
        }
    });
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}

pub async fn verify(data: &DataArgs, json: bool) -> anyhow::Result<ExitCode> {
    let dir = data_dir(data)?;
    let config = Config::load(&dir)?;
    let opened = open(&dir, &config, LockMode::Concurrent).await?;
    let report = opened.vault.verify(&opened.operator).await?;
    if json {
        print_line(&serde_json::to_string_pretty(&report)?);
    } else {
        for p in &report.problems {
            print_line(&format!(
                "PROBLEM {} version {}: {}",
                p.path, p.version, p.what
            ));
        }
        print_line(&format!(
            "checked {} versions ({} bytes): {} problems; {} purged versions; {} orphan blobs",
            report.versions_checked,
            report.bytes_checked,
            report.problems.len(),
            report.purged_versions,
            report.orphan_blobs
        ));
    }
    Ok(if report.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(3)
    })
}

pub async fn rotate(
    data: &DataArgs,
    new_key_file: Option<&Path>,
    kdf: &KdfArgs,
) -> anyhow::Result<ExitCode> {
    let dir = data_dir(data)?;
    let config = Config::load(&dir)?;
    let opened = open(&dir, &config, LockMode::Exclusive).await?;
    let new_key_file = new_key_file.map(absolute).transpose()?;
    let source = secrets::rotation_source(new_key_file.as_deref(), kdf)?;
    opened.vault.rotate_keys(&opened.operator, source).await?;
    match &new_key_file {
        Some(path) => {
            update_key_file_setting(&dir, Some(path))?;
            eprintln!(
                "rotated: every data key is now wrapped by the key in `{}`; the old key opens nothing",
                path.display()
            );
        }
        None => {
            update_key_file_setting(&dir, None)?;
            eprintln!(
                "rotated: every data key is now wrapped by a key derived from the new passphrase; the old one opens nothing"
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Points `keys.key_file` in covault.toml at the new key file (or clears it).
fn update_key_file_setting(dir: &Path, key_file: Option<&Path>) -> anyhow::Result<()> {
    let path = dir.join("covault.toml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|_| TEMPLATE.to_owned());
    let value = key_file.map_or_else(String::new, |k| k.display().to_string());
    let mut replaced = false;
    let lines: Vec<String> = text
        .lines()
        .map(|line| {
            if !replaced && line.trim_start().starts_with("key_file") {
                replaced = true;
                format!("key_file = {value:?}")
            } else {
                line.to_owned()
            }
        })
        .collect();
    let mut out = lines.join("\n");
    if !replaced {
        out.push_str(&format!("\n[keys]\nkey_file = {value:?}"));
    }
    out.push('\n');
    let tmp = dir.join("covault.toml.tmp");
    std::fs::write(&tmp, out)?;
    std::fs::rename(&tmp, &path)?;
    Ok(())
}

const DEMO_FILES: &[(&str, Option<Tier>, &str)] = &[
    (
        "/welcome.md",
        Some(Tier::Public),
        "# Welcome to covault\n\nEvery file here is encrypted at rest (AES-256-GCM), versioned, and every\naccess is authorized and audited. Try:\n\n    covault ls /\n    covault get /welcome.md\n    covault history /projects/roadmap.md\n    covault put ./notes.txt /notes.txt --tier internal\n",
    ),
    (
        "/finance/2026/invoice-0001.csv",
        Some(Tier::Internal),
        "invoice,customer,amount,currency\n0001,Example Corp,1250.00,EUR\n",
    ),
    (
        "/finance/2026/invoice-0002.csv",
        Some(Tier::Internal),
        "invoice,customer,amount,currency\n0002,Sample Ltd,980.50,EUR\n",
    ),
    // No tier given: classified from content (phone number and email: confidential).
    (
        "/hr/contacts.txt",
        None,
        "Jane Example, jane.example@example.com, +1 415 555 0100\n",
    ),
    // A (fake) database password: auto-classified restricted.
    (
        "/ops/deploy.env",
        None,
        "# staging deploy\nDATABASE_URL=postgres://app:Zq7w-Rt4x-Lm2p@db.staging.internal:5432/app\n",
    ),
    ("/projects/roadmap.md", None, "# Roadmap\n\n1. Foundation\n"),
    (
        "/projects/roadmap.md",
        None,
        "# Roadmap\n\n1. Foundation (done)\n2. Content scanner\n3. AI gateway\n",
    ),
];

pub async fn demo(dir: &Path, listen: SocketAddr) -> anyhow::Result<ExitCode> {
    let dir = absolute(dir)?;
    let key_file = dir.join("demo.key");
    if !dir.join("meta.db").exists() {
        create_demo(&dir, &key_file, listen).await?;
    }
    let mut config = Config::load(&dir)?;
    config.server.listen = listen;
    config.key_file = Some(key_file);
    init_logging(&config);
    let opened = open(&dir, &config, LockMode::Exclusive).await?;
    let env_file = dir.join("demo.env");
    eprintln!("demo workspace: `{}`", dir.display());
    eprintln!(
        "in another terminal:  source {} && ./target/debug/covault ls /",
        env_file.display()
    );
    run_server(opened, config, &dir).await
}

async fn create_demo(dir: &Path, key_file: &Path, listen: SocketAddr) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    eprintln!("creating a demo workspace in `{}`", dir.display());
    eprintln!(
        "note: the demo keeps its key file inside the data directory; for real use, keep the KEK elsewhere (see README)"
    );
    let key = if key_file.exists() {
        secrets::read_key_file(key_file)?
    } else {
        secrets::create_key_file(key_file)?
    };
    write_config(dir, Some(key_file))?;
    let config = Config::load(dir)?;
    let init = Vault::init(InitOptions {
        data_dir: dir.to_path_buf(),
        source: covault_guard::NewKekSource::KeyFile(key),
        admin_name: "demo-admin".into(),
        limits: config.limits,
    })
    .await?;
    let admin = init
        .vault
        .authenticate(&init.admin_token, None, RequestContext::default())
        .await?;
    for (path, tier, text) in DEMO_FILES {
        let body = Box::pin(stream::iter([Ok(bytes::Bytes::from_static(
            text.as_bytes(),
        ))]));
        init.vault.put(&admin, path, *tier, body).await?;
    }
    let env_text = format!(
        "# covault demo: source this file in a shell to use the client commands\nexport {}=http://{listen}\nexport {}={}\n",
        env::URL,
        env::TOKEN,
        init.admin_token.expose_secret()
    );
    write_private(&dir.join("demo.env"), &env_text)?;
    Ok(())
}

fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("writing `{}`", path.display()))?;
    file.write_all(text.as_bytes())?;
    Ok(())
}
