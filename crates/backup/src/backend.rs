//! Where a repository's objects live: a local directory or an S3-compatible bucket, behind
//! one small interface of whole-object puts, (ranged) gets, listings and deletes.
//!
//! Objects are immutable: every name is content-addressed or random, so a put never replaces
//! anything a reader relies on. The local backend writes each object to a temporary name,
//! fsyncs it, renames it into place and fsyncs the directory, so after `put` returns the
//! object survives a crash and a reader never sees half of one. S3 puts are atomic by
//! protocol. Listings skip temporary files left by an interrupted put.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::TryStreamExt;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

use crate::BackupError;
use crate::error::join;

/// One stored object in a listing: its name relative to the repository root, and its size.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listed {
    pub name: String,
    pub size: u64,
}

/// A repository's storage.
#[async_trait]
pub trait Backend: Send + Sync {
    /// Where it is, for messages (never carries credentials).
    fn describe(&self) -> String;
    /// Stores `data` under `name`, durably, atomically.
    async fn put(&self, name: &str, data: Bytes) -> Result<(), BackupError>;
    async fn get(&self, name: &str) -> Result<Bytes, BackupError>;
    async fn get_range(&self, name: &str, range: Range<u64>) -> Result<Bytes, BackupError>;
    /// Blocking (call from a blocking thread): [`Backend::get`] done on the caller's thread,
    /// where the backend can (a local directory); `None` sends the caller to the async path.
    fn get_blocking(&self, _name: &str) -> Option<Result<Bytes, BackupError>> {
        None
    }
    /// Blocking: [`Backend::get_range`] on the caller's thread, where the backend can.
    fn get_range_blocking(
        &self,
        _name: &str,
        _range: Range<u64>,
    ) -> Option<Result<Bytes, BackupError>> {
        None
    }
    /// Every object whose name starts with `prefix` (a directory such as `index/`).
    async fn list(&self, prefix: &str) -> Result<Vec<Listed>, BackupError>;
    /// Removes an object; removing a missing one is not an error.
    async fn delete(&self, name: &str) -> Result<(), BackupError>;
}

/// Opens the backend a repository location names: `s3://bucket/prefix` (endpoint, region and
/// credentials from the usual `AWS_*` environment variables) or a local directory.
pub fn open_location(location: &str) -> Result<Arc<dyn Backend>, BackupError> {
    if let Some(rest) = location.strip_prefix("s3://") {
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(BackupError::BadRequest(
                "an S3 repository is s3://BUCKET[/PREFIX]".into(),
            ));
        }
        return Ok(Arc::new(S3Backend::open(bucket, prefix)?));
    }
    if location.is_empty() || location.contains('\0') {
        return Err(BackupError::BadRequest(
            "name a backup repository: a directory or s3://BUCKET[/PREFIX]".into(),
        ));
    }
    Ok(Arc::new(LocalBackend::new(Path::new(location))))
}

/// Checks an object name: relative, `/`-separated, no `..`, no hidden components.
fn checked(name: &str) -> Result<&str, BackupError> {
    let ok = !name.is_empty()
        && name.len() <= 256
        && name.split('/').all(|c| {
            !c.is_empty()
                && !c.starts_with('.')
                && c.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
    if ok {
        Ok(name)
    } else {
        Err(BackupError::BadRequest(format!("bad object name {name:?}")))
    }
}

/// A repository in a local directory.
pub struct LocalBackend {
    root: PathBuf,
}

impl LocalBackend {
    pub fn new(root: &Path) -> Self {
        Self {
            root: root.to_path_buf(),
        }
    }
}

fn sync_dir(dir: &Path) -> Result<(), BackupError> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(BackupError::io(dir.display().to_string()))
}

fn create_dirs(root: &Path, dir: &Path) -> Result<(), BackupError> {
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::create_dir_all(dir).map_err(BackupError::io(dir.display().to_string()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o700));
    }
    // Make the new directory entries durable up to the root.
    let mut at = dir.to_path_buf();
    while at != root {
        match at.parent() {
            Some(parent) => {
                sync_dir(parent)?;
                at = parent.to_path_buf();
            }
            None => break,
        }
    }
    Ok(())
}

