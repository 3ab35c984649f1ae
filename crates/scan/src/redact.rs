//! Redaction of resolved findings — mask, keyed hash, drop, or reversible placeholders held
//! in a [`PlaceholderVault`] — and restoration of placeholders in a model's answer.

use std::collections::HashMap;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::finding::{EntityType, Finding};

/// Longest placeholder the restorer recognises (`[IN_VEHICLE_REGISTRATION_4294967295]`).
pub const MAX_PLACEHOLDER: usize = 48;

/// How a finding is rewritten.
#[derive(Clone)]
pub enum RedactMode {
    /// `*` for each character of the value.
    Mask,
    /// `[TYPE:<16 hex>]`: HMAC-SHA256 of the value under a key, so equal values stay
    /// linkable without being revealed.
    Hash(Zeroizing<Vec<u8>>),
    /// Removed.
    Drop,
    /// `[TYPE_N]`, stable within a vault, reversible with [`PlaceholderVault::restore`].
    Placeholder,
}

impl std::fmt::Debug for RedactMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RedactMode::Mask => "Mask",
            RedactMode::Hash(_) => "Hash([redacted])",
            RedactMode::Drop => "Drop",
            RedactMode::Placeholder => "Placeholder",
        })
    }
}

/// A held original value: hashable, zeroized on drop.
#[derive(PartialEq, Eq, Hash)]
struct Value(String);

impl Drop for Value {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.0);
    }
}

/// The session mapping between placeholders and original values. Values are zeroized when
/// the vault is dropped; `Debug` never prints them.
#[derive(Default)]
pub struct PlaceholderVault {
    by_value: HashMap<(EntityType, Value), String>,
    by_placeholder: HashMap<String, Zeroizing<String>>,
    counters: HashMap<EntityType, u32>,
}

impl std::fmt::Debug for PlaceholderVault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlaceholderVault")
            .field("entries", &self.by_placeholder.len())
            .finish()
    }
}

impl PlaceholderVault {
    pub fn new() -> PlaceholderVault {
        PlaceholderVault::default()
    }

    pub fn len(&self) -> usize {
        self.by_placeholder.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_placeholder.is_empty()
    }

    /// The placeholder for `value`, allocating the next number for its type if new.
    pub fn placeholder(&mut self, kind: EntityType, value: &str) -> String {
        let key = (kind, Value(value.to_owned()));
        if let Some(p) = self.by_value.get(&key) {
            return p.clone();
        }
        let n = self.counters.entry(kind).or_insert(0);
        *n += 1;
        let p = format!("[{}_{}]", kind.as_str(), n);
        self.by_placeholder
            .insert(p.clone(), Zeroizing::new(value.to_owned()));
        self.by_value.insert(key, p.clone());
        p
    }

    /// The original value of a placeholder, if this vault issued it.
    pub fn lookup(&self, placeholder: &str) -> Option<&str> {
        self.by_placeholder.get(placeholder).map(|v| v.as_str())
    }

    /// Replaces every placeholder this vault issued; anything else is left as it is.
    pub fn restore(&self, text: &str) -> String {
        self.restore_with(text, Escape::None)
    }

    /// [`PlaceholderVault::restore`], writing each value as `escape` says (inside a JSON
    /// string, a value's quotes and backslashes must be escaped).
    pub fn restore_with(&self, text: &str, escape: Escape) -> String {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(open) = rest.find('[') {
            out.push_str(&rest[..open]);
            let tail = &rest[open..];
            match placeholder_at(tail).and_then(|len| self.lookup(&tail[..len]).map(|v| (len, v))) {
                Some((len, value)) => {
                    escape.write(value, &mut out);
                    rest = &tail[len..];
                }
                None => {
                    out.push('[');
                    rest = &tail[1..];
                }
            }
        }
        out.push_str(rest);
        out
    }
}

/// How a restored value is written into the surrounding text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Escape {
    /// As it is (plain text).
    None,
    /// As the inside of a JSON string (RFC 8259 section 7).
    JsonString,
}

impl Escape {
    fn write(self, value: &str, out: &mut String) {
        match self {
            Escape::None => out.push_str(value),
            Escape::JsonString => {
                for c in value.chars() {
                    match c {
                        '"' => out.push_str("\\\""),
                        '\\' => out.push_str("\\\\"),
                        '\n' => out.push_str("\\n"),
                        '\r' => out.push_str("\\r"),
                        '\t' => out.push_str("\\t"),
                        c if (c as u32) < 0x20 => {
                            out.push_str(&format!("\\u{:04x}", c as u32));
                        }
                        c => out.push(c),
                    }
                }
            }
        }
    }
}

/// Length of a syntactically valid placeholder at the start of `s` (`[A-Z_]+_[0-9]+]`).
pub(crate) fn placeholder_at(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    if b.first() != Some(&b'[') {
        return None;
    }
    let mut i = 1;
    while i < b.len()
        && i < MAX_PLACEHOLDER
        && (b[i].is_ascii_uppercase() || b[i] == b'_' || b[i].is_ascii_digit())
    {
        i += 1;
    }
    let body = &s[1..i];
    let ok = b.get(i) == Some(&b']')
        && body.rsplit_once('_').is_some_and(|(t, n)| {
            !t.is_empty() && !n.is_empty() && n.bytes().all(|c| c.is_ascii_digit())
        });
    ok.then_some(i + 1)
}

