//! Second factor: TOTP secrets, enrollment (otpauth:// URI and QR codes), code verification
//! with replay refusal, and single-use recovery codes.
//!
//! Pure: no I/O and no clock reads. Callers pass `now_s` (Unix seconds) and the last accepted
//! step; the store keeps the secret encrypted, the last step, and the recovery-code hashes,
//! and is responsible for marking a matched recovery code used. No code, secret or URI ever
//! appears in an error message or a `Debug` output.

use std::fmt;

use qrcode::QrCode;
use qrcode::render::{svg, unicode::Dense1x2};
use secrecy::SecretString;
use subtle::{Choice, ConditionallySelectable, ConstantTimeEq};
use totp_rs::{Algorithm, Builder, Totp};
use zeroize::Zeroizing;

use covault_crypto::{CryptoError, random_array, sha256};

/// Bytes of a generated TOTP secret (160 bits, the RFC 4226 recommendation).
pub const TOTP_SECRET_LEN: usize = 20;
/// Digits of a TOTP code (what every authenticator app supports).
pub const TOTP_DIGITS: usize = 6;
/// Seconds per TOTP step.
pub const TOTP_STEP_S: u64 = 30;
/// Longest issuer accepted in an otpauth label, in characters.
pub const MAX_ISSUER_LEN: usize = 64;
/// Longest account name accepted in an otpauth label, in characters.
pub const MAX_ACCOUNT_LEN: usize = 128;
/// Recovery codes issued per enrollment unless the caller asks otherwise.
pub const RECOVERY_CODE_COUNT: usize = 10;
/// Most recovery codes one call will generate.
pub const MAX_RECOVERY_CODES: usize = 100;

/// Crockford base32, lowercased: no `i`, `l`, `o` or `u`; input `o` reads as `0` and `i`/`l`
/// as `1` (see `normalise_recovery_code`), so look-alike characters cannot cause a miss.
const RECOVERY_ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";
const RECOVERY_CHARS: usize = 12;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MfaError {
    #[error("the system random number generator failed")]
    Random,
    #[error("invalid TOTP {field}: {reason}")]
    InvalidLabel {
        field: &'static str,
        reason: &'static str,
    },
    #[error("the stored TOTP secret is unusable (shorter than 128 bits)")]
    UnusableSecret,
    #[error("could not encode the enrollment URI as a QR code (too long)")]
    Qr,
    #[error("the number of recovery codes must be between 1 and {MAX_RECOVERY_CODES}")]
    InvalidCount,
    #[error("the authenticator code must be exactly {TOTP_DIGITS} digits")]
    Malformed,
    #[error("the authenticator code is not valid (check the device's clock)")]
    Invalid,
    #[error("this authenticator code was already used; wait for the next one")]
    Replayed,
}

impl From<CryptoError> for MfaError {
    fn from(_: CryptoError) -> Self {
        Self::Random
    }
}

/// A TOTP shared secret. Zeroized on drop; `Debug` prints `[redacted]`.
#[derive(Clone)]
pub struct TotpSecret(Zeroizing<Vec<u8>>);

impl TotpSecret {
    /// 20 fresh random bytes.
    pub fn generate() -> Result<Self, MfaError> {
        let bytes = Zeroizing::new(random_array::<TOTP_SECRET_LEN>()?);
        Ok(Self(Zeroizing::new(bytes.to_vec())))
    }
    /// Rebuild from bytes the store decrypted. Length is checked when the secret is used
    /// ([`MfaError::UnusableSecret`] below 16 bytes).
    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        Self(Zeroizing::new(bytes))
    }
    /// Raw bytes, for the store to encrypt.
    pub fn expose_bytes(&self) -> &[u8] {
        &self.0
    }
    /// Unpadded base32, for typing the secret into an app that cannot scan the QR code.
    pub fn to_base32(&self) -> SecretString {
        SecretString::from(totp_rs::Secret::from(self.expose_bytes()).to_base32())
    }
    /// SHA-1, 6 digits, 30 s: the parameters every authenticator app supports.
    fn builder(&self) -> Builder {
        Builder::new()
            .with_algorithm(Algorithm::SHA1)
            .with_digits(TOTP_DIGITS as u8)
            .with_step_duration(TOTP_STEP_S)
            .with_secret(self.expose_bytes())
    }
    fn totp(&self) -> Result<Totp, MfaError> {
        self.builder().build().map_err(|_| MfaError::UnusableSecret)
    }
}

impl fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TotpSecret([redacted])")
    }
}

/// What enrollment hands back: store `secret`, show `otpauth_uri` / `qr_svg` once.
pub struct Enrollment {
    pub secret: TotpSecret,
    pub otpauth_uri: SecretString,
    /// SVG of the QR code. It encodes the secret: treat it as secret too.
    pub qr_svg: String,
}

