//! Output DLP over a streamed answer: finds sensitive values a model produced (values the
//! caller did not send in the clear, canary tokens) and masks them or stops the stream, while
//! releasing text early enough that streaming still feels like streaming.
//!
//! Unlike [`crate::StreamRedactor`], which releases only whole segments, [`StreamDlp`] releases
//! whole words as soon as they cannot be part of a value still being written: a word more than
//! [`DlpConfig::hold`] bytes behind the newest byte, or a newer one when no word between it and
//! the released text could begin a value of the configured types (digits, `@`, `+`, `=`, long
//! tokens, capitalised words when names count). A cut never falls inside a finding of the
//! latest scan, which covers the unreleased tail with some left context. When the whole line is
//! finally scanned, a finding that reaches back into released text (one recognisable only from
//! far right context) is counted as `late`; with [`DlpAction::Stop`] it stops the stream.

use std::collections::{BTreeMap, HashSet};

use crate::classify::ClassificationPolicy;
use crate::finding::{EntityType, Finding};
use crate::scanner::{Scanner, Scratch};
use crate::segment;
use crate::tier::Tier;

/// Left context re-scanned with the unreleased tail of a line (cues such as "SSN:").
const LEFT_CONTEXT: usize = 128;
/// New bytes needed before the tail of a line is scanned again.
const RESCAN_STEP: usize = 1;

/// What to do with a sensitive value in an answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DlpAction {
    /// Replace it with `[REDACTED_<TYPE>]` and go on.
    Mask,
    /// End the answer.
    Stop,
}

/// The checks an answer goes through.
#[derive(Clone, Debug)]
pub struct DlpConfig {
    /// Findings of this tier or higher (by `policy.by_type`) are acted on.
    pub min_tier: Tier,
    pub policy: ClassificationPolicy,
    pub action: DlpAction,
    /// Bytes of a line held back behind the newest byte (at least the longest canary).
    pub hold: usize,
    /// Values the caller sent in the clear: the model may repeat them.
    pub exempt: HashSet<String>,
    /// Strings that must never appear in an answer (planted to detect exfiltration).
    pub canaries: Vec<String>,
}

impl Default for DlpConfig {
    fn default() -> Self {
        DlpConfig {
            min_tier: Tier::Confidential,
            policy: ClassificationPolicy::default(),
            action: DlpAction::Mask,
            hold: 40,
            exempt: HashSet::new(),
            canaries: Vec::new(),
        }
    }
}

/// Why an answer was stopped (types and counts only).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DlpStop {
    #[error("the answer contained a canary token")]
    Canary,
    #[error("the answer contained sensitive data ({})", kinds(.0))]
    Sensitive(BTreeMap<EntityType, u64>),
}

