//! Auto-classification on write: the content scanner runs over the plaintext as it is sealed,
//! and the findings (types and counts only) raise the new version's tier.
//!
//! Binary content (a NUL byte in the first 8 KiB) is not scanned for PII; text is scanned up
//! to [`WorkspaceOptions::scan_limit`](crate::WorkspaceOptions) bytes. What was scanned is
//! recorded with the version's audit event, so a partial scan is visible, never silent.

use std::sync::LazyLock;

use covault_scan::{
    Classification, ClassificationPolicy, Classifier, ScanConfig, Scanner, StreamScanner,
};
use serde::Serialize;

use crate::StoreError;

/// Bytes looked at to decide whether content is binary.
const SNIFF: usize = 8192;

static DEFAULT_SCANNER: LazyLock<Result<Scanner, String>> =
    LazyLock::new(|| Scanner::with_config(ScanConfig::default()).map_err(|e| e.to_string()));

/// The process-wide scanner with built-in rules (compiled once).
pub fn default_scanner() -> Result<Scanner, StoreError> {
    DEFAULT_SCANNER
        .clone()
        .map_err(|e| StoreError::Scan(format!("cannot build the content scanner: {e}")))
}

/// What the scan of one version saw.
#[derive(Clone, Debug, Serialize)]
pub struct ScanSummary {
    #[serde(flatten)]
    pub classification: Classification,
    /// Plaintext bytes the scanner read.
    pub scanned_bytes: u64,
    /// False when the content was binary or longer than the scan limit.
    pub complete: bool,
    pub binary: bool,
}

/// Feeds plaintext chunks to the scanner and accumulates a classification.
pub(crate) struct ContentScan {
    stream: StreamScanner,
    classifier: Classifier,
    limit: u64,
    seen: u64,
    sniff: Vec<u8>,
    binary: Option<bool>,
    truncated: bool,
}

impl ContentScan {
    pub(crate) fn new(scanner: Scanner, policy: ClassificationPolicy, limit: u64) -> ContentScan {
        ContentScan {
            stream: StreamScanner::new(scanner),
            classifier: Classifier::new(policy),
            limit,
            seen: 0,
            sniff: Vec::new(),
            binary: None,
            truncated: false,
        }
    }

    pub(crate) fn update(&mut self, bytes: &[u8]) {
        if self.binary.is_some() {
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
        self.binary = Some(self.sniff.contains(&0));
    }

    fn feed(&mut self, bytes: &[u8]) {
        if self.binary == Some(true) || self.truncated {
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

    pub(crate) fn finish(mut self) -> ScanSummary {
        if self.binary.is_none() {
            self.decide();
            let held = std::mem::take(&mut self.sniff);
            self.feed(&held);
        }
        if self.binary == Some(false) {
            let found = self.stream.finish();
            self.classifier.add(&found);
        }
        let binary = self.binary == Some(true);
        ScanSummary {
            classification: self.classifier.finish(),
            scanned_bytes: self.seen,
            complete: !binary && !self.truncated,
            binary,
        }
    }
}
