//! Structured PII: candidate patterns (linear-time regexes) confirmed by validators and
//! context words. Covers contact data (email, phone, URL, IP, MAC), payment data (cards, IBAN,
//! routing and account numbers), national identifiers (US, UK, EU, APAC), wallets, dates,
//! ages and street addresses.

use std::net::{Ipv4Addr, Ipv6Addr};

use regex_automata::meta::Regex;
use regex_automata::{Input, PatternSet};

use crate::finding::{EntityType, Finding, Validation};
use crate::gazetteer::Gazetteers;
use crate::validate as v;
use crate::{ScanError, build_regex, build_set};

/// What a candidate check may conclude.
struct Verdict {
    score: f32,
    validation: Validation,
    /// Bytes to trim from the match's end (IBAN over-reach, trailing punctuation).
    trim_end: usize,
    /// Bytes to skip at the match's start (AGE reports only the number).
    trim_start: usize,
}

impl Verdict {
    fn valid(score: f32) -> Option<Verdict> {
        Some(Verdict {
            score,
            validation: Validation::Valid,
            trim_end: 0,
            trim_start: 0,
        })
    }
    fn plain(score: f32) -> Option<Verdict> {
        Some(Verdict {
            score,
            validation: Validation::None,
            trim_end: 0,
            trim_start: 0,
        })
    }
    fn invalid(score: f32) -> Option<Verdict> {
        Some(Verdict {
            score,
            validation: Validation::Invalid,
            trim_end: 0,
            trim_start: 0,
        })
    }
}

/// The view a check gets: the matched bytes and the whole segment for context.
struct Candidate<'a> {
    seg: &'a [u8],
    start: usize,
    end: usize,
    gaz: &'a Gazetteers,
}

impl Candidate<'_> {
    fn text(&self) -> &[u8] {
        &self.seg[self.start..self.end]
    }

    fn before(&self) -> u8 {
        if self.start == 0 {
            b' '
        } else {
            self.seg[self.start - 1]
        }
    }

    fn after(&self) -> u8 {
        self.seg.get(self.end).copied().unwrap_or(b' ')
    }

    /// True if any of `words` (lowercase ASCII) appears within `reach` bytes before the match
    /// (or just after it), ignoring case.
    fn context(&self, words: &[&str], reach: usize) -> bool {
        let lo = self.start.saturating_sub(reach);
        let hi = (self.end + 24).min(self.seg.len());
        let hay = &self.seg[lo..hi];
        words
            .iter()
            .any(|w| contains_ignore_case(hay, w.as_bytes()))
    }
}

pub(crate) fn contains_ignore_case(hay: &[u8], needle: &[u8]) -> bool {
    if needle.is_empty() || hay.len() < needle.len() {
        return false;
    }
    hay.windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle))
}

