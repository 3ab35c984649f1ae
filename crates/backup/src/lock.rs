//! Repository locks: backups hold a shared lock, prune an exclusive one, so a prune never
//! deletes chunks a running backup is about to reference.
//!
//! A lock is an object `locks/<id>` naming its holder. Taking one is write-then-check: write
//! our lock, then list the others; on a conflict remove ours and fail. Two racing takers both
//! see each other and both back off, never both proceed. Locks are refreshed while held; a
//! lock not refreshed for [`STALE_MS`], or held by a process on this host that no longer
//! exists (killed mid-backup), is stale and ignored (and removed by the next exclusive taker).

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::repo::{now_ms, random_name};
use crate::{BackupError, Repository};

/// A lock not refreshed for this long is abandoned.
pub const STALE_MS: i64 = 30 * 60 * 1000;
const REFRESH_MS: u64 = 5 * 60 * 1000;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct LockRecord {
    pub(crate) exclusive: bool,
    pub(crate) hostname: String,
    pub(crate) pid: u32,
    pub(crate) operation: String,
    pub(crate) created_ms: i64,
    pub(crate) refreshed_ms: i64,
}

impl LockRecord {
    fn is_stale(&self, now: i64) -> bool {
        if now.saturating_sub(self.refreshed_ms) > STALE_MS {
            return true;
        }
        self.hostname == hostname() && self.pid != std::process::id() && !process_alive(self.pid)
    }
    fn describe(&self) -> String {
        format!(
            "{} by pid {} on {} (since {})",
            self.operation,
            self.pid,
            self.hostname,
            crate::retention::format_time(self.created_ms)
        )
    }
}

#[cfg(target_os = "linux")]
fn process_alive(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

#[cfg(not(target_os = "linux"))]
fn process_alive(_pid: u32) -> bool {
    true
}

pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown".into())
}

/// A held lock; released on [`RepoLock::release`] (or left to go stale if the process dies).
pub struct RepoLock {
    repo: Arc<Repository>,
    name: String,
    refresher: tokio::task::JoinHandle<()>,
}

impl RepoLock {
    pub(crate) async fn take(
        repo: &Arc<Repository>,
        exclusive: bool,
        operation: &str,
    ) -> Result<Self, BackupError> {
        let name = random_name()?;
        let now = now_ms();
        let mut record = LockRecord {
            exclusive,
            hostname: hostname(),
            pid: std::process::id(),
            operation: operation.to_owned(),
            created_ms: now,
            refreshed_ms: now,
        };
        repo.put_object("locks", &name, &record).await?;
        let mut conflict = None;
        let mut stale = Vec::new();
        for other in repo.names("locks").await? {
            if other == name {
                continue;
            }
            let held: LockRecord = match repo.get_object("locks", &other).await {
                Ok(held) => held,
                Err(BackupError::NotFound(_)) => continue, // released meanwhile
                Err(e) => return Err(e),
            };
            if held.is_stale(now) {
                stale.push(other);
            } else if exclusive || held.exclusive {
                conflict = Some(held.describe());
                break;
            }
        }
        if let Some(conflict) = conflict {
            let _ = repo.backend.delete(&format!("locks/{name}")).await;
            return Err(BackupError::Locked(format!(
                "{conflict}; retry when it has finished"
            )));
        }
        if exclusive {
            for other in stale {
                let _ = repo.backend.delete(&format!("locks/{other}")).await;
            }
        }
        let refresh_repo = Arc::clone(repo);
        let refresh_name = name.clone();
        let refresher = tokio::spawn(async move {
            loop {
                tokio::time::sleep(std::time::Duration::from_millis(REFRESH_MS)).await;
                record.refreshed_ms = now_ms();
                if let Err(e) = refresh_repo
                    .put_object("locks", &refresh_name, &record)
                    .await
                {
                    tracing::warn!(error = %e, "could not refresh the repository lock");
                }
            }
        });
        Ok(Self {
            repo: Arc::clone(repo),
            name,
            refresher,
        })
    }

    pub async fn release(self) {
        self.refresher.abort();
        if let Err(e) = self
            .repo
            .backend
            .delete(&format!("locks/{}", self.name))
            .await
        {
            tracing::warn!(error = %e, "could not remove the repository lock; it will go stale");
        }
    }
}

/// Locks currently held (for `status`): description and whether stale.
pub async fn held_locks(repo: &Repository) -> Result<Vec<(String, bool)>, BackupError> {
    let now = now_ms();
    let mut out = Vec::new();
    for name in repo.names("locks").await? {
        if let Ok(held) = repo.get_object::<LockRecord>("locks", &name).await {
            out.push((held.describe(), held.is_stale(now)));
        }
    }
    Ok(out)
}
