//! Auto-classification on write: the content scanner runs over the plaintext as it is sealed,
//! and the findings (types and counts only) raise the new version's tier.
//!
//! Plain text streams through the scanner chunk by chunk, up to
//! [`WorkspaceOptions::scan_limit`](crate::WorkspaceOptions) bytes. Documents (PDF, Office,
//! OpenDocument, HTML, Markdown, email, UTF-16 text) are held whole — up to the extraction
//! limit — and go through `covault-extract` at the end, so hidden content is found and
//! counted. Other binary content (a NUL byte in the first 8 KiB) is not scanned. A document
//! that cannot be read (encrypted, malformed, over a limit, an unreadable attachment) either
//! refuses the write or is labelled restricted and marked for review, per
//! [`ExtractionPolicy`] — never classified from the text that happened to be readable alone.
//! What was scanned is recorded with the version and its audit event, so a partial scan is
//! visible, never silent.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use covault_extract::{Format, Limits};
use covault_scan::{
    Classification, ClassificationPolicy, Classifier, ScanConfig, Scanner, StreamScanner, Tier,
};
use serde::Serialize;

use crate::StoreError;

/// Bytes looked at to decide whether content is binary or a document.
const SNIFF: usize = 8192;

static DEFAULT_SCANNER: LazyLock<Result<Scanner, String>> =
    LazyLock::new(|| Scanner::with_config(ScanConfig::default()).map_err(|e| e.to_string()));

/// The process-wide scanner with built-in rules (compiled once).
pub fn default_scanner() -> Result<Scanner, StoreError> {
    DEFAULT_SCANNER
        .clone()
        .map_err(|e| StoreError::Scan(format!("cannot build the content scanner: {e}")))
}

/// What to do with a document that cannot be fully read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OnExtractionFailure {
    /// Refuse the write.
    Block,
    /// Store it labelled restricted, marked for review (the default).
    #[default]
    Review,
}

/// How documents are extracted on write.
#[derive(Clone, Debug, Default)]
pub struct ExtractionPolicy {
    pub on_failure: OnExtractionFailure,
    pub limits: Limits,
}

/// What extraction made of a document.
#[derive(Clone, Debug, Serialize)]
pub struct DocumentSummary {
    pub format: &'static str,
    /// `ok`, or why not: `encrypted`, `malformed`, `limit`, `unsupported`, `timeout`,
    /// `crashed`, `partial` (some attachment or embedded part could not be read).
    pub extraction: &'static str,
    /// Pieces of text extracted.
    pub parts: usize,
    /// Hidden parts by kind (`hidden-white-text`: 2, …).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub hidden: BTreeMap<&'static str, u32>,
    /// Some text was dropped at a limit.
    pub truncated: bool,
}

/// What the scan of one version saw.
#[derive(Clone, Debug, Serialize)]
pub struct ScanSummary {
    #[serde(flatten)]
    pub classification: Classification,
    /// Plaintext bytes the scanner read (for documents: bytes of extracted text).
    pub scanned_bytes: u64,
    /// False when the content was binary, longer than the scan limit, or a document that
    /// could not be fully read.
    pub complete: bool,
    pub binary: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub document: Option<DocumentSummary>,
    /// Labelled restricted because it could not be examined: a person should look.
    pub pending_review: bool,
}

enum Mode {
    Undecided,
    Stream,
    Binary,
    Document(Vec<u8>),
    /// A document over the extraction input limit (its bytes were let go), with the format
    /// its first bytes and name suggest.
    Oversized(Format),
}

/// Feeds plaintext chunks to the scanner and accumulates a classification.
pub(crate) struct ContentScan {
    scanner: Scanner,
    stream: StreamScanner,
    classifier: Classifier,
    limit: u64,
    seen: u64,
    sniff: Vec<u8>,
    mode: Mode,
    truncated: bool,
    /// The first bytes, kept to name an oversized document.
    sniff_head: Vec<u8>,
    name: String,
    extraction: ExtractionPolicy,
}

impl ContentScan {
    pub(crate) fn new(
        scanner: Scanner,
        policy: ClassificationPolicy,
        limit: u64,
        name: &str,
        extraction: ExtractionPolicy,
    ) -> ContentScan {
        ContentScan {
            stream: StreamScanner::new(scanner.clone()),
            scanner,
            classifier: Classifier::new(policy),
            limit,
            seen: 0,
            sniff: Vec::new(),
            mode: Mode::Undecided,
            truncated: false,
            sniff_head: Vec::new(),
            name: name.to_owned(),
            extraction,
        }
    }

    pub(crate) fn update(&mut self, bytes: &[u8]) {
        if !matches!(self.mode, Mode::Undecided) {
            self.feed(bytes);
            return;
        }
        let taken = bytes.len().min(SNIFF - self.sniff.len());
        self.sniff.extend_from_slice(&bytes[..taken]);
        if self.sniff.len() < SNIFF {
            return;
        }
        self.decide();
        let held = std::mem::take(&mut self.sniff);
        self.feed(&held);
        self.feed(&bytes[taken..]);
    }

