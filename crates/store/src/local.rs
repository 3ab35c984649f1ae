//! The local data directory: its layout, its lock, and the local-disk [`BlobStore`].
//!
//! Layout: `covault.toml` (config), `meta.db` (SQLite, WAL), `blobs/<2 hex>/<32 hex>` (sealed
//! blobs), `blobs/tmp/` (writes in progress), `covault.lock`. A blob is written to `tmp`,
//! fsynced, renamed into place, and its directory fsynced: after `commit` it survives a crash.

use std::fs::{self, File, OpenOptions};
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use crate::{BlobKey, BlobRead, BlobStore, BlobWrite, StoreError};

const BLOBS: &str = "blobs";
const TMP: &str = "tmp";
const WRITE_BUFFER: usize = 1024 * 1024;

/// How a process holds the data directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LockMode {
    /// The one maintaining process (serve, init, key rotation): may clean up orphans.
    Exclusive,
    /// No lock: inspection (verify) alongside a running server. Never cleans up.
    Concurrent,
}

/// An opened data directory and the lock that keeps two writers out.
pub struct DataDir {
    root: PathBuf,
    _lock: File,
}

impl DataDir {
    /// Opens (creating if asked) a data directory and takes its lock.
    pub fn open(root: &Path, create: bool, mode: LockMode) -> Result<Self, StoreError> {
        if create {
            fs::create_dir_all(root).map_err(StoreError::io(root.display().to_string()))?;
            restrict_permissions(root)?;
        } else if !root.join("meta.db").exists() {
            return Err(StoreError::NotInitialized(root.display().to_string()));
        }
        let lock_path = root.join("covault.lock");
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(StoreError::io(lock_path.display().to_string()))?;
        if mode == LockMode::Exclusive {
            lock.try_lock()
                .map_err(|_| StoreError::Locked(root.display().to_string()))?;
        }
        Ok(Self {
            root: root.to_path_buf(),
            _lock: lock,
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }
    pub fn database_path(&self) -> PathBuf {
        self.root.join("meta.db")
    }
    pub fn config_path(&self) -> PathBuf {
        self.root.join("covault.toml")
    }
    pub fn blob_store(&self) -> Result<LocalBlobStore, StoreError> {
        LocalBlobStore::open(&self.root.join(BLOBS))
    }
}

#[cfg(unix)]
fn restrict_permissions(path: &Path) -> Result<(), StoreError> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(0o700))
        .map_err(StoreError::io(path.display().to_string()))
}

#[cfg(not(unix))]
fn restrict_permissions(_: &Path) -> Result<(), StoreError> {
    Ok(())
}

/// Sealed blobs in a local directory.
pub struct LocalBlobStore {
    root: PathBuf,
}

impl LocalBlobStore {
    pub fn open(root: &Path) -> Result<Self, StoreError> {
        let tmp = root.join(TMP);
        fs::create_dir_all(&tmp).map_err(StoreError::io(tmp.display().to_string()))?;
        Ok(Self {
            root: root.to_path_buf(),
        })
    }

    fn shard_dir(&self, key: &BlobKey) -> PathBuf {
        self.root.join(&key.as_str()[..2])
    }

    fn final_path(&self, key: &BlobKey) -> PathBuf {
        self.shard_dir(key).join(key.as_str())
    }
}

fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(StoreError::io(dir.display().to_string()))
}

struct LocalWriter {
    file: Option<BufWriter<File>>,
    tmp_path: PathBuf,
    final_path: PathBuf,
    shard_dir: PathBuf,
    root: PathBuf,
}

impl BlobWrite for LocalWriter {
    fn write_all(&mut self, bytes: &[u8]) -> Result<(), StoreError> {
        let file = self
            .file
            .as_mut()
            .ok_or_else(|| StoreError::Task("blob writer closed".into()))?;
        file.write_all(bytes)
            .map_err(StoreError::io(self.tmp_path.display().to_string()))
    }

    fn commit(mut self: Box<Self>) -> Result<(), StoreError> {
        let what = self.tmp_path.display().to_string();
        let file = self
            .file
            .take()
            .ok_or_else(|| StoreError::Task("blob writer closed".into()))?;
        let file = file.into_inner().map_err(|e| StoreError::Io {
            what: what.clone(),
            source: e.into_error(),
        })?;
        file.sync_all().map_err(StoreError::io(what.clone()))?;
        drop(file);
        let new_shard = !self.shard_dir.exists();
        if new_shard {
            fs::create_dir_all(&self.shard_dir)
                .map_err(StoreError::io(self.shard_dir.display().to_string()))?;
        }
        fs::rename(&self.tmp_path, &self.final_path).map_err(StoreError::io(what))?;
        sync_dir(&self.shard_dir)?;
        if new_shard {
            sync_dir(&self.root)?;
        }
        Ok(())
    }
}

