//! Bundled word lists (see `data/README.md` for sources and licences): given names, surnames,
//! places, nationality/religious/political groups, organisation suffixes, street types,
//! titles, dictionary words and the public suffix list. Loaded once into one hash map of
//! lowercase word → flags.

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use foldhash::fast::RandomState;

pub(crate) const FIRST: u16 = 1;
pub(crate) const LAST: u16 = 1 << 1;
pub(crate) const CITY: u16 = 1 << 2;
pub(crate) const REGION: u16 = 1 << 3;
pub(crate) const COUNTRY: u16 = 1 << 4;
pub(crate) const NRP: u16 = 1 << 5;
pub(crate) const ORG: u16 = 1 << 6;
pub(crate) const TITLE: u16 = 1 << 7;
/// An ordinary lowercase dictionary word ("will", "mark", "reading").
pub(crate) const WORD: u16 = 1 << 8;
/// Among the most frequent words of English (rank < 3000).
pub(crate) const FREQUENT: u16 = 1 << 9;
/// First word of a multi-word place name ("new" of "new york").
pub(crate) const PLACE_HEAD: u16 = 1 << 10;
/// Month and weekday names, pronouns and similar capitalised non-entities.
pub(crate) const STOP: u16 = 1 << 11;
/// A street type ("road", "avenue", "causeway").
pub(crate) const STREET: u16 = 1 << 12;
/// A day of the week.
pub(crate) const WEEKDAY: u16 = 1 << 13;
pub(crate) const PLACE: u16 = CITY | REGION | COUNTRY;

const FIRST_NAMES: &str = include_str!("../data/first_names.txt");
const LAST_NAMES: &str = include_str!("../data/last_names.txt");
const CITIES: &str = include_str!("../data/cities.txt");
const REGIONS: &str = include_str!("../data/regions.txt");
const COUNTRIES: &str = include_str!("../data/countries.txt");
const NRP_WORDS: &str = include_str!("../data/nrp.txt");
const ORG_SUFFIXES: &str = include_str!("../data/org_suffixes.txt");
const TITLES: &str = include_str!("../data/titles.txt");
const COMMON_WORDS: &str = include_str!("../data/common_words.txt");
const DICTIONARY: &str = include_str!("../data/dictionary_words.txt");
const STREET_SUFFIXES: &str = include_str!("../data/street_suffixes.txt");
const PUBLIC_SUFFIXES: &str = include_str!("../data/public_suffixes.txt");

const STOPWORDS: &[&str] = &[
    "i",
    "i'm",
    "i've",
    "i'll",
    "i'd",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
    "god",
    "ok",
    "okay",
    "yes",
    "no",
    "hi",
    "hello",
    "dear",
    "thanks",
    "thank",
    "regards",
    "best",
    "cheers",
    "sincerely",
    "please",
    "note",
    "re",
    "fw",
    "fwd",
    "subject",
    "from",
    "to",
    "cc",
    "date",
    "sent",
    "the",
    "a",
    "an",
    "and",
    "or",
    "but",
    "if",
    "when",
    "this",
    "that",
    "these",
    "those",
    "he",
    "she",
    "we",
    "you",
    "they",
    "it",
    "my",
    "our",
    "your",
    "his",
    "her",
    "their",
    "its",
    "mr",
    "mrs",
    "ms",
    "dr",
    "street",
    "road",
    "avenue",
    "north",
    "south",
    "east",
    "west",
    "new",
    "old",
    "st",
    "mt",
];

const US_STATE_CODES: &[&str] = &[
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "FL", "GA", "HI", "ID", "IL", "IN", "IA", "KS",
    "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM", "NY",
    "NC", "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT", "VA", "WA", "WV",
    "WI", "WY", "DC", "PR", "GU", "VI", "AS", "MP", "AA", "AE", "AP",
];

/// The loaded lists.
pub(crate) struct Gazetteers {
    /// Keyed by bytes, so callers holding a lowercased byte buffer need not re-validate it.
    words: HashMap<&'static [u8], u16, RandomState>,
    /// Multi-word place names, lowercase, single-spaced.
    places: HashSet<&'static str, RandomState>,
    suffixes: HashSet<&'static str, RandomState>,
    street_suffixes: Vec<&'static str>,
}

static GAZETTEERS: LazyLock<Gazetteers> = LazyLock::new(Gazetteers::build);

