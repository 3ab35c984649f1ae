//! Classification: findings → a sensitivity tier, with the default table of
//! `DESIGN.md` (configurable per entity type).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::finding::{EntityType, Finding};
use crate::tier::Tier;

/// Which tier each entity type implies, and the combinations that raise it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ClassificationPolicy {
    /// Tier implied by one finding of a type. Types not listed imply nothing.
    pub by_type: BTreeMap<EntityType, Tier>,
    /// A person's name together with contact data (email, phone, street address).
    pub person_with_contact: Tier,
    /// A date found next to a birth cue ("DOB", "born").
    pub date_of_birth: Tier,
    /// Findings scoring below this do not count.
    pub min_score: f32,
    /// Tier of content with no findings.
    pub empty: Tier,
}

impl Default for ClassificationPolicy {
    fn default() -> Self {
        use EntityType::*;
        let mut by_type = BTreeMap::new();
        for t in [
            Secret,
            UsSsn,
            UsItin,
            UsPassport,
            UsDriverLicense,
            MedicalLicense,
            UkNhs,
            UkNino,
            EsNif,
            EsNie,
            ItFiscalCode,
            PlPesel,
            FiPersonalIdentityCode,
            SgNricFin,
            AuTfn,
            AuMedicare,
            InAadhaar,
            InPan,
            InPassport,
            InVoter,
            KrRrn,
            ThTnin,
        ] {
            by_type.insert(t, Tier::Restricted);
        }
        for t in [
            CreditCard,
            IbanCode,
            UsBankNumber,
            AbaRouting,
            Crypto,
            StreetAddress,
            PhoneNumber,
            ItVatCode,
            AuAbn,
            AuAcn,
            SgUen,
            InVehicleRegistration,
        ] {
            by_type.insert(t, Tier::Confidential);
        }
        for t in [
            EmailAddress,
            Person,
            Url,
            IpAddress,
            MacAddress,
            Organization,
            Location,
            Nrp,
            DateTime,
            Age,
        ] {
            by_type.insert(t, Tier::Internal);
        }
        ClassificationPolicy {
            by_type,
            person_with_contact: Tier::Confidential,
            date_of_birth: Tier::Confidential,
            min_score: 0.5,
            empty: Tier::Public,
        }
    }
}

/// The outcome: a tier and what led to it (types and counts only, never values).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Classification {
    pub tier: Tier,
    pub counts: BTreeMap<EntityType, u32>,
    /// Highest prompt-injection evidence score seen (0 if none).
    pub injection_score: f32,
}

/// Accumulates findings (possibly streamed in batches) into a [`Classification`].
#[derive(Clone, Debug)]
pub struct Classifier {
    policy: ClassificationPolicy,
    tier: Tier,
    counts: BTreeMap<EntityType, u32>,
    dob: bool,
    injection: Vec<Finding>,
}

impl Classifier {
    pub fn new(policy: ClassificationPolicy) -> Classifier {
        let tier = policy.empty;
        Classifier {
            policy,
            tier,
            counts: BTreeMap::new(),
            dob: false,
            injection: Vec::new(),
        }
    }

    pub fn add(&mut self, findings: &[Finding]) {
        for f in findings.iter().filter(|f| f.score >= self.policy.min_score) {
            if f.kind == EntityType::PromptInjection {
                if self.injection.len() < 64 {
                    self.injection.push(f.clone());
                }
                *self.counts.entry(f.kind).or_default() += 1;
                continue;
            }
            *self.counts.entry(f.kind).or_default() += 1;
            if let Some(&t) = self.policy.by_type.get(&f.kind) {
                self.tier = self.tier.max(t);
            }
            if f.kind == EntityType::DateTime && f.score >= 0.85 {
                self.dob = true;
            }
        }
    }

    pub fn finish(&self) -> Classification {
        use EntityType::*;
        let mut tier = self.tier;
        let has = |t: EntityType| self.counts.contains_key(&t);
        if has(Person) && (has(EmailAddress) || has(PhoneNumber) || has(StreetAddress)) {
            tier = tier.max(self.policy.person_with_contact);
        }
        if self.dob {
            tier = tier.max(self.policy.date_of_birth);
        }
        Classification {
            tier,
            counts: self.counts.clone(),
            injection_score: crate::injection::injection_score(&self.injection),
        }
    }
}

/// Classifies a complete list of findings with `policy`.
pub fn classify(findings: &[Finding], policy: &ClassificationPolicy) -> Classification {
    let mut c = Classifier::new(policy.clone());
    c.add(findings);
    c.finish()
}