impl Drop for LocalWriter {
    fn drop(&mut self) {
        if self.file.take().is_some() {
            // Not committed: discard the partial blob (a crash leaves it for remove_temporaries).
            let _ = fs::remove_file(&self.tmp_path);
        }
    }
}

struct LocalReader {
    file: File,
    len: u64,
    what: String,
}

impl BlobRead for LocalReader {
    fn len(&self) -> u64 {
        self.len
    }
    fn read_exact(&mut self, buf: &mut [u8]) -> Result<(), StoreError> {
        self.file
            .read_exact(buf)
            .map_err(StoreError::io(self.what.clone()))
    }
}

impl BlobStore for LocalBlobStore {
    fn create(&self, key: &BlobKey) -> Result<Box<dyn BlobWrite>, StoreError> {
        let suffix = covault_crypto::random_id()?;
        let tmp_path = self
            .root
            .join(TMP)
            .join(format!("{}.{suffix}", key.as_str()));
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp_path)
            .map_err(StoreError::io(tmp_path.display().to_string()))?;
        Ok(Box::new(LocalWriter {
            file: Some(BufWriter::with_capacity(WRITE_BUFFER, file)),
            tmp_path,
            final_path: self.final_path(key),
            shard_dir: self.shard_dir(key),
            root: self.root.clone(),
        }))
    }

    fn open(&self, key: &BlobKey) -> Result<Box<dyn BlobRead>, StoreError> {
        let path = self.final_path(key);
        let what = path.display().to_string();
        let file = File::open(&path).map_err(StoreError::io(what.clone()))?;
        let len = file.metadata().map_err(StoreError::io(what.clone()))?.len();
        Ok(Box::new(LocalReader { file, len, what }))
    }

    fn delete(&self, key: &BlobKey) -> Result<(), StoreError> {
        let path = self.final_path(key);
        match fs::remove_file(&path) {
            Ok(()) => sync_dir(&self.shard_dir(key)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(StoreError::io(path.display().to_string())(e)),
        }
    }

    fn exists(&self, key: &BlobKey) -> Result<bool, StoreError> {
        Ok(self.final_path(key).is_file())
    }

    fn list(&self) -> Result<Vec<BlobKey>, StoreError> {
        let mut keys = Vec::new();
        let entries =
            fs::read_dir(&self.root).map_err(StoreError::io(self.root.display().to_string()))?;
        for shard in entries.flatten() {
            let name = shard.file_name();
            let Some(name) = name.to_str() else { continue };
            if name == TMP || name.len() != 2 {
                continue;
            }
            let inner = fs::read_dir(shard.path()).map_err(StoreError::io(name.to_owned()))?;
            keys.extend(
                inner
                    .flatten()
                    .filter_map(|e| BlobKey::parse(e.file_name().to_str()?)),
            );
        }
        keys.sort();
        Ok(keys)
    }

    fn remove_temporaries(&self) -> Result<usize, StoreError> {
        let tmp = self.root.join(TMP);
        let mut removed = 0;
        for entry in fs::read_dir(&tmp)
            .map_err(StoreError::io(tmp.display().to_string()))?
            .flatten()
        {
            if fs::remove_file(entry.path()).is_ok() {
                removed += 1;
            }
        }
        if removed > 0 {
            sync_dir(&tmp)?;
        }
        Ok(removed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commit_makes_visible_and_drop_discards() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalBlobStore::open(dir.path()).unwrap();
        let key = BlobKey::from_version_id(&[0xab; 16]);
        let mut w = store.create(&key).unwrap();
        w.write_all(b"sealed").unwrap();
        assert!(!store.exists(&key).unwrap());
        w.commit().unwrap();
        assert!(store.exists(&key).unwrap());
        assert_eq!(store.list().unwrap(), vec![key.clone()]);
        let mut r = store.open(&key).unwrap();
        let mut buf = vec![0; r.len() as usize];
        r.read_exact(&mut buf).unwrap();
        assert_eq!(buf, b"sealed");

        let other = BlobKey::from_version_id(&[0xcd; 16]);
        let mut w = store.create(&other).unwrap();
        w.write_all(b"partial").unwrap();
        drop(w);
        assert!(!store.exists(&other).unwrap());
        assert_eq!(store.remove_temporaries().unwrap(), 0);
        store.delete(&key).unwrap();
        store.delete(&key).unwrap();
        assert!(store.list().unwrap().is_empty());
    }

    #[test]
    fn data_dir_lock_is_exclusive() {
        let dir = tempfile::tempdir().unwrap();
        let first = DataDir::open(dir.path(), true, LockMode::Exclusive).unwrap();
        assert!(matches!(
            DataDir::open(dir.path(), true, LockMode::Exclusive),
            Err(StoreError::Locked(_))
        ));
        drop(first);
        assert!(DataDir::open(dir.path(), true, LockMode::Exclusive).is_ok());
    }
}