fn lines(s: &'static str) -> impl Iterator<Item = &'static str> {
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
}

impl Gazetteers {
    pub fn get() -> &'static Gazetteers {
        &GAZETTEERS
    }

    fn build() -> Gazetteers {
        let mut words: HashMap<&'static [u8], u16, RandomState> =
            HashMap::with_capacity_and_hasher(400_000, RandomState::default());
        let mut places = HashSet::with_hasher(RandomState::default());
        let mut add =
            |list: &'static str, flag: u16, places: &mut HashSet<&'static str, RandomState>| {
                for entry in lines(list) {
                    if flag & PLACE != 0 && entry.contains(' ') {
                        places.insert(entry);
                        if let Some(head) = entry.split(' ').next() {
                            *words.entry(head.as_bytes()).or_default() |= PLACE_HEAD;
                        }
                    } else {
                        *words.entry(entry.as_bytes()).or_default() |= flag;
                    }
                }
            };
        add(FIRST_NAMES, FIRST, &mut places);
        add(LAST_NAMES, LAST, &mut places);
        add(CITIES, CITY, &mut places);
        add(REGIONS, REGION, &mut places);
        add(COUNTRIES, COUNTRY, &mut places);
        add(TITLES, TITLE, &mut places);
        add(DICTIONARY, WORD, &mut places);
        for entry in lines(NRP_WORDS) {
            *words.entry(entry.as_bytes()).or_default() |= NRP;
        }
        for entry in lines(ORG_SUFFIXES) {
            *words
                .entry(entry.trim_end_matches('.').as_bytes())
                .or_default() |= ORG;
        }
        for entry in lines(COMMON_WORDS).take(3000) {
            *words.entry(entry.as_bytes()).or_default() |= FREQUENT;
        }
        for w in STOPWORDS {
            *words.entry(w.as_bytes()).or_default() |= STOP;
        }
        for w in [
            "monday",
            "tuesday",
            "wednesday",
            "thursday",
            "friday",
            "saturday",
            "sunday",
        ] {
            *words.entry(w.as_bytes()).or_default() |= WEEKDAY;
        }
        for w in lines(STREET_SUFFIXES) {
            if w.len() > 3 {
                *words.entry(w.as_bytes()).or_default() |= STREET;
            }
        }
        let suffixes = lines(PUBLIC_SUFFIXES)
            .filter(|l| !l.starts_with('!') && !l.starts_with('*'))
            .collect();
        let mut street_suffixes: Vec<&'static str> =
            lines(STREET_SUFFIXES).filter(|s| s.is_ascii()).collect();
        street_suffixes.sort_by_key(|s| std::cmp::Reverse(s.len()));
        street_suffixes.dedup();
        Gazetteers {
            words,
            places,
            suffixes,
            street_suffixes,
        }
    }

    /// Flags of a lowercase word (0 if unknown).
    pub fn flags(&self, lower: &str) -> u16 {
        self.flags_bytes(lower.as_bytes())
    }

    /// [`Gazetteers::flags`] of a lowercased word given as bytes.
    pub fn flags_bytes(&self, lower: &[u8]) -> u16 {
        self.words.get(lower).copied().unwrap_or(0)
    }

    /// True if `lower` ("new york") is a multi-word place name.
    pub fn is_place_phrase(&self, lower: &str) -> bool {
        self.places.contains(lower)
    }

    /// True if the domain ends in a public suffix with at least one label before it.
    pub fn is_public_suffix_domain(&self, domain: &str) -> bool {
        let domain = domain.trim_end_matches('.').to_ascii_lowercase();
        let mut rest = domain.as_str();
        // Walk from the longest candidate suffix to the shortest.
        while let Some(dot) = rest.find('.') {
            let suffix = &rest[dot + 1..];
            if self.suffixes.contains(suffix) {
                return !rest[..dot].is_empty();
            }
            rest = suffix;
        }
        false
    }

    pub fn is_us_state_code(&self, code: &[u8]) -> bool {
        US_STATE_CODES.iter().any(|c| c.as_bytes() == code)
    }

    /// A regex alternation of street-type words, longest first, dots escaped.
    pub fn street_suffix_alternation(&self) -> String {
        let mut out = String::new();
        for (i, s) in self.street_suffixes.iter().enumerate() {
            if i > 0 {
                out.push('|');
            }
            for ch in s.chars() {
                if !ch.is_ascii_alphanumeric() && ch != ' ' {
                    out.push('\\');
                }
                out.push(ch);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_load_and_answer() {
        let g = Gazetteers::get();
        assert!(g.flags("john") & FIRST != 0);
        assert!(g.flags("smith") & LAST != 0);
        assert!(g.flags("london") & CITY != 0);
        assert!(g.is_place_phrase("new york"));
        assert!(g.flags("will") & WORD != 0);
        assert!(g.is_public_suffix_domain("example.co.uk"));
        assert!(g.is_public_suffix_domain("mail.example.com"));
        assert!(!g.is_public_suffix_domain("host.invalidtld"));
        assert!(!g.is_public_suffix_domain("com"));
        assert!(g.street_suffix_alternation().contains("street"));
    }
}
