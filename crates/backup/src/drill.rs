//! Drill records: the outcome of a restore drill, sealed into `drills/<id>` so a repository
//! carries its own evidence of being restorable.

use serde::{Deserialize, Serialize};

use crate::repo::random_name;
use crate::{BackupError, Repository};

/// One drill's result.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrillRecord {
    pub time_ms: i64,
    pub snapshot: String,
    pub hostname: String,
    /// Versions restored and compared.
    pub versions_checked: u64,
    pub versions_in_snapshot: u64,
    pub bytes_checked: u64,
    /// Whether the metadata database was restored and its audit chain verified.
    pub database_checked: bool,
    pub duration_ms: u64,
    pub ok: bool,
    pub problems: Vec<String>,
}

impl Repository {
    pub async fn record_drill(&self, record: &DrillRecord) -> Result<(), BackupError> {
        let name = format!("{:016x}-{}", record.time_ms.max(0), random_name()?);
        self.put_object("drills", &name, record).await
    }

    /// Drill records, newest first (at most `limit`).
    pub async fn drills(&self, limit: usize) -> Result<Vec<DrillRecord>, BackupError> {
        let mut names = self.names("drills").await?;
        names.sort();
        names.reverse();
        let mut out = Vec::new();
        for name in names.into_iter().take(limit) {
            out.push(self.get_object("drills", &name).await?);
        }
        Ok(out)
    }
}
