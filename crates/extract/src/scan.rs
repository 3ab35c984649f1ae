//! The content scanner over an extracted document: all parts scanned in one pass (joined by
//! line breaks, which no detector crosses), each finding mapped back to its part, every
//! hidden part reported as a `HIDDEN_CONTENT` finding, and injection evidence inside hidden
//! content raised to a near-certain score — instructions nobody was meant to see are the
//! attack, whatever words they use.

use covault_scan::{EntityType, Finding, Scanner, Validation};

use crate::Document;

/// Score given to injection evidence found in hidden content.
pub const HIDDEN_INJECTION_SCORE: f32 = 0.95;
/// Score of a `HIDDEN_CONTENT` finding.
const HIDDEN_SCORE: f32 = 0.9;

/// A finding in one part of a document; `finding.start..end` are byte offsets into that
/// part's text.
#[derive(Clone, Debug)]
pub struct LocatedFinding {
    pub part: usize,
    pub finding: Finding,
}

/// What the scanner found in a document.
#[derive(Clone, Debug, Default)]
pub struct DocumentScan {
    pub findings: Vec<LocatedFinding>,
    /// Parts that are hidden and carry injection evidence.
    pub hidden_injection: Vec<usize>,
}

impl DocumentScan {
    pub fn findings(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().map(|f| &f.finding)
    }
}

pub fn scan_document(scanner: &Scanner, doc: &Document) -> DocumentScan {
    let mut text = String::with_capacity(doc.text_len() + doc.parts.len());
    let mut starts = Vec::with_capacity(doc.parts.len());
    for part in &doc.parts {
        starts.push(text.len());
        text.push_str(&part.text);
        text.push('\n');
    }
    let mut out = DocumentScan::default();
    for mut finding in scanner.scan(&text) {
        let part = starts
            .partition_point(|&s| s <= finding.start)
            .saturating_sub(1);
        let base = starts.get(part).copied().unwrap_or(0);
        let len = doc.parts.get(part).map_or(0, |p| p.text.len());
        finding.start -= base;
        finding.end = (finding.end - base).min(len);
        if finding.kind == EntityType::PromptInjection
            && doc.parts.get(part).is_some_and(|p| p.hidden.is_some())
        {
            finding.score = finding.score.max(HIDDEN_INJECTION_SCORE);
            if out.hidden_injection.last() != Some(&part) {
                out.hidden_injection.push(part);
            }
        }
        out.findings.push(LocatedFinding { part, finding });
    }
    for (index, part) in doc.parts.iter().enumerate() {
        if let Some(hidden) = part.hidden {
            out.findings.push(LocatedFinding {
                part: index,
                finding: Finding {
                    kind: EntityType::HiddenContent,
                    start: 0,
                    end: part.text.len(),
                    score: HIDDEN_SCORE,
                    detector: hidden.detector(),
                    validation: Validation::None,
                },
            });
        }
    }
    out.hidden_injection.dedup();
    out.findings.sort_by_key(|f| {
        (
            f.part,
            f.finding.start,
            f.finding.kind == EntityType::HiddenContent,
        )
    });
    out
}