/// Blocking: a whole local object.
fn read_whole(path: &Path, name: String) -> Result<Bytes, BackupError> {
    match std::fs::read(path) {
        Ok(data) => Ok(Bytes::from(data)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(BackupError::NotFound(name)),
        Err(e) => Err(BackupError::Io {
            what: path.display().to_string(),
            source: e,
        }),
    }
}

/// Blocking: `range` of a local object.
fn read_range(path: &Path, name: String, range: Range<u64>) -> Result<Bytes, BackupError> {
    use std::io::{Read, Seek, SeekFrom};
    let shown = path.display().to_string();
    let mut file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(BackupError::NotFound(name));
        }
        Err(e) => {
            return Err(BackupError::Io {
                what: shown,
                source: e,
            });
        }
    };
    let len = usize::try_from(range.end.saturating_sub(range.start))
        .map_err(|_| BackupError::Corrupt("range too large".into()))?;
    let mut buf = vec![0u8; len];
    file.seek(SeekFrom::Start(range.start))
        .and_then(|_| file.read_exact(&mut buf))
        .map_err(BackupError::io(shown))?;
    Ok(Bytes::from(buf))
}

#[async_trait]
impl Backend for LocalBackend {
    fn describe(&self) -> String {
        self.root.display().to_string()
    }

    async fn put(&self, name: &str, data: Bytes) -> Result<(), BackupError> {
        let path = self.root.join(checked(name)?);
        let root = self.root.clone();
        join(
            tokio::task::spawn_blocking(move || {
                use std::io::Write;
                let dir = path.parent().unwrap_or(&root).to_path_buf();
                create_dirs(&root, &dir)?;
                let tmp = dir.join(format!(
                    ".tmp-{}",
                    hex::encode(covault_crypto::random_array::<8>()?)
                ));
                let shown = path.display().to_string();
                let result = (|| {
                    let mut file = std::fs::OpenOptions::new()
                        .write(true)
                        .create_new(true)
                        .open(&tmp)?;
                    file.write_all(&data)?;
                    file.sync_all()?;
                    std::fs::rename(&tmp, &path)
                })();
                if let Err(e) = result {
                    let _ = std::fs::remove_file(&tmp);
                    return Err(BackupError::Io {
                        what: shown,
                        source: e,
                    });
                }
                sync_dir(&dir)
            })
            .await,
        )?
    }

    async fn get(&self, name: &str) -> Result<Bytes, BackupError> {
        let path = self.root.join(checked(name)?);
        let name = name.to_owned();
        join(tokio::task::spawn_blocking(move || read_whole(&path, name)).await)?
    }

    async fn get_range(&self, name: &str, range: Range<u64>) -> Result<Bytes, BackupError> {
        let path = self.root.join(checked(name)?);
        let name = name.to_owned();
        join(tokio::task::spawn_blocking(move || read_range(&path, name, range)).await)?
    }

    fn get_blocking(&self, name: &str) -> Option<Result<Bytes, BackupError>> {
        Some(checked(name).and_then(|n| read_whole(&self.root.join(n), name.to_owned())))
    }

    fn get_range_blocking(
        &self,
        name: &str,
        range: Range<u64>,
    ) -> Option<Result<Bytes, BackupError>> {
        Some(checked(name).and_then(|n| read_range(&self.root.join(n), name.to_owned(), range)))
    }

    async fn list(&self, prefix: &str) -> Result<Vec<Listed>, BackupError> {
        let base = self.root.join(checked(prefix.trim_end_matches('/'))?);
        let root = self.root.clone();
        join(
            tokio::task::spawn_blocking(move || {
                let mut out = Vec::new();
                let mut stack = vec![base];
                while let Some(dir) = stack.pop() {
                    let entries = match std::fs::read_dir(&dir) {
                        Ok(e) => e,
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                        Err(e) => {
                            return Err(BackupError::Io {
                                what: dir.display().to_string(),
                                source: e,
                            });
                        }
                    };
                    for entry in entries {
                        let entry = entry.map_err(BackupError::io(dir.display().to_string()))?;
                        let file_name = entry.file_name();
                        let Some(file_name) = file_name.to_str() else {
                            continue;
                        };
                        if file_name.starts_with('.') {
                            continue; // an interrupted put
                        }
                        let meta = entry
                            .metadata()
                            .map_err(BackupError::io(dir.display().to_string()))?;
                        let path = entry.path();
                        if meta.is_dir() {
                            stack.push(path);
                        } else if let Ok(rel) = path.strip_prefix(&root)
                            && let Some(rel) = rel.to_str()
                        {
                            out.push(Listed {
                                name: rel.replace(std::path::MAIN_SEPARATOR, "/"),
                                size: meta.len(),
                            });
                        }
                    }
                }
                out.sort_by(|a, b| a.name.cmp(&b.name));
                Ok(out)
            })
            .await,
        )?
    }

