//! The local data directory: its layout, its lock, and the local-disk [`BlobStore`].
//!
//! Layout: `covault.toml` (config), `meta.db` (SQLite, WAL), `blobs/<2 hex>/<32 hex>` (sealed
//! blobs), `covault.lock`. A blob is written under its final name (each name is a fresh random
//! version id, so nothing is ever overwritten), then fsynced with its directory entry: after
//! `commit` it survives a crash. It is invisible until the version's metadata commits, so a
//! write cut short leaves only an orphan, which the next exclusive open removes. Writes are
//! spread over 256 shard directories so concurrent creates do not queue on one directory
//! lock, and large blobs start their writeback in the background every [`FLUSH_EVERY`] bytes
//! so the final fsync has little left to do. Cold blobs (a restore's) bypass the page cache
//! where the filesystem allows (`direct.rs`).

use std::fs::{self, File, OpenOptions};
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use crate::direct::DirectFile;
use crate::{BlobKey, BlobRead, BlobStore, BlobWrite, StoreError};

const BLOBS: &str = "blobs";
const WRITE_BUFFER: usize = 1024 * 1024;
/// Bytes written between background writeback kicks.
const FLUSH_EVERY: u64 = 64 * 1024 * 1024;

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
        fs::create_dir_all(root).map_err(StoreError::io(root.display().to_string()))?;
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

/// Where a blob's bytes go on their way to the file.
enum Sink {
    Cached(BufWriter<File>),
    Direct(DirectFile),
}

struct LocalWriter {
    file: Option<Sink>,
    path: PathBuf,
    shard_dir: PathBuf,
    root: PathBuf,
    new_shard: bool,
    unflushed: u64,
    flusher: Option<std::thread::JoinHandle<std::io::Result<()>>>,
}

impl LocalWriter {
    /// Starts writeback of what was written so far on a helper thread (a cloned handle), so
    /// the disk works while the writer keeps encrypting. At most one runs at a time.
    fn kick_writeback(&mut self) -> Result<(), StoreError> {
        self.unflushed = 0;
        if let Some(previous) = self.flusher.take() {
            join_flusher(previous, &self.path)?;
        }
        let Some(Sink::Cached(file)) = self.file.as_mut() else {
            return Ok(());
        };
        file.flush()
            .map_err(StoreError::io(self.path.display().to_string()))?;
        let handle = file
            .get_ref()
            .try_clone()
            .map_err(StoreError::io(self.path.display().to_string()))?;
        self.flusher = Some(std::thread::spawn(move || handle.sync_data()));
        Ok(())
    }
}

fn join_flusher(
    flusher: std::thread::JoinHandle<std::io::Result<()>>,
    path: &Path,
) -> Result<(), StoreError> {
    let what = path.display().to_string();
    match flusher.join() {
        Ok(result) => result.map_err(StoreError::io(what)),
        Err(_) => Err(StoreError::Task(format!("writeback of `{what}` panicked"))),
    }
}

impl BlobWrite for LocalWriter {
    fn write_all(&mut self, bytes: &[u8]) -> Result<(), StoreError> {
        let file = self
            .file
            .as_mut()
            .ok_or_else(|| StoreError::Task("blob writer closed".into()))?;
        let what = || StoreError::io(self.path.display().to_string());
        match file {
            Sink::Direct(direct) => direct.write_all(bytes).map_err(what()),
            Sink::Cached(file) => {
                file.write_all(bytes).map_err(what())?;
                self.unflushed += bytes.len() as u64;
                if self.unflushed >= FLUSH_EVERY {
                    self.kick_writeback()?;
                }
                Ok(())
            }
        }
    }

    fn commit(mut self: Box<Self>) -> Result<(), StoreError> {
        let what = self.path.display().to_string();
        let file = self
            .file
            .take()
            .ok_or_else(|| StoreError::Task("blob writer closed".into()))?;
        let file = match file {
            Sink::Cached(file) => file.into_inner().map_err(|e| StoreError::Io {
                what: what.clone(),
                source: e.into_error(),
            })?,
            Sink::Direct(direct) => direct.finish().map_err(StoreError::io(what.clone()))?,
        };
        if let Some(flusher) = self.flusher.take() {
            join_flusher(flusher, &self.path)?;
        }
        file.sync_all().map_err(StoreError::io(what))?;
        drop(file);
        sync_dir(&self.shard_dir)?;
        if self.new_shard {
            sync_dir(&self.root)?;
        }
        Ok(())
    }
}

impl Drop for LocalWriter {
    fn drop(&mut self) {
        if let Some(flusher) = self.flusher.take() {
            let _ = flusher.join();
        }
        if self.file.take().is_some() {
            // Not committed: discard the partial blob (a crash leaves it as an orphan).
            let _ = fs::remove_file(&self.path);
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

impl LocalBlobStore {
    fn new_writer(&self, key: &BlobKey, cold: bool) -> Result<Box<dyn BlobWrite>, StoreError> {
        let shard_dir = self.shard_dir(key);
        let new_shard = !shard_dir.exists();
        if new_shard {
            fs::create_dir_all(&shard_dir)
                .map_err(StoreError::io(shard_dir.display().to_string()))?;
        }
        let path = self.final_path(key);
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(StoreError::io(path.display().to_string()))?;
        let sink = if cold {
            DirectFile::new(file)
                .map(Sink::Direct)
                .unwrap_or_else(|file| Sink::Cached(BufWriter::with_capacity(WRITE_BUFFER, file)))
        } else {
            Sink::Cached(BufWriter::with_capacity(WRITE_BUFFER, file))
        };
        Ok(Box::new(LocalWriter {
            file: Some(sink),
            path,
            shard_dir,
            root: self.root.clone(),
            new_shard,
            unflushed: 0,
            flusher: None,
        }))
    }
}

impl BlobStore for LocalBlobStore {
    fn create(&self, key: &BlobKey) -> Result<Box<dyn BlobWrite>, StoreError> {
        self.new_writer(key, false)
    }

    fn create_cold(&self, key: &BlobKey) -> Result<Box<dyn BlobWrite>, StoreError> {
        self.new_writer(key, true)
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

    fn list(&self) -> Result<Vec<BlobKey>, StoreError> {
        let mut keys = Vec::new();
        let entries =
            fs::read_dir(&self.root).map_err(StoreError::io(self.root.display().to_string()))?;
        for shard in entries.flatten() {
            let name = shard.file_name();
            let Some(name) = name.to_str() else { continue };
            if name.len() != 2 {
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
        w.commit().unwrap();
        assert_eq!(store.list().unwrap(), vec![key.clone()]);
        let mut r = store.open(&key).unwrap();
        let mut buf = vec![0; r.len() as usize];
        r.read_exact(&mut buf).unwrap();
        assert_eq!(buf, b"sealed");

        let other = BlobKey::from_version_id(&[0xcd; 16]);
        let mut w = store.create(&other).unwrap();
        w.write_all(b"partial").unwrap();
        drop(w);
        assert_eq!(store.list().unwrap(), vec![key.clone()]);
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