type Check = fn(&Candidate<'_>) -> Option<Verdict>;

struct Pattern {
    kind: EntityType,
    detector: &'static str,
    regex: String,
    check: Check,
}

fn p(kind: EntityType, detector: &'static str, regex: &str, check: Check) -> Pattern {
    Pattern {
        kind,
        detector,
        regex: regex.to_owned(),
        check,
    }
}

/// Compiled structured-PII patterns.
pub(crate) struct PiiDetector {
    set: Regex,
    each: Vec<Regex>,
    meta: Vec<(EntityType, &'static str, Check)>,
}

const MONTHS: &str = "jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec|january|february|march|april|june|july|august|september|october|november|december";

impl PiiDetector {
    pub fn new(gaz: &Gazetteers) -> Result<Self, ScanError> {
        use EntityType::*;
        let suffixes = gaz.street_suffix_alternation();
        let mut pats = vec![
            p(
                EmailAddress,
                "email",
                r"[A-Za-z0-9][A-Za-z0-9._%+\-]*@[A-Za-z0-9][A-Za-z0-9\-]*(?:\.[A-Za-z0-9][A-Za-z0-9\-]*)+",
                check_email,
            ),
            p(
                Url,
                "url",
                r"(?i)\b(?:https?|ftp|sftp|wss?)://[^\s<>\x22'`]+",
                check_url,
            ),
            p(
                Url,
                "url",
                r"(?i)\bwww\.[a-z0-9\-]+(?:\.[a-z0-9\-]+)+[^\s<>\x22'`]*",
                check_url,
            ),
            p(
                Url,
                "domain",
                r"(?i)\b[a-z0-9][a-z0-9\-]+(?:\.[a-z0-9\-]+)*\.(?:com|org|net|edu|gov|io|co|biz|info|dev|app|ai)\b(?:/[^\s<>\x22'`]*)?",
                check_domain,
            ),
            p(
                PhoneNumber,
                "phone",
                r"(?:\+|\b00)?(?:\d{1,4}[\s.\-]?)?(?:\(\d{1,5}\)[\s.\-]?)?\d[\d\s.\-]{4,16}\d(?:\s?(?:x|ext\.?|extension)\s?\d{1,6})?",
                check_phone,
            ),
            p(
                PhoneNumber,
                "phone",
                r"\(\d{2,5}\)\s?\d[\d\s.\-]{3,12}\d(?:\s?(?:x|ext\.?)\s?\d{1,6})?",
                check_phone,
            ),
            p(
                CreditCard,
                "credit-card",
                r"\b(?:\d[ \-]?){11,18}\d\b",
                check_card,
            ),
            p(
                IbanCode,
                "iban",
                r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9])+\b",
                check_iban,
            ),
            p(
                UsSsn,
                "us-ssn",
                r"\b\d{3}[ \-.]\d{2}[ \-.]\d{4}\b|\b\d{9}\b",
                check_ssn,
            ),
            p(
                UsItin,
                "us-itin",
                r"\b9\d{2}[ \-]?[5-9]\d[ \-]?\d{4}\b",
                check_itin,
            ),
            p(AbaRouting, "aba-routing", r"\b\d{9}\b", check_aba),
            p(UsBankNumber, "us-bank-number", r"\b\d{8,17}\b", check_bank),
            p(
                UsDriverLicense,
                "us-driver-license",
                r"\b(?:[A-Z]\d{3,14}|[A-Z]{2}\d{5,7}|\d{7,9}|[A-Z]\d{3}-\d{4}-\d{4}|[A-Z]-?\d{3}-\d{3}-\d{3}-\d{3})\b",
                check_driver_license,
            ),
            p(
                UsPassport,
                "us-passport",
                r"\b[A-Z]?\d{8,9}\b",
                check_passport,
            ),
            p(MedicalLicense, "us-dea", r"\b[A-Za-z]{2}\d{7}\b", check_dea),
            p(
                UkNhs,
                "uk-nhs",
                r"\b\d{3}[ \-]?\d{3}[ \-]?\d{4}\b",
                check_nhs,
            ),
            p(
                UkNino,
                "uk-nino",
                r"\b[A-Z]{2} ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b",
                check_nino,
            ),
            p(
                IpAddress,
                "ipv4",
                r"\b(?:\d{1,3}\.){3}\d{1,3}\b(?:/\d{1,2}\b)?",
                check_ipv4,
            ),
            p(
                IpAddress,
                "ipv6",
                r"(?i)(?:[0-9a-f]{1,4}:){1,7}(?::|[0-9a-f]{1,4})(?::[0-9a-f]{1,4}){0,6}(?:(?:\.\d{1,3}){3})?|(?i)::(?:[0-9a-f]{1,4}:){0,5}[0-9a-f]{1,4}",
                check_ipv6,
            ),
            p(
                MacAddress,
                "mac",
                r"(?i)\b[0-9a-f]{2}(?:[:\-][0-9a-f]{2}){5}\b",
                check_mac,
            ),
            p(
                Crypto,
                "btc-base58",
                r"\b[13][1-9A-HJ-NP-Za-km-z]+\b",
                check_btc58,
            ),
            p(
                Crypto,
                "btc-bech32",
                r"(?i)\b(?:bc1|tb1)[02-9ac-hj-np-z]+\b",
                check_bech32,
            ),
            p(Crypto, "eth", r"\b0x[0-9a-fA-F]{40}\b", check_eth),
            p(EsNif, "es-nif", r"\b\d{8}-?[A-Z]\b", check_es_nif),
            p(EsNie, "es-nie", r"\b[XYZ]-?\d{7}-?[A-Z]\b", check_es_nie),
            p(
                ItFiscalCode,
                "it-fiscal-code",
                r"\b[A-Z]{6}\d{2}[A-EHLMPR-T]\d{2}[A-Z]\d{3}[A-Z]\b",
                check_it_fiscal,
            ),
            p(ItVatCode, "it-vat", r"\b\d{11}\b", check_it_vat),
            p(PlPesel, "pl-pesel", r"\b\d{11}\b", check_pesel),
            p(
                FiPersonalIdentityCode,
                "fi-pic",
                r"\b\d{6}[+\-A-FU-Y]\d{3}[0-9A-Y]\b",
                check_fi,
            ),
            p(
                SgNricFin,
                "sg-nric",
                r"\b[STFGM]\d{7}[A-Z]\b",
                check_sg_nric,
            ),
            p(
                SgUen,
                "sg-uen",
                r"\b(?:\d{8}[A-Z]|\d{9}[A-Z]|[TSR]\d{2}[A-Z]{2}\d{4}[A-Z])\b",
                check_sg_uen,
            ),
            p(
                AuAbn,
                "au-abn",
                r"\b\d{2} ?\d{3} ?\d{3} ?\d{3}\b",
                check_abn,
            ),
            p(AuAcn, "au-acn", r"\b\d{3} ?\d{3} ?\d{3}\b", check_acn),
            p(AuTfn, "au-tfn", r"\b\d{3} ?\d{3} ?\d{3}\b", check_tfn),
            p(
                AuMedicare,
                "au-medicare",
                r"\b[2-6]\d{3} ?\d{5} ?\d{1,2}\b",
                check_medicare,
            ),
            p(
                InPan,
                "in-pan",
                r"\b[A-Z]{3}[ABCFGHLJPT][A-Z]\d{4}[A-Z]\b",
                check_pan,
            ),
            p(
                InAadhaar,
                "in-aadhaar",
                r"\b[2-9]\d{3} ?\d{4} ?\d{4}\b",
                check_aadhaar,
            ),
            p(
                InVehicleRegistration,
                "in-vehicle",
                r"\b[A-Z]{2}[ \-]?\d{1,2}[ \-]?[A-Z]{1,3}[ \-]?\d{4}\b",
                check_in_vehicle,
            ),
            p(InVoter, "in-voter", r"\b[A-Z]{3}\d{7}\b", check_in_voter),
            p(
                InPassport,
                "in-passport",
                r"\b[A-Z][1-9]\d ?\d{4}[1-9]\b",
                check_in_passport,
            ),
            p(KrRrn, "kr-rrn", r"\b\d{6}-?\d{7}\b", check_kr_rrn),
            p(
                ThTnin,
                "th-tnin",
                r"\b\d[ \-]?\d{4}[ \-]?\d{5}[ \-]?\d{2}[ \-]?\d\b",
                check_th,
            ),
            p(
                DateTime,
                "date-iso",
                r"\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+\-]\d{2}:?\d{2})?)?\b",
                check_date_iso,
            ),
            p(
                DateTime,
                "date-numeric",
                r"\b\d{1,2}[/.\-]\d{1,2}[/.\-](?:\d{4}|\d{2})\b",
                check_date_numeric,
            ),
            p(
                DateTime,
                "date-text",
                &format!(
                    r"(?i)\b(?:(?:mon|tues?|wed(?:nes)?|thu(?:rs)?|fri|sat(?:ur)?|sun)(?:day)?,?\s+)?(?:{MONTHS})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?\b"
                ),
                check_date_text,
            ),
            p(
                DateTime,
                "date-text",
                &format!(
                    r"(?i)\b\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?(?:{MONTHS})\.?,?(?:\s+\d{{4}})?\b"
                ),
                check_date_text,
            ),
            p(
                DateTime,
                "date-text",
                &format!(r"(?i)\b(?:{MONTHS})\.?,?\s+\d{{4}}\b"),
                check_date_text,
            ),
            p(
                DateTime,
                "time",
                r"(?i)\b\d{1,2}:\d{2}(?::\d{2})?(?:\s?(?:am|pm|a\.m\.|p\.m\.))?(?:\s?(?:utc|gmt|[ecmp][sd]t))?\b|\b\d{1,2}\s?(?:am|pm|a\.m\.|p\.m\.)",
                check_time,
            ),
            p(
                Age,
                "age",
                r"(?i)\b(?:aged|age|age:|age\s+of|age\s+is|ages)\s*\d{1,3}\b",
                check_age_prefix,
            ),
            p(
                Age,
                "age",
                r"(?i)\b\d{1,3}(?:\s*|-)(?:years?|yrs?|yo|y/o|y\.o\.)(?:(?:\s+|-)old\b|\b)",
                check_age_suffix,
            ),
            p(
                StreetAddress,
                "street-address",
                &format!(
                    r"\b\d{{1,6}}[A-Za-z]?(?:-\d{{1,4}})?,?\s+(?:(?:[NSEW]\.?|North|South|East|West|N\.?[EW]\.?|S\.?[EW]\.?)\s+)?(?:(?:[A-Z][A-Za-z'\-]*\.?|\d{{1,3}}(?:st|nd|rd|th)|de|la|del|of|the|du|von|van)\s+){{1,5}}(?i:{suffixes})\b\.?(?:\s+(?:[NSEW]|N[EW]|S[EW])\b)?(?:,?\s+(?i:apt|apartment|suite|ste|unit|room|rm|floor|fl|bldg|building|flat|#)\.?\s*#?[A-Za-z0-9\-]{{1,6}})?(?:,?\s+[A-Z][A-Za-z'\-]+(?:\s+[A-Z][A-Za-z'\-]+){{0,3}},?\s+(?:[A-Z]{{2}}\s+)?\d{{5}}(?:-\d{{4}})?\b)?"
                ),
                check_address,
            ),
            p(
                StreetAddress,
                "street-address",
                r"\b[A-Z][A-Za-z'\-]+(?:\s+[A-Z][A-Za-z'\-]+){0,3},\s+[A-Z]{2}\s+\d{5}(?:-\d{4})?\b",
                check_city_state_zip,
            ),
            p(
                StreetAddress,
                "street-address",
                r"(?i)\bp\.?\s?o\.?\s+box\s+\d{1,6}\b",
                check_address,
            ),
            p(
                StreetAddress,
                "street-address",
                r"\b[A-Z][^\s\d,]+(?:stra(?:ss|\xC3\x9F)e|str\.|weg|gasse|platz|allee|damm|ring|straat|laan|gracht|plein|gatan|vej|veien)\s+\d{1,4}[a-z]?\b",
                check_address,
            ),
            p(
                StreetAddress,
                "street-address",
                r"(?i)\b\d{1,4}(?:\s?(?:bis|ter))?,?\s+(?:rue|avenue|boulevard|bd|place|chemin|all\xC3\xA9e|allee|impasse|quai|route|cours)\s+(?:[^\s,\d]+\s+){0,4}[^\s,\d]+",
                check_address,
            ),
            p(
                StreetAddress,
                "street-address",
                r"\b(?:Calle|C/|Avenida|Avda\.|Paseo|Plaza|Carrer|Rua|Via|Viale|Piazza|Corso|Vicolo|Largo)\s+(?:[^\s,\d]+\s+){0,5}[^\s,\d]+,?\s+\d{1,4}[a-zA-Z]?\b",
                check_address,
            ),
            p(
                StreetAddress,
                "street-address",
                r"\b[A-Z]{1,2}\d[A-Z\d]? ?\d[ABD-HJLNP-UW-Z]{2}\b",
                check_uk_postcode,
            ),
            p(
                StreetAddress,
                "street-address",
                r"(?i)\b(?:ul\.|al\.|aleja|pl\.|plac|os\.|alameda|rambla|camino|ronda|traves\xC3\xADa|travesia|ca\xC3\xB1ada|urbanizaci\xC3\xB3n|glorieta|paseo|avenida|avda\.|calle|c/|chemin|rue|avenue|boulevard|via|viale|piazza|corso|largo|rua|travessa|strada|vicolo)\s+(?:[^\s,\d]+\s+){0,5}\d{1,5}(?:[/\-]\d{1,4})?[a-zA-Z]?\b",
                check_address,
            ),
            p(
                StreetAddress,
                "street-address",
                r"\b[A-Z\xC3-\xC5][^\s\d,]*(?i:stra(?:ss|\xC3\x9F)e|str\.|weg|gasse|platz|allee|damm|ring|straat|laan|gracht|plein|gatan|vej|veien|hof|dreef|kade|singel|steeg|markt|dijk)\s+\d{1,4}(?:[/\-]\d{1,4})?[a-z]?\b",
                check_address,
            ),
            p(
                StreetAddress,
                "postal-code",
                r"\b(?:\d{5}|\d{4} ?[A-Z]{2}|\d{2}-\d{3})\s+[A-Z\xC3-\xC5][^\s\d,.;:]+(?:[ \-][A-Z][^\s\d,.;:]+){0,2}",
                check_postal_city,
            ),
            p(
                DateTime,
                "year",
                r"(?i)\b(?:in|of|since|during|from|until|till|by|before|after|around|circa|early|late|mid|spring|summer|autumn|fall|winter)\s+(?:the\s+(?:year\s+)?)?(?:1[5-9]\d\d|20\d\d)\b",
                check_year,
            ),
            p(
                Age,
                "age",
                r"(?i)\b(?:turned|turn|turns|turning)\s+\d{1,3}\b|\b(?:he|she|i|they|you|we)\s+(?:was|is|am|are|were)\s+\d{1,3}(?:\s*[.!,;)]|\s*$)",
                check_age_prefix,
            ),
        ];
        pats.shrink_to_fit();
        let sources: Vec<&str> = pats.iter().map(|p| p.regex.as_str()).collect();
        let set = build_set(&sources)?;
        let mut each = Vec::with_capacity(pats.len());
        for p in &pats {
            each.push(build_regex(&[p.regex.as_str()])?);
        }
        let meta = pats
            .into_iter()
            .map(|p| (p.kind, p.detector, p.check))
            .collect();
        Ok(PiiDetector { set, each, meta })
    }

    /// Appends findings in `seg[lo..hi]` (offsets relative to `seg`).
    pub fn scan_region(
        &self,
        seg: &[u8],
        lo: usize,
        hi: usize,
        gaz: &Gazetteers,
        which: &mut PatternSet,
        out: &mut Vec<Finding>,
    ) {
        if which.capacity() != self.set.pattern_len() {
            *which = PatternSet::new(self.set.pattern_len());
        }
        which.clear();
        let input = Input::new(seg).range(lo..hi);
        self.set.which_overlapping_matches(&input, which);
        for pid in which.iter() {
            let idx = pid.as_usize();
            let (kind, detector, check) = self.meta[idx];
            for m in self.each[idx].find_iter(Input::new(seg).range(lo..hi)) {
                let cand = Candidate {
                    seg,
                    start: m.start(),
                    end: m.end(),
                    gaz,
                };
                if let Some(verdict) = check(&cand) {
                    let start = m.start() + verdict.trim_start;
                    let end = m.end().saturating_sub(verdict.trim_end);
                    if end > start {
                        out.push(Finding {
                            kind,
                            start,
                            end,
                            score: verdict.score,
                            detector,
                            validation: verdict.validation,
                        });
                    }
                }
            }
        }
    }
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

fn check_email(c: &Candidate<'_>) -> Option<Verdict> {
    let t = c.text();
    let at = t.iter().position(|&b| b == b'@')?;
    let domain = std::str::from_utf8(&t[at + 1..]).ok()?;
    let local = &t[..at];
    if local.len() > 64
        || domain.len() > 253
        || domain.split('.').any(|l| l.len() > 63 || l.ends_with('-'))
    {
        return None;
    }
    if local.ends_with(b".") || local.contains(&b'@') {
        return None;
    }
    if c.gaz.is_public_suffix_domain(domain) {
        Verdict::valid(0.95)
    } else {
        // Internal host names (corp.local, intranet): still an address, lower confidence.
        Verdict::invalid(0.5)
    }
}

fn trailing_punct(t: &[u8]) -> usize {
    let mut n = 0;
    let opens = t.iter().filter(|&&b| b == b'(').count();
    for &b in t.iter().rev() {
        match b {
            b'.' | b',' | b';' | b':' | b'!' | b'?' | b'\'' | b']' | b'}' | b'*' => n += 1,
            b')' if opens == 0 => n += 1,
            b')' => break,
            _ => break,
        }
    }
    n
}

fn check_url(c: &Candidate<'_>) -> Option<Verdict> {
    if c.text().len() > 4096 {
        return None;
    }
    let trim = trailing_punct(c.text());
    if c.text().len() - trim < 8 {
        return None;
    }
    Some(Verdict {
        score: 0.6,
        validation: Validation::None,
        trim_end: trim,
        trim_start: 0,
    })
}

fn check_domain(c: &Candidate<'_>) -> Option<Verdict> {
    // Bare domains: not part of an email, a path, an identifier chain or a file name.
    if matches!(c.before(), b'@' | b'.' | b'/' | b'_' | b'-' | b'\\')
        || c.before().is_ascii_alphanumeric()
    {
        return None;
    }
    if matches!(c.after(), b'@' | b'(' | b'_') {
        return None;
    }
    let t = c.text();
    if t.iter().filter(|&&b| b == b'.').count() > 4 {
        return None;
    }
    let trim = trailing_punct(t);
    Some(Verdict {
        score: 0.5,
        validation: Validation::None,
        trim_end: trim,
        trim_start: 0,
    })
}

/// Regions tried for national-format numbers with a trunk `0` (international numbers carry
/// their country code). Kept short: libphonenumber's metadata regexes live in a small shared
/// cache, and every region tried costs a lookup per candidate.
const TRUNK_ZERO_REGIONS: &[phonenumber::country::Id] = {
    use phonenumber::country::Id::*;
    &[GB, DE, FR, AU, IN]
};

/// Compiled libphonenumber metadata regexes kept by the `phonenumber` crate. Its default of
/// 100 is far fewer than the patterns validating numbers from a few dozen countries touch, so
/// on PII-dense text it recompiled regexes (and rebuilt their lazy DFAs) for most numbers.
/// Regexes are still compiled only when first used.
const PHONE_REGEX_CACHE: usize = 4096;

/// Widens the cache once, on the first number validated: loading libphonenumber's metadata
/// takes tens of milliseconds, which a scan that meets no phone number need not pay.
fn widen_phone_regex_cache() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(widen_phone_regex_cache_now);
}

