//! One pass over a segment that finds where the expensive detectors need to look.
//!
//! Whitespace-separated tokens are classified with a byte table. A token with a digit, an `@`,
//! a URL marker or an interior dot triggers the structured-PII patterns around it; a "dense"
//! token (long, with digits, symbols or inner capitals) triggers the secret rules around it.
//! On clean prose almost nothing triggers, which is what keeps the scanner near memory speed.

/// Byte classes.
const SPACE: u8 = 1;
const DIGIT: u8 = 2;
const AT: u8 = 4;
const UPPER: u8 = 8;
const SYMBOL: u8 = 16;
const DOT: u8 = 32;
const COLON: u8 = 64;
const HIGH: u8 = 128;

static CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        t[i] = match b {
            b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c => SPACE,
            b'0'..=b'9' => DIGIT,
            b'@' => AT,
            b'A'..=b'Z' => UPPER,
            b'.' => DOT,
            b':' => COLON,
            b'_' | b'-' | b'+' | b'/' | b'=' | b'"' | b'\'' | b'$' | b'%' | b'&' | b'#' | b'!'
            | b'*' | b'~' | b'^' | b'|' | b'\\' | b'[' | b']' | b'{' | b'}' | b'(' | b')'
            | b'<' | b'>' | b',' | b';' | b'?' | b'`' => SYMBOL,
            0x80..=0xff => HIGH,
            _ => 0,
        };
        i += 1;
    }
    t
};

/// Where the detectors should look in one segment.
#[derive(Default)]
pub(crate) struct Triggers {
    /// Byte ranges (segment-relative) of tokens that may hold structured PII.
    pub pii: Vec<(u32, u32)>,
    /// Byte ranges of tokens that may hold a secret value.
    pub dense: Vec<(u32, u32)>,
    /// Starts of tokens whose first letter is a capital (or non-ASCII): name candidates.
    pub caps: Vec<u32>,
    /// True if any byte is non-ASCII (drives Unicode normalisation for injection checks).
    pub non_ascii: bool,
}

impl Triggers {
    pub fn clear(&mut self) {
        self.pii.clear();
        self.dense.clear();
        self.caps.clear();
        self.non_ascii = false;
    }
}

fn is_edge_punct(b: u8) -> bool {
    matches!(
        b,
        b'"' | b'\''
            | b'('
            | b')'
            | b'['
            | b']'
            | b'{'
            | b'}'
            | b'<'
            | b'>'
            | b','
            | b'.'
            | b';'
            | b':'
            | b'!'
            | b'?'
            | b'`'
            | b'*'
    )
}

/// Scans `seg` once and fills `out`.
pub(crate) fn lex(seg: &[u8], out: &mut Triggers) {
    out.clear();
    let n = seg.len();
    let mut i = 0;
    let mut all = 0u8;
    let mut assign_pending = false;
    while i < n {
        while i < n && CLASS[seg[i] as usize] == SPACE {
            i += 1;
        }
        if i >= n {
            break;
        }
        let start = i;
        let first = CLASS[seg[i] as usize];
        let mut inner = 0u8;
        i += 1;
        while i < n {
            let c = CLASS[seg[i] as usize];
            if c == SPACE {
                break;
            }
            inner |= c;
            i += 1;
        }
        let flags = first | inner;
        all |= flags;
        let b0 = seg[start];
        if b0.is_ascii_uppercase() || b0 >= 0xC0 {
            out.caps.push(start as u32);
        } else if i - start > 1 && first & SYMBOL != 0 {
            let b1 = seg[start + 1];
            if b1.is_ascii_uppercase() || b1 >= 0xC0 {
                out.caps.push(start as u32 + 1);
            }
        }
        // Plain words (letters only, or a capital then letters) trigger nothing else.
        if (inner & !HIGH) == 0 && (first & !(UPPER | HIGH)) == 0 {
            assign_pending = false;
            continue;
        }
        let mut core = &seg[start..i];
        while let [b, rest @ ..] = core {
            if is_edge_punct(*b) {
                core = rest
            } else {
                break;
            }
        }
        while let [rest @ .., b] = core {
            if is_edge_punct(*b) {
                core = rest
            } else {
                break;
            }
        }
        let span = (start as u32, i as u32);
        let assign = matches!(core, b"=" | b":" | b"=>" | b":=" | b"->")
            || seg[i - 1] == b'='
            || seg[i - 1] == b':';
        let mut cf = 0u8;
        let mut interior_dot = false;
        for (k, &b) in core.iter().enumerate() {
            let c = CLASS[b as usize];
            cf |= c;
            if c & DOT != 0
                && k > 0
                && core.get(k + 1).is_some_and(u8::is_ascii_alphanumeric)
                && core[k - 1].is_ascii_alphanumeric()
            {
                interior_dot = true;
            }
        }
        let len = core.len();
        let has_digit = cf & DIGIT != 0;
        let has_letter = core.iter().any(u8::is_ascii_alphabetic);
        if has_digit || cf & AT != 0 || interior_dot || (cf & COLON != 0 && len > 6) {
            out.pii.push(span);
        }
        let strong_symbol = core.iter().any(|b| {
            matches!(
                b,
                b'_' | b'=' | b'+' | b'/' | b':' | b'@' | b'$' | b'%' | b'|'
            )
        });
        let dense = (len >= 8 && has_digit && has_letter)
            || (len >= 10 && strong_symbol)
            || (len >= 16 && (inner & UPPER) != 0)
            || (assign_pending && len >= 6)
            || core.starts_with(b"-----")
            || (assign && len >= 8 && cf & (SYMBOL | COLON) != 0 && len > 10);
        if dense {
            out.dense.push(span);
        }
        assign_pending = assign;
    }
    out.non_ascii = all & HIGH != 0;
}

/// Merges `[start - before, end + after]` windows around `spans`, clipped to `len` and widened
/// to whitespace on both sides so a regex never starts or ends mid-token.
pub(crate) fn regions(
    seg: &[u8],
    spans: &[(u32, u32)],
    before: usize,
    after: usize,
    out: &mut Vec<(usize, usize)>,
) {
    out.clear();
    for &(s, e) in spans {
        let mut start = (s as usize).saturating_sub(before);
        while start > 0 && CLASS[seg[start - 1] as usize] != SPACE {
            start -= 1;
        }
        let mut end = (e as usize + after).min(seg.len());
        while end < seg.len() && CLASS[seg[end] as usize] != SPACE {
            end += 1;
        }
        match out.last_mut() {
            Some(last) if start <= last.1 => last.1 = last.1.max(end),
            _ => out.push((start, end)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prose_triggers_nothing() {
        let mut t = Triggers::default();
        lex(
            b"The committee met on Tuesday and agreed on the budget.",
            &mut t,
        );
        assert!(t.pii.is_empty() && t.dense.is_empty() && !t.non_ascii);
    }

    #[test]
    fn triggers_on_digits_mail_and_dense_tokens() {
        let mut t = Triggers::default();
        let s = b"mail bob@example.com or call 555-0182, key=ghp_abcDEF1234567890";
        lex(s, &mut t);
        let pii: Vec<&[u8]> = t
            .pii
            .iter()
            .map(|&(a, b)| &s[a as usize..b as usize])
            .collect();
        assert_eq!(
            pii,
            vec![
                &b"bob@example.com"[..],
                b"555-0182,",
                b"key=ghp_abcDEF1234567890"
            ]
        );
        assert_eq!(t.dense.len(), 2);
        let mut r = Vec::new();
        regions(s, &t.pii, 4, 4, &mut r);
        assert_eq!(r.len(), 1);
    }
}
