//! Person names, places, organisations and NRP groups from runs of capitalised words.
//!
//! Each run ("Dr. Mary-Ann van der Berg", "Bank of New York", "São Paulo") is looked up word by
//! word in the bundled gazetteers and scored with capitalisation and context features: a title
//! before it, a sentence start, a greeting or "name:" cue, a preposition before a place, an
//! organisation suffix at its end. No model, no I/O: a hash lookup per capitalised word.

use std::collections::HashSet;
use std::sync::LazyLock;

use foldhash::fast::RandomState;

use crate::finding::{EntityType, Finding, Validation};
use crate::gazetteer::{
    FIRST, FREQUENT, Gazetteers, LAST, NRP, ORG, PLACE, PLACE_HEAD, STOP, STREET, TITLE, WEEKDAY,
    WORD,
};

/// One capitalised word (or initial) inside a run.
struct Word {
    start: usize,
    end: usize,
    flags: u16,
    initial: bool,
    /// Lowercase form (ASCII-lowered or Unicode-lowered).
    lower: Lower,
}

const CONNECTORS: &[&[u8]] = &[
    b"of", b"de", b"del", b"della", b"der", b"den", b"van", b"von", b"da", b"di", b"du", b"la",
    b"le", b"bin", b"bint", b"al", b"el", b"y", b"&", b"and", b"the", b"dos", b"das", b"ter",
];

const PERSON_CUES: &[&str] = &[
    "dear",
    "hi",
    "hello",
    "hey",
    "thanks",
    "thank you",
    "regards",
    "sincerely",
    "name",
    "named",
    "called",
    "by",
    "from",
    "contact",
    "mr",
    "mrs",
    "ms",
    "dr",
    "patient",
    "client",
    "customer",
    "employee",
    "signed",
    "attn",
    "attention",
    "cc",
    "with",
    "author",
    "user",
    "manager",
    "ceo",
    "assigned to",
    "owner",
    "applicant",
    "tenant",
    "passenger",
    "cardholder",
    "sir",
    "madam",
];

const PLACE_CUES: &[&str] = &[
    "in",
    "from",
    "at",
    "to",
    "near",
    "of",
    "visit",
    "visited",
    "city",
    "town",
    "born in",
    "lives in",
    "based in",
    "located in",
    "moved to",
    "travel to",
    "flight to",
    "across",
];

/// Cues strong enough to call an unknown capitalised word a place.
const STRONG_PLACE_CUES: &[&str] = &[
    "in",
    "from",
    "near",
    "born in",
    "lives in",
    "live in",
    "based in",
    "located in",
    "moved to",
    "travel to",
    "flew to",
    "fly to",
    "trip to",
    "visit",
    "visited",
    "city of",
    "town of",
    "return to",
    "returned to",
    "grew up in",
    "headquartered in",
    "home city",
];

fn is_letter_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b >= 0xC0
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b >= 0x80
}

/// Reads a word starting at `i`: letters, non-ASCII, inner apostrophes and hyphens.
fn word_end(seg: &[u8], mut i: usize) -> usize {
    let n = seg.len();
    while i < n {
        let b = seg[i];
        if b.is_ascii_alphabetic() || b >= 0x80 {
            // Curly apostrophe (U+2019) is E2 80 99; keep it inside words, not at the end.
            if b == 0xE2 && seg.get(i + 1) == Some(&0x80) && seg.get(i + 2) == Some(&0x99) {
                if seg.get(i + 3).is_some_and(|&c| c.is_ascii_alphabetic()) {
                    i += 3;
                    continue;
                }
                break;
            }
            i += 1;
        } else if (b == b'\'' || b == b'-')
            && seg.get(i + 1).is_some_and(|&c| c.is_ascii_alphabetic())
            && i > 0
            && seg[i - 1].is_ascii_alphabetic()
        {
            i += 1;
        } else {
            break;
        }
    }
    i
}

fn starts_upper(seg: &[u8], i: usize) -> bool {
    let b = seg[i];
    if b.is_ascii_uppercase() {
        return true;
    }
    if b >= 0xC0 {
        let end = (i + 4).min(seg.len());
        let s = match std::str::from_utf8(&seg[i..end]) {
            Ok(s) => s,
            Err(e) => std::str::from_utf8(&seg[i..i + e.valid_up_to()]).unwrap_or(""),
        };
        return s.chars().next().is_some_and(char::is_uppercase);
    }
    false
}

