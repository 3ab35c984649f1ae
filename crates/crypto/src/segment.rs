//! Streaming AEAD: an object is AES-256-GCM sealed in fixed-size segments under its own data
//! key (the STREAM construction of Hoang, Reyhanitabar, Rogaway and Vizár).
//!
//! Segment `i` uses nonce `be64(i) || 0,0,0 || last` and associated data binding the file id,
//! the version id, `i` and the last-segment flag. Each data key seals exactly one object, so a
//! nonce can never repeat under a key; swapping, reordering, dropping, truncating or extending
//! segments, or moving a blob to another file or version, makes opening fail. Every object has
//! at least one segment (an empty object is one empty, final segment), so truncation to zero
//! segments is detected too.

use aws_lc_rs::aead::{Aad, LessSafeKey, NONCE_LEN, Nonce};

use crate::{CryptoError, DataKey, kek::aead_key};

/// Plaintext bytes per segment.
pub const SEGMENT_SIZE: usize = 64 * 1024;
/// Authentication tag bytes added to every segment.
pub const TAG_LEN: usize = 16;
const SEGMENT_LABEL: &[u8; 14] = b"covault/seg/v1";

/// The identities an object's segments are bound to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ObjectIds {
    pub file_id: [u8; 16],
    pub version_id: [u8; 16],
}

impl ObjectIds {
    /// The context used when wrapping this object's data key.
    pub fn wrap_context(&self) -> [u8; 32] {
        let mut out = [0u8; 32];
        out[..16].copy_from_slice(&self.file_id);
        out[16..].copy_from_slice(&self.version_id);
        out
    }
}

/// Number of segments an object of `plain_len` bytes is sealed into (at least one).
pub fn segment_count(plain_len: u64) -> u64 {
    plain_len.div_ceil(SEGMENT_SIZE as u64).max(1)
}

/// Size of the sealed object for `plain_len` bytes of plaintext.
pub fn sealed_len(plain_len: u64) -> u64 {
    plain_len + segment_count(plain_len) * TAG_LEN as u64
}

fn nonce(index: u64, last: bool) -> Nonce {
    let mut bytes = [0u8; NONCE_LEN];
    bytes[..8].copy_from_slice(&index.to_be_bytes());
    bytes[NONCE_LEN - 1] = u8::from(last);
    Nonce::assume_unique_for_key(bytes)
}

fn aad(ids: &ObjectIds, index: u64, last: bool) -> [u8; 14 + 16 + 16 + 8 + 1] {
    let mut out = [0u8; 55];
    out[..14].copy_from_slice(SEGMENT_LABEL);
    out[14..30].copy_from_slice(&ids.file_id);
    out[30..46].copy_from_slice(&ids.version_id);
    out[46..54].copy_from_slice(&index.to_be_bytes());
    out[54] = u8::from(last);
    out
}

/// Seals one object's segments in order. Consumes the data key's use: one sealer per key.
pub struct SegmentSealer {
    key: LessSafeKey,
    ids: ObjectIds,
    next_index: u64,
    finished: bool,
}

impl SegmentSealer {
    pub fn new(key: &DataKey, ids: ObjectIds) -> Result<Self, CryptoError> {
        Ok(Self {
            key: aead_key(key.expose())?,
            ids,
            next_index: 0,
            finished: false,
        })
    }

    /// Encrypts `segment` (at most [`SEGMENT_SIZE`] bytes) in place and appends its tag. Only
    /// the final segment may be shorter than [`SEGMENT_SIZE`]; after it, sealing is refused.
    pub fn seal(&mut self, segment: &mut Vec<u8>, last: bool) -> Result<(), CryptoError> {
        let tag = self.seal_detached(segment, last)?;
        segment.extend_from_slice(&tag);
        Ok(())
    }

    /// Encrypts `segment` in place and returns its tag, which the caller stores right after
    /// it. Same ordering and size rules as [`SegmentSealer::seal`].
    pub fn seal_detached(
        &mut self,
        segment: &mut [u8],
        last: bool,
    ) -> Result<[u8; TAG_LEN], CryptoError> {
        let full = segment.len() == SEGMENT_SIZE;
        if self.finished || segment.len() > SEGMENT_SIZE || (!last && !full) {
            return Err(CryptoError::Integrity {
                what: "segment sealed out of order or with a wrong size",
            });
        }
        let index = self.next_index;
        let tag = self
            .key
            .seal_in_place_separate_tag(
                nonce(index, last),
                Aad::from(aad(&self.ids, index, last)),
                segment,
            )
            .map_err(|_| CryptoError::Integrity { what: "seal" })?;
        self.next_index = index.checked_add(1).ok_or(CryptoError::SegmentOverflow)?;
        self.finished = last;
        let mut out = [0u8; TAG_LEN];
        out.copy_from_slice(tag.as_ref());
        Ok(out)
    }

    /// Whether the final segment has been sealed.
    pub fn is_finished(&self) -> bool {
        self.finished
    }
}

