//! Checksums and structural rules that confirm a candidate value: Luhn, IBAN mod-97, SSN
//! rules, NHS mod-11, Verhoeff, national-ID check characters, wallet checksums, GitHub token
//! CRC32. Each takes the candidate's bytes (separators already stripped where noted) and
//! returns `true` only when the rule holds.

use sha2::{Digest, Sha256};
use sha3::Keccak256;

/// Digits of `s`, skipping spaces, dashes and dots; `None` if anything else appears.
pub(crate) fn digits(s: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len());
    for &b in s {
        match b {
            b'0'..=b'9' => out.push(b - b'0'),
            b' ' | b'-' | b'.' | b'\t' => {}
            _ => return None,
        }
    }
    Some(out)
}

pub(crate) fn luhn(d: &[u8]) -> bool {
    let mut sum = 0u32;
    for (i, &x) in d.iter().rev().enumerate() {
        let mut v = u32::from(x);
        if i % 2 == 1 {
            v *= 2;
            if v > 9 {
                v -= 9;
            }
        }
        sum += v;
    }
    !d.is_empty() && sum.is_multiple_of(10)
}

fn prefix_num(d: &[u8], n: usize) -> u32 {
    d.iter()
        .take(n)
        .fold(0u32, |acc, &x| acc * 10 + u32::from(x))
}

/// Payment card: a known brand's prefix and length, and Luhn.
pub(crate) fn credit_card(d: &[u8]) -> bool {
    let len = d.len();
    if !(12..=19).contains(&len) || d.iter().all(|&x| x == d[0]) {
        return false;
    }
    let p1 = prefix_num(d, 1);
    let p2 = prefix_num(d, 2);
    let p3 = prefix_num(d, 3);
    let p4 = prefix_num(d, 4);
    let p6 = prefix_num(d, 6);
    let brand = match () {
        _ if p1 == 4 => matches!(len, 13 | 16 | 19), // Visa
        _ if (51..=55).contains(&p2) || (2221..=2720).contains(&p4) => len == 16, // Mastercard
        _ if p2 == 34 || p2 == 37 => len == 15,      // Amex
        _ if (2200..=2204).contains(&p4) => (16..=19).contains(&len), // Mir
        _ if p4 == 6011 || (644..=649).contains(&p3) || p2 == 65 => (16..=19).contains(&len),
        _ if (622126..=622925).contains(&p6) || p2 == 62 => (16..=19).contains(&len), // UnionPay
        _ if (3500..=3589).contains(&p4) => (16..=19).contains(&len),                 // JCB
        _ if p4 == 1800 || p4 == 2131 => len == 15, // JCB (15-digit)
        _ if (300..=305).contains(&p3) || p2 == 36 || p2 == 38 || p2 == 39 => {
            (14..=19).contains(&len)
        }
        _ if p2 == 50 || (56..=69).contains(&p2) => (12..=19).contains(&len), // Maestro
        _ => false,
    };
    brand && luhn(d)
}

/// IBAN: country code, per-country length, mod-97 == 1. Input without spaces, uppercase.
pub(crate) fn iban(s: &[u8]) -> bool {
    if s.len() < 15 || s.len() > 34 || !s[..2].iter().all(u8::is_ascii_uppercase) {
        return false;
    }
    let Some(expected) = iban_length(&s[..2]) else {
        return false;
    };
    if s.len() != expected || !s[2..4].iter().all(u8::is_ascii_digit) {
        return false;
    }
    let mut rem: u32 = 0;
    for &b in s[4..].iter().chain(&s[..4]) {
        match b {
            b'0'..=b'9' => rem = (rem * 10 + u32::from(b - b'0')) % 97,
            b'A'..=b'Z' => rem = (rem * 100 + u32::from(b - b'A' + 10)) % 97,
            _ => return false,
        }
    }
    rem == 1
}

