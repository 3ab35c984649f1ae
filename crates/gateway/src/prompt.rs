//! The request path's content work: find `covault://` references, splice in the files (read
//! by the vault under the caller's permissions), scan every text, and decide per finding —
//! reversible placeholder, block, or pass — by its tier, the provider's clearance and the
//! configuration. Produces the body to forward, the placeholder vault for the answer, and the
//! counts for the audit event.

use std::collections::{BTreeMap, HashMap, HashSet};

use covault_guard::Tier;
use covault_scan::{
    ClassificationPolicy, EntityType, Finding, PlaceholderVault, RedactMode, Scanner, classify,
    injection_score, redact,
};
use serde_json::Value;

use crate::config::{BinaryContent, GatewayConfig, ProviderConfig};
use crate::error::{Dialect, GatewayError, Problem};
use crate::walk::{Slot, visit_request};

const SCHEME: &str = "covault://";

/// A file spliced into a prompt.
pub struct FileText {
    pub text: String,
    pub tier: Tier,
    pub version: i64,
    /// Hidden content with injection evidence (`what, where`): the prompt is refused.
    pub hidden_injection: Vec<String>,
}

/// A prompt ready to forward.
pub struct Prepared {
    pub body: Value,
    pub vault: PlaceholderVault,
    /// Values sent in the clear (the answer may repeat them without a DLP hit).
    pub exempt: HashSet<String>,
    pub redactions: BTreeMap<String, u64>,
    /// Highest tier of what is sent.
    pub data_tier: Tier,
    pub injection_score: f32,
    /// Images, documents and audio forwarded unscanned.
    pub binary_parts: u64,
    pub scanned_bytes: u64,
}

/// Why a prompt may not go (before any policy question).
pub struct Refusal {
    pub error: GatewayError,
    /// Blocked types and counts, for the audit event.
    pub blocked: BTreeMap<String, u64>,
    pub injection_score: f32,
}

/// `covault://` references in a request, in order of first appearance, deduplicated.
pub fn file_refs(dialect: Dialect, body: &mut Value) -> Vec<String> {
    let mut refs: Vec<String> = Vec::new();
    let mut note = |text: &str| {
        for (_, _, path) in references(text) {
            if !refs.iter().any(|r| r == path) {
                refs.push(path.to_owned());
            }
        }
    };
    visit_request(dialect, body, &mut |slot| match slot {
        Slot::Text(s) => note(s),
        // Arguments are JSON: look inside its strings, unescaped, as `prepare` will.
        Slot::JsonText(s) => match serde_json::from_str::<Value>(s) {
            Ok(mut v) => crate::walk::all_values(&mut v, &mut |inner| {
                if let Slot::Text(t) = inner {
                    note(t);
                }
            }),
            Err(_) => note(s),
        },
        Slot::Binary(_) => {}
    });
    refs
}

/// `(start, end, path)` of each `covault://path` in `text`.
fn references(text: &str) -> Vec<(usize, usize, &str)> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = text[from..].find(SCHEME) {
        let start = from + i;
        let rest = &text[start + SCHEME.len()..];
        let mut len = rest
            .find(|c: char| {
                c.is_whitespace()
                    || matches!(
                        c,
                        '"' | '\'' | '<' | '>' | '(' | ')' | '[' | ']' | '{' | '}' | '`'
                    )
            })
            .unwrap_or(rest.len());
        while len > 0 && rest[..len].ends_with(['.', ',', ';', ':', '!', '?']) {
            len -= 1;
        }
        let end = start + SCHEME.len() + len;
        if len > 0 {
            out.push((start, end, &rest[..len]));
        }
        from = end.max(start + SCHEME.len());
    }
    out
}