/// A lowercased word or context window, inline when it is short ASCII (almost always), so
/// looking words up allocates nothing.
enum Lower {
    Inline { len: u8, buf: [u8; INLINE] },
    Heap(String),
}

const INLINE: usize = 30;

impl std::ops::Deref for Lower {
    type Target = str;
    fn deref(&self) -> &str {
        match self {
            // Only ASCII is stored inline, so this never fails.
            Lower::Inline { len, buf } => std::str::from_utf8(&buf[..*len as usize]).unwrap_or(""),
            Lower::Heap(s) => s,
        }
    }
}

impl Lower {
    /// The lowercase bytes, without re-validating them as UTF-8.
    fn bytes(&self) -> &[u8] {
        match self {
            Lower::Inline { len, buf } => &buf[..*len as usize],
            Lower::Heap(s) => s.as_bytes(),
        }
    }
}

fn lower_of(bytes: &[u8]) -> Lower {
    if bytes.len() <= INLINE && bytes.is_ascii() {
        let mut buf = [0u8; INLINE];
        for (d, s) in buf.iter_mut().zip(bytes) {
            *d = s.to_ascii_lowercase();
        }
        return Lower::Inline {
            len: bytes.len() as u8,
            buf,
        };
    }
    Lower::Heap(match std::str::from_utf8(bytes) {
        Ok(s) if s.is_ascii() => s.to_ascii_lowercase(),
        Ok(s) => s.to_lowercase(),
        Err(_) => String::from_utf8_lossy(bytes).to_lowercase(),
    })
}

/// The lowercase word immediately before `pos` (skipping spaces and punctuation other than
/// sentence ends), or `None` if a sentence boundary or the segment start comes first.
fn previous_word(seg: &[u8], pos: usize) -> Option<(Lower, bool)> {
    let mut i = pos;
    while i > 0 && matches!(seg[i - 1], b' ' | b'\t' | b'"' | b'(' | b'\'' | b',') {
        i -= 1;
    }
    if i == 0
        || matches!(
            seg[i - 1],
            b'.' | b'!' | b'?' | b':' | b';' | b'\n' | b'\r' | b'>' | b'*' | b'#' | b'-' | b'|'
        )
    {
        // A title abbreviation ("Dr.") is not a sentence end.
        if i > 1 && seg[i - 1] == b'.' {
            let mut j = i - 1;
            while j > 0 && seg[j - 1].is_ascii_alphabetic() {
                j -= 1;
            }
            let w = lower_of(&seg[j..i - 1]);
            if Gazetteers::get().flags_bytes(w.bytes()) & TITLE != 0 {
                return Some((w, true));
            }
        }
        return None;
    }
    let end = i;
    while i > 0 && is_word_byte(seg[i - 1]) {
        i -= 1;
    }
    if i == end {
        return None;
    }
    let first_upper = seg[i].is_ascii_uppercase();
    Some((lower_of(&seg[i..end]), first_upper))
}

/// A cue list as a set, with its longest entry and the set of its entries' last words.
struct Cues {
    set: HashSet<&'static str, RandomState>,
    last_words: HashSet<&'static str, RandomState>,
    longest: usize,
}

impl Cues {
    fn new(list: &[&'static str]) -> Cues {
        Cues {
            set: list.iter().copied().collect(),
            last_words: list
                .iter()
                .map(|c| c.rsplit(' ').next().unwrap_or(c))
                .collect(),
            longest: list.iter().map(|c| c.len()).max().unwrap_or(0),
        }
    }
}

static PERSON: LazyLock<Cues> = LazyLock::new(|| Cues::new(PERSON_CUES));
static PLACE_CONTEXT: LazyLock<Cues> = LazyLock::new(|| Cues::new(PLACE_CUES));
static STRONG_PLACE: LazyLock<Cues> = LazyLock::new(|| Cues::new(STRONG_PLACE_CUES));

/// The lowercase text just before a run (24 bytes back), trailing `' ,:.'` trimmed, read once
/// per run and matched against each cue list.
struct Context(Lower);

impl Context {
    fn new(seg: &[u8], pos: usize) -> Context {
        let mut lo = pos.saturating_sub(24);
        while lo < pos && (seg[lo] & 0xC0) == 0x80 {
            lo += 1;
        }
        Context(lower_of(&seg[lo..pos]))
    }