fn iban_length(cc: &[u8]) -> Option<usize> {
    const TABLE: &[(&[u8; 2], usize)] = &[
        (b"AD", 24),
        (b"AE", 23),
        (b"AL", 28),
        (b"AT", 20),
        (b"AZ", 28),
        (b"BA", 20),
        (b"BE", 16),
        (b"BG", 22),
        (b"BH", 22),
        (b"BI", 27),
        (b"BR", 29),
        (b"BY", 28),
        (b"CH", 21),
        (b"CR", 22),
        (b"CY", 28),
        (b"CZ", 24),
        (b"DE", 22),
        (b"DJ", 27),
        (b"DK", 18),
        (b"DO", 28),
        (b"EE", 20),
        (b"EG", 29),
        (b"ES", 24),
        (b"FI", 18),
        (b"FK", 18),
        (b"FO", 18),
        (b"FR", 27),
        (b"GB", 22),
        (b"GE", 22),
        (b"GI", 23),
        (b"GL", 18),
        (b"GR", 27),
        (b"GT", 28),
        (b"HN", 28),
        (b"HR", 21),
        (b"HU", 28),
        (b"IE", 22),
        (b"IL", 23),
        (b"IQ", 23),
        (b"IS", 26),
        (b"IT", 27),
        (b"JO", 30),
        (b"KW", 30),
        (b"KZ", 20),
        (b"LB", 28),
        (b"LC", 32),
        (b"LI", 21),
        (b"LT", 20),
        (b"LU", 20),
        (b"LV", 21),
        (b"LY", 25),
        (b"MC", 27),
        (b"MD", 24),
        (b"ME", 22),
        (b"MK", 19),
        (b"MN", 20),
        (b"MR", 27),
        (b"MT", 31),
        (b"MU", 30),
        (b"NI", 28),
        (b"NL", 18),
        (b"NO", 15),
        (b"OM", 23),
        (b"PK", 24),
        (b"PL", 28),
        (b"PS", 29),
        (b"PT", 25),
        (b"QA", 29),
        (b"RO", 24),
        (b"RS", 22),
        (b"RU", 33),
        (b"SA", 24),
        (b"SC", 31),
        (b"SD", 18),
        (b"SE", 24),
        (b"SI", 19),
        (b"SK", 24),
        (b"SM", 27),
        (b"SO", 23),
        (b"ST", 25),
        (b"SV", 28),
        (b"TL", 23),
        (b"TN", 24),
        (b"TR", 26),
        (b"UA", 29),
        (b"VA", 22),
        (b"VG", 24),
        (b"XK", 20),
        (b"YE", 30),
    ];
    TABLE.iter().find(|(c, _)| c[..] == *cc).map(|&(_, n)| n)
}

/// US SSN: area not 000, 666 or 9xx; group not 00; serial not 0000; not a famous sample.
pub(crate) fn us_ssn(d: &[u8]) -> bool {
    if d.len() != 9 || d.iter().all(|&x| x == d[0]) {
        return false;
    }
    let area = prefix_num(d, 3);
    let group = prefix_num(&d[3..], 2);
    let serial = prefix_num(&d[5..], 4);
    let sample = d == [1, 2, 3, 4, 5, 6, 7, 8, 9] || d == [0, 7, 8, 0, 5, 1, 1, 2, 0];
    area != 0 && area != 666 && area < 900 && group != 0 && serial != 0 && !sample
}

/// US ITIN: 9xx, group 50–65, 70–88, 90–92 or 94–99.
pub(crate) fn us_itin(d: &[u8]) -> bool {
    if d.len() != 9 || d[0] != 9 {
        return false;
    }
    let g = prefix_num(&d[3..], 2);
    (50..=65).contains(&g)
        || (70..=88).contains(&g)
        || (90..=92).contains(&g)
        || (94..=99).contains(&g)
}

