//! Chunks and packs: how one chunk is compressed and sealed, and how sealed chunks are
//! gathered into pack objects.
//!
//! A chunk's plaintext is zstd-compressed (kept as it is when that does not help), prefixed
//! with a one-byte format flag, and sealed with the chunk id as associated data, so a chunk
//! cannot be swapped for another. A pack is sealed chunks back to back followed by a sealed
//! header (the pack's own list of chunks) and the header's length; its name is the BLAKE3
//! of its bytes, so a damaged pack is found without any key.

use bytes::Bytes;
use covault_crypto::BackupCipher;
use serde::{Deserialize, Serialize};

use crate::BackupError;

/// A chunk id: keyed BLAKE3 of the chunk's plaintext.
pub type ChunkId = [u8; 32];

/// Packs are closed once they reach this size.
pub(crate) const PACK_TARGET: usize = 16 * 1024 * 1024;
const RAW: u8 = 0;
const ZSTD: u8 = 1;
const HEADER_AAD: &[u8] = b"covault-backup/v1/pack-header";

/// Where a chunk is inside its pack.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlobEntry {
    #[serde(with = "hex_id")]
    pub id: ChunkId,
    pub offset: u64,
    pub len: u32,
    pub raw_len: u32,
}

pub(crate) mod hex_id {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(id: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(id))
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let text = String::deserialize(d)?;
        super::parse_id(&text).ok_or_else(|| serde::de::Error::custom("bad chunk id"))
    }
}

pub fn parse_id(text: &str) -> Option<ChunkId> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(text, &mut out).ok()?;
    Some(out)
}

thread_local! {
    static COMPRESSOR: std::cell::RefCell<Option<(i32, zstd::bulk::Compressor<'static>)>> =
        const { std::cell::RefCell::new(None) };
}

thread_local! {
    static DECOMPRESSOR: std::cell::RefCell<Option<zstd::bulk::Decompressor<'static>>> =
        const { std::cell::RefCell::new(None) };
}

/// Match-table size (log2 entries) at the fast levels. zstd's level 1 sizes its table for
/// speed on any input (2^13 to 2^14 entries); chunks are 64 KiB to 1 MiB, and a 2^16 table
/// (256 KiB, cache-resident) finds enough more matches in text that chunks come out 4-8%
/// smaller, for about 3% more compression time (bench/RESULTS.md, issue 8). Decoding is
/// unaffected: this is an encoder setting only.
const FAST_HASH_LOG: u32 = 16;

/// Compresses and seals one chunk.
pub(crate) fn seal_chunk(
    cipher: &BackupCipher,
    level: i32,
    id: &ChunkId,
    plain: &[u8],
) -> Result<Vec<u8>, BackupError> {
    let mut framed = Vec::with_capacity(plain.len() / 2 + 64);
    framed.push(ZSTD);
    let compressed = COMPRESSOR
        .with(|cell| {
            let mut slot = cell.borrow_mut();
            // One compression context per thread and level: creating one costs more than
            // compressing a small chunk.
            if slot.as_ref().is_none_or(|(l, _)| *l != level) {
                let mut c = zstd::bulk::Compressor::new(level)?;
                c.include_checksum(false)?;
                c.include_contentsize(false)?;
                if level <= 2 {
                    c.set_parameter(zstd::zstd_safe::CParameter::HashLog(FAST_HASH_LOG))?;
                }
                *slot = Some((level, c));
            }
            match slot.as_mut() {
                Some((_, c)) => c.compress(plain),
                None => Err(std::io::Error::other("no compressor")),
            }
        })
        .map_err(|e| BackupError::Corrupt(format!("compressing a chunk: {e}")))?;
    if compressed.len() + 1 < plain.len() {
        framed.extend_from_slice(&compressed);
    } else {
        framed.clear();
        framed.push(RAW);
        framed.extend_from_slice(plain);
    }
    Ok(cipher.seal(&framed, id)?)
}

/// Whether opening a chunk also recomputes its keyed id from the plaintext. Decryption
/// already authenticates it (the id is the associated data); recomputing also catches a
/// writer that sealed the wrong bytes under an id, which a caller that checks the whole
/// content against its own keyed hash (a restore) catches anyway.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Rehash {
    Yes,
    No,
}