impl fmt::Debug for Enrollment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "Enrollment { secret: [redacted], otpauth_uri: [redacted], qr_svg: [redacted] }",
        )
    }
}

fn check_label(field: &'static str, value: &str, max: usize) -> Result<(), MfaError> {
    let bad = |reason| Err(MfaError::InvalidLabel { field, reason });
    if value.trim().is_empty() {
        return bad("must not be empty");
    }
    if value.chars().count() > max {
        return bad("is too long");
    }
    if value.contains(':') {
        return bad("must not contain ':' (it separates issuer and account in the label)");
    }
    if value.chars().any(char::is_control) {
        return bad("must not contain control characters");
    }
    Ok(())
}

/// New secret plus its otpauth:// URI (SHA-1, 6 digits, 30 s, all stated explicitly) and QR.
pub fn enroll(issuer: &str, account: &str) -> Result<Enrollment, MfaError> {
    check_label("issuer", issuer, MAX_ISSUER_LEN)?;
    check_label("account name", account, MAX_ACCOUNT_LEN)?;
    let secret = TotpSecret::generate()?;
    let rejected = |_| MfaError::InvalidLabel {
        field: "label",
        reason: "rejected by the otpauth encoder",
    };
    let totp = secret
        .builder()
        .with_account_name(account)
        .with_issuer(Some(issuer))
        .build()
        .map_err(rejected)?;
    // totp-rs percent-encodes issuer and account and omits parameters equal to the defaults;
    // some apps mishandle missing ones, so state them.
    let base = Zeroizing::new(totp.to_url().map_err(rejected)?);
    let uri = Zeroizing::new(format!(
        "{}&algorithm=SHA1&digits={TOTP_DIGITS}&period={TOTP_STEP_S}",
        base.as_str()
    ));
    let code = QrCode::new(uri.as_bytes()).map_err(|_| MfaError::Qr)?;
    let qr_svg = code
        .render::<svg::Color>()
        .min_dimensions(256, 256)
        .quiet_zone(true)
        .build();
    Ok(Enrollment {
        secret,
        otpauth_uri: SecretString::from(uri.as_str()),
        qr_svg,
    })
}

/// The QR code of `uri` drawn with Unicode half blocks (two modules per character), colours
/// inverted so it scans on the usual dark-background terminal.
pub fn qr_terminal(uri: &str) -> Result<String, MfaError> {
    let code = QrCode::new(uri.as_bytes()).map_err(|_| MfaError::Qr)?;
    Ok(code
        .render::<Dense1x2>()
        .dark_color(Dense1x2::Light)
        .light_color(Dense1x2::Dark)
        .quiet_zone(true)
        .build())
}

/// Check `code` for the step of `now_s` ±1. Surrounding whitespace and inner spaces are
/// ignored; anything else but exactly six ASCII digits is [`MfaError::Malformed`]. Every step
/// of the window is compared in constant time (no early exit). A code matching only steps
/// `<= last_used_step` is [`MfaError::Replayed`]. Returns the matched step, which the caller
/// must store as the new `last_used_step` (atomically with accepting the login).
pub fn verify_totp(
    secret: &TotpSecret,
    code: &str,
    now_s: u64,
    last_used_step: Option<u64>,
) -> Result<u64, MfaError> {
    let mut digits = Zeroizing::new([0u8; TOTP_DIGITS]);
    let mut len = 0usize;
    for b in code.trim().bytes().filter(|b| *b != b' ') {
        if !b.is_ascii_digit() || len == TOTP_DIGITS {
            return Err(MfaError::Malformed);
        }
        digits[len] = b;
        len += 1;
    }
    if len != TOTP_DIGITS {
        return Err(MfaError::Malformed);
    }
    let totp = secret.totp()?;
    let current = now_s / TOTP_STEP_S;
    let (mut accepted, mut seen, mut accepted_step) = (Choice::from(0), Choice::from(0), 0u64);
    for step in current.saturating_sub(1)..=current.saturating_add(1) {
        let Some(t) = step.checked_mul(TOTP_STEP_S) else {
            continue;
        };
        let expected = Zeroizing::new(totp.generate(t).to_string());
        let hit = expected.as_bytes().ct_eq(&digits[..]);
        let fresh = match last_used_step {
            Some(last) => Choice::from(u8::from(step > last)),
            None => Choice::from(1),
        };
        seen |= hit;
        let take = hit & fresh;
        accepted_step = u64::conditional_select(&accepted_step, &step, take);
        accepted |= take;
    }
    if bool::from(accepted) {
        Ok(accepted_step)
    } else if bool::from(seen) {
        Err(MfaError::Replayed)
    } else {
        Err(MfaError::Invalid)
    }
}

