//! From verified claims to a covault identity: the groups claim, the email domain rule and the
//! group → role mapping.
//!
//! Pure functions over claims that `openidconnect` has already verified (signature, issuer,
//! audience, expiry, nonce; userinfo `sub` matching the ID token). Nothing here does I/O or
//! knows how the claims were fetched.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::SsoError;

/// Who signed in, as covault sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SsoIdentity {
    /// The provider's stable id for the user (`sub`); unique only together with `issuer`.
    pub subject: String,
    pub issuer: String,
    pub email: Option<String>,
    pub name: Option<String>,
    /// The values of the configured groups claim, as the provider sent them.
    pub groups: Vec<String>,
    /// The covault roles the groups map to (or the default role); never empty.
    pub roles: Vec<String>,
}

/// Every claim of an ID token or userinfo response that is not an OpenID standard claim (those
/// are parsed by `openidconnect`), kept as JSON so any configured groups claim can be read.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub(crate) struct ExtraClaims {
    #[serde(flatten)]
    pub(crate) claims: Map<String, Value>,
}

impl openidconnect::AdditionalClaims for ExtraClaims {}

/// Reads the groups claim: `None` when absent or null, the strings when it is a string or a list
/// of strings. A top-level claim of exactly that name wins; otherwise a dotted name is a path.
pub(crate) fn read_groups(
    claims: &Map<String, Value>,
    claim: &str,
) -> Result<Option<Vec<String>>, SsoError> {
    let value = claims.get(claim).or_else(|| lookup_path(claims, claim));
    let invalid = || SsoError::InvalidClaim {
        claim: claim.to_owned(),
    };
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(group)) => Ok(Some(vec![group.clone()])),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| item.as_str().map(str::to_owned).ok_or_else(invalid))
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(invalid()),
    }
}

fn lookup_path<'a>(claims: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    let mut segments = path.split('.');
    let first = claims.get(segments.next()?)?;
    segments.try_fold(first, |value, segment| value.as_object()?.get(segment))
}

/// Applies `allowed_domains` (empty: anyone) to the identity's email address.
pub(crate) fn check_email(
    email: Option<&str>,
    email_verified: Option<bool>,
    allowed_domains: &[String],
) -> Result<(), SsoError> {
    if allowed_domains.is_empty() {
        return Ok(());
    }
    let email = email.ok_or(SsoError::MissingEmail)?;
    // A domain rule is only as good as the address: an unverified one (or one the provider
    // does not vouch for at all) is refused.
    if email_verified != Some(true) {
        return Err(SsoError::EmailNotVerified);
    }
    let domain = email
        .rsplit_once('@')
        .map(|(_, domain)| domain.to_ascii_lowercase())
        .ok_or(SsoError::MissingEmail)?;
    let allowed = allowed_domains.iter().any(|allowed| {
        allowed
            .trim()
            .trim_start_matches('@')
            .eq_ignore_ascii_case(&domain)
    });
    if allowed {
        Ok(())
    } else {
        Err(SsoError::EmailDomainNotAllowed { domain })
    }
}