fn widen_phone_regex_cache_now() {
    let cache = phonenumber::metadata::DATABASE.cache();
    let mut cache = match cache.lock() {
        Ok(c) => c,
        Err(poisoned) => poisoned.into_inner(),
    };
    if cache.capacity() < PHONE_REGEX_CACHE {
        cache.set_capacity(PHONE_REGEX_CACHE);
    }
}

fn phone_valid(text: &str, n_digits: usize) -> bool {
    use phonenumber::country::Id;
    widen_phone_regex_cache();
    let parse = |region: Option<Id>, s: &str| {
        phonenumber::parse(region, s).is_ok_and(|n| phonenumber::is_valid(&n))
    };
    let digits: Vec<u8> = text
        .bytes()
        .filter(u8::is_ascii_digit)
        .map(|b| b - b'0')
        .collect();
    let international = text.starts_with('+') || text.starts_with("00");
    let national = if text.starts_with("00") {
        &digits[2..]
    } else {
        &digits[..]
    };
    // North American numbers (+1 and ten-digit national): the NANP structure that
    // libphonenumber's 25 NANP regions share, checked directly — asking the library means
    // trying every region's patterns, which overflows its regex cache on every number.
    if international && national.first() == Some(&1) && national.len() == 11 {
        return nanp_valid(&national[1..]);
    }
    if !international
        && (n_digits == 10 || (n_digits == 11 && digits[0] == 1))
        && digits[0] != 0
        && nanp_valid(&digits[digits.len() - 10..])
    {
        return true;
    }
    if let Some(rest) = text.strip_prefix("00") {
        return parse(None, &format!("+{rest}"));
    }
    if international {
        return parse(None, text);
    }
    match digits.first() {
        Some(0) => TRUNK_ZERO_REGIONS.iter().any(|&r| parse(Some(r), text)),
        // Indian mobiles: ten digits starting 6-9.
        Some(6..=9) if n_digits == 10 => parse(Some(Id::IN), text),
        // Spanish numbers are nine digits without a trunk prefix.
        Some(4..=9) if n_digits == 9 => parse(Some(Id::ES), text) || parse(Some(Id::PL), text),
        _ => false,
    }
}

