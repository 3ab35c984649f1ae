//! The content scanner: PII, secrets and prompt-injection detectors, validators, findings,
//! classification into tiers, redaction with reversible placeholders, and streaming scan /
//! redact / restore across chunk boundaries.
//!
//! No I/O, no async: callers hand in bytes or text. Detectors never look across a segment
//! (a line, a PEM block, or a content-chosen cut of a very long line), which is what makes
//! streaming exact. Every regex is linear-time (`regex-automata`), the base64 decoder is depth
//! bounded, and input of any size or encoding is accepted (invalid UTF-8 is scanned as bytes).

mod classify;
mod dlp;
mod finding;
mod gazetteer;
mod injection;
mod lexer;
mod names;
mod pii;
mod redact;
mod scanner;
mod secrets;
mod segment;
mod stream;
mod tier;
mod validate;

pub use classify::{Classification, ClassificationPolicy, Classifier, classify};
pub use dlp::{DlpAction, DlpConfig, DlpStop, StreamDlp};
pub use finding::{EntityType, Finding, UnknownEntityType, Validation, resolve_overlaps};
pub use injection::injection_score;
pub use redact::{Escape, MAX_PLACEHOLDER, PlaceholderVault, RedactMode, redact, redact_bytes};
pub use scanner::{ScanConfig, Scanner};
pub use secrets::{BUILTIN_RULES, SecretRules};
pub use segment::{MAX_KEY_BLOCK, MAX_SEGMENT};
pub use stream::{StreamRedactor, StreamRestorer, StreamScanner};
pub use tier::{Tier, TierParseError};

use regex_automata::MatchKind;
use regex_automata::meta::{self, Regex};
use regex_automata::util::syntax;

/// Errors building a scanner (a rule file that does not compile).
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error("invalid scanner rules: {0}")]
    Rules(String),
}

/// Builds a byte-oriented, linear-time regex (Unicode off, matching any bytes, bounded size).
pub(crate) fn build_regex(patterns: &[&str]) -> Result<Regex, ScanError> {
    build(patterns, MatchKind::LeftmostFirst)
}

/// Like [`build_regex`], for asking which of many patterns match anywhere in a haystack.
pub(crate) fn build_set(patterns: &[&str]) -> Result<Regex, ScanError> {
    build(patterns, MatchKind::All)
}

fn build(patterns: &[&str], kind: MatchKind) -> Result<Regex, ScanError> {
    let syntax = syntax::Config::new().unicode(false).utf8(false);
    let config = meta::Config::new()
        .match_kind(kind)
        .utf8_empty(false)
        .nfa_size_limit(Some(64 << 20))
        // Overlapping-match sets over many patterns need far more lazy-DFA states than one
        // pattern; a small cache is cleared over and over on PII-dense text.
        .hybrid_cache_capacity(if kind == MatchKind::All {
            32 << 20
        } else {
            8 << 20
        });
    meta::Builder::new()
        .syntax(syntax)
        .configure(config)
        .build_many(patterns)
        .map_err(|e| ScanError::Rules(e.to_string()))
}
