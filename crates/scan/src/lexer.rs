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

/// `CLASS` plus two bits: an ASCII letter, and a symbol secret values are built from.
const LETTER: u16 = 1 << 8;
const STRONG: u16 = 1 << 9;

static CORE: [u16; 256] = {
    let mut t = [0u16; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        let mut v = CLASS[i] as u16;
        if b.is_ascii_alphabetic() {
            v |= LETTER;
        }
        if matches!(
            b,
            b'_' | b'=' | b'+' | b'/' | b':' | b'@' | b'$' | b'%' | b'|'
        ) {
            v |= STRONG;
        }
        t[i] = v;
        i += 1;
    }
    t
};

/// A dot with an ASCII letter or digit on both sides ("example.com", "e.g").
fn has_interior_dot(core: &[u8]) -> bool {
    core.windows(3)
        .any(|w| w[1] == b'.' && w[0].is_ascii_alphanumeric() && w[2].is_ascii_alphanumeric())
}

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
    non_ascii_in_tokens: bool,
}

impl Triggers {
    pub fn clear(&mut self) {
        self.pii.clear();
        self.dense.clear();
        self.caps.clear();
        self.non_ascii = false;
        self.non_ascii_in_tokens = false;
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

/// Whitespace, as the lexer splits tokens.
#[inline(always)]
fn is_space(b: u8) -> bool {
    b == b' ' || (b'\t'..=b'\r').contains(&b)
}

/// Bytes that end a token without changing what it triggers when a letter comes before them
/// and whitespace after ("word," "word." "word)"); `:` is not among them (it makes the next
/// token a value).
#[inline(always)]
fn is_trailing_punct(b: u8) -> bool {
    matches!(
        b,
        b',' | b'.' | b';' | b'!' | b'?' | b')' | b'"' | b'\'' | b']' | b'}' | b'>' | b'`' | b'*'
    )
}

/// Bytes worth a look, eight at a time: bit 7 of each byte of the result is set where the
/// byte is ASCII punctuation, a digit or a capital (0x21..=0x60), 0x7B..=0x7F, or non-ASCII.
/// Lowercase letters, whitespace and control bytes, most of any text, are skipped.
#[inline(always)]
fn interesting(x: u64) -> u64 {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let y = x & LOW7;
    // Adding 0x80 - n to a 7-bit byte sets its bit 7 exactly when it is >= n (no carries).
    let ge_21 = y.wrapping_add(0x5f5f_5f5f_5f5f_5f5f);
    let ge_61 = y.wrapping_add(0x1f1f_1f1f_1f1f_1f1f);
    let ge_7b = y.wrapping_add(0x0505_0505_0505_0505);
    (x | (ge_21 & !ge_61) | ge_7b) & HIGH
}

/// Scans `seg` once and fills `out`.
///
/// Only the bytes [`interesting`] picks are looked at one by one: a capital or non-ASCII
/// letter starting a word is a name candidate; punctuation closing a word ("word," "word.")
/// changes nothing; anything else makes its token worth examining ([`token`]). The result is
/// exactly that of examining every token: a plain word triggers nothing and ends any pending
/// assignment, and the token after an assignment is always examined.
pub(crate) fn lex(seg: &[u8], out: &mut Triggers) {
    out.clear();
    let n = seg.len();
    // Tokens before this offset have been examined.
    let mut resume = 0usize;
    let mut high = false;
    let mut base = 0usize;
    while base < n {
        let len = (n - base).min(8);
        let word = match seg.get(base..base + 8) {
            Some(w) => u64::from_le_bytes(w.try_into().unwrap_or_default()),
            None => {
                let mut w = [0u8; 8];
                w[..len].copy_from_slice(&seg[base..]);
                u64::from_le_bytes(w)
            }
        };
        let mut mask = interesting(word);
        while mask != 0 {
            let at = base + (mask.trailing_zeros() / 8) as usize;
            mask &= mask - 1;
            if at < resume {
                continue;
            }
            let b = seg[at];
            let starts = at == 0 || is_space(seg[at - 1]);
            if b >= 0x80 {
                high = true;
                if b >= 0xC0 && starts {
                    out.caps.push(at as u32);
                }
                continue;
            }
            if b.is_ascii_uppercase() && starts {
                out.caps.push(at as u32);
                continue;
            }
            if is_trailing_punct(b)
                && !starts
                && seg.get(at + 1).is_none_or(|&c| is_space(c))
                && (seg[at - 1].is_ascii_alphabetic() || seg[at - 1] >= 0x80)
            {
                continue;
            }
            let mut start = at;
            while start > 0 && !is_space(seg[start - 1]) {
                start -= 1;
            }
            let mut end = at + 1;
            while end < n && !is_space(seg[end]) {
                end += 1;
            }
            let mut assign = token(seg, start, end, false, out);
            // The token after an assignment is examined whatever it is.
            while assign {
                let mut s2 = end;
                while s2 < n && is_space(seg[s2]) {
                    s2 += 1;
                }
                if s2 >= n {
                    break;
                }
                let mut e2 = s2 + 1;
                while e2 < n && !is_space(seg[e2]) {
                    e2 += 1;
                }
                assign = token(seg, s2, e2, true, out);
                end = e2;
            }
            resume = end;
        }
        base += len;
    }
    // Non-ASCII bytes inside examined tokens were skipped above.
    out.non_ascii = high || out.non_ascii_in_tokens;
}

/// Examines one token `seg[start..end]`: pushes its PII / dense trigger spans and returns
/// whether it is an assignment (which makes the next token a value).
fn token(seg: &[u8], start: usize, end: usize, assign_pending: bool, out: &mut Triggers) -> bool {
    let first = CLASS[seg[start] as usize];
    let mut inner = 0u8;
    for &b in &seg[start + 1..end] {
        inner |= CLASS[b as usize];
    }
    if (first | inner) & HIGH != 0 {
        out.non_ascii_in_tokens = true;
    }
    let b0 = seg[start];
    let cap = if b0.is_ascii_uppercase() || b0 >= 0xC0 {
        Some(start as u32)
    } else if end - start > 1 && first & SYMBOL != 0 {
        let b1 = seg[start + 1];
        (b1.is_ascii_uppercase() || b1 >= 0xC0).then_some(start as u32 + 1)
    } else {
        None
    };
    if let Some(cap) = cap
        && out.caps.last() != Some(&cap)
    {
        out.caps.push(cap);
    }
    // Plain words (letters only, or a capital then letters) trigger nothing else.
    if (inner & !HIGH) == 0 && (first & !(UPPER | HIGH)) == 0 {
        return false;
    }
    let mut core = &seg[start..end];
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
    let span = (start as u32, end as u32);
    let assign = matches!(core, b"=" | b":" | b"=>" | b":=" | b"->")
        || seg[end - 1] == b'='
        || seg[end - 1] == b':';
    // One pass over the core: classes, letters and the symbols secrets are made of.
    let mut cf = 0u16;
    for &b in core {
        cf |= CORE[b as usize];
    }
    let interior_dot = cf & DOT as u16 != 0 && has_interior_dot(core);
    let cf8 = cf as u8;
    let len = core.len();
    let has_digit = cf8 & DIGIT != 0;
    let has_letter = cf & LETTER != 0;
    let strong_symbol = cf & STRONG != 0;
    let cf = cf8;
    if has_digit || cf & AT != 0 || interior_dot || (cf & COLON != 0 && len > 6) {
        out.pii.push(span);
    }
    let dense = (len >= 8 && has_digit && has_letter)
        || (len >= 10 && strong_symbol)
        || (len >= 16 && (inner & UPPER) != 0)
        || (assign_pending && len >= 6)
        || core.starts_with(b"-----")
        || (assign && len >= 8 && cf & (SYMBOL | COLON) != 0 && len > 10);
    if dense {
        out.dense.push(span);
    }
    assign
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
    use proptest::prelude::*;

    /// The straightforward lexer the fast one must agree with, token for token.
    pub(super) fn reference_lex(seg: &[u8], out: &mut Triggers) {
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

    fn same(a: &Triggers, b: &Triggers) -> bool {
        a.pii == b.pii && a.dense == b.dense && a.caps == b.caps && a.non_ascii == b.non_ascii
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1500))]
        #[test]
        fn agrees_with_the_reference(
            parts in proptest::collection::vec(
                prop_oneof![
                    Just(" "), Just("  "), Just("\t"), Just("a"), Just("word"), Just("Word"),
                    Just("E"), Just("."), Just(","), Just(":"), Just("="), Just("=>"), Just("->"),
                    Just("("), Just(")"), Just("\""), Just("'"), Just("-----"), Just("-"),
                    Just("_"), Just("@"), Just("7"), Just("2024"), Just("é"), Just("\u{2019}"),
                    Just("ABCDEFGHIJKLMNOPQ"), Just("/"), Just("$"), Just("%"), Just("|"),
                    Just("+"), Just("x.y"), Just("e.g."), Just("secretvalue12"),
                ],
                0..90,
            )
        ) {
            let text: String = parts.concat();
            let (mut a, mut b) = (Triggers::default(), Triggers::default());
            lex(text.as_bytes(), &mut a);
            reference_lex(text.as_bytes(), &mut b);
            prop_assert!(same(&a, &b), "{text:?}");
        }
    }

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
