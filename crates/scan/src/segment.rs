//! Deterministic segmentation of a byte stream into the units every detector works within.
//!
//! A segment is a line (newline included), except that a PEM private-key block is kept whole
//! (up to [`MAX_KEY_BLOCK`] bytes), and a line longer than [`MAX_SEGMENT`] is cut at a place
//! chosen from its own content (a sentence end, a space between two lowercase words, a comma,
//! or finally a UTF-8 character boundary). Because a cut depends only on the bytes from the
//! segment's start, scanning a whole text and scanning the same text fed in arbitrary chunks
//! produce the same segments, and therefore the same findings. No detector looks across a
//! segment boundary. A stream holds back at most one segment.

use std::sync::LazyLock;

use memchr::{memchr, memmem};

/// Longest segment without a line break before a forced cut.
pub const MAX_SEGMENT: usize = 4096;
/// Longest PEM private-key block kept in one segment.
pub const MAX_KEY_BLOCK: usize = 16 * 1024;

/// Length of the next segment at the start of `buf`, or `None` if more input is needed to
/// decide (never when `eof` is true and `buf` is non-empty).
pub fn next_cut(buf: &[u8], eof: bool) -> Option<usize> {
    cut(buf, eof, true)
}

/// [`next_cut`], told whether a `-----BEGIN` marker may start within the first
/// [`MAX_SEGMENT`] bytes (when the caller knows there is none, no key block is looked for).
fn cut(buf: &[u8], eof: bool, begin_possible: bool) -> Option<usize> {
    if buf.is_empty() {
        return None;
    }
    let window = &buf[..buf.len().min(MAX_SEGMENT)];
    let line_end = memchr(b'\n', window).map(|i| i + 1);
    let first_line = &buf[..line_end.unwrap_or(window.len())];
    if line_end.is_some() || eof || buf.len() >= MAX_SEGMENT {
        if begin_possible && starts_key_block(first_line) {
            return key_block_cut(buf, eof);
        }
    } else {
        return None;
    }
    match line_end {
        Some(end) => Some(end),
        None if buf.len() <= MAX_SEGMENT && eof => Some(buf.len()),
        None => Some(forced_cut(buf)),
    }
}

static BEGIN: LazyLock<memmem::Finder<'static>> =
    LazyLock::new(|| memmem::Finder::new(b"-----BEGIN"));

fn starts_key_block(line: &[u8]) -> bool {
    memchr(b'-', line).is_some()
        && BEGIN.find(line).is_some()
        && memmem::find(line, b"PRIVATE KEY").is_some()
}

fn key_block_cut(buf: &[u8], eof: bool) -> Option<usize> {
    let limit = buf.len().min(MAX_KEY_BLOCK);
    if let Some(end_marker) = memmem::find(&buf[..limit], b"-----END") {
        return match memchr(b'\n', &buf[end_marker..limit]) {
            Some(nl) => Some(end_marker + nl + 1),
            None if eof || limit == MAX_KEY_BLOCK => Some(char_floor(buf, limit)),
            None => None,
        };
    }
    if !eof && buf.len() < MAX_KEY_BLOCK {
        return None;
    }
    // No end marker within the limit: cut at the last line break (or the limit).
    let cut = memchr::memrchr(b'\n', &buf[..limit]).map_or(limit, |i| i + 1);
    Some(char_floor(buf, cut).max(1))
}

/// Picks a cut in the first [`MAX_SEGMENT`] bytes of `buf`, which hold no line break.
fn forced_cut(buf: &[u8]) -> usize {
    let window = &buf[..MAX_SEGMENT.min(buf.len())];
    let lo = window.len() / 2;
    // 1. After a sentence end followed by a space.
    for i in (lo..window.len() - 1).rev() {
        if window[i + 1] == b' ' && matches!(window[i], b'.' | b'!' | b'?') {
            return i + 2;
        }
    }
    // 2. A space between two lowercase ASCII words.
    for i in (lo..window.len() - 1).rev() {
        if window[i] == b' '
            && window[i - 1].is_ascii_lowercase()
            && window[i + 1].is_ascii_lowercase()
        {
            return i + 1;
        }
    }
    // 3. After a structural separator.
    for i in (lo..window.len()).rev() {
        if matches!(window[i], b',' | b';' | b'}' | b'>' | b' ' | b'\t') {
            return i + 1;
        }
    }
    char_floor(buf, window.len())
}