fn kinds(counts: &BTreeMap<EntityType, u64>) -> String {
    counts
        .iter()
        .map(|(k, n)| format!("{} x{n}", k.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Streaming output DLP for one text stream (one content block, one tool call's arguments).
pub struct StreamDlp {
    scanner: Scanner,
    scratch: Scratch,
    config: std::sync::Arc<DlpConfig>,
    line: String,
    released: usize,
    scanned_to: usize,
    masked: BTreeMap<EntityType, u64>,
    late: u64,
    found: Vec<Finding>,
    /// Starts of the findings of the current line masked before it ended.
    masked_starts: Vec<usize>,
    /// Bytes of `line` already searched for canaries.
    canary_pos: usize,
}

impl StreamDlp {
    pub fn new(scanner: Scanner, config: std::sync::Arc<DlpConfig>) -> StreamDlp {
        let mut cfg = scanner.config().clone();
        cfg.injection = false;
        StreamDlp {
            scanner: scanner.reconfigured(cfg),
            scratch: Scratch::default(),
            config,
            line: String::new(),
            released: 0,
            scanned_to: 0,
            masked: BTreeMap::new(),
            late: 0,
            found: Vec::new(),
            masked_starts: Vec::new(),
            canary_pos: 0,
        }
    }

    /// Values masked so far, by type.
    pub fn masked(&self) -> &BTreeMap<EntityType, u64> {
        &self.masked
    }

    /// Findings recognised only after part of them had been released.
    pub fn late(&self) -> u64 {
        self.late
    }

    /// Bytes currently held back.
    pub fn held_back(&self) -> usize {
        self.line.len() - self.released
    }

    /// Feeds a chunk; returns the text that may now be emitted.
    pub fn push(&mut self, chunk: &str) -> Result<String, DlpStop> {
        self.line.push_str(chunk);
        self.check_canaries()?;
        let mut out = String::new();
        while let Some(len) = segment::next_cut(self.line.as_bytes(), false) {
            self.release_segment(len, &mut out)?;
        }
        let hold = self.hold();
        if self.line.len() >= self.scanned_to + RESCAN_STEP
            && self.line[self.released..].contains(char::is_whitespace)
        {
            self.release_early(hold, &mut out)?;
        }
        Ok(out)
    }

    /// Ends the stream; returns the rest.
    pub fn finish(&mut self) -> Result<String, DlpStop> {
        let mut out = String::new();
        while let Some(len) = segment::next_cut(self.line.as_bytes(), true) {
            self.release_segment(len, &mut out)?;
        }
        Ok(out)
    }

    fn hold(&self) -> usize {
        let longest = self.config.canaries.iter().map(String::len).max();
        self.config.hold.max(longest.unwrap_or(0))
    }

    /// Searches the text added since the last search (with the overlap a canary split across
    /// chunks needs).
    fn check_canaries(&mut self) -> Result<(), DlpStop> {
        let longest = self
            .config
            .canaries
            .iter()
            .map(String::len)
            .max()
            .unwrap_or(0);
        if longest == 0 {
            return Ok(());
        }
        let mut start = self.canary_pos.saturating_sub(longest - 1);
        while !self.line.is_char_boundary(start) {
            start -= 1;
        }
        let window = &self.line[start..];
        self.canary_pos = self.line.len();
        if self
            .config
            .canaries
            .iter()
            .any(|c| !c.is_empty() && window.contains(c.as_str()))
        {
            return Err(DlpStop::Canary);
        }
        Ok(())
    }

    /// Scans `line[from..to]` and keeps the findings the configuration acts on, with offsets
    /// into `line`.
    fn scan(&mut self, from: usize, to: usize) {
        self.found.clear();
        let mut raw = Vec::new();
        self.scanner.scan_segment(
            &self.line.as_bytes()[from..to],
            from,
            &mut self.scratch,
            &mut raw,
        );
        let cfg = &self.config;
        let line = &self.line;
        self.found.extend(raw.into_iter().filter(|f| {
            f.kind != EntityType::PromptInjection
                && f.score >= cfg.policy.min_score
                && cfg
                    .policy
                    .by_type
                    .get(&f.kind)
                    .is_some_and(|&t| t >= cfg.min_tier)
                && line
                    .get(f.start..f.end)
                    .is_some_and(|v| !cfg.exempt.contains(v))
        }));
    }

    /// A whole segment at the start of `line`: scan it, emit its unreleased part.
    fn release_segment(&mut self, len: usize, out: &mut String) -> Result<(), DlpStop> {
        self.scan(0, len);
        let late: Vec<EntityType> = self
            .found
            .iter()
            .filter(|f| f.start < self.released && !self.masked_starts.contains(&f.start))
            .map(|f| f.kind)
            .collect();
        if !late.is_empty() {
            self.late += late.len() as u64;
            if self.config.action == DlpAction::Stop {
                let mut counts = BTreeMap::new();
                for k in late {
                    *counts.entry(k).or_insert(0) += 1;
                }
                return Err(DlpStop::Sensitive(counts));
            }
        }
        // A forced cut of a long line may fall before text released early: that part is not
        // emitted again, and what lies past the cut stays released.
        if self.released < len {
            self.emit(self.released, len, out)?;
        }
        self.line.drain(..len);
        self.released = self.released.saturating_sub(len);
        self.scanned_to = 0;
        self.canary_pos = self.canary_pos.saturating_sub(len);
        self.masked_starts = self
            .masked_starts
            .iter()
            .filter(|&&s| s >= len)
            .map(|s| s - len)
            .collect();
        Ok(())
    }

    /// The tail of an unfinished line: release what lies `hold` bytes behind its end.
    fn release_early(&mut self, hold: usize, out: &mut String) -> Result<(), DlpStop> {
        let mut from = self.released.saturating_sub(LEFT_CONTEXT);
        while !self.line.is_char_boundary(from) {
            from -= 1;
        }
        // Start the rescan at a word boundary so the left context does not begin mid-word.
        if from > 0 {
            from = self.line[from..self.released]
                .find(char::is_whitespace)
                .map_or(self.released, |i| from + i);
        }
        let end = self.line.len();
        self.scan(from, end);
        self.scanned_to = end;
        let mut limit = end.saturating_sub(hold);
        while !self.line.is_char_boundary(limit) {
            limit -= 1;
        }
        // Everything before the last whitespace is whole words.
        let Some(words_end) = self.line[self.released..]
            .rfind(char::is_whitespace)
            .map(|i| self.released + i)
        else {
            return Ok(());
        };
        // Words `hold` bytes behind the newest byte may go...
        let mut cut = if limit > self.released {
            self.line[self.released..limit]
                .rfind(char::is_whitespace)
                .map_or(self.released, |i| self.released + i)
        } else {
            self.released
        };
        // ...and so may the newer whole words, up to the first that could begin a value the
        // configured types recognise only once more text follows.
        let mut pos = cut;
        for (i, word) in self.line[cut..words_end].split_whitespace_indices() {
            if self.could_begin_value(word) {
                break;
            }
            pos = cut + i + word.len();
        }
        cut = cut.max(pos);
        if cut <= self.released {
            return Ok(());
        }
        for f in self.found.iter().rev() {
            if f.start < cut && f.end > cut {
                cut = f.start;
            }
        }
        if cut > self.released {
            self.emit(self.released, cut, out)?;
            self.released = cut;
        }
        Ok(())
    }

    /// Whether `word` could be the start of a sensitive value of a configured type that is
    /// not recognisable yet: digits (cards, phones, IDs, addresses), `@`, `+`, `=`, long tokens
    /// (keys), and — when internal types count — capitalised words (names). A placeholder
    /// (`[EMAIL_ADDRESS_1]`) is not: it will be restored, not scanned.
    fn could_begin_value(&self, word: &str) -> bool {
        let bare = word.trim_end_matches(|c: char| c.is_ascii_punctuation() && c != ']');
        if crate::redact::placeholder_at(bare) == Some(bare.len()) {
            return false;
        }
        word.len() >= 16
            || word
                .bytes()
                .any(|b| b.is_ascii_digit() || matches!(b, b'@' | b'+' | b'=' | b'\\'))
            || !word.is_ascii()
            || (self.config.min_tier <= Tier::Internal
                && word.chars().next().is_some_and(char::is_uppercase))
    }

    /// Appends `line[from..to]` to `out` with the current findings inside it handled.
    fn emit(&mut self, from: usize, to: usize, out: &mut String) -> Result<(), DlpStop> {
        let inside: Vec<(usize, usize, EntityType)> = self
            .found
            .iter()
            // A late finding (begun in released text) is masked from `from` on.
            .filter(|f| f.end > from && f.start < to && f.end <= to)
            .filter(|f| f.start >= from || !self.masked_starts.contains(&f.start))
            .map(|f| (f.start.max(from), f.end, f.kind))
            .collect();
        if !inside.is_empty() && self.config.action == DlpAction::Stop {
            let mut counts = BTreeMap::new();
            for (_, _, k) in &inside {
                *counts.entry(*k).or_insert(0) += 1;
            }
            return Err(DlpStop::Sensitive(counts));
        }
        let mut pos = from;
        for (s, e, kind) in inside {
            out.push_str(&self.line[pos..s]);
            out.push_str("[REDACTED_");
            out.push_str(kind.as_str());
            out.push(']');
            *self.masked.entry(kind).or_insert(0) += 1;
            self.masked_starts.push(s);
            pos = e;
        }
        out.push_str(&self.line[pos..to]);
        Ok(())
    }
}

/// Whitespace-separated words with their byte offsets.
trait WordIndices {
    fn split_whitespace_indices(&self) -> impl Iterator<Item = (usize, &str)>;
}

impl WordIndices for str {
    fn split_whitespace_indices(&self) -> impl Iterator<Item = (usize, &str)> {
        self.split_whitespace()
            .map(move |w| (w.as_ptr() as usize - self.as_ptr() as usize, w))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::ScanConfig;
    use std::sync::Arc;

    fn dlp(config: DlpConfig) -> StreamDlp {
        static SCANNER: std::sync::LazyLock<Scanner> =
            std::sync::LazyLock::new(|| Scanner::with_config(ScanConfig::default()).unwrap());
        StreamDlp::new(SCANNER.clone(), Arc::new(config))
    }

    #[test]
    fn long_lines_and_canaries_anywhere() {
        // Over MAX_SEGMENT without a newline, streamed word by word: nothing is lost or doubled.
        let mut text = String::new();
        while text.len() < 3 * segment::MAX_SEGMENT {
            text.push_str("the quick brown fox jumps over the lazy dog. ");
        }
        text.push_str(&format!("Card {CARD} here. "));
        let mut d = dlp(DlpConfig::default());
        let mut out = String::new();
        for w in text.split_inclusive(' ') {
            out.push_str(&d.push(w).unwrap());
        }
        out.push_str(&d.finish().unwrap());
        assert_eq!(out, text.replace(CARD, "[REDACTED_CREDIT_CARD]"));
        // A canary early in one big chunk is found.
        let cfg = DlpConfig {
            canaries: vec!["CANARY-7f3a9c".into()],
            ..DlpConfig::default()
        };
        let whole = format!("CANARY-7f3a9c {}", "x ".repeat(200));
        assert_eq!(run(&mut dlp(cfg), &[&whole]), Err(DlpStop::Canary));
    }

    fn run(d: &mut StreamDlp, chunks: &[&str]) -> Result<String, DlpStop> {
        let mut out = String::new();
        for c in chunks {
            out.push_str(&d.push(c)?);
        }
        out.push_str(&d.finish()?);
        Ok(out)
    }

    const CARD: &str = "4111 1111 1111 1111";

    #[test]
    fn a_card_split_anywhere_is_masked_and_text_flows_early() {
        let text = format!(
            "Sure, here is the number you asked about: {CARD} and that is all there is to say about it today, thanks."
        );
        let whole = run(&mut dlp(DlpConfig::default()), &[&text]).unwrap();
        assert!(whole.contains("[REDACTED_CREDIT_CARD]"), "{whole}");
        assert!(!whole.contains("1111"));
        for cut in 1..text.len() {
            let mut d = dlp(DlpConfig::default());
            let out = run(&mut d, &[&text[..cut], &text[cut..]]).unwrap();
            assert_eq!(out, whole, "cut at {cut}");
        }
        // Word by word: text is released before the line ends, never a digit of the card early.
        let mut d = dlp(DlpConfig::default());
        let mut early = String::new();
        for w in text.split_inclusive(' ') {
            early.push_str(&d.push(w).unwrap());
        }
        assert!(!early.is_empty() && !early.contains("4111"), "{early}");
        early.push_str(&d.finish().unwrap());
        assert_eq!(early, whole);
    }

    #[test]
    fn exempt_values_and_low_tiers_pass_canaries_stop() {
        let text = format!("Your card {CARD} is on file; mail bob@example.com.\n");
        let mut cfg = DlpConfig::default();
        cfg.exempt.insert(CARD.into());
        assert_eq!(run(&mut dlp(cfg), &[&text]).unwrap(), text);
        let cfg = DlpConfig {
            canaries: vec!["CANARY-7f3a9c".into()],
            ..DlpConfig::default()
        };
        let mut d = dlp(cfg);
        let res = run(&mut d, &["the secret word is CANA", "RY-7f3a9c ok"]);
        assert_eq!(res, Err(DlpStop::Canary));
        let cfg = DlpConfig {
            action: DlpAction::Stop,
            ..DlpConfig::default()
        };
        let res = run(&mut dlp(cfg), &[&text]);
        assert!(matches!(res, Err(DlpStop::Sensitive(_))), "{res:?}");
    }
}
