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
    /// True if any byte is non-ASCII (drives Unicode normalisation for injection checks).
    pub non_ascii: bool,
}

impl Triggers {
    pub fn clear(&mut self) {
        self.pii.clear();
        self.dense.clear();
        self.non_ascii = false;
    }
}

/// Scans `seg` once and fills `out`.
pub(crate) fn lex(seg: &[u8], out: &mut Triggers) {
    out.clear();
    let mut i = 0;
    let n = seg.len();
    let mut all = 0u8;
    while i < n {
        // Skip whitespace.
        while i < n && CLASS[seg[i] as usize] == SPACE {
            i += 1;
        }
        if i >= n {
            break;
        }
        let start = i;
        let mut flags = 0u8;
        let mut inner_upper = false;
        let mut interior_dot = false;
        while i < n {
            let c = CLASS[seg[i] as usize];
            if c == SPACE {
                break;
            }
            if c & UPPER != 0 && i > start {
                inner_upper = true;
            }
            if c & DOT != 0 && i > start && i + 1 < n && seg[i + 1].is_ascii_alphanumeric() {
                interior_dot = true;
            }
            flags |= c;
            i += 1;
        }
        all |= flags;
        let len = i - start;
        let span = (start as u32, i as u32);
        if flags & (DIGIT | AT) != 0 || interior_dot || (flags & COLON != 0 && len > 6) {
            out.pii.push(span);
        }
        if len >= 8 && (flags & (DIGIT | SYMBOL | COLON) != 0 || inner_upper) {
            out.dense.push(span);
        }
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