/// The largest UTF-8 character boundary `<= at` (a cut never splits a character, unless the
/// input is not UTF-8, where any byte is a boundary after three continuation bytes).
fn char_floor(buf: &[u8], at: usize) -> usize {
    let mut i = at.min(buf.len());
    let mut steps = 0;
    while i > 0 && i < buf.len() && (buf[i] & 0xC0) == 0x80 && steps < 3 {
        i -= 1;
        steps += 1;
    }
    if i == 0 { at.min(buf.len()) } else { i }
}

/// Iterates the segments of a complete input as `(start, end)` byte ranges.
///
/// The next `-----BEGIN` marker is searched for once over the rest of the input rather than
/// line by line; the cuts are exactly [`next_cut`]'s.
pub fn segments(buf: &[u8]) -> impl Iterator<Item = (usize, usize)> + '_ {
    let mut pos = 0;
    // Offset of the next marker at or after `pos` (buf.len() when there is none).
    let mut begin = 0usize;
    std::iter::from_fn(move || {
        if begin < pos {
            begin = BEGIN.find(&buf[pos..]).map_or(buf.len(), |i| pos + i);
        }
        let possible = begin < pos + MAX_SEGMENT.min(buf.len() - pos);
        let len = cut(&buf[pos..], true, possible)?;
        let range = (pos, pos + len);
        pos += len;
        Some(range)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_key_blocks() {
        let text =
            b"a\nb\n-----BEGIN RSA PRIVATE KEY-----\nMIIB\nabc\n-----END RSA PRIVATE KEY-----\nz";
        let segs: Vec<_> = segments(text).map(|(s, e)| &text[s..e]).collect();
        assert_eq!(segs.len(), 4);
        assert!(segs[2].starts_with(b"-----BEGIN") && segs[2].ends_with(b"KEY-----\n"));
        assert_eq!(segs[3], b"z");
    }

    #[test]
    fn long_lines_cut_deterministically() {
        let sentence = "the quick brown fox jumps over the lazy dog. ";
        let text = sentence.repeat(300);
        let segs: Vec<_> = segments(text.as_bytes()).collect();
        assert!(segs.len() > 2);
        for &(s, e) in &segs {
            assert!(e - s <= MAX_SEGMENT);
            assert!(text.is_char_boundary(s) && text.is_char_boundary(e));
        }
        // Incremental decisions agree with whole-input decisions.
        let first = next_cut(&text.as_bytes()[..MAX_SEGMENT], false).unwrap();
        assert_eq!(first, segs[0].1);
        assert_eq!(next_cut(b"no newline yet", false), None);
    }

    proptest::proptest! {
        /// The whole-input iterator (one marker search ahead) cuts exactly where repeated
        /// [`next_cut`] calls do.
        #[test]
        fn segments_agree_with_next_cut(parts in proptest::collection::vec(0usize..6, 0..200)) {
            let pieces: [&[u8]; 6] = [
                b"word ",
                b"\n",
                b"-----BEGIN RSA PRIVATE KEY-----\n",
                b"-----END RSA PRIVATE KEY-----\n",
                b"key = \"-----BEGIN OPENSSH PRIVATE KEY-----\\nb3Blbn\" ",
                &[b'x'; 1500],
            ];
            let text: Vec<u8> = parts.iter().flat_map(|&i| pieces[i].iter().copied()).collect();
            let mut expected = Vec::new();
            let mut pos = 0;
            while let Some(len) = next_cut(&text[pos..], true) {
                expected.push((pos, pos + len));
                pos += len;
            }
            let got: Vec<_> = segments(&text).collect();
            proptest::prop_assert_eq!(got, expected);
        }
    }

    #[test]
    fn multibyte_text_is_never_split() {
        let text = "日本語のテキスト".repeat(400);
        for (s, e) in segments(text.as_bytes()) {
            assert!(text.is_char_boundary(s) && text.is_char_boundary(e));
        }
    }
}