/// NANP: area code NXX (not N11, not 9XX/37X reserved), exchange NXX (not N11), any line.
fn nanp_valid(d: &[u8]) -> bool {
    if d.len() != 10 {
        return false;
    }
    let n11 = |a: u8, b: u8, c: u8| b == 1 && c == 1 && a >= 2;
    let area_ok =
        (2..=9).contains(&d[0]) && d[1] != 9 && !n11(d[0], d[1], d[2]) && !(d[0] == 3 && d[1] == 7);
    let exchange_ok = (2..=9).contains(&d[3]) && !n11(d[3], d[4], d[5]);
    area_ok && exchange_ok
}

fn check_phone(c: &Candidate<'_>) -> Option<Verdict> {
    let t = c.text();
    if is_word_byte(c.before())
        || matches!(c.before(), b'.' | b'/' | b'-' | b'+' | b'$' | b'#')
        || is_word_byte(c.after()) && !c.after().is_ascii_alphabetic()
    {
        return None;
    }
    // Digits of the number itself (an extension such as "x630" or "ext. 12" is not counted).
    let body_len = t
        .iter()
        .position(|b| b.is_ascii_alphabetic())
        .unwrap_or(t.len());
    let n_digits = t[..body_len].iter().filter(|b| b.is_ascii_digit()).count();
    if !(7..=18).contains(&n_digits) {
        return None;
    }
    // Dates, versions, decimals and plain long integers are not phone numbers.
    let seps: Vec<u8> = t
        .iter()
        .copied()
        .filter(|b| matches!(b, b'.' | b'-' | b' ' | b'(' | b')' | b'+'))
        .collect();
    if seps.is_empty()
        && !c.context(
            &[
                "phone", "tel", "call", "mobile", "cell", "fax", "ph:", "whatsapp", "sms",
                "contact", "number",
            ],
            40,
        )
    {
        return None;
    }
    if looks_like_date(t) {
        return None;
    }
    let context = c.context(
        &[
            "phone", "tel", "call", "mobile", "cell", "fax", "ph:", "whatsapp", "sms", "contact",
            "dial", "ring", "reach",
        ],
        40,
    );
    let valid = phone_valid(
        std::str::from_utf8(&t[..body_len]).ok()?.trim_end(),
        n_digits,
    );
    let trim = t
        .iter()
        .rev()
        .take_while(|b| matches!(b, b' ' | b'.' | b'-'))
        .count();
    let verdict = |score, validation| {
        Some(Verdict {
            score,
            validation,
            trim_end: trim,
            trim_start: 0,
        })
    };
    match (valid, context) {
        (true, true) => verdict(0.95, Validation::Valid),
        (true, false) => verdict(0.75, Validation::Valid),
        (false, true) if n_digits >= 10 => verdict(0.5, Validation::Invalid),
        _ => None,
    }
}