/// One-time recovery codes: `xxxx-xxxx-xxxx`, lowercase Crockford base32, 60 random bits.
#[derive(Debug)]
pub struct RecoveryCodes;

impl RecoveryCodes {
    /// `n` codes (normally [`RECOVERY_CODE_COUNT`]) to show once, and their hashes to store.
    pub fn generate(n: usize) -> Result<(Vec<SecretString>, Vec<[u8; 32]>), MfaError> {
        if n == 0 || n > MAX_RECOVERY_CODES {
            return Err(MfaError::InvalidCount);
        }
        let (mut codes, mut hashes) = (Vec::with_capacity(n), Vec::with_capacity(n));
        for _ in 0..n {
            let bits = Zeroizing::new(u64::from_be_bytes(random_array::<8>()?));
            let mut text = Zeroizing::new(String::with_capacity(RECOVERY_CHARS + 2));
            for i in 0..RECOVERY_CHARS {
                if i > 0 && i % 4 == 0 {
                    text.push('-');
                }
                let index = ((*bits >> (5 * i)) & 0x1f) as usize;
                text.push(char::from(RECOVERY_ALPHABET[index]));
            }
            let normal = normalise_recovery_code(&text).ok_or(MfaError::Random)?;
            hashes.push(hash_recovery(&normal));
            codes.push(SecretString::from(text.as_str()));
        }
        Ok((codes, hashes))
    }
}

/// Lowercase, drop dashes and spaces, read `o` as `0` and `i`/`l` as `1`; `None` unless the
/// result is 12 characters of the alphabet.
fn normalise_recovery_code(code: &str) -> Option<Zeroizing<String>> {
    let mut out = Zeroizing::new(String::with_capacity(RECOVERY_CHARS));
    for c in code.chars().filter(|c| *c != '-' && *c != ' ') {
        let c = match c.to_ascii_lowercase() {
            'o' => '0',
            'i' | 'l' => '1',
            c => c,
        };
        if !c.is_ascii() || !RECOVERY_ALPHABET.contains(&(c as u8)) || out.len() == RECOVERY_CHARS {
            return None;
        }
        out.push(c);
    }
    (out.len() == RECOVERY_CHARS).then_some(out)
}

// A fast hash is fine here, unlike for passwords: each code is 60 bits from the system RNG, so
// even with the stored hashes an attacker faces ~2^60 guesses per code; a slow KDF adds nothing.
fn hash_recovery(normal: &str) -> [u8; 32] {
    sha256(normal.as_bytes())
}

