//! Checking a repository: its structure (every index and snapshot opens, every chunk a
//! snapshot names is indexed, every indexed pack exists with its recorded size) and, with
//! `read_data`, its content (every selected pack hashes to its name, its own header agrees
//! with the index, and every chunk in it opens and hashes to its id). A subset (`2/7`: the
//! second of seven slices, by pack name; or `10%`: a random tenth) makes rolling checks
//! cheap.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use futures_util::StreamExt;
use serde::Serialize;

use crate::index::{Index, PackRecord};
use crate::pack::{Rehash, open_chunk, pack_object, parse_id, read_header};
use crate::{BackupError, Repository};

/// Which packs a data check reads.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Subset {
    All,
    /// Slice `n` (1-based) of `of`, by the first bytes of the pack name.
    Part {
        n: u32,
        of: u32,
    },
    /// A random share of the packs, in percent.
    Percent(f64),
}

impl std::str::FromStr for Subset {
    type Err = BackupError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || {
            BackupError::BadRequest(format!(
                "a subset is N/M (1 ≤ N ≤ M) or P% (0 < P ≤ 100), not {text:?}"
            ))
        };
        if let Some(p) = text.strip_suffix('%') {
            let p: f64 = p.trim().parse().map_err(|_| bad())?;
            if !(p > 0.0 && p <= 100.0) {
                return Err(bad());
            }
            return Ok(Subset::Percent(p));
        }
        let (n, of) = text.split_once('/').ok_or_else(bad)?;
        let n: u32 = n.trim().parse().map_err(|_| bad())?;
        let of: u32 = of.trim().parse().map_err(|_| bad())?;
        if n == 0 || of == 0 || n > of {
            return Err(bad());
        }
        Ok(Subset::Part { n, of })
    }
}

impl Subset {
    fn selects(&self, pack: &str) -> Result<bool, BackupError> {
        Ok(match self {
            Subset::All => true,
            Subset::Part { n, of } => {
                let head = u32::from_str_radix(pack.get(..8).unwrap_or("0"), 16).unwrap_or(0);
                head % of == n - 1
            }
            Subset::Percent(p) => {
                let roll = u32::from_le_bytes(covault_crypto::random_array::<4>()?);
                f64::from(roll) / f64::from(u32::MAX) * 100.0 < *p
            }
        })
    }
}

/// Chunks opened, bytes read and problems found in one pack.
type PackCheck = (u64, u64, Vec<String>);

/// What verify checks.
#[derive(Clone, Copy, Debug)]
pub struct VerifyOptions {
    pub read_data: bool,
    pub subset: Subset,
}

/// What verify found.
#[derive(Clone, Debug, Default, Serialize)]
pub struct VerifyReport {
    pub snapshots: u64,
    pub index_files: u64,
    pub packs: u64,
    pub chunks: u64,
    pub packs_read: u64,
    pub chunks_read: u64,
    pub bytes_read: u64,
    /// Packs no index names (left by an interrupted backup or prune; removed by prune).
    pub unreferenced_packs: u64,
    pub problems: Vec<String>,
}

impl VerifyReport {
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }
}

