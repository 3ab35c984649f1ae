//! Writing a blob around the page cache, for bulk writes nothing will read back soon (a
//! restore writes a whole workspace at once).
//!
//! On Linux the new file is switched to `O_DIRECT`: bytes are gathered in one block-aligned
//! buffer and go from there to the device in whole blocks, instead of being copied into freshly
//! allocated cache pages (which costs more CPU than the encryption on a cold machine, and
//! evicts what the workspace was caching). The last partial block is written padded and the
//! file cut back to its length. Where the filesystem refuses direct I/O (tmpfs, some network
//! filesystems, other systems) the same writer goes through the page cache; either way the
//! caller's `fsync` is what makes the blob durable.

use std::fs::File;
use std::io::Write;

/// Alignment of the buffer, of every write's offset and of every write's length: the largest
/// logical block size in common use.
const ALIGN: usize = 4096;
/// Bytes gathered per write (a multiple of [`ALIGN`]).
const BUFFER: usize = 1024 * 1024;

thread_local! {
    static SPARE: std::cell::RefCell<Option<Vec<u8>>> = const { std::cell::RefCell::new(None) };
}

/// A new, empty file written in aligned blocks.
pub(crate) struct DirectFile {
    /// Taken by `finish`.
    file: Option<File>,
    storage: Vec<u8>,
    /// Offset of the aligned region inside `storage`.
    start: usize,
    filled: usize,
    len: u64,
}

impl DirectFile {
    /// Switches `file` (new and empty) to direct I/O, or hands it back when that is not
    /// available here.
    pub(crate) fn new(file: File) -> Result<Self, File> {
        if !set_direct(&file, true) {
            return Err(file);
        }
        // One buffer per thread, reused blob after blob (a fresh one would be a megabyte of
        // page faults each time); whatever it held is overwritten before it is written out.
        let storage = SPARE
            .with(|spare| spare.borrow_mut().take())
            .unwrap_or_else(|| vec![0u8; BUFFER + ALIGN]);
        let start = (ALIGN - storage.as_ptr().addr() % ALIGN) % ALIGN;
        Ok(Self {
            file: Some(file),
            storage,
            start,
            filled: 0,
            len: 0,
        })
    }

    pub(crate) fn write_all(&mut self, mut bytes: &[u8]) -> std::io::Result<()> {
        while !bytes.is_empty() {
            let n = (BUFFER - self.filled).min(bytes.len());
            let at = self.start + self.filled;
            self.storage[at..at + n].copy_from_slice(&bytes[..n]);
            self.filled += n;
            self.len += n as u64;
            bytes = &bytes[n..];
            if self.filled == BUFFER {
                self.write_out(BUFFER)?;
            }
        }
        Ok(())
    }

    /// Writes the first `n` bytes (a multiple of [`ALIGN`]) of the buffer. A filesystem that
    /// accepted the flag but rejects the write (`EINVAL`) gets it through the page cache.
    fn write_out(&mut self, n: usize) -> std::io::Result<()> {
        let block = &self.storage[self.start..self.start + n];
        let file = self
            .file
            .as_mut()
            .ok_or_else(|| std::io::Error::other("blob file already finished"))?;
        match file.write_all(block) {
            Err(e) if e.kind() == std::io::ErrorKind::InvalidInput && set_direct(file, false) => {
                file.write_all(block)?;
            }
            other => other?,
        }
        self.filled = 0;
        Ok(())
    }

    /// Writes what is left (padded to a whole block, then cut back) and returns the file,
    /// holding exactly the bytes written, for the caller to sync.
    pub(crate) fn finish(mut self) -> std::io::Result<File> {
        if self.filled > 0 {
            let padded = self.filled.next_multiple_of(ALIGN);
            let tail = self.start + self.filled..self.start + padded;
            self.storage[tail].fill(0);
            self.write_out(padded)?;
        }
        let file = self
            .file
            .take()
            .ok_or_else(|| std::io::Error::other("blob file already finished"))?;
        if !self.len.is_multiple_of(ALIGN as u64) {
            file.set_len(self.len)?;
        }
        Ok(file)
    }
}

impl Drop for DirectFile {
    fn drop(&mut self) {
        let storage = std::mem::take(&mut self.storage);
        SPARE.with(|spare| *spare.borrow_mut() = Some(storage));
    }
}

/// Turns direct I/O on or off for `file`; whether that worked.
#[cfg(target_os = "linux")]
fn set_direct(file: &File, on: bool) -> bool {
    use rustix::fs::{OFlags, fcntl_getfl, fcntl_setfl};
    fcntl_getfl(file)
        .and_then(|flags| {
            let flags = if on {
                flags | OFlags::DIRECT
            } else {
                flags - OFlags::DIRECT
            };
            fcntl_setfl(file, flags)
        })
        .is_ok()
}

#[cfg(not(target_os = "linux"))]
fn set_direct(_: &File, on: bool) -> bool {
    !on
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every length around the block and buffer boundaries reads back exactly.
    #[test]
    fn writes_exactly_what_it_was_given() {
        let dir = tempfile::tempdir().unwrap();
        for (i, len) in [
            0,
            1,
            4095,
            4096,
            4097,
            BUFFER - 1,
            BUFFER,
            BUFFER + 1,
            3 * BUFFER + 12345,
        ]
        .into_iter()
        .enumerate()
        {
            let path = dir.path().join(format!("blob-{i}"));
            let data: Vec<u8> = (0..len).map(|j| (j * 7 + i) as u8).collect();
            let file = File::create_new(&path).unwrap();
            match DirectFile::new(file) {
                Ok(mut direct) => {
                    // Uneven pieces, as the sealing layer hands them over.
                    for piece in data.chunks(1_048_832) {
                        direct.write_all(piece).unwrap();
                    }
                    direct.finish().unwrap().sync_all().unwrap();
                }
                Err(mut file) => {
                    eprintln!("direct I/O unavailable here: checking the fallback only");
                    file.write_all(&data).unwrap();
                }
            }
            assert_eq!(std::fs::read(&path).unwrap(), data, "length {len}");
        }
    }
}
