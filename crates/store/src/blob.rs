//! Blob storage: where sealed bytes live, addressed by a version's random id.
//!
//! The interface is blocking on purpose: the encrypting layer streams segments on a blocking
//! thread (crypto is CPU work), and a network backend can bridge with a runtime handle there.
//! [`BlobWrite::commit`] makes a blob durable; dropping a writer without committing discards
//! it. A blob is unreferenced — invisible — until its version's metadata commits.

use crate::StoreError;

/// A blob's address: the hex id of the version whose sealed bytes it holds.
// INVARIANT: 32 lowercase hexadecimal characters (checked by `parse`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BlobKey(String);

impl BlobKey {
    pub fn parse(text: &str) -> Option<Self> {
        let ok = text.len() == 32
            && text
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        ok.then(|| Self(text.to_owned()))
    }
    pub fn from_version_id(version_id: &[u8; 16]) -> Self {
        Self(hex::encode(version_id))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A blob being written. Unreferenced until its version commits.
pub trait BlobWrite: Send {
    fn write_all(&mut self, bytes: &[u8]) -> Result<(), StoreError>;
    /// Makes the blob durable (data and directory entry).
    fn commit(self: Box<Self>) -> Result<(), StoreError>;
}

/// Sequential reader over a committed blob.
pub trait BlobRead: Send {
    fn len(&self) -> u64;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    fn read_exact(&mut self, buf: &mut [u8]) -> Result<(), StoreError>;
}

/// A place for sealed blobs. Implementations never see plaintext.
pub trait BlobStore: Send + Sync {
    fn create(&self, key: &BlobKey) -> Result<Box<dyn BlobWrite>, StoreError>;
    /// Like [`BlobStore::create`], for bulk writes nobody will read back soon (a restore):
    /// the store may keep them out of its caches.
    fn create_cold(&self, key: &BlobKey) -> Result<Box<dyn BlobWrite>, StoreError> {
        self.create(key)
    }
    fn open(&self, key: &BlobKey) -> Result<Box<dyn BlobRead>, StoreError>;
    /// Removes a blob durably; removing a missing blob is not an error.
    fn delete(&self, key: &BlobKey) -> Result<(), StoreError>;
    /// Every blob key present (including unreferenced ones from interrupted writes).
    fn list(&self) -> Result<Vec<BlobKey>, StoreError>;
}

/// A sealed object held in memory (an inline version read from the metadata store).
pub struct MemoryBlob {
    data: Vec<u8>,
    position: usize,
}

impl MemoryBlob {
    pub fn new(data: Vec<u8>) -> Self {
        Self { data, position: 0 }
    }
}

impl BlobRead for MemoryBlob {
    fn len(&self) -> u64 {
        self.data.len() as u64
    }
    fn read_exact(&mut self, buf: &mut [u8]) -> Result<(), StoreError> {
        let end = self.position + buf.len();
        let src = self
            .data
            .get(self.position..end)
            .ok_or_else(|| StoreError::Io {
                what: "inline blob".into(),
                source: std::io::Error::from(std::io::ErrorKind::UnexpectedEof),
            })?;
        buf.copy_from_slice(src);
        self.position = end;
        Ok(())
    }
}