    /// True if the text ends with a cue that starts the window or follows a character that
    /// is not alphanumeric ("from", not "wherefrom").
    fn has(&self, cues: &Cues) -> bool {
        let t = self.0.trim_end_matches([' ', ',', ':', '.']);
        // Every cue is words of letters: the text's last word must end one of them.
        let last = t.rsplit(|c: char| !c.is_alphanumeric()).next().unwrap_or(t);
        if !cues.last_words.contains(last) {
            return false;
        }
        let lo = t.len().saturating_sub(cues.longest);
        (lo..t.len()).any(|p| {
            t.is_char_boundary(p)
                && t[..p]
                    .chars()
                    .next_back()
                    .is_none_or(|c| !c.is_alphanumeric())
                && cues.set.contains(&t[p..])
        })
    }
}

/// Scans the runs starting at `caps` (the lexer's capitalised-token starts, ascending).
pub(crate) fn scan(seg: &[u8], caps: &[u32], gaz: &Gazetteers, out: &mut Vec<Finding>) {
    let n = seg.len();
    let mut run: Vec<Word> = Vec::new();
    let mut consumed = 0usize;
    for &cap in caps {
        let i = cap as usize;
        if i < consumed || i >= n {
            continue;
        }
        let b = seg[i];
        if !is_letter_start(b) || (i > 0 && is_word_byte(seg[i - 1])) || !starts_upper(seg, i) {
            continue;
        }
        // Collect a run of capitalised words joined by single spaces or connectors.
        run.clear();
        let mut j = i;
        loop {
            let end = word_end(seg, j);
            if end == j {
                break;
            }
            let initial = end - j == 1 && seg.get(end) == Some(&b'.');
            let word_end_incl =
                if initial || (seg.get(end) == Some(&b'.') && is_title_abbrev(gaz, &seg[j..end])) {
                    end + 1
                } else {
                    end
                };
            let lower = lower_of(&seg[j..end]);
            let flags = word_flags(gaz, &lower);
            run.push(Word {
                start: j,
                end: word_end_incl,
                flags,
                initial,
                lower,
            });
            if run.len() >= 6 {
                break;
            }
            // Next word: skip one space; allow one connector between capitalised words.
            let mut k = word_end_incl;
            if seg.get(k) != Some(&b' ') {
                break;
            }
            k += 1;
            if k < n && !starts_upper(seg, k) {
                let cend = word_end(seg, k).max(if seg[k] == b'&' { k + 1 } else { k });
                if CONNECTORS.contains(&&seg[k..cend])
                    && seg.get(cend) == Some(&b' ')
                    && cend + 1 < n
                    && starts_upper(seg, cend + 1)
                {
                    run.push(Word {
                        start: k,
                        end: cend,
                        flags: STOP,
                        initial: false,
                        lower: lower_of(&seg[k..cend]),
                    });
                    k = cend + 1;
                } else {
                    break;
                }
            }
            if k >= n || !is_letter_start(seg[k]) || !starts_upper(seg, k) {
                break;
            }
            j = k;
        }
        // Trailing connectors are not part of the run.
        while run
            .last()
            .is_some_and(|w| w.flags == STOP && CONNECTORS.contains(&w.lower.as_bytes()))
        {
            run.pop();
        }
        let next = run.last().map_or(i + 1, |w| w.end);
        // A capitalised ordinary word in front ("Yesterday Maria Garcia", "Meeting John")
        // is not part of the name.
        let lead = run
            .iter()
            .take_while(|w| {
                (w.flags & STOP != 0 && w.flags & (PLACE_HEAD | TITLE) == 0)
                    || (w.flags & (WORD | FREQUENT) != 0
                        && w.flags & (FIRST | PLACE | PLACE_HEAD | ORG | TITLE | NRP) == 0)
            })
            .count();
        if lead > 0 && lead < run.len() {
            run.drain(..lead);
            while run
                .first()
                .is_some_and(|w| CONNECTORS.contains(&w.lower.as_bytes()))
            {
                run.remove(0);
            }
        }
        // Fast path: a lone capitalised ordinary word ("The", "License") names nothing.
        let plain = |w: &Word| {
            w.flags & (FIRST | LAST | PLACE | PLACE_HEAD | ORG | TITLE | NRP | STREET | WEEKDAY)
                == 0
                && w.flags & (WORD | FREQUENT | STOP) != 0
        };
        if run.len() == 1 && plain(&run[0]) {
            consumed = next.max(i + 1);
            continue;
        }
        if !run.is_empty() {
            classify_run(seg, gaz, &run, out);
        }
        consumed = next.max(i + 1);
    }
}

/// Flags of a word, retrying apostrophe and hyphen variants ("O’Brien", "Jean-Luc").
fn word_flags(gaz: &Gazetteers, lower: &Lower) -> u16 {
    let flags = gaz.flags_bytes(lower.bytes());
    // U+2019 is the only non-ASCII character looked for, and its UTF-8 starts with 0xE2.
    if flags != 0
        || !lower
            .bytes()
            .iter()
            .any(|&b| matches!(b, b'\'' | b'-' | 0xE2))
    {
        return flags;
    }
    let lower: &str = lower;
    if !lower.contains(['\'', '\u{2019}', '-']) {
        return flags;
    }
    let straight = lower.replace('\u{2019}', "'");
    let flags = gaz.flags(&straight) | gaz.flags(&straight.replace('\'', ""));
    if flags != 0 {
        return flags;
    }
    // Hyphenated: name-like if every part is; keep the flags all parts share.
    straight
        .split('-')
        .map(|p| gaz.flags(p) & (FIRST | LAST | PLACE))
        .reduce(|a, b| a & b)
        .unwrap_or(0)
}

fn is_title_abbrev(gaz: &Gazetteers, word: &[u8]) -> bool {
    gaz.flags_bytes(lower_of(word).bytes()) & TITLE != 0
}

fn push(
    out: &mut Vec<Finding>,
    kind: EntityType,
    start: usize,
    end: usize,
    score: f32,
    detector: &'static str,
) {
    out.push(Finding {
        kind,
        start,
        end,
        score,
        detector,
        validation: Validation::None,
    });
}

fn classify_run(seg: &[u8], gaz: &Gazetteers, run: &[Word], out: &mut Vec<Finding>) {
    let prev = previous_word(seg, run[0].start);
    let sentence_start = prev.is_none();
    let title_before = prev
        .as_ref()
        .is_some_and(|(w, _)| gaz.flags_bytes(w.bytes()) & TITLE != 0);
    let all_caps_run = run
        .iter()
        .all(|w| seg[w.start..w.end].iter().all(|b| !b.is_ascii_lowercase()));

    // Organisation: a suffix/head word ends the run ("Acme Corp", "Northwind Traders Ltd") or
    // heads it with a connector ("Bank of England", "University of Oslo").
    if run.len() >= 2 {
        let last = &run[run.len() - 1];
        let first = &run[0];
        if last.flags & ORG != 0
            || (first.flags & ORG != 0 && run.iter().any(|w| &*w.lower == "of"))
        {
            push(
                out,
                EntityType::Organization,
                first.start,
                last.end,
                0.8,
                "organization",
            );
            return;
        }
    }

    // "Harris Roads", "Ware Causeway": a capitalised run ending in a street type.
    if run.len() >= 2 && run[run.len() - 1].flags & STREET != 0 && run[0].flags & STOP == 0 {
        push(
            out,
            EntityType::StreetAddress,
            run[0].start,
            run[run.len() - 1].end,
            0.7,
            "street-name",
        );
        return;
    }
    if run.len() == 1 && run[0].flags & WEEKDAY != 0 {
        push(
            out,
            EntityType::DateTime,
            run[0].start,
            run[0].end,
            0.55,
            "weekday",
        );
        return;
    }

    let mut idx = 0;
    // A leading title: "Dr. Smith", "Mrs Jane Doe".
    let mut titled = title_before;
    if run[0].flags & TITLE != 0 && run.len() >= 2 {
        titled = true;
        idx = 1;
    }
    let words = &run[idx..];
    if words.is_empty() {
        return;
    }
    let ctx = Context::new(seg, words[0].start);

    // Places: the longest multi-word place phrase, or a single known place.
    if let Some(len) = place_phrase_len(gaz, words) {
        let start = words[0].start;
        let end = words[len - 1].end;
        let cue = ctx.has(&PLACE_CONTEXT);
        if len >= 2 || !titled {
            let single = &words[0];
            let name_like = len == 1 && single.flags & (FIRST | LAST) != 0;
            let ambiguous = len == 1 && single.flags & (WORD | FREQUENT) != 0;
            let score = match (cue, name_like, ambiguous, sentence_start) {
                (true, _, _, _) => 0.85,
                (false, false, false, _) => 0.7,
                (false, true, _, _) if words.len() == 1 => 0.0,
                (false, _, true, true) => 0.0,
                (false, _, true, false) => 0.4,
                _ => 0.5,
            };
            if score > 0.0 && (len == words.len() || !name_like) {
                push(out, EntityType::Location, start, end, score, "location");
                if len < words.len() {
                    classify_run(seg, gaz, &words[len..], out);
                }
                return;
            }
        }
    }

    // Place-shaped names, or unknown capitalised words after a place cue ("from Ericmouth",
    // "in Lake Penny").
    let cue = ctx.has(&STRONG_PLACE);
    let unknownish = words
        .iter()
        .all(|w| w.flags & (WORD | FREQUENT | STOP | ORG | NRP) == 0 || w.flags & PLACE != 0);
    if words.len() <= 3
        && unknownish
        && (place_shaped(words) || (cue && words.iter().all(|w| w.flags & FIRST == 0)))
    {
        push(
            out,
            EntityType::Location,
            words[0].start,
            words[words.len() - 1].end,
            if cue { 0.75 } else { 0.6 },
            "location",
        );
        return;
    }

    // NRP: "American", "Muslim", "Democrat", "African American".
    if words.iter().all(|w| w.flags & NRP != 0) {
        push(
            out,
            EntityType::Nrp,
            words[0].start,
            words[words.len() - 1].end,
            0.75,
            "nrp",
        );
        return;
    }

    if let Some(score) = person_score(&ctx, words, sentence_start, titled, all_caps_run) {
        let start = if titled && idx == 1 {
            run[0].start
        } else {
            words[0].start
        };
        // Keep the person span to name-like words (drop a trailing place or org word).
        let mut end_idx = words.len();
        while end_idx > 1
            && words[end_idx - 1].flags & (PLACE | NRP) != 0
            && words[end_idx - 1].flags & (FIRST | LAST) == 0
        {
            end_idx -= 1;
        }
        push(
            out,
            EntityType::Person,
            start,
            words[end_idx - 1].end,
            score,
            "person",
        );
    }
}

const PLACE_PREFIXES: &[&str] = &[
    "lake", "port", "north", "south", "east", "west", "new", "saint", "st", "mount", "mt", "fort",
    "san", "santa", "los", "las", "el", "la", "le", "bad", "great", "little", "upper", "lower",
];
const PLACE_SUFFIXES: &[&str] = &[
    "mouth", "haven", "bury", "ville", "burgh", "borough", "town", "ton", "side", "field", "land",
    "chester", "berg", "burg", "furt", "port", "stad", "dorf", "heim", "hausen", "stadt", "ford",
    "shire", "wood", "bridge", "brook", "dale", "view", "fort", "mont", "court", "bourg", "polis",
    "grad", "abad", "pur", "pura", "bad", "caster", "cester", "wick", "wich", "stead", "hampton",
];

/// A capitalised word shaped like a place name ("Ericmouth", "Nicholasbury", "Lake Penny").
fn place_shaped(words: &[Word]) -> bool {
    let last: &str = &words[words.len() - 1].lower;
    let first: &str = &words[0].lower;
    (words.len() >= 2 && PLACE_PREFIXES.contains(&first.trim_end_matches('.')))
        || (words.len() <= 2
            && PLACE_SUFFIXES
                .iter()
                .any(|s| last.len() > s.len() + 2 && last.ends_with(s)))
}

fn place_phrase_len(gaz: &Gazetteers, words: &[Word]) -> Option<usize> {
    if words[0].flags & PLACE_HEAD != 0 {
        let mut phrase = words[0].lower.to_string();
        let mut best = None;
        for (k, w) in words.iter().enumerate().skip(1).take(4) {
            phrase.push(' ');
            phrase.push_str(&w.lower);
            if gaz.is_place_phrase(&phrase) {
                best = Some(k + 1);
            }
        }
        if best.is_some() {
            return best;
        }
    }
    (words[0].flags & PLACE != 0 && words[0].flags & STOP == 0).then_some(1)
}

fn person_score(
    ctx: &Context,
    words: &[Word],
    sentence_start: bool,
    titled: bool,
    all_caps: bool,
) -> Option<f32> {
    let first = &words[0];
    if first.flags & STOP != 0 && !titled {
        return None;
    }
    let cue = ctx.has(&PERSON);
    let common = |w: &Word| w.flags & (WORD | FREQUENT) != 0;
    let namey = |w: &Word| w.flags & (FIRST | LAST) != 0 || w.initial;
    let unknown =
        |w: &Word| w.flags & (FIRST | LAST | WORD | FREQUENT | PLACE | ORG | NRP | STOP) == 0;
    let name_words = words.iter().filter(|w| namey(w)).count();
    let plain_common = words
        .iter()
        .filter(|w| common(w) && w.flags & (FIRST | LAST) == 0)
        .count();

    // Headings, table cells and acronyms ("LATIN CAPITAL LETTER", "ATM") are not names.
    if all_caps && !titled {
        return None;
    }
    if words.iter().any(|w| &*w.lower == "i") {
        return None;
    }
    if words.len() == 1 {
        let w = first;
        if titled {
            return Some(if namey(w) || unknown(w) { 0.9 } else { 0.6 });
        }
        if w.flags & FIRST != 0 && !common(w) {
            return Some(match (cue, sentence_start) {
                (true, _) => 0.85,
                (false, false) => 0.6,
                (false, true) => 0.5,
            });
        }
        if cue && (w.flags & (FIRST | LAST) != 0 || unknown(w)) && !sentence_start {
            return Some(0.6);
        }
        return None;
    }
    // Two or more words.
    if plain_common > 0 && name_words == 0 {
        return None;
    }
    if first.flags & FIRST != 0 || first.initial {
        let rest_ok = words[1..]
            .iter()
            .all(|w| namey(w) || unknown(w) || w.flags == STOP);
        if rest_ok {
            let strong = words[1..].iter().any(|w| w.flags & LAST != 0);
            let base: f32 = if strong { 0.9 } else { 0.75 };
            let penalty = if common(first) && sentence_start && !cue {
                0.25
            } else {
                0.0
            };
            return Some((base - penalty).max(0.0)).filter(|&s| s >= 0.5);
        }
        // "John Smith Street", "Mary Kay Cosmetics": a name followed by other capitalised words.
        if words.len() >= 2 && words[1].flags & LAST != 0 && !common(&words[1]) {
            return Some(0.6);
        }
        return None;
    }
    if titled && words.iter().all(|w| namey(w) || unknown(w)) {
        return Some(0.9);
    }
    // Unknown given name followed by a known surname ("Ngozi Okonjo"), or surname-comma forms.
    if words.len() <= 4
        && words.iter().all(|w| namey(w) || unknown(w))
        && words.iter().skip(1).any(|w| w.flags & LAST != 0)
    {
        return Some(if cue {
            0.8
        } else if sentence_start {
            0.5
        } else {
            0.65
        });
    }
    if cue && words.len() <= 3 && words.iter().all(|w| namey(w) || unknown(w)) {
        return Some(0.7);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cues_are_lowercase_words_so_the_last_word_check_is_exact() {
        for list in [PERSON_CUES, PLACE_CUES, STRONG_PLACE_CUES] {
            for cue in list {
                assert!(
                    cue.split(' ')
                        .all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase())),
                    "{cue:?}"
                );
            }
        }
        let ctx = Context::new(b"letter to the family from ", 26);
        assert!(ctx.has(&PLACE_CONTEXT));
        assert!(!Context::new(b"wherefrom ", 10).has(&PLACE_CONTEXT));
        assert!(Context::new(b"She grew up in ", 15).has(&STRONG_PLACE));
    }