/// Opens the segments of one object. Stateless: the caller names each segment's index and
/// whether it is the last one, as derived from the object's recorded plaintext length.
pub struct SegmentOpener {
    key: LessSafeKey,
    ids: ObjectIds,
}

impl SegmentOpener {
    pub fn new(key: &DataKey, ids: ObjectIds) -> Result<Self, CryptoError> {
        Ok(Self {
            key: aead_key(key.expose())?,
            ids,
        })
    }

    /// Decrypts a sealed segment in place; returns the plaintext length (a prefix of
    /// `segment`). Fails, leaving no usable plaintext, if anything about it was changed.
    pub fn open(&self, index: u64, last: bool, segment: &mut [u8]) -> Result<usize, CryptoError> {
        if segment.len() < TAG_LEN || segment.len() > SEGMENT_SIZE + TAG_LEN {
            return Err(CryptoError::Integrity {
                what: "segment has a wrong size",
            });
        }
        let plain = self
            .key
            .open_in_place(
                nonce(index, last),
                Aad::from(aad(&self.ids, index, last)),
                segment,
            )
            .map_err(|_| CryptoError::Integrity {
                what: "segment authentication failed",
            })?;
        Ok(plain.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IDS: ObjectIds = ObjectIds {
        file_id: [7; 16],
        version_id: [9; 16],
    };

    fn seal_all(key: &DataKey, ids: ObjectIds, data: &[u8]) -> Vec<Vec<u8>> {
        let mut sealer = SegmentSealer::new(key, ids).unwrap();
        let count = segment_count(data.len() as u64) as usize;
        let mut out = Vec::new();
        for i in 0..count {
            let start = i * SEGMENT_SIZE;
            let end = (start + SEGMENT_SIZE).min(data.len());
            let mut seg = data[start..end].to_vec();
            sealer.seal(&mut seg, i + 1 == count).unwrap();
            out.push(seg);
        }
        assert!(sealer.is_finished());
        out
    }

    fn open_all(key: &DataKey, ids: ObjectIds, segs: &[Vec<u8>]) -> Result<Vec<u8>, CryptoError> {
        let opener = SegmentOpener::new(key, ids)?;
        let mut out = Vec::new();
        for (i, seg) in segs.iter().enumerate() {
            let mut seg = seg.clone();
            let n = opener.open(i as u64, i + 1 == segs.len(), &mut seg)?;
            out.extend_from_slice(&seg[..n]);
        }
        Ok(out)
    }

    #[test]
    fn round_trips_at_boundaries() {
        let key = DataKey::generate().unwrap();
        for len in [
            0,
            1,
            SEGMENT_SIZE - 1,
            SEGMENT_SIZE,
            SEGMENT_SIZE + 1,
            3 * SEGMENT_SIZE,
        ] {
            let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let segs = seal_all(&key, IDS, &data);
            assert_eq!(segs.len() as u64, segment_count(len as u64));
            let total: usize = segs.iter().map(Vec::len).sum();
            assert_eq!(total as u64, sealed_len(len as u64));
            assert_eq!(open_all(&key, IDS, &segs).unwrap(), data, "len {len}");
        }
    }

    #[test]
    fn tampering_is_detected() {
        let key = DataKey::generate().unwrap();
        let data = vec![42u8; 3 * SEGMENT_SIZE + 10];
        let segs = seal_all(&key, IDS, &data);
        // swapped segments
        let mut swapped = segs.clone();
        swapped.swap(0, 1);
        assert!(open_all(&key, IDS, &swapped).is_err());
        // truncated at a segment boundary: the new final segment was not sealed as last
        assert!(open_all(&key, IDS, &segs[..2]).is_err());
        // extended with a copy of a segment
        let mut extended = segs.clone();
        extended.push(segs[1].clone());
        assert!(open_all(&key, IDS, &extended).is_err());
        // moved to another version or file
        let other = ObjectIds {
            version_id: [1; 16],
            ..IDS
        };
        assert!(open_all(&key, other, &segs).is_err());
        // wrong key
        assert!(open_all(&DataKey::generate().unwrap(), IDS, &segs).is_err());
        // every byte of a short object
        let short = seal_all(&key, IDS, b"secret marker");
        for i in 0..short[0].len() {
            let mut bad = short.clone();
            bad[0][i] ^= 0x80;
            assert!(open_all(&key, IDS, &bad).is_err(), "byte {i}");
        }
    }

    #[test]
    fn misuse_is_refused() {
        let key = DataKey::generate().unwrap();
        let mut sealer = SegmentSealer::new(&key, IDS).unwrap();
        let mut short = vec![0u8; 10];
        assert!(sealer.seal(&mut short, false).is_err());
        let mut last = vec![0u8; 10];
        sealer.seal(&mut last, true).unwrap();
        let mut after = vec![0u8; 10];
        assert!(sealer.seal(&mut after, true).is_err());
    }
}