/// ABA routing number: 3-7-1 weighted checksum, valid Federal Reserve prefix.
pub(crate) fn aba_routing(d: &[u8]) -> bool {
    if d.len() != 9 {
        return false;
    }
    let p = prefix_num(d, 2);
    let prefix_ok = p <= 12 || (21..=32).contains(&p) || (61..=72).contains(&p) || p == 80;
    let w = [3u32, 7, 1];
    let sum: u32 = d
        .iter()
        .enumerate()
        .map(|(i, &x)| u32::from(x) * w[i % 3])
        .sum();
    prefix_ok && sum.is_multiple_of(10) && d.iter().any(|&x| x != 0)
}

/// NHS number: mod-11 with weights 10..2; check digit 10 is invalid.
pub(crate) fn uk_nhs(d: &[u8]) -> bool {
    if d.len() != 10 || d.iter().all(|&x| x == d[0]) {
        return false;
    }
    let sum: u32 = d[..9]
        .iter()
        .enumerate()
        .map(|(i, &x)| u32::from(x) * (10 - i as u32))
        .sum();
    let check = 11 - sum % 11;
    let check = if check == 11 { 0 } else { check };
    check != 10 && check == u32::from(d[9])
}

/// UK National Insurance number prefix rules (input: 9 chars, no spaces, uppercase).
pub(crate) fn uk_nino(s: &[u8]) -> bool {
    if s.len() != 9 {
        return false;
    }
    let bad_first = b"DFIQUV";
    let bad_second = b"DFIOQUV";
    let pair = &s[..2];
    let banned = [b"BG", b"GB", b"KN", b"NK", b"NT", b"TN", b"ZZ"];
    !bad_first.contains(&s[0])
        && !bad_second.contains(&s[1])
        && !banned.iter().any(|b| &b[..] == pair)
        && s[2..8].iter().all(u8::is_ascii_digit)
        && matches!(s[8], b'A'..=b'D')
}

