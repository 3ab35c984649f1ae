//! The audit log's background work while `covault serve` runs: signed checkpoints on a
//! timer (and a last one at shutdown), each optionally appended to a file outside the data
//! directory, retention pruning, and the export sinks. All of it acts as the local operator
//! through the [`Vault`]; nothing here touches the store.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use covault_guard::{Caller, Checkpoint, Vault, now_ms};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::sinks::{SinkConfig, SinkConfigError, spawn_sinks};

/// What the audit tasks do.
#[derive(Clone, Debug)]
pub struct AuditTaskConfig {
    /// How often to sign a checkpoint (when there are new events).
    pub checkpoint_interval: Duration,
    /// A file (outside the data directory, ideally on other storage) that receives every
    /// checkpoint as a JSON line, so `covault audit verify --checkpoints FILE` can catch a
    /// log rewritten by someone with database access.
    pub checkpoint_file: Option<PathBuf>,
    /// An HTTP(S) endpoint that receives every checkpoint as a JSON `POST` (a transparency
    /// log, a collector, another team's service): evidence kept by someone else.
    pub checkpoint_url: Option<String>,
    /// Keep events this long; `None` keeps everything.
    pub retention: Option<Duration>,
    /// How often to prune when retention is set.
    pub prune_interval: Duration,
    /// Collectors that receive the log, each from its durable cursor.
    pub sinks: Vec<SinkConfig>,
}

impl Default for AuditTaskConfig {
    fn default() -> Self {
        Self {
            checkpoint_interval: Duration::from_secs(60),
            checkpoint_file: None,
            checkpoint_url: None,
            retention: None,
            prune_interval: Duration::from_secs(3600),
            sinks: Vec::new(),
        }
    }
}

/// The running tasks; [`AuditTasks::shutdown`] stops them after a final checkpoint.
pub struct AuditTasks {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl AuditTasks {
    /// Starts the tasks; refuses sinks that share a name (they would share a cursor).
    pub fn start(
        vault: Arc<Vault>,
        operator: Caller,
        config: AuditTaskConfig,
    ) -> Result<Self, SinkConfigError> {
        let (stop, stopped) = watch::channel(false);
        let mut tasks = spawn_sinks(
            Arc::clone(&vault),
            operator.clone(),
            config.sinks.clone(),
            stopped.clone(),
        )?;
        tasks.push(tokio::spawn(checkpoints(
            Arc::clone(&vault),
            operator.clone(),
            config.clone(),
            stopped.clone(),
        )));
        if let Some(retention) = config.retention {
            tasks.push(tokio::spawn(prune(
                vault,
                operator,
                retention,
                config.prune_interval,
                stopped,
            )));
        }
        Ok(Self { stop, tasks })
    }

    /// Stops every task; the checkpoint task signs a last checkpoint first.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            if let Err(e) = task.await {
                tracing::error!(error = %e, "an audit task failed");
            }
        }
    }
}

/// Waits for `period` or a stop; true when stopping.
async fn wait(period: Duration, stopped: &mut watch::Receiver<bool>) -> bool {
    tokio::select! {
        () = tokio::time::sleep(period) => *stopped.borrow(),
        _ = stopped.changed() => true,
    }
}

async fn checkpoints(
    vault: Arc<Vault>,
    operator: Caller,
    config: AuditTaskConfig,
    mut stopped: watch::Receiver<bool>,
) {
    let copies = Copies {
        file: config.checkpoint_file.clone(),
        url: config.checkpoint_url.clone(),
        http: reqwest::Client::builder()
            .timeout(POST_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("covault/", env!("CARGO_PKG_VERSION")))
            .build()
            .ok(),
    };
    loop {
        let stopping = wait(config.checkpoint_interval, &mut stopped).await;
        checkpoint_once(&vault, &operator, &copies).await;
        if stopping {
            return;
        }
    }
}

/// How long a checkpoint `POST` may take.
const POST_TIMEOUT: Duration = Duration::from_secs(10);

/// Where copies of each checkpoint go.
struct Copies {
    file: Option<PathBuf>,
    url: Option<String>,
    http: Option<reqwest::Client>,
}

/// Signs a checkpoint if there is anything new, and copies it to the file and the URL.
async fn checkpoint_once(vault: &Vault, operator: &Caller, copies: &Copies) {
    let cp = match vault.audit_checkpoint(operator).await {
        Ok(Some(cp)) => cp,
        Ok(None) => return,
        Err(e) => {
            tracing::error!(error = %e, "could not sign an audit checkpoint");
            return;
        }
    };
    tracing::info!(tree_size = cp.tree_size, "signed an audit checkpoint");
    if let Some(path) = &copies.file
        && let Err(e) = append_checkpoint(path.clone(), cp.clone()).await
    {
        tracing::error!(file = %path.display(), error = %e, "could not copy an audit checkpoint to its file");
    }
    if let Some(url) = &copies.url {
        match post_checkpoint(copies.http.as_ref(), url, &cp).await {
            Ok(()) => {}
            Err(e) => tracing::error!(
                tree_size = cp.tree_size,
                error = %e,
                "could not post an audit checkpoint (the next one covers it)"
            ),
        }
    }
}

/// POSTs `cp` as JSON; only a 2xx answer counts.
async fn post_checkpoint(
    http: Option<&reqwest::Client>,
    url: &str,
    cp: &Checkpoint,
) -> Result<(), String> {
    let http = http.ok_or("no HTTP client")?;
    let response = http
        .post(url)
        .json(cp)
        .send()
        .await
        .map_err(|e| e.without_url().to_string())?;
    if response.status().is_success() {
        Ok(())
    } else {
        Err(format!("the endpoint answered {}", response.status()))
    }
}

/// Appends `cp` as one JSON line and fsyncs the file.
async fn append_checkpoint(path: PathBuf, cp: Checkpoint) -> std::io::Result<()> {
    tokio::task::spawn_blocking(move || {
        let mut line = serde_json::to_vec(&cp).map_err(std::io::Error::other)?;
        line.push(b'\n');
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)?;
        file.write_all(&line)?;
        file.sync_all()
    })
    .await
    .map_err(std::io::Error::other)?
}

async fn prune(
    vault: Arc<Vault>,
    operator: Caller,
    retention: Duration,
    interval: Duration,
    mut stopped: watch::Receiver<bool>,
) {
    loop {
        if wait(interval, &mut stopped).await {
            return;
        }
        let keep_ms = i64::try_from(retention.as_millis()).unwrap_or(i64::MAX);
        let before = now_ms().saturating_sub(keep_ms);
        match vault.audit_prune(&operator, before).await {
            Ok(report) if report.deleted > 0 => tracing::info!(
                deleted = report.deleted,
                anchored_at = report.anchored_at,
                "pruned audit events past retention"
            ),
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "could not prune the audit log"),
        }
    }
}