/// Every role whose group the identity is in, in mapping order, each once; else the default
/// role; else [`SsoError::NoRole`].
pub(crate) fn map_roles(
    groups: &[String],
    mapping: &[(String, String)],
    default_role: Option<&str>,
) -> Result<Vec<String>, SsoError> {
    let mut roles: Vec<String> = Vec::new();
    for (group, role) in mapping {
        if groups.contains(group) && !roles.contains(role) {
            roles.push(role.clone());
        }
    }
    if roles.is_empty() {
        let role = default_role.ok_or(SsoError::NoRole)?;
        roles.push(role.to_owned());
    }
    Ok(roles)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn groups(claims: Value, claim: &str) -> Result<Option<Vec<String>>, String> {
        let Value::Object(map) = claims else {
            panic!("claims must be an object")
        };
        read_groups(&map, claim).map_err(|e| e.to_string())
    }

    fn some(items: &[&str]) -> Result<Option<Vec<String>>, String> {
        Ok(Some(items.iter().map(|s| s.to_string()).collect()))
    }

    #[test]
    fn groups_claim_shapes() {
        assert_eq!(
            groups(json!({"groups": ["a", "b"]}), "groups"),
            some(&["a", "b"])
        );
        assert_eq!(groups(json!({"groups": "a"}), "groups"), some(&["a"]));
        assert_eq!(groups(json!({"groups": []}), "groups"), some(&[]));
        assert_eq!(groups(json!({"groups": null}), "groups"), Ok(None));
        assert_eq!(groups(json!({}), "groups"), Ok(None));
        assert_eq!(
            groups(
                json!({"realm_access": {"roles": ["x"]}}),
                "realm_access.roles"
            ),
            some(&["x"])
        );
        assert_eq!(
            groups(
                json!({"https://ex.com/groups": ["n"]}),
                "https://ex.com/groups"
            ),
            some(&["n"])
        );
        assert_eq!(
            groups(json!({"a.b": ["flat"], "a": {"b": ["nested"]}}), "a.b"),
            some(&["flat"])
        );
        assert_eq!(groups(json!({"a": "x"}), "a.b"), Ok(None));
        assert_eq!(
            groups(json!({"groups": [1]}), "groups"),
            Err(
                "the claim `groups` is not a string or a list of strings; check `groups_claim`"
                    .into()
            )
        );
        assert!(groups(json!({"groups": {"a": 1}}), "groups").is_err());
    }

    fn roles(groups: &[&str], default_role: Option<&str>) -> Result<Vec<String>, String> {
        let mapping = vec![
            ("covault-admins".to_string(), "admin".to_string()),
            ("eng".to_string(), "member".to_string()),
            ("ops".to_string(), "member".to_string()),
        ];
        let groups: Vec<String> = groups.iter().map(|g| g.to_string()).collect();
        map_roles(&groups, &mapping, default_role).map_err(|e| e.to_string())
    }

    #[test]
    fn role_mapping() {
        assert_eq!(
            roles(&["eng", "covault-admins"], None),
            Ok(vec!["admin".into(), "member".into()])
        );
        assert_eq!(roles(&["eng", "ops"], None), Ok(vec!["member".into()]));
        assert_eq!(roles(&["Eng"], Some("viewer")), Ok(vec!["viewer".into()]));
        assert_eq!(roles(&["eng"], Some("viewer")), Ok(vec!["member".into()]));
        assert_eq!(
            roles(&["contractors"], None),
            Err("no covault role for this identity; ask an administrator to map one of its groups to a role or to set a default role".into())
        );
        assert!(roles(&[], None).is_err());
    }

    fn email(address: Option<&str>, verified: Option<bool>) -> Result<(), String> {
        let allowed = vec!["example.com".to_string(), "@corp.example".to_string()];
        check_email(address, verified, &allowed).map_err(|e| e.to_string())
    }

    #[test]
    fn email_domains() {
        assert_eq!(email(Some("a@example.com"), Some(true)), Ok(()));
        assert_eq!(email(Some("a@EXAMPLE.com"), Some(true)), Ok(()));
        assert_eq!(email(Some("a@corp.example"), Some(true)), Ok(()));
        assert!(
            email(Some("a@example.com"), None).is_err(),
            "unvouched address"
        );
        assert!(email(Some("a@sub.example.com"), None).is_err());
        assert!(email(Some("a@example.com.evil"), None).is_err());
        assert!(email(Some("a@example.com"), Some(false)).is_err());
        assert!(email(Some("no-at-sign"), None).is_err());
        assert!(email(None, None).is_err());
        assert_eq!(
            email(Some("x@evil.example"), Some(true)),
            Err("the email domain `evil.example` may not sign in to covault".into())
        );
        assert_eq!(
            check_email(None, None, &[]).map_err(|e| e.to_string()),
            Ok(())
        );
    }
}