/// Opens one sealed chunk and checks that its plaintext hashes to its id.
pub(crate) fn open_chunk(
    cipher: &BackupCipher,
    entry: &BlobEntry,
    sealed: &[u8],
    rehash: Rehash,
) -> Result<Bytes, BackupError> {
    let name = hex::encode(entry.id);
    let framed = cipher
        .open(sealed, &entry.id)
        .map_err(|_| BackupError::Corrupt(format!("chunk {name} does not open")))?;
    let plain = match framed.split_first() {
        // The frame byte is sliced off, not moved out (a raw chunk is up to 1 MiB).
        Some((&RAW, _)) => Bytes::from(framed).slice(1..),
        Some((&ZSTD, rest)) => DECOMPRESSOR
            .with(|cell| {
                // One decompression context per thread, as for compression; the output is
                // bounded by the recorded size.
                let mut slot = cell.borrow_mut();
                if slot.is_none() {
                    *slot = Some(zstd::bulk::Decompressor::new()?);
                }
                match slot.as_mut() {
                    Some(d) => d.decompress(rest, entry.raw_len as usize).map(Bytes::from),
                    None => Err(std::io::Error::other("no decompressor")),
                }
            })
            .map_err(|e| BackupError::Corrupt(format!("chunk {name}: {e}")))?,
        _ => {
            return Err(BackupError::Corrupt(format!(
                "chunk {name}: unknown format"
            )));
        }
    };
    if plain.len() != entry.raw_len as usize
        || (rehash == Rehash::Yes && cipher.chunk_id(&plain) != entry.id)
    {
        return Err(BackupError::Corrupt(format!(
            "chunk {name}: content does not match its id"
        )));
    }
    Ok(plain)
}

/// A pack being filled.
#[derive(Default)]
pub(crate) struct PackBuilder {
    pub(crate) bytes: Vec<u8>,
    pub(crate) blobs: Vec<BlobEntry>,
}

/// A closed pack, ready to upload.
pub(crate) struct FinishedPack {
    pub(crate) name: String,
    pub(crate) bytes: Vec<u8>,
    pub(crate) blobs: Vec<BlobEntry>,
}

impl PackBuilder {
    pub(crate) fn add(&mut self, id: ChunkId, sealed: &[u8], raw_len: usize) {
        self.blobs.push(BlobEntry {
            id,
            offset: self.bytes.len() as u64,
            len: u32::try_from(sealed.len()).unwrap_or(u32::MAX),
            raw_len: u32::try_from(raw_len).unwrap_or(u32::MAX),
        });
        self.bytes.extend_from_slice(sealed);
    }

    pub(crate) fn is_full(&self) -> bool {
        self.bytes.len() >= PACK_TARGET
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.blobs.is_empty()
    }

    /// Appends the sealed header and names the pack.
    pub(crate) fn finish(self, cipher: &BackupCipher) -> Result<FinishedPack, BackupError> {
        let Self { mut bytes, blobs } = self;
        let header = serde_json::to_vec(&blobs).map_err(|e| BackupError::Corrupt(e.to_string()))?;
        let sealed = cipher.seal(&header, HEADER_AAD)?;
        bytes.extend_from_slice(&sealed);
        let len = u32::try_from(sealed.len())
            .map_err(|_| BackupError::Corrupt("pack header too large".into()))?;
        bytes.extend_from_slice(&len.to_le_bytes());
        let name = blake3::hash(&bytes).to_hex().to_string();
        Ok(FinishedPack { name, bytes, blobs })
    }
}

/// Reads a whole pack's own header (for verification against the index).
pub(crate) fn read_header(
    cipher: &BackupCipher,
    pack: &[u8],
) -> Result<Vec<BlobEntry>, BackupError> {
    let bad = || BackupError::Corrupt("pack header is damaged".into());
    let (body, len) = pack
        .split_at_checked(pack.len().saturating_sub(4))
        .ok_or_else(bad)?;
    let len = u32::from_le_bytes(len.try_into().map_err(|_| bad())?) as usize;
    let start = body.len().checked_sub(len).ok_or_else(bad)?;
    let header = cipher.open(&body[start..], HEADER_AAD).map_err(|_| bad())?;
    serde_json::from_slice(&header).map_err(|_| bad())
}

pub(crate) fn pack_object(name: &str) -> String {
    format!("data/{}/{name}", name.get(..2).unwrap_or("00"))
}