    async fn delete(&self, name: &str) -> Result<(), BackupError> {
        let path = self.root.join(checked(name)?);
        join(
            tokio::task::spawn_blocking(move || match std::fs::remove_file(&path) {
                Ok(()) => path.parent().map_or(Ok(()), sync_dir),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(BackupError::Io {
                    what: path.display().to_string(),
                    source: e,
                }),
            })
            .await,
        )?
    }
}

/// A repository in an S3-compatible bucket (through `object_store`).
pub struct S3Backend {
    store: object_store::aws::AmazonS3,
    bucket: String,
    prefix: String,
}

impl S3Backend {
    pub fn open(bucket: &str, prefix: &str) -> Result<Self, BackupError> {
        let mut builder = object_store::aws::AmazonS3Builder::from_env().with_bucket_name(bucket);
        if let Ok(endpoint) = std::env::var("AWS_ENDPOINT_URL") {
            builder = builder
                .with_allow_http(endpoint.starts_with("http://"))
                .with_endpoint(endpoint)
                .with_virtual_hosted_style_request(false);
        }
        let store = builder.build()?;
        Ok(Self {
            store,
            bucket: bucket.to_owned(),
            prefix: prefix.trim_matches('/').to_owned(),
        })
    }

    /// A bucket at an explicit endpoint with explicit credentials (tests, and callers that
    /// do not configure through the environment).
    pub fn with_endpoint(
        bucket: &str,
        prefix: &str,
        endpoint: &str,
        region: &str,
        access_key: &str,
        secret_key: &str,
    ) -> Result<Self, BackupError> {
        let store = object_store::aws::AmazonS3Builder::new()
            .with_bucket_name(bucket)
            .with_region(region)
            .with_access_key_id(access_key)
            .with_secret_access_key(secret_key)
            .with_allow_http(endpoint.starts_with("http://"))
            .with_endpoint(endpoint)
            .with_virtual_hosted_style_request(false)
            .build()?;
        Ok(Self {
            store,
            bucket: bucket.to_owned(),
            prefix: prefix.trim_matches('/').to_owned(),
        })
    }

    fn path(&self, name: &str) -> Result<object_store::path::Path, BackupError> {
        let name = checked(name)?;
        let full = if self.prefix.is_empty() {
            name.to_owned()
        } else {
            format!("{}/{name}", self.prefix)
        };
        object_store::path::Path::parse(full).map_err(|e| BackupError::BadRequest(e.to_string()))
    }
}

#[async_trait]
impl Backend for S3Backend {
    fn describe(&self) -> String {
        if self.prefix.is_empty() {
            format!("s3://{}", self.bucket)
        } else {
            format!("s3://{}/{}", self.bucket, self.prefix)
        }
    }

    async fn put(&self, name: &str, data: Bytes) -> Result<(), BackupError> {
        self.store
            .put(&self.path(name)?, PutPayload::from_bytes(data))
            .await?;
        Ok(())
    }

    async fn get(&self, name: &str) -> Result<Bytes, BackupError> {
        match self.store.get(&self.path(name)?).await {
            Ok(got) => Ok(got.bytes().await?),
            Err(object_store::Error::NotFound { .. }) => Err(BackupError::NotFound(name.into())),
            Err(e) => Err(e.into()),
        }
    }

    async fn get_range(&self, name: &str, range: Range<u64>) -> Result<Bytes, BackupError> {
        match self.store.get_range(&self.path(name)?, range).await {
            Ok(got) => Ok(got),
            Err(object_store::Error::NotFound { .. }) => Err(BackupError::NotFound(name.into())),
            Err(e) => Err(e.into()),
        }
    }

    async fn list(&self, prefix: &str) -> Result<Vec<Listed>, BackupError> {
        let base = self.path(prefix.trim_end_matches('/'))?;
        let strip = if self.prefix.is_empty() {
            String::new()
        } else {
            format!("{}/", self.prefix)
        };
        let mut out: Vec<Listed> = self
            .store
            .list(Some(&base))
            .map_ok(|meta| Listed {
                name: meta
                    .location
                    .as_ref()
                    .strip_prefix(&strip)
                    .unwrap_or(meta.location.as_ref())
                    .to_owned(),
                size: meta.size,
            })
            .try_collect()
            .await?;
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    async fn delete(&self, name: &str) -> Result<(), BackupError> {
        match self.store.delete(&self.path(name)?).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}