fn looks_like_date(t: &[u8]) -> bool {
    let parts: Vec<&[u8]> = t.split(|b| matches!(b, b'-' | b'/' | b'.')).collect();
    parts.len() == 3
        && ((parts[0].len() == 4 && parts[1].len() <= 2 && parts[2].len() <= 2)
            || (parts[0].len() <= 2 && parts[1].len() <= 2 && parts[2].len() == 4))
}

fn check_card(c: &Candidate<'_>) -> Option<Verdict> {
    let t = c.text();
    let d = v::digits(t)?;
    // Separators, if any, must form groups of 4 (Amex/Diners: 4-6-5 / 4-6-4).
    let groups: Vec<usize> = t
        .split(|b| matches!(b, b' ' | b'-'))
        .map(<[u8]>::len)
        .collect();
    let grouped_ok = groups.len() == 1
        || groups.iter().take(groups.len() - 1).all(|&g| g == 4)
        || groups == [4, 6, 5]
        || groups == [4, 6, 4];
    if !grouped_ok || !v::credit_card(&d) {
        return None;
    }
    if c.context(
        &[
            "card",
            "visa",
            "mastercard",
            "amex",
            "credit",
            "debit",
            "cc",
            "payment",
        ],
        48,
    ) {
        Verdict::valid(0.99)
    } else {
        Verdict::valid(0.9)
    }
}

fn check_iban(c: &Candidate<'_>) -> Option<Verdict> {
    let t = c.text();
    // Try the longest valid prefix on whole groups: the pattern may run into a following word.
    if t.len() > 48 {
        return None;
    }
    let compact: Vec<(u8, usize)> = t
        .iter()
        .enumerate()
        .filter(|(_, b)| **b != b' ')
        .map(|(i, &b)| (b, i))
        .collect();
    for len in (15..=compact.len().min(34)).rev() {
        let s: Vec<u8> = compact[..len].iter().map(|&(b, _)| b).collect();
        if v::iban(&s) {
            let end = compact[len - 1].1 + 1;
            return Some(Verdict {
                score: 0.95,
                validation: Validation::Valid,
                trim_end: t.len() - end,
                trim_start: 0,
            });
        }
    }
    None
}

fn consistent_separators(t: &[u8]) -> bool {
    let seps: Vec<u8> = t
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_alphanumeric())
        .collect();
    seps.windows(2).all(|w| w[0] == w[1])
}

fn check_ssn(c: &Candidate<'_>) -> Option<Verdict> {
    let t = c.text();
    let d = v::digits(t)?;
    if !consistent_separators(t)
        || !v::us_ssn(&d)
        || matches!(c.before(), b'-' | b'.' | b'+')
        || matches!(c.after(), b'-')
    {
        return None;
    }
    let context = c.context(
        &[
            "ssn",
            "social security",
            "social sec",
            "ss#",
            "ss #",
            "taxpayer",
        ],
        48,
    );
    let separated = t.len() == 11;
    match (separated, context) {
        (_, true) => Verdict::valid(0.95),
        (true, false) if t[3] == b'-' => Verdict::valid(0.8),
        (true, false) => Verdict::valid(0.5),
        (false, false) => None,
    }
}

