//! Secret detection: provider rules loaded from `rules/secrets.toml` (or a user file in the
//! same format), a keyword prefilter (Aho-Corasick, ASCII case-insensitive) and confirmation
//! by each rule's regex on the line that holds a keyword, then entropy, placeholder allowlists
//! and provider checksums.
//!
//! Rule semantics (the TOML schema is documented in `rules/README.md`): a rule runs only on a
//! segment containing one of its keywords; its secret is the `s` capture group (or the whole
//! match); a secret below the rule's entropy, or matching the global or the rule's allowlist,
//! is ignored; a failing checksum lowers the score instead of dropping the finding.

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use regex_automata::Input;
use regex_automata::meta::Regex;
use serde::Deserialize;

use crate::finding::{EntityType, Finding, Validation};
use crate::{ScanError, build_regex, validate};

/// The rules that ship with covault.
pub const BUILTIN_RULES: &str = include_str!("../rules/secrets.toml");

/// Upper bound on rules in one file, keeping the prefilter and memory bounded.
const MAX_RULES: usize = 2000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    #[serde(default)]
    allowlist: AllowlistDef,
    #[serde(rename = "rule", default)]
    rules: Vec<RuleDef>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct AllowlistDef {
    #[serde(default)]
    contains: Vec<String>,
    #[serde(default)]
    regexes: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleDef {
    id: String,
    #[serde(default)]
    description: String,
    keywords: Vec<String>,
    regex: String,
    #[serde(default)]
    entropy: Option<f32>,
    #[serde(default)]
    validate: Option<String>,
    #[serde(default)]
    allow: Vec<String>,
    #[serde(default)]
    multiline: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Checker {
    GithubCrc32,
    Jwt,
}

struct Rule {
    id: &'static str,
    regex: Regex,
    secret_group: Option<usize>,
    entropy: f32,
    check: Option<Checker>,
    allow: Option<Regex>,
    multiline: bool,
}

/// A compiled rule set.
pub struct SecretRules {
    rules: Vec<Rule>,
    prefilter: AhoCorasick,
    /// Keyword pattern index → rule indexes.
    keyword_rules: Vec<Vec<u32>>,
    allow_contains: AhoCorasick,
    allow_regex: Option<Regex>,
}

impl std::fmt::Debug for SecretRules {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretRules")
            .field("rules", &self.rules.len())
            .finish()
    }
}

fn invalid(id: &str, msg: impl std::fmt::Display) -> ScanError {
    ScanError::Rules(format!("rule `{id}`: {msg}"))
}

/// Per-thread buffers for [`SecretRules::scan_window`]: the rules a window's keywords name,
/// and each rule's capture slots (allocated once, on the rule's first use).
#[derive(Default)]
pub(crate) struct SecretScratch {
    rules_seen: Vec<u32>,
    captures: Vec<Option<regex_automata::util::captures::Captures>>,
}

impl SecretRules {
    /// The built-in rule set.
    pub fn builtin() -> Result<SecretRules, ScanError> {
        SecretRules::from_toml(BUILTIN_RULES)
    }

    /// Compiles a rule file. Errors name the rule and the problem.
    pub fn from_toml(text: &str) -> Result<SecretRules, ScanError> {
        let file: RuleFile = toml::from_str(text).map_err(|e| ScanError::Rules(e.to_string()))?;
        if file.rules.len() > MAX_RULES {
            return Err(ScanError::Rules(format!("more than {MAX_RULES} rules")));
        }
        let mut rules = Vec::with_capacity(file.rules.len());
        let mut keywords: Vec<String> = Vec::new();
        let mut keyword_rules: Vec<Vec<u32>> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for def in file.rules {
            if !seen.insert(def.id.clone()) {
                return Err(invalid(&def.id, "duplicate id"));
            }
            if def.keywords.is_empty() || def.keywords.iter().any(|k| k.is_empty() || !k.is_ascii())
            {
                return Err(invalid(
                    &def.id,
                    "needs one or more non-empty ASCII keywords",
                ));
            }
            let regex = build_regex(&[def.regex.as_str()]).map_err(|e| invalid(&def.id, e))?;
            let secret_group = regex
                .group_info()
                .to_index(regex_automata::PatternID::ZERO, "s");
            let check = match def.validate.as_deref() {
                None => None,
                Some("github-crc32") => Some(Checker::GithubCrc32),
                Some("jwt") => Some(Checker::Jwt),
                Some(other) => {
                    return Err(invalid(&def.id, format!("unknown validator `{other}`")));
                }
            };
            let allow = if def.allow.is_empty() {
                None
            } else {
                let refs: Vec<&str> = def.allow.iter().map(String::as_str).collect();
                Some(build_regex(&refs).map_err(|e| invalid(&def.id, e))?)
            };
            let index = rules.len() as u32;
            for k in &def.keywords {
                let k = k.to_ascii_lowercase();
                match keywords.iter().position(|e| *e == k) {
                    Some(pos) => keyword_rules[pos].push(index),
                    None => {
                        keywords.push(k);
                        keyword_rules.push(vec![index]);
                    }
                }
            }
            let _ = def.description;
            rules.push(Rule {
                id: Box::leak(def.id.into_boxed_str()),
                regex,
                secret_group,
                entropy: def.entropy.unwrap_or(0.0),
                check,
                allow,
                multiline: def.multiline,
            });
        }
        let prefilter = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .kind(Some(AhoCorasickKind::DFA))
            .build(&keywords)
            .map_err(|e| ScanError::Rules(e.to_string()))?;
        let contains: Vec<String> = file
            .allowlist
            .contains
            .iter()
            .map(|s| s.to_ascii_lowercase())
            .collect();
        let allow_contains = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(&contains)
            .map_err(|e| ScanError::Rules(e.to_string()))?;
        let allow_regex = if file.allowlist.regexes.is_empty() {
            None
        } else {
            let refs: Vec<&str> = file.allowlist.regexes.iter().map(String::as_str).collect();
            Some(build_regex(&refs).map_err(|e| ScanError::Rules(format!("allowlist: {e}")))?)
        };
        Ok(SecretRules {
            rules,
            prefilter,
            keyword_rules,
            allow_contains,
            allow_regex,
        })
    }

    pub fn len(&self) -> usize {
        self.rules.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Rule ids, in file order.
    pub fn ids(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.rules.iter().map(|r| r.id)
    }

    /// Scans `seg[lo..hi]` (a window around dense tokens, or the whole segment) for secrets.
    /// `multiline` is true when the segment is a PEM block.
    pub(crate) fn scan_window(
        &self,
        seg: &[u8],
        lo: usize,
        hi: usize,
        scratch: &mut SecretScratch,
        out: &mut Vec<Finding>,
    ) {
        let SecretScratch {
            rules_seen,
            captures,
        } = scratch;
        rules_seen.clear();
        for m in self.prefilter.find_overlapping_iter(&seg[lo..hi]) {
            for &r in &self.keyword_rules[m.pattern().as_usize()] {
                if !rules_seen.contains(&r) {
                    rules_seen.push(r);
                }
            }
        }
        if rules_seen.is_empty() {
            return;
        }
        rules_seen.sort_unstable();
        for &r in rules_seen.iter() {
            let rule = &self.rules[r as usize];
            let (a, b) = if rule.multiline {
                (0, seg.len())
            } else {
                (lo, hi)
            };
            let mut input = Input::new(seg).range(a..b);
            // One capturing search per match: measured faster than a plain search followed by
            // an anchored capturing one.
            if captures.len() < self.rules.len() {
                captures.resize_with(self.rules.len(), || None);
            }
            let caps = captures[r as usize].get_or_insert_with(|| rule.regex.create_captures());
            loop {
                // The search resets `caps` before it records anything.
                rule.regex.search_captures(&input, caps);
                let Some(m) = caps.get_match() else { break };
                let span = rule
                    .secret_group
                    .and_then(|g| caps.get_group(g))
                    .unwrap_or(m.span());
                if let Some((score, validation)) = self.confirm(rule, &seg[span.start..span.end]) {
                    out.push(Finding {
                        kind: EntityType::Secret,
                        start: span.start,
                        end: span.end,
                        score,
                        detector: rule.id,
                        validation,
                    });
                }
                let next = if m.end() > m.start() {
                    m.end()
                } else {
                    m.end() + 1
                };
                if next > b {
                    break;
                }
                input.set_start(next);
            }
        }
    }

    fn confirm(&self, rule: &Rule, secret: &[u8]) -> Option<(f32, Validation)> {
        if secret.is_empty() || validate::shannon_entropy(secret) < rule.entropy {
            return None;
        }
        if self.allow_contains.is_match(secret)
            || self
                .allow_regex
                .as_ref()
                .is_some_and(|r| r.is_match(secret))
            || rule.allow.as_ref().is_some_and(|r| r.is_match(secret))
        {
            return None;
        }
        Some(match rule.check {
            None => (0.9, Validation::None),
            Some(Checker::GithubCrc32) if validate::github_crc32(secret) => {
                (0.99, Validation::Valid)
            }
            Some(Checker::Jwt) if validate::jwt(secret) => (0.95, Validation::Valid),
            Some(_) => (0.7, Validation::Invalid),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULES: &str = r#"
[allowlist]
contains = ["example", "xxxx"]

[[rule]]
id = "github-pat"
keywords = ["ghp_"]
regex = '''(?P<s>ghp_[0-9A-Za-z]{36})\b'''
validate = "github-crc32"

[[rule]]
id = "generic-password"
keywords = ["password"]
regex = '''(?i)password\s*[=:]\s*["']?(?P<s>[^\s"']{8,64})'''
entropy = 3.0
"#;

    fn scan(rules: &SecretRules, text: &str) -> Vec<(String, &'static str)> {
        let mut out = Vec::new();
        rules.scan_window(
            text.as_bytes(),
            0,
            text.len(),
            &mut SecretScratch::default(),
            &mut out,
        );
        out.into_iter()
            .map(|f| (text[f.start..f.end].to_owned(), f.detector))
            .collect()
    }

    #[test]
    fn keyword_then_regex_then_filters() {
        let rules = SecretRules::from_toml(RULES).unwrap();
        assert_eq!(rules.len(), 2);
        let token = "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789";
        assert_eq!(
            scan(&rules, &format!("export GH={token}")),
            vec![(token.to_owned(), "github-pat")]
        );
        assert_eq!(
            scan(&rules, "password = \"Tr0ub4dor&3x\""),
            vec![("Tr0ub4dor&3x".to_owned(), "generic-password")]
        );
        assert!(
            scan(&rules, "password = \"aaaaaaaaaa\"").is_empty(),
            "low entropy"
        );
        assert!(
            scan(&rules, "password = \"EXAMPLEpass123\"").is_empty(),
            "allowlisted"
        );
        assert!(scan(&rules, "nothing to see").is_empty());
    }

    #[test]
    fn bad_rules_are_reported_by_id() {
        let bad = "[[rule]]\nid = \"x\"\nkeywords = [\"k\"]\nregex = '''(?=look)'''\n";
        let err = SecretRules::from_toml(bad).unwrap_err().to_string();
        assert!(err.contains("rule `x`"), "{err}");
        let no_kw = "[[rule]]\nid = \"y\"\nkeywords = []\nregex = 'a'\n";
        assert!(SecretRules::from_toml(no_kw).is_err());
    }

    #[test]
    fn builtin_rules_compile() {
        let rules = SecretRules::builtin().unwrap();
        assert!(rules.len() >= 200, "{} rules", rules.len());
    }
}