    fn run(text: &str) -> Vec<(EntityType, String)> {
        let mut out = Vec::new();
        let mut t = crate::lexer::Triggers::default();
        crate::lexer::lex(text.as_bytes(), &mut t);
        scan(text.as_bytes(), &t.caps, Gazetteers::get(), &mut out);
        out.into_iter()
            .filter(|f| f.score >= 0.5)
            .map(|f| (f.kind, text[f.start..f.end].to_owned()))
            .collect()
    }

    #[test]
    fn people_places_orgs() {
        let found = run(
            "Yesterday Maria Garcia flew from Madrid to New York to meet Dr. Okafor at Acme Corp.",
        );
        assert!(
            found.contains(&(EntityType::Person, "Maria Garcia".into())),
            "{found:?}"
        );
        assert!(
            found.contains(&(EntityType::Location, "Madrid".into())),
            "{found:?}"
        );
        assert!(
            found.contains(&(EntityType::Location, "New York".into())),
            "{found:?}"
        );
        assert!(
            found
                .iter()
                .any(|(k, s)| *k == EntityType::Person && s.contains("Okafor")),
            "{found:?}"
        );
        assert!(
            found.contains(&(EntityType::Organization, "Acme Corp".into())),
            "{found:?}"
        );
    }

    #[test]
    fn ordinary_sentences_stay_quiet() {
        for text in [
            "The quick brown fox jumps over the lazy dog.",
            "We will review the budget in March and report back.",
            "Please see the attached report for details.",
            "This function returns None when the List is empty.",
        ] {
            let found = run(text);
            assert!(found.is_empty(), "{text}: {found:?}");
        }
    }
}