const VERHOEFF_D: [[u8; 10]; 10] = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
    [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
    [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
    [4, 0, 1, 2, 3, 9, 5, 6, 7, 8],
    [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
    [6, 5, 9, 8, 7, 1, 0, 4, 3, 2],
    [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
    [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
    [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
];
const VERHOEFF_P: [[u8; 10]; 8] = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    [1, 5, 7, 6, 2, 8, 3, 0, 9, 4],
    [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
    [8, 9, 1, 6, 0, 4, 3, 5, 2, 7],
    [9, 4, 5, 3, 1, 2, 6, 8, 7, 0],
    [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
    [2, 7, 9, 3, 8, 0, 6, 4, 1, 5],
    [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
];

pub(crate) fn verhoeff(d: &[u8]) -> bool {
    let mut c = 0u8;
    for (i, &x) in d.iter().rev().enumerate() {
        c = VERHOEFF_D[c as usize][VERHOEFF_P[i % 8][x as usize] as usize];
    }
    c == 0
}

/// Aadhaar: 12 digits, first not 0 or 1, Verhoeff, not a palindrome of one digit.
pub(crate) fn in_aadhaar(d: &[u8]) -> bool {
    d.len() == 12 && d[0] >= 2 && !d.iter().all(|&x| x == d[0]) && verhoeff(d)
}

const NIF_LETTERS: &[u8; 23] = b"TRWAGMYFPDXBNJZSQVHLCKE";

/// Spanish DNI/NIF: 8 digits + mod-23 letter. Input uppercase without separators.
pub(crate) fn es_nif(s: &[u8]) -> bool {
    if s.len() != 9 || !s[..8].iter().all(u8::is_ascii_digit) {
        return false;
    }
    let n: u32 = s[..8].iter().fold(0, |a, &b| a * 10 + u32::from(b - b'0'));
    NIF_LETTERS[(n % 23) as usize] == s[8]
}

/// Spanish NIE: X/Y/Z + 7 digits + mod-23 letter.
pub(crate) fn es_nie(s: &[u8]) -> bool {
    if s.len() != 9 {
        return false;
    }
    let lead = match s[0] {
        b'X' => b'0',
        b'Y' => b'1',
        b'Z' => b'2',
        _ => return false,
    };
    let mut t = [0u8; 9];
    t[0] = lead;
    t[1..].copy_from_slice(&s[1..]);
    es_nif(&t)
}

/// Italian codice fiscale: 16 chars, odd/even table check character.
pub(crate) fn it_fiscal_code(s: &[u8]) -> bool {
    const ODD: [u32; 36] = [
        1, 0, 5, 7, 9, 13, 15, 17, 19, 21, // 0-9
        1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24,
        23,
    ];
    if s.len() != 16 {
        return false;
    }
    let mut sum = 0u32;
    for (i, &b) in s[..15].iter().enumerate() {
        let idx = match b {
            b'0'..=b'9' => (b - b'0') as usize,
            b'A'..=b'Z' => (b - b'A') as usize + 10,
            _ => return false,
        };
        // Positions are 1-based in the specification: odd positions use the odd table.
        if i % 2 == 0 {
            sum += ODD[idx];
        } else {
            sum += match b {
                b'0'..=b'9' => u32::from(b - b'0'),
                _ => u32::from(b - b'A'),
            };
        }
    }
    s[15] == b'A' + (sum % 26) as u8
}

/// Italian partita IVA: 11 digits, Luhn-style check.
pub(crate) fn it_vat(d: &[u8]) -> bool {
    d.len() == 11 && d.iter().any(|&x| x != 0) && luhn(d)
}

/// Polish PESEL: weights 1,3,7,9 and a plausible encoded month.
pub(crate) fn pl_pesel(d: &[u8]) -> bool {
    if d.len() != 11 {
        return false;
    }
    let w = [1u32, 3, 7, 9, 1, 3, 7, 9, 1, 3];
    let sum: u32 = d[..10].iter().zip(w).map(|(&x, w)| u32::from(x) * w).sum();
    let month = prefix_num(&d[2..], 2) % 20;
    let day = prefix_num(&d[4..], 2);
    (10 - sum % 10) % 10 == u32::from(d[10]) && (1..=12).contains(&month) && (1..=31).contains(&day)
}

/// Finnish personal identity code: DDMMYY C NNN T, T = mod-31 table.
pub(crate) fn fi_pic(s: &[u8]) -> bool {
    const T: &[u8; 31] = b"0123456789ABCDEFHJKLMNPRSTUVWXY";
    if s.len() != 11 || !b"+-ABCDEFUVWXY".contains(&s[6]) {
        return false;
    }
    let mut n: u64 = 0;
    for &b in s[..6].iter().chain(&s[7..10]) {
        if !b.is_ascii_digit() {
            return false;
        }
        n = n * 10 + u64::from(b - b'0');
    }
    let day = (s[0] - b'0') * 10 + (s[1] - b'0');
    let month = (s[2] - b'0') * 10 + (s[3] - b'0');
    (1..=31).contains(&day) && (1..=12).contains(&month) && T[(n % 31) as usize] == s[10]
}

/// Singapore NRIC/FIN check letter.
pub(crate) fn sg_nric(s: &[u8]) -> bool {
    if s.len() != 9 || !s[1..8].iter().all(u8::is_ascii_digit) {
        return false;
    }
    let w = [2u32, 7, 6, 5, 4, 3, 2];
    let mut sum: u32 = s[1..8]
        .iter()
        .zip(w)
        .map(|(&b, w)| u32::from(b - b'0') * w)
        .sum();
    let table: &[u8] = match s[0] {
        b'S' => b"JZIHGFEDCBA",
        b'T' => {
            sum += 4;
            b"JZIHGFEDCBA"
        }
        b'F' => b"XWUTRQPNMLK",
        b'G' => {
            sum += 4;
            b"XWUTRQPNMLK"
        }
        b'M' => {
            sum += 3;
            b"KLJNPQRTUWX"
        }
        _ => return false,
    };
    let idx = (sum % 11) as usize;
    let expected = if s[0] == b'M' {
        table[10 - idx]
    } else {
        table[idx]
    };
    expected == s[8]
}

/// Australian Business Number: subtract 1 from the first digit, weights, mod 89.
pub(crate) fn au_abn(d: &[u8]) -> bool {
    if d.len() != 11 || d[0] == 0 {
        return false;
    }
    let w = [10u32, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19];
    let sum: u32 = d
        .iter()
        .enumerate()
        .map(|(i, &x)| (u32::from(x) - u32::from(i == 0)) * w[i])
        .sum();
    sum.is_multiple_of(89)
}

/// Australian Company Number: weights 8..1, complement mod 10.
pub(crate) fn au_acn(d: &[u8]) -> bool {
    if d.len() != 9 || d.iter().all(|&x| x == 0) {
        return false;
    }
    let sum: u32 = d[..8]
        .iter()
        .enumerate()
        .map(|(i, &x)| u32::from(x) * (8 - i as u32))
        .sum();
    (10 - sum % 10) % 10 == u32::from(d[8])
}

/// Australian Tax File Number: weights, mod 11.
pub(crate) fn au_tfn(d: &[u8]) -> bool {
    if d.len() != 9 || d.iter().all(|&x| x == d[0]) {
        return false;
    }
    let w = [1u32, 4, 3, 7, 5, 8, 6, 9, 10];
    let sum: u32 = d.iter().zip(w).map(|(&x, w)| u32::from(x) * w).sum();
    sum.is_multiple_of(11)
}

/// Australian Medicare number: first digit 2–6, weights 1,3,7,9 mod 10 for digit 9.
pub(crate) fn au_medicare(d: &[u8]) -> bool {
    if !(d.len() == 10 || d.len() == 11) || !(2..=6).contains(&d[0]) {
        return false;
    }
    let w = [1u32, 3, 7, 9, 1, 3, 7, 9];
    let sum: u32 = d[..8].iter().zip(w).map(|(&x, w)| u32::from(x) * w).sum();
    sum % 10 == u32::from(d[8])
}

/// US DEA number: two letters + 7 digits; (d1+d3+d5) + 2(d2+d4+d6) mod 10 == d7.
pub(crate) fn dea(s: &[u8]) -> bool {
    if s.len() != 9 || !s[..2].iter().all(u8::is_ascii_alphabetic) {
        return false;
    }
    let Some(d) = digits(&s[2..]) else {
        return false;
    };
    if d.len() != 7 || !b"ABCDEFGHJKLMPRSTUX".contains(&s[0].to_ascii_uppercase()) {
        return false;
    }
    let sum = u32::from(d[0] + d[2] + d[4]) + 2 * u32::from(d[1] + d[3] + d[5]);
    sum % 10 == u32::from(d[6])
}

/// Korean RRN: YYMMDD-GNNNNNC with weighted mod-11 check.
pub(crate) fn kr_rrn(d: &[u8]) -> bool {
    if d.len() != 13 {
        return false;
    }
    let month = prefix_num(&d[2..], 2);
    let day = prefix_num(&d[4..], 2);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || !(1..=8).contains(&d[6]) {
        return false;
    }
    let w = [2u32, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5];
    let sum: u32 = d[..12].iter().zip(w).map(|(&x, w)| u32::from(x) * w).sum();
    (11 - sum % 11) % 10 == u32::from(d[12])
}

/// Thai national ID: 13 digits, weights 13..2, mod 11.
pub(crate) fn th_tnin(d: &[u8]) -> bool {
    if d.len() != 13 || d[0] == 0 {
        return false;
    }
    let sum: u32 = d[..12]
        .iter()
        .enumerate()
        .map(|(i, &x)| u32::from(x) * (13 - i as u32))
        .sum();
    (11 - sum % 11) % 10 == u32::from(d[12])
}

const BASE58: &[u8; 58] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

/// Bitcoin legacy/P2SH address: base58check with double SHA-256, version 0x00 or 0x05.
pub(crate) fn btc_base58(s: &[u8]) -> bool {
    if !(25..=35).contains(&s.len()) {
        return false;
    }
    // Big-number base58 decode into 25 bytes.
    let mut out = [0u8; 25];
    for &c in s {
        let Some(mut carry) = BASE58.iter().position(|&b| b == c).map(|v| v as u32) else {
            return false;
        };
        for byte in out.iter_mut().rev() {
            carry += u32::from(*byte) * 58;
            *byte = (carry & 0xff) as u8;
            carry >>= 8;
        }
        if carry != 0 {
            return false;
        }
    }
    if out[0] != 0x00 && out[0] != 0x05 {
        return false;
    }
    let first = Sha256::digest(&out[..21]);
    let second = Sha256::digest(first);
    second[..4] == out[21..]
}

/// Bech32/Bech32m segwit address (bc1…/tb1…) with a valid checksum.
pub(crate) fn btc_bech32(s: &[u8]) -> bool {
    std::str::from_utf8(s)
        .ok()
        .is_some_and(|s| bech32::segwit::decode(s).is_ok())
}

/// Ethereum address: `0x` + 40 hex. Mixed case must satisfy EIP-55; a single-case address
/// carries no checksum and returns `None`.
pub(crate) fn eth_eip55(s: &[u8]) -> Option<bool> {
    let hex = s.get(2..)?;
    if hex.len() != 40 || !hex.iter().all(u8::is_ascii_hexdigit) {
        return Some(false);
    }
    let has_upper = hex.iter().any(u8::is_ascii_uppercase);
    let has_lower = hex.iter().any(u8::is_ascii_lowercase);
    if !(has_upper && has_lower) {
        return None;
    }
    let lower: Vec<u8> = hex.iter().map(u8::to_ascii_lowercase).collect();
    let hash = Keccak256::digest(&lower);
    Some(hex.iter().enumerate().all(|(i, &c)| {
        if !c.is_ascii_alphabetic() {
            return true;
        }
        let nibble = (hash[i / 2] >> if i % 2 == 0 { 4 } else { 0 }) & 0x0f;
        (nibble >= 8) == c.is_ascii_uppercase()
    }))
}

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// GitHub classic tokens (`ghp_`, `gho_`, `ghu_`, `ghs_`, `ghr_`): the last 6 characters are
/// the base62 CRC32 of the 30 random characters before them.
pub(crate) fn github_crc32(token: &[u8]) -> bool {
    let Some(body) = token.get(4..) else {
        return false;
    };
    if body.len() != 36 {
        return false;
    }
    let (random, check) = body.split_at(30);
    let mut n = crc32fast::hash(random);
    let mut enc = [b'0'; 6];
    for slot in enc.iter_mut().rev() {
        *slot = BASE62[(n % 62) as usize];
        n /= 62;
    }
    enc == check
}

/// JWT: three base64url parts; the header decodes to a JSON object naming `alg`.
pub(crate) fn jwt(token: &[u8]) -> bool {
    use base64::Engine as _;
    let mut parts = token.split(|&b| b == b'.');
    let Some(header) = parts.next() else {
        return false;
    };
    if parts.clone().count() != 2 {
        return false;
    }
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let trimmed: &[u8] = header.strip_suffix(b"=").unwrap_or(header);
    match engine.decode(trimmed) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            text.trim_start().starts_with('{') && text.contains("\"alg\"")
        }
        Err(_) => false,
    }
}

/// Shannon entropy in bits per byte.
pub(crate) fn shannon_entropy(s: &[u8]) -> f32 {
    if s.is_empty() {
        return 0.0;
    }
    let mut counts = [0u32; 256];
    for &b in s {
        counts[b as usize] += 1;
    }
    let n = s.len() as f32;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f32 / n;
            -p * p.log2()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Vec<u8> {
        digits(s.as_bytes()).unwrap()
    }

    #[test]
    fn cards() {
        for ok in [
            "4111 1111 1111 1111",
            "4012888888881881",
            "5555555555554444",
            "2223003122003222",
            "378282246310005",
            "6011111111111117",
            "3530111333300000",
            "6759649826438453",
            "4000000000000000006", // 19-digit Visa
            "36227206271667",
        ] {
            assert!(credit_card(&d(ok)), "{ok}");
        }
        for bad in [
            "4111 1111 1111 1112",
            "1234567812345670",
            "0000000000000000",
        ] {
            assert!(!credit_card(&d(bad)), "{bad}");
        }
    }

    #[test]
    fn ibans() {
        assert!(iban(b"GB82WEST12345698765432"));
        assert!(iban(b"DE89370400440532013000"));
        assert!(iban(b"NO9386011117947"));
        assert!(!iban(b"GB82WEST12345698765433"));
        assert!(!iban(b"DE8937040044053201300"));
    }

    #[test]
    fn national_ids() {
        assert!(us_ssn(&d("536-22-1234")));
        assert!(!us_ssn(&d("666-22-1234")) && !us_ssn(&d("900-22-1234")));
        assert!(!us_ssn(&d("536-00-1234")) && !us_ssn(&d("123-45-6789")));
        assert!(uk_nhs(&d("943 476 5919")));
        assert!(!uk_nhs(&d("943 476 5918")));
        assert!(uk_nino(b"AB123456C") && !uk_nino(b"GB123456C"));
        let mut aadhaar = d("2341 2341 234");
        let check = (0..10).find(|&c| {
            let mut t = aadhaar.clone();
            t.push(c);
            verhoeff(&t)
        });
        aadhaar.push(check.unwrap());
        assert!(in_aadhaar(&aadhaar));
        *aadhaar.last_mut().unwrap() = (aadhaar[11] + 1) % 10;
        assert!(!in_aadhaar(&aadhaar));
        assert!(verhoeff(&d("2363")));
        assert!(es_nif(b"12345678Z") && !es_nif(b"12345678A"));
        assert!(es_nie(b"X1234567L"));
        assert!(it_fiscal_code(b"RSSMRA85T10A562S"));
        assert!(pl_pesel(&d("44051401359")));
        assert!(fi_pic(b"131052-308T"));
        assert!(sg_nric(b"S1234567D"));
        assert!(au_abn(&d("51 824 753 556")));
        assert!(au_acn(&d("004 085 616")));
        assert!(au_tfn(&d("123 456 782")));
        assert!(aba_routing(&d("011000015")));
        assert!(dea(b"AB1234563"));
        let mut thai = d("110170023070");
        let sum: u32 = thai
            .iter()
            .enumerate()
            .map(|(i, &x)| u32::from(x) * (13 - i as u32))
            .sum();
        thai.push(((11 - sum % 11) % 10) as u8);
        assert!(th_tnin(&thai));
        thai[12] = (thai[12] + 1) % 10;
        assert!(!th_tnin(&thai));
    }

    #[test]
    fn wallets_and_tokens() {
        assert!(btc_base58(b"1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"));
        assert!(!btc_base58(b"1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb"));
        assert!(btc_bech32(b"bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"));
        assert_eq!(
            eth_eip55(b"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"),
            Some(true)
        );
        assert_eq!(
            eth_eip55(b"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD"),
            Some(false)
        );
        assert!(jwt(b"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abc"));
        assert!(!jwt(b"abc.def.ghi"));
        assert!(shannon_entropy(b"aaaa") < 0.01 && shannon_entropy(b"abcd") > 1.99);
    }
}
