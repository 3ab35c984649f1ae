//! What a detector reports: entity types, findings, validator results, and the overlap
//! resolution that every consumer (classification, redaction, the CLI) relies on.

use std::fmt;

use serde::{Deserialize, Serialize};

macro_rules! entity_types {
    ($($variant:ident => $name:literal, $doc:literal;)*) => {
        /// The kind of sensitive content a finding names. Names follow Presidio's entity names
        /// where one exists; new types use the same UPPER_SNAKE style. The string form is a
        /// stable interface (JSON lines, SARIF, placeholders).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        pub enum EntityType {
            $(#[doc = $doc] #[serde(rename = $name)] $variant,)*
        }

        impl EntityType {
            /// Every type, in declaration order.
            pub const ALL: &'static [EntityType] = &[$(EntityType::$variant,)*];

            /// The stable UPPER_SNAKE name.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(EntityType::$variant => $name,)*
                }
            }
        }
    };
}

entity_types! {
    Person => "PERSON", "A person's name.";
    Location => "LOCATION", "A city, region or country.";
    Organization => "ORGANIZATION", "A company, institution or agency name.";
    Nrp => "NRP", "A nationality, religious or political group.";
    DateTime => "DATE_TIME", "A date or time (including dates of birth).";
    Age => "AGE", "A person's age.";
    StreetAddress => "STREET_ADDRESS", "A street address.";
    EmailAddress => "EMAIL_ADDRESS", "An email address.";
    PhoneNumber => "PHONE_NUMBER", "A telephone number valid for its region.";
    CreditCard => "CREDIT_CARD", "A payment card number (Luhn and brand checked).";
    IbanCode => "IBAN_CODE", "An IBAN (mod-97 and country length checked).";
    IpAddress => "IP_ADDRESS", "An IPv4 or IPv6 address.";
    MacAddress => "MAC_ADDRESS", "A hardware (MAC) address.";
    Url => "URL", "A URL.";
    Crypto => "CRYPTO", "A cryptocurrency wallet address (checksum validated).";
    UsSsn => "US_SSN", "A US social security number.";
    UsItin => "US_ITIN", "A US individual taxpayer identification number.";
    UsDriverLicense => "US_DRIVER_LICENSE", "A US driver's licence number (with context).";
    UsPassport => "US_PASSPORT", "A US passport number (with context).";
    UsBankNumber => "US_BANK_NUMBER", "A US bank account number (with context).";
    AbaRouting => "ABA_ROUTING_NUMBER", "A US ABA routing number (checksum validated).";
    MedicalLicense => "MEDICAL_LICENSE", "A US DEA registration number (checksum validated).";
    UkNhs => "UK_NHS", "A UK NHS number (mod-11).";
    UkNino => "UK_NINO", "A UK National Insurance number.";
    EsNif => "ES_NIF", "A Spanish NIF/DNI (check letter).";
    EsNie => "ES_NIE", "A Spanish NIE (check letter).";
    ItFiscalCode => "IT_FISCAL_CODE", "An Italian codice fiscale (check character).";
    ItVatCode => "IT_VAT_CODE", "An Italian partita IVA (Luhn-style check).";
    PlPesel => "PL_PESEL", "A Polish PESEL (weighted checksum, date).";
    FiPersonalIdentityCode => "FI_PERSONAL_IDENTITY_CODE", "A Finnish henkilötunnus (mod-31).";
    SgNricFin => "SG_NRIC_FIN", "A Singapore NRIC/FIN (check letter).";
    SgUen => "SG_UEN", "A Singapore UEN (with context).";
    AuAbn => "AU_ABN", "An Australian Business Number (mod-89).";
    AuAcn => "AU_ACN", "An Australian Company Number (check digit).";
    AuTfn => "AU_TFN", "An Australian Tax File Number (mod-11).";
    AuMedicare => "AU_MEDICARE", "An Australian Medicare number (check digit).";
    InPan => "IN_PAN", "An Indian PAN.";
    InAadhaar => "IN_AADHAAR", "An Indian Aadhaar number (Verhoeff).";
    InVehicleRegistration => "IN_VEHICLE_REGISTRATION", "An Indian vehicle registration.";
    InVoter => "IN_VOTER", "An Indian voter ID (EPIC).";
    InPassport => "IN_PASSPORT", "An Indian passport number (with context).";
    KrRrn => "KR_RRN", "A Korean resident registration number (checksum).";
    ThTnin => "TH_TNIN", "A Thai national ID number (checksum).";
    Secret => "SECRET", "A credential: API key, token, password, private key, connection string.";
    PromptInjection => "PROMPT_INJECTION", "Evidence of an attempt to steer an AI model.";
    HiddenContent => "HIDDEN_CONTENT", "Document text a reader would not see: white or tiny text, hidden runs, sheets, rows, comments, notes, metadata.";
}

impl fmt::Display for EntityType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for EntityType {
    type Err = UnknownEntityType;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EntityType::ALL
            .iter()
            .copied()
            .find(|t| t.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownEntityType(s.chars().take(40).collect()))
    }
}

