//! Streaming: scan, redact and restore text that arrives in arbitrary chunks (SSE deltas,
//! uploads) with bounded hold-back.
//!
//! The scanner and redactor hold back at most one segment (a line, at most
//! [`segment::MAX_SEGMENT`] bytes, or a PEM block up to [`segment::MAX_KEY_BLOCK`]); a
//! segment is released only once complete, so no part of a sensitive value is emitted before
//! it is recognised. Segments are cut from content alone, so the output for any chunking
//! equals the output for the whole text. The restorer holds back at most a partial
//! placeholder ([`redact::MAX_PLACEHOLDER`] bytes).

use crate::finding::Finding;
use crate::redact::{self, Escape, PlaceholderVault, RedactMode};
use crate::scanner::{Scanner, Scratch};
use crate::segment;

/// Finds sensitive content in a byte stream; offsets are absolute stream offsets.
pub struct StreamScanner {
    scanner: Scanner,
    scratch: Scratch,
    pending: Vec<u8>,
    offset: usize,
}

impl StreamScanner {
    pub fn new(scanner: Scanner) -> StreamScanner {
        StreamScanner {
            scanner,
            scratch: Scratch::default(),
            pending: Vec::new(),
            offset: 0,
        }
    }

    /// Feeds a chunk; returns findings in the segments it completed.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<Finding> {
        self.pending.extend_from_slice(chunk);
        self.drain(false)
    }

    /// Ends the stream; returns findings in the held-back tail.
    pub fn finish(&mut self) -> Vec<Finding> {
        self.drain(true)
    }

    /// Bytes currently held back.
    pub fn held_back(&self) -> usize {
        self.pending.len()
    }

    fn drain(&mut self, eof: bool) -> Vec<Finding> {
        let mut out = Vec::new();
        let mut pos = 0;
        while let Some(len) = segment::next_cut(&self.pending[pos..], eof) {
            let seg = &self.pending[pos..pos + len];
            self.scanner
                .scan_segment(seg, self.offset + pos, &mut self.scratch, &mut out);
            pos += len;
        }
        self.pending.drain(..pos);
        self.offset += pos;
        out
    }
}

/// Redacts a text stream; each `push` returns the redacted text that is now safe to emit.
pub struct StreamRedactor {
    scanner: Scanner,
    scratch: Scratch,
    mode: RedactMode,
    pending: String,
    found: Vec<Finding>,
}

impl StreamRedactor {
    pub fn new(scanner: Scanner, mode: RedactMode) -> StreamRedactor {
        StreamRedactor {
            scanner,
            scratch: Scratch::default(),
            mode,
            pending: String::new(),
            found: Vec::new(),
        }
    }

    pub fn push(&mut self, chunk: &str, vault: &mut PlaceholderVault) -> String {
        self.pending.push_str(chunk);
        self.drain(false, vault)
    }

    pub fn finish(&mut self, vault: &mut PlaceholderVault) -> String {
        self.drain(true, vault)
    }

    /// Findings of everything emitted so far (offsets into the original stream are not kept;
    /// these are for counting and classification).
    pub fn findings(&self) -> &[Finding] {
        &self.found
    }

    fn drain(&mut self, eof: bool, vault: &mut PlaceholderVault) -> String {
        let mut out = String::new();
        let mut pos = 0;
        while let Some(len) = segment::next_cut(&self.pending.as_bytes()[pos..], eof) {
            let end = pos + len;
            // Segments of valid UTF-8 end on character boundaries by construction.
            let seg = &self.pending[pos..end];
            let mut findings = Vec::new();
            self.scanner
                .scan_segment(seg.as_bytes(), 0, &mut self.scratch, &mut findings);
            out.push_str(&redact::redact(seg, &findings, &self.mode, vault));
            self.found.extend(findings);
            pos = end;
        }
        self.pending.drain(..pos);
        out
    }
}

/// Restores placeholders in a streamed answer, holding back only a possible partial one.
pub struct StreamRestorer {
    pending: String,
    escape: Escape,
}

impl Default for StreamRestorer {
    fn default() -> Self {
        StreamRestorer::new()
    }
}

impl StreamRestorer {
    pub fn new() -> StreamRestorer {
        StreamRestorer::with_escape(Escape::None)
    }

    /// A restorer for text where values need escaping (streamed JSON, such as tool-call
    /// arguments: placeholders sit inside JSON strings).
    pub fn with_escape(escape: Escape) -> StreamRestorer {
        StreamRestorer {
            pending: String::new(),
            escape,
        }
    }

    pub fn push(&mut self, chunk: &str, vault: &PlaceholderVault) -> String {
        self.pending.push_str(chunk);
        // Hold back from the last '[' that could still become a placeholder.
        let hold = self
            .pending
            .rfind('[')
            .filter(|&i| redact::placeholder_prefix(&self.pending[i..]));
        let cut = hold.unwrap_or(self.pending.len());
        let out = vault.restore_with(&self.pending[..cut], self.escape);
        self.pending.drain(..cut);
        out
    }

    pub fn finish(&mut self, vault: &PlaceholderVault) -> String {
        let out = vault.restore_with(&self.pending, self.escape);
        self.pending.clear();
        out
    }
}