/// Index of the stored hash `code` matches, comparing against every entry in constant time.
/// Single use is the store's job: it must delete or mark the returned entry used atomically
/// with accepting the login.
pub fn match_recovery_code(code: &str, stored: &[[u8; 32]]) -> Option<usize> {
    let normal = normalise_recovery_code(code)?;
    let hash = hash_recovery(&normal);
    let (mut found, mut index) = (Choice::from(0), 0u64);
    for (i, h) in stored.iter().enumerate() {
        let hit = h.ct_eq(&hash);
        index = u64::conditional_select(&index, &(i as u64), hit & !found);
        found |= hit;
    }
    bool::from(found).then_some(index as usize)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use secrecy::ExposeSecret;

    const RFC_SECRET: &[u8] = b"12345678901234567890";
    const NOW: u64 = 1_700_000_000;

    fn code_at(secret: &TotpSecret, t: u64) -> String {
        secret.totp().unwrap().generate(t).to_string()
    }

    #[test]
    fn rfc6238_sha1_vector() {
        let secret = TotpSecret::from_bytes(RFC_SECRET.to_vec());
        let eight = secret.builder().with_digits(8).build().unwrap();
        assert_eq!(eight.generate(59).to_string(), "94287082");
        assert_eq!(code_at(&secret, 59), "287082");
        assert_eq!(verify_totp(&secret, "287082", 59, None), Ok(1));
        assert_eq!(verify_totp(&secret, " 287 082\n", 59, None), Ok(1));
    }

    #[test]
    fn skew_of_one_step_only() {
        let secret = TotpSecret::generate().unwrap();
        let step = NOW / TOTP_STEP_S;
        for (t, expect) in [(NOW - 30, step - 1), (NOW, step), (NOW + 30, step + 1)] {
            assert_eq!(
                verify_totp(&secret, &code_at(&secret, t), NOW, None),
                Ok(expect)
            );
        }
        for t in [NOW - 60, NOW + 60] {
            let result = verify_totp(&secret, &code_at(&secret, t), NOW, None);
            assert_eq!(result, Err(MfaError::Invalid));
        }
    }

    #[test]
    fn replay_refused() {
        let secret = TotpSecret::generate().unwrap();
        let code = code_at(&secret, NOW);
        let step = verify_totp(&secret, &code, NOW, None).unwrap();
        let replay = Err(MfaError::Replayed);
        assert_eq!(verify_totp(&secret, &code, NOW + 5, Some(step)), replay);
        // An older code after a newer one was used is refused too; the next step's is fine.
        let old = code_at(&secret, NOW - 30);
        assert_eq!(verify_totp(&secret, &old, NOW, Some(step)), replay);
        let next = code_at(&secret, NOW + 30);
        assert_eq!(
            verify_totp(&secret, &next, NOW + 30, Some(step)),
            Ok(step + 1)
        );
    }

    #[test]
    fn malformed_refused_without_echoing() {
        let secret = TotpSecret::generate().unwrap();
        for bad in [
            "",
            "12345",
            "1234567",
            "12a456",
            "+12345",
            "１２３４５６",
            "123-456",
        ] {
            let result = verify_totp(&secret, bad, NOW, None);
            assert_eq!(result, Err(MfaError::Malformed), "{bad:?}");
        }
        let short = TotpSecret::from_bytes(vec![1; 8]);
        let result = verify_totp(&short, "123456", NOW, None);
        assert_eq!(result, Err(MfaError::UnusableSecret));
        if let Err(e) = verify_totp(&secret, "000000", NOW, None) {
            assert!(!e.to_string().contains("000000"));
        }
    }

    #[test]
    fn enrollment_uri_round_trips() {
        let e = enroll("Covault Lab", "ana@example.com").unwrap();
        let uri = e.otpauth_uri.expose_secret();
        let label = "otpauth://totp/Covault%20Lab:ana%40example.com?";
        assert!(uri.starts_with(label), "{uri}");
        let secret = format!("secret={}", e.secret.to_base32().expose_secret());
        for part in [
            &secret,
            "issuer=Covault%20Lab",
            "digits=6",
            "period=30",
            "algorithm=SHA1",
        ] {
            assert!(uri.contains(part), "{part}");
        }
        let parsed = Totp::from_url(uri).unwrap();
        assert_eq!(parsed.secret().as_ref(), e.secret.expose_bytes());
        assert_eq!(parsed.issuer(), Some("Covault Lab"));
        assert_eq!(parsed.account_name(), "ana@example.com");
        assert_eq!((parsed.digits(), parsed.step()), (6, 30));
        assert!(e.qr_svg.starts_with("<?xml") || e.qr_svg.starts_with("<svg"));
        assert!(qr_terminal(uri).unwrap().contains('\u{2588}'));
        let long = "i".repeat(MAX_ISSUER_LEN + 1);
        for (issuer, account) in [
            ("a:b", "x"),
            ("a", "x:y"),
            (" ", "x"),
            ("a", "x\n"),
            (&long, "x"),
        ] {
            let result = enroll(issuer, account);
            assert!(
                matches!(result, Err(MfaError::InvalidLabel { .. })),
                "{issuer:?}"
            );
        }
    }

    #[test]
    fn recovery_codes_match_once_each() {
        let (codes, hashes) = RecoveryCodes::generate(RECOVERY_CODE_COUNT).unwrap();
        assert_eq!((codes.len(), hashes.len()), (10, 10));
        for (i, code) in codes.iter().enumerate() {
            let text = code.expose_secret();
            assert_eq!((text.len(), text.matches('-').count()), (14, 2));
            assert_eq!(match_recovery_code(text, &hashes), Some(i));
            let sloppy = text.to_uppercase().replace('-', " ");
            assert_eq!(match_recovery_code(&sloppy, &hashes), Some(i));
        }
        assert_eq!(
            match_recovery_code(codes[0].expose_secret(), &hashes[1..]),
            None
        );
        assert_eq!(match_recovery_code("0000-0000-000", &hashes), None);
        assert_eq!(match_recovery_code("not a code", &hashes), None);
        let (other, _) = RecoveryCodes::generate(1).unwrap();
        assert_eq!(match_recovery_code(other[0].expose_secret(), &hashes), None);
        assert_eq!(
            RecoveryCodes::generate(0).err(),
            Some(MfaError::InvalidCount)
        );
    }

    #[test]
    fn debug_never_shows_secrets() {
        let e = enroll("Covault", "ana").unwrap();
        let rfc = TotpSecret::from_bytes(RFC_SECRET.to_vec());
        let shown = format!("{e:?} {:?} {rfc:?}", e.secret);
        assert!(!shown.contains(e.secret.to_base32().expose_secret()));
        assert!(!shown.contains("otpauth://") && !shown.contains("<svg"));
        assert!(!shown.contains("1234567890") && shown.contains("redacted"));
        let (codes, _) = RecoveryCodes::generate(1).unwrap();
        assert!(!format!("{codes:?}").contains(codes[0].expose_secret()));
    }
}