/// Scans and rewrites the prompt. `files` holds the text of every reference `file_refs`
/// returned.
pub fn prepare(
    dialect: Dialect,
    mut body: Value,
    files: &HashMap<String, FileText>,
    scanner: &Scanner,
    policy: &ClassificationPolicy,
    config: &GatewayConfig,
    provider: &ProviderConfig,
) -> Result<Prepared, Refusal> {
    let mut vault = PlaceholderVault::new();
    let mut exempt = HashSet::new();
    let mut redactions: BTreeMap<String, u64> = BTreeMap::new();
    let mut blocked: BTreeMap<String, u64> = BTreeMap::new();
    let mut passed: Vec<Finding> = Vec::new();
    let mut evidence: Vec<Finding> = Vec::new();
    let mut binary: BTreeMap<&'static str, u64> = BTreeMap::new();
    let mut scanned = 0u64;
    let mut data_tier = files.values().map(|f| f.tier).max().unwrap_or(Tier::Public);
    for (path, f) in files {
        if f.tier == Tier::Restricted {
            *blocked
                .entry(format!("restricted file {path}"))
                .or_default() += 1;
        }
    }

    let mut process = |text: &mut String| {
        expand(text, files);
        scanned += text.len() as u64;
        let findings = scanner.scan(text);
        let mut rewrite = Vec::new();
        for f in findings {
            if f.kind == EntityType::PromptInjection {
                if evidence.len() < 256 {
                    evidence.push(f);
                }
                continue;
            }
            let tier = policy
                .by_type
                .get(&f.kind)
                .copied()
                .unwrap_or(Tier::Internal);
            if tier == Tier::Restricted {
                *blocked.entry(f.kind.as_str().to_owned()).or_default() += 1;
            } else if tier >= config.redact_from || tier > provider.clearance {
                *redactions.entry(f.kind.as_str().to_owned()).or_default() += 1;
                rewrite.push(f);
            } else {
                if let Some(v) = text.get(f.start..f.end) {
                    exempt.insert(v.to_owned());
                }
                passed.push(f);
            }
        }
        if !rewrite.is_empty() {
            *text = redact(text, &rewrite, &RedactMode::Placeholder, &mut vault);
        }
    };

    visit_request(dialect, &mut body, &mut |slot| match slot {
        Slot::Text(s) => process(s),
        Slot::JsonText(s) => match serde_json::from_str::<Value>(s) {
            Ok(mut v) => {
                crate::walk::all_values(&mut v, &mut |inner| {
                    if let Slot::Text(t) = inner {
                        process(t);
                    }
                });
                *s = v.to_string();
            }
            Err(_) => process(s),
        },
        Slot::Binary(kind) => *binary.entry(kind).or_default() += 1,
    });

    let mut score = injection_score(&evidence);
    let hidden: Vec<String> = files
        .iter()
        .filter(|(_, f)| !f.hidden_injection.is_empty())
        .map(|(path, f)| format!("covault://{path}: {}", f.hidden_injection.join("; ")))
        .collect();
    if !hidden.is_empty() {
        score = score.max(covault_extract::HIDDEN_INJECTION_SCORE);
        let mut counts = blocked;
        for (path, f) in files {
            if !f.hidden_injection.is_empty() {
                counts.insert(
                    format!("hidden instructions in {path}"),
                    f.hidden_injection.len() as u64,
                );
            }
        }
        return Err(Refusal {
            error: GatewayError::new(
                Problem::Injection,
                format!(
                    "the request was blocked: a referenced file hides instructions aimed at an AI ({})",
                    hidden.join(" | ")
                ),
            ),
            blocked: counts,
            injection_score: score,
        });
    }
    if !blocked.is_empty() {
        let list = blocked
            .iter()
            .map(|(k, n)| format!("{k} x{n}"))
            .collect::<Vec<_>>()
            .join(", ");
        return Err(Refusal {
            error: GatewayError::new(
                Problem::Blocked,
                format!(
                    "the request was blocked: it contains restricted data ({list}), which never leaves the workspace"
                ),
            ),
            blocked,
            injection_score: score,
        });
    }
    if score >= config.injection_block {
        return Err(Refusal {
            error: GatewayError::new(
                Problem::Injection,
                format!(
                    "the request was blocked: prompt injection detected (score {score:.2}, {} evidence spans)",
                    evidence.len()
                ),
            ),
            blocked,
            injection_score: score,
        });
    }
    let binary_parts: u64 = binary.values().sum();
    if binary_parts > 0 {
        if config.binary_content == BinaryContent::Block {
            let list = binary
                .iter()
                .map(|(k, n)| format!("{k} x{n}"))
                .collect::<Vec<_>>()
                .join(", ");
            let mut counts = BTreeMap::new();
            for (k, n) in &binary {
                counts.insert(format!("binary:{k}"), *n);
            }
            return Err(Refusal {
                error: GatewayError::new(
                    Problem::Blocked,
                    format!(
                        "the request was blocked: it carries content covault cannot scan ({list}); gateway.binary_content = \"block\""
                    ),
                ),
                blocked: counts,
                injection_score: score,
            });
        }
        // Unscanned content may hold anything the provider is cleared for.
        data_tier = data_tier.max(provider.clearance);
    }
    data_tier = data_tier.max(classify(&passed, policy).tier);
    Ok(Prepared {
        body,
        vault,
        exempt,
        redactions,
        data_tier,
        injection_score: score,
        binary_parts,
        scanned_bytes: scanned,
    })
}