pub async fn verify(
    repo: &Arc<Repository>,
    options: VerifyOptions,
) -> Result<VerifyReport, BackupError> {
    let mut report = VerifyReport::default();
    let index = match Index::load(repo).await {
        Ok(i) => i,
        Err(e) => {
            report.problems.push(format!("index: {e}"));
            return Ok(report);
        }
    };
    report.index_files = index.files.len() as u64;
    report.packs = index.packs.len() as u64;
    report.chunks = index.chunks.len() as u64;
    let mut manifests = crate::manifest::Manifests::new(4);
    for name in repo.names("snapshots").await? {
        let loaded = match repo
            .get_object::<crate::SnapshotInfo>("snapshots", &name)
            .await
        {
            Ok(mut info) => {
                info.id = name.clone();
                repo.load_with(info, &mut manifests).await.map(|(s, _)| s)
            }
            Err(e) => Err(e),
        };
        match loaded {
            Ok(snap) => {
                report.snapshots += 1;
                let short = name.get(..8).unwrap_or(&name);
                for entry in &snap.entries {
                    let missing = entry
                        .chunks
                        .iter()
                        .filter(|c| parse_id(c).is_none_or(|id| !index.chunks.contains_key(&id)))
                        .count();
                    if missing > 0 {
                        let what = entry
                            .path
                            .as_deref()
                            .map(|p| format!("{p} v{}", entry.version.unwrap_or(0)))
                            .unwrap_or_else(|| entry.id.clone());
                        report.problems.push(format!(
                            "snapshot {short}: {what}: {missing} chunk(s) in no index"
                        ));
                    }
                }
            }
            Err(e) => report.problems.push(format!("snapshot {name}: {e}")),
        }
    }
    let listed: HashMap<String, u64> = repo
        .backend
        .list("data")
        .await?
        .into_iter()
        .filter_map(|l| Some((l.name.rsplit('/').next()?.to_owned(), l.size)))
        .collect();
    let indexed: HashSet<&str> = index.packs.iter().map(|p| p.name.as_str()).collect();
    report.unreferenced_packs = listed
        .keys()
        .filter(|n| !indexed.contains(n.as_str()))
        .count() as u64;
    let mut to_read: Vec<PackRecord> = Vec::new();
    for pack in &index.packs {
        match listed.get(&pack.name) {
            None => report
                .problems
                .push(format!("pack {} is missing", pack.name)),
            Some(&size) if size != pack.size => report.problems.push(format!(
                "pack {} is {size} bytes, the index says {}",
                pack.name, pack.size
            )),
            Some(_) => {
                if options.read_data && options.subset.selects(&pack.name)? {
                    to_read.push(pack.clone());
                }
            }
        }
    }
    let checks = futures_util::stream::iter(to_read)
        .map(|pack| {
            let repo = Arc::clone(repo);
            async move {
                let bytes = repo.backend.get(&pack_object(&pack.name)).await?;
                let cipher = Arc::clone(&repo.cipher);
                crate::error::join(
                    tokio::task::spawn_blocking(move || check_pack(&cipher, &pack, &bytes)).await,
                )?
            }
        })
        .buffer_unordered(2);
    let results: Vec<Result<PackCheck, BackupError>> = checks.collect().await;
    for result in results {
        match result {
            Ok((chunks, bytes, problems)) => {
                report.packs_read += 1;
                report.chunks_read += chunks;
                report.bytes_read += bytes;
                report.problems.extend(problems);
            }
            Err(e) => report.problems.push(e.to_string()),
        }
    }
    Ok(report)
}

fn check_pack(
    cipher: &covault_crypto::BackupCipher,
    pack: &PackRecord,
    bytes: &[u8],
) -> Result<PackCheck, BackupError> {
    let mut problems = Vec::new();
    if blake3::hash(bytes).to_hex().as_str() != pack.name {
        problems.push(format!("pack {} does not hash to its name", pack.name));
        return Ok((0, bytes.len() as u64, problems));
    }
    match read_header(cipher, bytes) {
        Ok(header) if header == pack.blobs => {}
        Ok(_) => problems.push(format!("pack {}: header and index disagree", pack.name)),
        Err(e) => problems.push(format!("pack {}: {e}", pack.name)),
    }
    let mut chunks = 0;
    for blob in &pack.blobs {
        let start = usize::try_from(blob.offset).unwrap_or(usize::MAX);
        match bytes.get(start..start.saturating_add(blob.len as usize)) {
            Some(sealed) => match open_chunk(cipher, blob, sealed, Rehash::Yes) {
                Ok(_) => chunks += 1,
                Err(e) => problems.push(format!("pack {}: {e}", pack.name)),
            },
            None => problems.push(format!("pack {}: chunk beyond its end", pack.name)),
        }
    }
    Ok((chunks, bytes.len() as u64, problems))
}