fn check_itin(c: &Candidate<'_>) -> Option<Verdict> {
    let d = v::digits(c.text())?;
    if !consistent_separators(c.text()) || !v::us_itin(&d) {
        return None;
    }
    if c.context(&["itin", "taxpayer", "tax id", "tin"], 48) {
        Verdict::valid(0.95)
    } else {
        Verdict::valid(0.6)
    }
}

fn check_aba(c: &Candidate<'_>) -> Option<Verdict> {
    let d = v::digits(c.text())?;
    if v::aba_routing(&d) && c.context(&["routing", "aba", "rtn", "transit"], 48) {
        Verdict::valid(0.9)
    } else {
        None
    }
}

fn check_bank(c: &Candidate<'_>) -> Option<Verdict> {
    if c.context(
        &[
            "account number",
            "account no",
            "acct",
            "account #",
            "a/c",
            "bank account",
            "checking",
            "savings account",
            "account:",
        ],
        48,
    ) {
        Verdict::plain(0.7)
    } else {
        None
    }
}

fn check_driver_license(c: &Candidate<'_>) -> Option<Verdict> {
    if c.context(
        &[
            "driver", "licence", "license", "dl#", "dl #", "dl no", "dl:", "dln",
        ],
        48,
    ) && !c.context(
        &[
            "software license",
            "license key",
            "mit license",
            "apache license",
        ],
        48,
    ) {
        Verdict::plain(0.75)
    } else {
        None
    }
}

fn check_passport(c: &Candidate<'_>) -> Option<Verdict> {
    if c.context(&["passport"], 48) {
        Verdict::plain(0.8)
    } else {
        None
    }
}

fn check_dea(c: &Candidate<'_>) -> Option<Verdict> {
    if !v::dea(c.text()) {
        return None;
    }
    if c.context(
        &[
            "dea",
            "prescriber",
            "registration",
            "medical licen",
            "license",
        ],
        48,
    ) {
        Verdict::valid(0.9)
    } else {
        Verdict::valid(0.45)
    }
}

fn check_nhs(c: &Candidate<'_>) -> Option<Verdict> {
    let d = v::digits(c.text())?;
    if !consistent_separators(c.text()) || !v::uk_nhs(&d) {
        return None;
    }
    if c.context(&["nhs", "health service", "patient"], 48) {
        Verdict::valid(0.95)
    } else {
        Verdict::valid(0.45)
    }
}

fn check_nino(c: &Candidate<'_>) -> Option<Verdict> {
    let s: Vec<u8> = c.text().iter().copied().filter(|&b| b != b' ').collect();
    if !v::uk_nino(&s) {
        return None;
    }
    if c.context(&["national insurance", "nino", "ni number", "ni no"], 48) {
        Verdict::valid(0.95)
    } else {
        Verdict::valid(0.75)
    }
}

fn check_ipv4(c: &Candidate<'_>) -> Option<Verdict> {
    let t = c.text();
    let addr_part = t.split(|&b| b == b'/').next()?;
    let text = std::str::from_utf8(addr_part).ok()?;
    let addr: Ipv4Addr = text.parse().ok()?;
    // Part of a longer dotted sequence (OIDs, version numbers) or preceded by "v".
    if matches!(c.before(), b'.' | b'v' | b'V')
        || (c.after() == b'.' && c.seg.get(c.end + 1).is_some_and(u8::is_ascii_digit))
    {
        return None;
    }
    if c.context(&["version", "release"], 16) {
        return None;
    }
    let score = if addr.is_unspecified() || addr.is_broadcast() {
        0.4
    } else {
        0.85
    };
    Some(Verdict {
        score,
        validation: Validation::Valid,
        trim_end: 0,
        trim_start: 0,
    })
}

fn check_ipv6(c: &Candidate<'_>) -> Option<Verdict> {
    let text = std::str::from_utf8(c.text()).ok()?;
    if text.matches(':').count() < 2 || is_word_byte(c.before()) || c.before() == b':' {
        return None;
    }
    let addr: Ipv6Addr = text.parse().ok()?;
    let score = if addr.is_loopback() || addr.is_unspecified() {
        0.5
    } else {
        0.85
    };
    Verdict::valid(score)
}

fn check_mac(c: &Candidate<'_>) -> Option<Verdict> {
    if consistent_separators(c.text()) {
        Verdict::valid(0.7)
    } else {
        None
    }
}

fn check_btc58(c: &Candidate<'_>) -> Option<Verdict> {
    if (26..=35).contains(&c.text().len()) && v::btc_base58(c.text()) {
        Verdict::valid(0.95)
    } else {
        None
    }
}

fn check_bech32(c: &Candidate<'_>) -> Option<Verdict> {
    if (11..=90).contains(&c.text().len()) && v::btc_bech32(c.text()) {
        Verdict::valid(0.95)
    } else {
        None
    }
}

fn check_eth(c: &Candidate<'_>) -> Option<Verdict> {
    match v::eth_eip55(c.text()) {
        Some(true) => Verdict::valid(0.95),
        Some(false) => None,
        None if c.context(&["eth", "wallet", "address", "ether", "send", "0x"], 48) => {
            Verdict::plain(0.6)
        }
        None => None,
    }
}

fn check_es_nif(c: &Candidate<'_>) -> Option<Verdict> {
    let s: Vec<u8> = c.text().iter().copied().filter(|&b| b != b'-').collect();
    if v::es_nif(&s) {
        Verdict::valid(0.9)
    } else {
        None
    }
}

fn check_es_nie(c: &Candidate<'_>) -> Option<Verdict> {
    let s: Vec<u8> = c.text().iter().copied().filter(|&b| b != b'-').collect();
    if v::es_nie(&s) {
        Verdict::valid(0.9)
    } else {
        None
    }
}