/// Replaces each `covault://path` with the file's text between markers.
fn expand(text: &mut String, files: &HashMap<String, FileText>) {
    if !text.contains(SCHEME) {
        return;
    }
    let refs = references(text);
    let mut out = String::with_capacity(text.len());
    let mut pos = 0;
    for (start, end, path) in refs {
        let Some(file) = files.get(path) else {
            continue;
        };
        out.push_str(&text[pos..start]);
        out.push_str(&format!(
            "\n[file {path}, version {}]\n{}\n[end of file {path}]\n",
            file.version, file.text
        ));
        pos = end;
    }
    out.push_str(&text[pos..]);
    *text = out;
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn provider() -> ProviderConfig {
        ProviderConfig {
            name: "p".into(),
            kind: crate::config::ProviderKind::Anthropic,
            base_url: "http://127.0.0.1:1".into(),
            clearance: Tier::Internal,
            zero_retention: false,
            residency: None,
            models: vec!["m".into()],
            timeout_secs: 10,
            requests_per_minute: None,
            tokens_per_minute: None,
            monthly_tokens: None,
        }
    }

    fn run(dialect: Dialect, body: Value) -> Result<Prepared, Refusal> {
        let scanner = Scanner::new().unwrap();
        prepare(
            dialect,
            body,
            &HashMap::new(),
            &scanner,
            &ClassificationPolicy::default(),
            &GatewayConfig::default(),
            &provider(),
        )
    }

    #[test]
    fn tool_inputs_are_scanned_whatever_their_field_names() {
        let body = serde_json::json!({"model": "m", "messages": [{"role": "assistant", "content": [
            {"type": "tool_use", "id": "t1", "name": "lookup",
             "input": {"name": "Maria Garcia", "id": "SSN 536-22-8741"}}]}]});
        let refused = run(Dialect::Anthropic, body).err().unwrap();
        assert_eq!(refused.blocked.get("US_SSN"), Some(&1));
        let body = serde_json::json!({"model": "m", "messages": [{"role": "assistant", "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "send",
             "arguments": "{\"name\": \"write to bob.jones@example.com\"}"}}]}],
            "tools": [{"type": "function", "function": {"name": "send",
             "description": "mails alice.smith@example.com"}}]});
        let p = run(Dialect::Openai, body).ok().unwrap();
        let text = p.body.to_string();
        assert!(
            !text.contains("bob.jones@") && !text.contains("alice.smith@"),
            "{text}"
        );
        assert_eq!(p.redactions.get("EMAIL_ADDRESS"), Some(&2));
    }

    #[test]
    fn references_are_found_and_trimmed() {
        let r = references("see covault://docs/a.txt, and (covault://b/c.md). covault:// x");
        let paths: Vec<&str> = r.iter().map(|x| x.2).collect();
        assert_eq!(paths, ["docs/a.txt", "b/c.md"]);
    }
}
