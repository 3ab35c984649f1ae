//! Sensitivity tiers, ordered from least to most sensitive.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A file's sensitivity label. `Ord` follows sensitivity: public < … < restricted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    Public,
    Internal,
    Confidential,
    Restricted,
}

impl Tier {
    pub const ALL: [Tier; 4] = [
        Tier::Public,
        Tier::Internal,
        Tier::Confidential,
        Tier::Restricted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Public => "public",
            Tier::Internal => "internal",
            Tier::Confidential => "confidential",
            Tier::Restricted => "restricted",
        }
    }
}

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
#[error("unknown tier `{0}`: use public, internal, confidential or restricted")]
pub struct TierParseError(String);

impl FromStr for Tier {
    type Err = TierParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Tier::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| TierParseError(s.chars().take(40).collect()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_order() {
        for t in Tier::ALL {
            assert_eq!(t.as_str().parse::<Tier>().unwrap(), t);
        }
        assert!("secret".parse::<Tier>().is_err());
        assert!(Tier::Public < Tier::Internal && Tier::Confidential < Tier::Restricted);
    }
}