fn check_it_fiscal(c: &Candidate<'_>) -> Option<Verdict> {
    if v::it_fiscal_code(c.text()) {
        Verdict::valid(0.95)
    } else {
        None
    }
}

fn check_it_vat(c: &Candidate<'_>) -> Option<Verdict> {
    let d = v::digits(c.text())?;
    if v::it_vat(&d) && c.context(&["iva", "vat", "p.i."], 48) {
        Verdict::valid(0.9)
    } else {
        None
    }
}

fn check_pesel(c: &Candidate<'_>) -> Option<Verdict> {
    let d = v::digits(c.text())?;
    if !v::pl_pesel(&d) {
        return None;
    }
    if c.context(&["pesel"], 48) {
        Verdict::valid(0.95)
    } else {
        Verdict::valid(0.45)
    }
}

fn check_fi(c: &Candidate<'_>) -> Option<Verdict> {
    if v::fi_pic(c.text()) {
        Verdict::valid(0.9)
    } else {
        None
    }
}

fn check_sg_nric(c: &Candidate<'_>) -> Option<Verdict> {
    if v::sg_nric(c.text()) {
        Verdict::valid(0.9)
    } else {
        None
    }
}

fn check_sg_uen(c: &Candidate<'_>) -> Option<Verdict> {
    if c.context(&["uen", "unique entity", "business registration"], 48) {
        Verdict::plain(0.8)
    } else {
        None
    }
}

fn check_abn(c: &Candidate<'_>) -> Option<Verdict> {
    let d = v::digits(c.text())?;
    if !v::au_abn(&d) {
        return None;
    }
    if c.context(&["abn", "australian business"], 48) {
        Verdict::valid(0.95)
    } else {
        Verdict::valid(0.4)
    }
}

fn check_acn(c: &Candidate<'_>) -> Option<Verdict> {
    let d = v::digits(c.text())?;
    if v::au_acn(&d) && c.context(&["acn", "australian company"], 48) {
        Verdict::valid(0.9)
    } else {
        None
    }
}

fn check_tfn(c: &Candidate<'_>) -> Option<Verdict> {
    let d = v::digits(c.text())?;
    if v::au_tfn(&d) && c.context(&["tfn", "tax file"], 48) {
        Verdict::valid(0.95)
    } else {
        None
    }
}

fn check_medicare(c: &Candidate<'_>) -> Option<Verdict> {
    let d = v::digits(c.text())?;
    if v::au_medicare(&d) && c.context(&["medicare"], 48) {
        Verdict::valid(0.9)
    } else {
        None
    }
}

fn check_pan(c: &Candidate<'_>) -> Option<Verdict> {
    if c.context(&["pan", "permanent account", "income tax"], 48) {
        Verdict::valid(0.95)
    } else {
        Verdict::valid(0.7)
    }
}

fn check_aadhaar(c: &Candidate<'_>) -> Option<Verdict> {
    let d = v::digits(c.text())?;
    if !consistent_separators(c.text()) || !v::in_aadhaar(&d) {
        return None;
    }
    if c.context(&["aadhaar", "aadhar", "uidai", "uid"], 48) {
        Verdict::valid(0.95)
    } else {
        Verdict::valid(0.45)
    }
}

const IN_STATES: &[&[u8; 2]] = &[
    b"AN", b"AP", b"AR", b"AS", b"BR", b"CH", b"CG", b"DD", b"DL", b"DN", b"GA", b"GJ", b"HP",
    b"HR", b"JH", b"JK", b"KA", b"KL", b"LA", b"LD", b"MH", b"ML", b"MN", b"MP", b"MZ", b"NL",
    b"OD", b"OR", b"PB", b"PY", b"RJ", b"SK", b"TN", b"TR", b"TS", b"UK", b"UP", b"WB",
];

fn check_in_vehicle(c: &Candidate<'_>) -> Option<Verdict> {
    let t = c.text();
    if !IN_STATES.iter().any(|s| s[..] == t[..2]) {
        return None;
    }
    if c.context(
        &["vehicle", "registration", "reg no", "number plate", "rc"],
        48,
    ) {
        Verdict::plain(0.85)
    } else {
        Verdict::plain(0.45)
    }
}

fn check_in_voter(c: &Candidate<'_>) -> Option<Verdict> {
    if c.context(&["voter", "epic", "election"], 48) {
        Verdict::plain(0.85)
    } else {
        Verdict::plain(0.4)
    }
}

fn check_in_passport(c: &Candidate<'_>) -> Option<Verdict> {
    if c.context(&["passport"], 48) {
        Verdict::plain(0.8)
    } else {
        None
    }
}

fn check_kr_rrn(c: &Candidate<'_>) -> Option<Verdict> {
    let d = v::digits(c.text())?;
    if !v::kr_rrn(&d) {
        return None;
    }
    if c.text().contains(&b'-') || c.context(&["rrn", "resident registration", "주민"], 48) {
        Verdict::valid(0.85)
    } else {
        Verdict::valid(0.45)
    }
}

fn check_th(c: &Candidate<'_>) -> Option<Verdict> {
    let d = v::digits(c.text())?;
    if !consistent_separators(c.text()) || !v::th_tnin(&d) {
        return None;
    }
    if c.context(&["thai", "national id", "citizen id", "tnin"], 48) {
        Verdict::valid(0.9)
    } else {
        Verdict::valid(0.45)
    }
}

const DOB_WORDS: &[&str] = &[
    "born",
    "dob",
    "d.o.b",
    "date of birth",
    "birth date",
    "birthday",
    "birthdate",
    "b.",
];

fn date_score(c: &Candidate<'_>) -> f32 {
    if c.context(DOB_WORDS, 40) { 0.9 } else { 0.6 }
}

fn number(b: &[u8]) -> u32 {
    b.iter()
        .filter(|x| x.is_ascii_digit())
        .fold(0, |a, &x| a * 10 + u32::from(x - b'0'))
}

fn check_date_iso(c: &Candidate<'_>) -> Option<Verdict> {
    let t = c.text();
    let (y, m, d) = (number(&t[..4]), number(&t[5..7]), number(&t[8..10]));
    if !(1800..=2200).contains(&y) || !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    Verdict::valid(date_score(c))
}