/// Returned when parsing a name that is not an [`EntityType`].
#[derive(Debug, thiserror::Error)]
#[error("unknown entity type `{0}`")]
pub struct UnknownEntityType(String);

/// What a validator said about the matched value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Validation {
    /// A checksum or structural rule confirmed the value (Luhn, mod-97, CRC32, …).
    Valid,
    /// The detector defines a checksum and the value failed it; reported with a lower score.
    Invalid,
    /// The detector has no validator (context or pattern only).
    None,
}

/// One detected span. `start..end` are byte offsets into the scanned input.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    #[serde(rename = "type")]
    pub kind: EntityType,
    pub start: usize,
    pub end: usize,
    /// Confidence in `0.0..=1.0`.
    pub score: f32,
    /// Detector id: a stable name such as `email`, `credit-card`, or a secret rule id.
    pub detector: &'static str,
    pub validation: Validation,
}

impl Finding {
    pub fn len(&self) -> usize {
        self.end - self.start
    }

    pub fn is_empty(&self) -> bool {
        self.end <= self.start
    }

    fn overlaps(&self, other: &Finding) -> bool {
        self.start < other.end && other.start < self.end
    }

    /// Ordering used when two findings overlap: higher score wins, then a validated value,
    /// then the longer span, then the more sensitive type.
    fn beats(&self, other: &Finding) -> bool {
        // Between two secret rules, a provider rule names the credential better than a
        // generic one, even when its checksum failed.
        if self.kind == EntityType::Secret && other.kind == EntityType::Secret {
            let generic =
                |f: &Finding| f.detector.starts_with("generic") || f.detector == "url-basic-auth";
            if generic(self) != generic(other) {
                return !generic(self);
            }
        }
        let key = |f: &Finding| {
            (
                (f.score * 1000.0) as i32,
                f.validation == Validation::Valid,
                f.len(),
                type_priority(f.kind),
            )
        };
        key(self) > key(other)
    }
}

/// Sensitivity order used to break ties between overlapping findings.
fn type_priority(kind: EntityType) -> u8 {
    use EntityType::*;
    match kind {
        Secret => 9,
        PromptInjection => 8,
        CreditCard | IbanCode | UsSsn | UsItin | UkNhs | UkNino | InAadhaar | KrRrn => 7,
        EmailAddress | PhoneNumber => 5,
        StreetAddress | Person => 4,
        Url | IpAddress => 2,
        Location | Organization | Nrp | DateTime | Age => 1,
        _ => 3,
    }
}

/// Sorts findings by position and resolves overlaps so that no two remaining findings share
/// a byte. Where findings overlap, the winner's span grows to cover the union, so no byte
/// that any detector flagged is left outside a finding — and the text between two findings
/// that do not overlap is never touched (redacting "a@b.com or +1 415 555 0182" keeps " or ").
pub fn resolve_overlaps(mut findings: Vec<Finding>) -> Vec<Finding> {
    findings.sort_by(|a, b| a.start.cmp(&b.start).then(b.end.cmp(&a.end)));
    let mut out: Vec<Finding> = Vec::with_capacity(findings.len());
    for f in findings {
        if f.is_empty() {
            continue;
        }
        match out.last_mut() {
            Some(last) if last.overlaps(&f) => {
                let (start, end) = (last.start.min(f.start), last.end.max(f.end));
                if f.beats(last) {
                    *last = f;
                }
                last.start = start;
                last.end = end;
            }
            _ => out.push(f),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(kind: EntityType, start: usize, end: usize, score: f32) -> Finding {
        Finding {
            kind,
            start,
            end,
            score,
            detector: "t",
            validation: Validation::None,
        }
    }

    #[test]
    fn names_round_trip() {
        for t in EntityType::ALL {
            assert_eq!(t.as_str().parse::<EntityType>().unwrap(), *t);
            let json = serde_json::to_string(t).unwrap();
            assert_eq!(json, format!("\"{}\"", t.as_str()));
        }
    }

    #[test]
    fn provider_secret_rules_beat_generic_ones() {
        let mut generic = f(EntityType::Secret, 0, 40, 0.9);
        generic.detector = "generic-api-key";
        let mut github = f(EntityType::Secret, 5, 40, 0.7);
        github.detector = "github-pat";
        let out = resolve_overlaps(vec![generic, github]);
        assert_eq!(
            (out.len(), out[0].detector, out[0].start),
            (1, "github-pat", 0)
        );
    }

    #[test]
    fn overlaps_merge_to_union_and_keep_gaps() {
        let out = resolve_overlaps(vec![
            f(EntityType::PhoneNumber, 11, 26, 0.8),
            f(EntityType::EmailAddress, 0, 7, 0.9),
            f(EntityType::Url, 2, 7, 0.5),
            f(EntityType::UsBankNumber, 14, 30, 0.4),
        ]);
        assert_eq!(out.len(), 2);
        assert_eq!(
            (out[0].kind, out[0].start, out[0].end),
            (EntityType::EmailAddress, 0, 7)
        );
        assert_eq!(
            (out[1].kind, out[1].start, out[1].end),
            (EntityType::PhoneNumber, 11, 30)
        );
    }
}
