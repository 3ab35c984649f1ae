//! The scanner: runs every enabled detector over each segment and returns resolved findings.

use std::sync::Arc;

use crate::finding::{EntityType, Finding, resolve_overlaps};
use crate::gazetteer::Gazetteers;
use crate::injection::InjectionDetector;
use crate::lexer::{self, Triggers};
use crate::pii::PiiDetector;
use crate::secrets::{SecretRules, SecretScratch};
use crate::segment;
use crate::{ScanError, names};

/// Which detector families run, and the score below which findings are dropped.
#[derive(Clone, Debug)]
pub struct ScanConfig {
    pub pii: bool,
    pub names: bool,
    pub secrets: bool,
    pub injection: bool,
    /// Findings scoring below this are not reported (default 0.5).
    pub min_score: f32,
    /// Only report these types (empty = all).
    pub only: Vec<EntityType>,
}

impl Default for ScanConfig {
    fn default() -> Self {
        ScanConfig {
            pii: true,
            names: true,
            secrets: true,
            injection: true,
            min_score: 0.5,
            only: Vec::new(),
        }
    }
}

struct Engines {
    pii: PiiDetector,
    secrets: SecretRules,
    injection: InjectionDetector,
    gaz: &'static Gazetteers,
}

/// A compiled scanner. Cheap to clone (shared engines); `Send + Sync`.
#[derive(Clone)]
pub struct Scanner {
    engines: Arc<Engines>,
    config: ScanConfig,
}

impl std::fmt::Debug for Scanner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scanner")
            .field("config", &self.config)
            .field("secret_rules", &self.engines.secrets.len())
            .finish()
    }
}

/// Reusable per-thread buffers.
#[derive(Default)]
pub(crate) struct Scratch {
    triggers: Triggers,
    regions: Vec<(usize, usize)>,
    secrets: SecretScratch,
    found: Vec<Finding>,
    which: Option<regex_automata::PatternSet>,
}

impl Scanner {
    /// A scanner with the built-in rules and the default configuration.
    pub fn new() -> Result<Scanner, ScanError> {
        Scanner::with_rules(ScanConfig::default(), SecretRules::builtin()?)
    }

    pub fn with_config(config: ScanConfig) -> Result<Scanner, ScanError> {
        Scanner::with_rules(config, SecretRules::builtin()?)
    }

    pub fn with_rules(config: ScanConfig, secrets: SecretRules) -> Result<Scanner, ScanError> {
        let gaz = Gazetteers::get();
        let engines = Engines {
            pii: PiiDetector::new(gaz)?,
            secrets,
            injection: InjectionDetector::new()?,
            gaz,
        };
        Ok(Scanner {
            engines: Arc::new(engines),
            config,
        })
    }

    pub fn config(&self) -> &ScanConfig {
        &self.config
    }

    /// The same engines with another configuration.
    pub fn reconfigured(&self, config: ScanConfig) -> Scanner {
        Scanner {
            engines: Arc::clone(&self.engines),
            config,
        }
    }

    pub fn secret_rule_count(&self) -> usize {
        self.engines.secrets.len()
    }

    /// Scans a complete text. Offsets are byte offsets into `text`.
    pub fn scan(&self, text: &str) -> Vec<Finding> {
        self.scan_bytes(text.as_bytes())
    }

    /// Scans bytes that may not be valid UTF-8 (invalid sequences are treated as opaque
    /// non-ASCII bytes; offsets stay exact).
    pub fn scan_bytes(&self, bytes: &[u8]) -> Vec<Finding> {
        let mut scratch = Scratch::default();
        let mut out = Vec::new();
        for (start, end) in segment::segments(bytes) {
            self.scan_segment(&bytes[start..end], start, &mut scratch, &mut out);
        }
        out
    }

    /// Scans one segment and appends its resolved findings (offset by `base`).
    pub(crate) fn scan_segment(
        &self,
        seg: &[u8],
        base: usize,
        s: &mut Scratch,
        out: &mut Vec<Finding>,
    ) {
        let e = &*self.engines;
        let c = &self.config;
        s.found.clear();
        lexer::lex(seg, &mut s.triggers);
        if c.pii && !s.triggers.pii.is_empty() {
            lexer::regions(seg, &s.triggers.pii, 40, 56, &mut s.regions);
            let which = s
                .which
                .get_or_insert_with(|| regex_automata::PatternSet::new(0));
            for &(lo, hi) in &s.regions {
                e.pii.scan_region(seg, lo, hi, e.gaz, which, &mut s.found);
            }
        }
        if c.secrets && !s.triggers.dense.is_empty() {
            lexer::regions(seg, &s.triggers.dense, 160, 16, &mut s.regions);
            for &(lo, hi) in &s.regions {
                e.secrets
                    .scan_window(seg, lo, hi, &mut s.secrets, &mut s.found);
            }
        }
        if c.names && !s.triggers.caps.is_empty() {
            names::scan(seg, &s.triggers.caps, e.gaz, &mut s.found);
        }
        if c.injection {
            e.injection
                .scan(seg, s.triggers.non_ascii, &s.triggers.dense, &mut s.found);
        }
        s.found
            .retain(|f| f.score >= c.min_score && (c.only.is_empty() || c.only.contains(&f.kind)));
        if s.found.is_empty() {
            return;
        }
        // Injection evidence is kept apart from overlap resolution: it annotates, it does not
        // compete with the PII it may contain.
        let (inj, rest): (Vec<Finding>, Vec<Finding>) = s
            .found
            .drain(..)
            .partition(|f| f.kind == EntityType::PromptInjection);
        let mut resolved = resolve_overlaps(rest);
        resolved.extend(resolve_overlaps(inj));
        resolved.sort_by_key(|f| (f.start, f.end));
        out.extend(resolved.into_iter().map(|mut f| {
            f.start += base;
            f.end += base;
            f
        }));
    }
}