    fn decide(&mut self) {
        self.sniff_head = self.sniff.clone();
        self.mode = if Format::wants_whole(&self.sniff, Some(&self.name)) {
            Mode::Document(Vec::new())
        } else if self.sniff.contains(&0) {
            Mode::Binary
        } else {
            Mode::Stream
        };
    }

    fn feed(&mut self, bytes: &[u8]) {
        match &mut self.mode {
            Mode::Stream => {
                if self.truncated {
                    return;
                }
                let room = self.limit.saturating_sub(self.seen);
                let take = (bytes.len() as u64).min(room) as usize;
                let found = self.stream.push(&bytes[..take]);
                self.classifier.add(&found);
                self.seen += take as u64;
                if take < bytes.len() {
                    self.truncated = true;
                }
            }
            Mode::Document(held) => {
                if held.len() + bytes.len() > self.extraction.limits.max_input {
                    self.mode = Mode::Oversized(Format::detect(&self.sniff_head, Some(&self.name)));
                } else {
                    held.extend_from_slice(bytes);
                }
            }
            Mode::Undecided | Mode::Binary | Mode::Oversized(_) => {}
        }
    }

    /// Blocking (extraction runs here, on the sealing thread, under its own deadline).
    pub(crate) fn finish(mut self) -> Result<ScanSummary, StoreError> {
        if matches!(self.mode, Mode::Undecided) {
            self.decide();
            let held = std::mem::take(&mut self.sniff);
            self.feed(&held);
        }
        match std::mem::replace(&mut self.mode, Mode::Binary) {
            Mode::Stream => {
                let found = self.stream.finish();
                self.classifier.add(&found);
                Ok(ScanSummary {
                    classification: self.classifier.finish(),
                    scanned_bytes: self.seen,
                    complete: !self.truncated,
                    binary: false,
                    document: None,
                    pending_review: false,
                })
            }
            Mode::Document(bytes) => self.document(&bytes),
            // A large archive of no document format (a .zip) is binary, as it always was.
            Mode::Oversized(Format::Binary) => Ok(self.binary()),
            Mode::Oversized(format) => {
                let why = format!(
                    "documents are extracted up to {} bytes",
                    self.extraction.limits.max_input
                );
                self.unreadable(format, "limit", why, None)
            }
            Mode::Undecided | Mode::Binary => Ok(self.binary()),
        }
    }

    fn document(mut self, bytes: &[u8]) -> Result<ScanSummary, StoreError> {
        let format = Format::detect(bytes, Some(&self.name));
        if format == Format::Binary {
            // A container of no format covault reads (a plain zip archive): like any binary.
            return Ok(self.binary());
        }
        let doc = match covault_extract::extract_as(bytes, format, &self.extraction.limits) {
            Ok(doc) => doc,
            Err(e) => return self.unreadable(format, e.code(), e.to_string(), None),
        };
        let scan = covault_extract::scan_document(&self.scanner, &doc);
        let findings: Vec<_> = scan.findings().cloned().collect();
        self.classifier.add(&findings);
        let mut hidden: BTreeMap<&'static str, u32> = BTreeMap::new();
        for part in doc.hidden() {
            if let Some(h) = part.hidden {
                *hidden.entry(h.detector()).or_default() += 1;
            }
        }
        let summary = DocumentSummary {
            format: format.name(),
            extraction: "ok",
            parts: doc.parts.len(),
            hidden,
            truncated: doc.truncated,
        };
        self.seen = doc.text_len() as u64;
        if doc.unread > 0 {
            let why = format!(
                "{} part(s) could not be read: {}",
                doc.unread,
                doc.notes.join("; ")
            );
            return self.unreadable(format, "partial", why, Some(summary));
        }
        // Classifying from the first part of a document would judge what was not read.
        if doc.truncated {
            let why = format!("not all of it could be read: {}", doc.notes.join("; "));
            return self.unreadable(format, "limit", why, Some(summary));
        }
        Ok(ScanSummary {
            classification: self.classifier.finish(),
            scanned_bytes: self.seen,
            complete: !doc.truncated,
            binary: false,
            document: Some(summary),
            pending_review: false,
        })
    }

    /// Binary content: not scanned, said so.
    fn binary(&self) -> ScanSummary {
        ScanSummary {
            classification: self.classifier.finish(),
            scanned_bytes: 0,
            complete: false,
            binary: true,
            document: None,
            pending_review: false,
        }
    }

    /// A document that could not be (fully) examined: refused, or restricted for review.
    fn unreadable(
        self,
        format: Format,
        code: &'static str,
        why: String,
        summary: Option<DocumentSummary>,
    ) -> Result<ScanSummary, StoreError> {
        if self.extraction.on_failure == OnExtractionFailure::Block {
            return Err(StoreError::Unreadable {
                format: format.name(),
                code,
                why,
            });
        }
        let mut classification = self.classifier.finish();
        classification.tier = Tier::Restricted;
        let mut document = summary.unwrap_or(DocumentSummary {
            format: format.name(),
            extraction: code,
            parts: 0,
            hidden: BTreeMap::new(),
            truncated: false,
        });
        document.extraction = code;
        Ok(ScanSummary {
            classification,
            scanned_bytes: self.seen,
            complete: false,
            binary: false,
            document: Some(document),
            pending_review: true,
        })
    }
}