fn check_date_numeric(c: &Candidate<'_>) -> Option<Verdict> {
    let t = c.text();
    if !consistent_separators(t)
        || matches!(c.before(), b'.' | b'/' | b'-')
        || matches!(c.after(), b'.' | b'/' | b'-')
            && c.seg.get(c.end + 1).is_some_and(u8::is_ascii_digit)
    {
        return None;
    }
    let parts: Vec<u32> = t
        .split(|b| matches!(b, b'/' | b'.' | b'-'))
        .map(number)
        .collect();
    let [a, b, y] = parts[..] else { return None };
    let plausible = (1..=12).contains(&a) && (1..=31).contains(&b)
        || (1..=31).contains(&a) && (1..=12).contains(&b);
    let year_len = t.len()
        - t.iter()
            .rposition(|b| matches!(b, b'/' | b'.' | b'-'))
            .unwrap_or(0)
        - 1;
    if !plausible || (year_len == 4 && !(1800..=2200).contains(&y)) {
        return None;
    }
    // Two-digit years with dots are too often version numbers.
    if year_len == 2 && t.contains(&b'.') && !c.context(DOB_WORDS, 40) {
        return None;
    }
    Verdict::valid(date_score(c))
}

fn check_date_text(c: &Candidate<'_>) -> Option<Verdict> {
    // "may 5" in lowercase prose is usually the verb.
    let t = c.text();
    let lower_may =
        t.windows(3).any(|w| w == b"may") && !t.windows(3).any(|w| w == b"May" || w == b"MAY");
    if lower_may || !t.iter().any(u8::is_ascii_digit) {
        return None;
    }
    let first_alpha = t.iter().position(u8::is_ascii_alphabetic)?;
    if t[first_alpha].is_ascii_lowercase()
        && !t[first_alpha..].starts_with(b"of")
        && !t[first_alpha..].starts_with(b"st")
        && !t[first_alpha..].starts_with(b"nd")
        && !t[first_alpha..].starts_with(b"rd")
        && !t[first_alpha..].starts_with(b"th")
    {
        return None;
    }
    Verdict::valid(date_score(c))
}

fn check_time(c: &Candidate<'_>) -> Option<Verdict> {
    let t = c.text();
    if matches!(c.before(), b':' | b'.') || c.after() == b':' {
        return None;
    }
    if let Some(colon) = t.iter().position(|&b| b == b':') {
        let (h, m) = (
            number(&t[..colon]),
            number(&t[colon + 1..(colon + 3).min(t.len())]),
        );
        if h > 23 || m > 59 {
            return None;
        }
    }
    Verdict::plain(0.5)
}

fn check_age_prefix(c: &Candidate<'_>) -> Option<Verdict> {
    let t = c.text();
    let digits_at = t.iter().position(u8::is_ascii_digit)?;
    let n = number(&t[digits_at..]);
    if n > 125 {
        return None;
    }
    Some(Verdict {
        score: 0.85,
        validation: Validation::None,
        trim_end: 0,
        trim_start: digits_at,
    })
}

fn check_age_suffix(c: &Candidate<'_>) -> Option<Verdict> {
    let t = c.text();
    let n_len = t.iter().take_while(|b| b.is_ascii_digit()).count();
    let n = number(&t[..n_len]);
    let has_old = contains_ignore_case(t, b"old")
        || contains_ignore_case(t, b"y/o")
        || contains_ignore_case(t, b"yo")
        || contains_ignore_case(t, b"y.o.");
    if n > 125 || !has_old {
        return None;
    }
    Some(Verdict {
        score: 0.85,
        validation: Validation::None,
        trim_end: t.len() - n_len,
        trim_start: 0,
    })
}

fn check_address(c: &Candidate<'_>) -> Option<Verdict> {
    let trim = c
        .text()
        .iter()
        .rev()
        .take_while(|b| matches!(b, b',' | b' '))
        .count();
    // Above a name's score: "12 Thomas Manor" is an address that contains a name.
    Some(Verdict {
        score: 0.92,
        validation: Validation::None,
        trim_end: trim,
        trim_start: 0,
    })
}

fn check_city_state_zip(c: &Candidate<'_>) -> Option<Verdict> {
    let t = c.text();
    let comma = t.iter().rposition(|&b| b == b',')?;
    let state = t[comma + 1..]
        .iter()
        .skip_while(|&&b| b == b' ')
        .take(2)
        .copied()
        .collect::<Vec<u8>>();
    if !c.gaz.is_us_state_code(&state) {
        return None;
    }
    Verdict::plain(0.75)
}

fn check_uk_postcode(c: &Candidate<'_>) -> Option<Verdict> {
    if !c.text().contains(&b' ') {
        return None;
    }
    let context = c.context(
        &[
            "road",
            "street",
            "lane",
            "london",
            "uk",
            "united kingdom",
            "england",
            "scotland",
            "wales",
            "postcode",
            "avenue",
            "close",
            ",",
        ],
        40,
    );
    Verdict::plain(if context { 0.8 } else { 0.6 })
}

fn check_postal_city(c: &Candidate<'_>) -> Option<Verdict> {
    let t = c.text();
    let word_at = t
        .iter()
        .position(|b| b.is_ascii_alphabetic() || *b >= 0xC0)?;
    // The code must be followed by a place we know ("84706 Greifswald"), not any capital.
    let city = std::str::from_utf8(&t[word_at..]).ok()?.to_lowercase();
    let head = city.split([' ', '-']).next().unwrap_or("");
    let place = c.gaz.flags(&city) & crate::gazetteer::PLACE != 0
        || c.gaz.is_place_phrase(&city)
        || c.gaz.flags(head) & crate::gazetteer::PLACE != 0;
    if place { Verdict::plain(0.85) } else { None }
}

fn check_year(c: &Candidate<'_>) -> Option<Verdict> {
    let at = c.text().len() - 4;
    Some(Verdict {
        score: 0.6,
        validation: Validation::None,
        trim_end: 0,
        trim_start: at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_helper_matches_dates() {
        assert!(looks_like_date(b"2021-03-04"));
        assert!(looks_like_date(b"04/03/2021"));
        assert!(!looks_like_date(b"415-555-0182"));
    }
}