/// True if `s` could still grow into a placeholder (used by the streaming restorer).
pub(crate) fn placeholder_prefix(s: &str) -> bool {
    s.starts_with('[')
        && s.len() < MAX_PLACEHOLDER
        && s.bytes()
            .skip(1)
            .all(|c| c.is_ascii_uppercase() || c == b'_' || c.is_ascii_digit())
}

/// Rewrites `text` at each finding. Findings must be sorted and non-overlapping (as the
/// scanner returns them); prompt-injection evidence is never rewritten. Only the bytes
/// inside findings change.
pub fn redact(
    text: &str,
    findings: &[Finding],
    mode: &RedactMode,
    vault: &mut PlaceholderVault,
) -> String {
    let findings: Vec<Finding> = findings
        .iter()
        .filter(|f| {
            f.end <= text.len() && text.is_char_boundary(f.start) && text.is_char_boundary(f.end)
        })
        .cloned()
        .collect();
    let out = redact_bytes(text.as_bytes(), &findings, mode, vault);
    // Spans on character boundaries replaced by ASCII or by whole values keep UTF-8 valid.
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// [`redact`] over bytes that may not be valid UTF-8 (files on disk). Placeholder values of
/// invalid UTF-8 are held lossily.
pub fn redact_bytes(
    text: &[u8],
    findings: &[Finding],
    mode: &RedactMode,
    vault: &mut PlaceholderVault,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut pos = 0;
    for f in findings {
        if f.kind == EntityType::PromptInjection
            || f.start < pos
            || f.end > text.len()
            || f.start >= f.end
        {
            continue;
        }
        out.extend_from_slice(&text[pos..f.start]);
        let value = &text[f.start..f.end];
        match mode {
            RedactMode::Mask => {
                let chars = String::from_utf8_lossy(value).chars().count();
                out.extend(std::iter::repeat_n(b'*', chars));
            }
            RedactMode::Drop => {}
            RedactMode::Hash(key) => match <Hmac<Sha256> as KeyInit>::new_from_slice(key) {
                Ok(mut mac) => {
                    mac.update(value);
                    let tag = mac.finalize().into_bytes();
                    out.push(b'[');
                    out.extend_from_slice(f.kind.as_str().as_bytes());
                    out.push(b':');
                    for b in &tag[..8] {
                        out.extend_from_slice(format!("{b:02x}").as_bytes());
                    }
                    out.push(b']');
                }
                // HMAC takes keys of any length; should that ever fail, the value still goes.
                Err(_) => out.extend_from_slice(format!("[{}]", f.kind.as_str()).as_bytes()),
            },
            RedactMode::Placeholder => {
                let value = String::from_utf8_lossy(value);
                out.extend_from_slice(vault.placeholder(f.kind, &value).as_bytes());
            }
        }
        pos = f.end;
    }
    out.extend_from_slice(&text[pos..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Validation;

    fn f(kind: EntityType, start: usize, end: usize) -> Finding {
        Finding {
            kind,
            start,
            end,
            score: 0.9,
            detector: "t",
            validation: Validation::None,
        }
    }

    #[test]
    fn placeholders_keep_the_text_between_findings() {
        let text = "a@b.com or +1 415 555 0182";
        let findings = [
            f(EntityType::EmailAddress, 0, 7),
            f(EntityType::PhoneNumber, 11, 26),
        ];
        let mut vault = PlaceholderVault::new();
        let red = redact(text, &findings, &RedactMode::Placeholder, &mut vault);
        assert_eq!(red, "[EMAIL_ADDRESS_1] or [PHONE_NUMBER_1]");
        assert_eq!(vault.restore(&red), text);
        // Stable within the session.
        let again = redact(
            "write to a@b.com",
            &[f(EntityType::EmailAddress, 9, 16)],
            &RedactMode::Placeholder,
            &mut vault,
        );
        assert_eq!(again, "write to [EMAIL_ADDRESS_1]");
        // Unknown placeholders and brackets are left alone.
        assert_eq!(vault.restore("[PERSON_9] [x] ["), "[PERSON_9] [x] [");
    }

    #[test]
    fn other_modes() {
        let text = "key ABC secret";
        let fs = [f(EntityType::Secret, 4, 7)];
        let mut v = PlaceholderVault::new();
        assert_eq!(
            redact(text, &fs, &RedactMode::Mask, &mut v),
            "key *** secret"
        );
        assert_eq!(redact(text, &fs, &RedactMode::Drop, &mut v), "key  secret");
        let h1 = redact(
            text,
            &fs,
            &RedactMode::Hash(Zeroizing::new(b"k1".to_vec())),
            &mut v,
        );
        let h2 = redact(
            text,
            &fs,
            &RedactMode::Hash(Zeroizing::new(b"k2".to_vec())),
            &mut v,
        );
        assert!(h1.starts_with("key [SECRET:") && h1 != h2, "{h1} {h2}");
        assert!(v.is_empty());
    }
}
