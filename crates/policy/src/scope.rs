//! What an API token may be used for: actions, path prefixes, a tier ceiling, providers and
//! models, and the client addresses it may come from; plus resolving a request's client
//! address through trusted proxies. Scopes only ever narrow what the principal's roles allow.

use std::net::IpAddr;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::{Action, Tier};

/// Most entries accepted in any one scope list.
pub const MAX_SCOPE_ENTRIES: usize = 64;
/// Longest path prefix, provider or model name in a scope.
const MAX_ENTRY_LEN: usize = 512;

/// Restrictions carried by a token. An empty list means "not restricted by this dimension".
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenScope {
    /// Actions the token may take (by name, e.g. `file.read`); `file.*` covers a family.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<String>,
    /// Workspace path prefixes (whole components) the token may touch.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub paths: Vec<String>,
    /// Highest tier of file the token may read or write, and of data it may send to AI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tier: Option<Tier>,
    /// Providers the token may send to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub providers: Vec<String>,
    /// Models the token may use.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub models: Vec<String>,
    /// Client networks (CIDRs) the token may be used from.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_ips: Vec<IpNet>,
}

/// A scope that does not parse or validate.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ScopeError {
    #[error("unknown action `{0}` in token scope (see `covault policy actions`)")]
    UnknownAction(String),
    #[error(
        "invalid network `{0}` in token scope: expected a CIDR such as 10.0.0.0/8 or an address"
    )]
    BadNetwork(String),
    #[error("invalid path prefix `{0}` in token scope: it must start with `/` and contain no `..`")]
    BadPath(String),
    #[error(
        "token scope `{field}` has more than {MAX_SCOPE_ENTRIES} entries or an entry longer than 512 bytes"
    )]
    TooLarge { field: &'static str },
}

/// Parses `10.0.0.0/8` or a bare address (a /32 or /128).
pub fn parse_network(text: &str) -> Result<IpNet, ScopeError> {
    let text = text.trim();
    if let Ok(net) = text.parse::<IpNet>() {
        return Ok(net.trunc());
    }
    text.parse::<IpAddr>()
        .map(IpNet::from)
        .map_err(|_| ScopeError::BadNetwork(text.to_owned()))
}

impl TokenScope {
    /// Checks every entry; call before storing a scope.
    pub fn validate(&self) -> Result<(), ScopeError> {
        let bounded = |field: &'static str, items: &[String]| {
            if items.len() > MAX_SCOPE_ENTRIES || items.iter().any(|i| i.len() > MAX_ENTRY_LEN) {
                Err(ScopeError::TooLarge { field })
            } else {
                Ok(())
            }
        };
        bounded("actions", &self.actions)?;
        bounded("paths", &self.paths)?;
        bounded("providers", &self.providers)?;
        bounded("models", &self.models)?;
        if self.allowed_ips.len() > MAX_SCOPE_ENTRIES {
            return Err(ScopeError::TooLarge {
                field: "allowed_ips",
            });
        }
        for name in &self.actions {
            let known = match name.strip_suffix(".*") {
                Some(family) => Action::ALL
                    .iter()
                    .any(|a| a.as_str().split('.').next() == Some(family)),
                None => Action::parse(name).is_some(),
            };
            if !known {
                return Err(ScopeError::UnknownAction(name.clone()));
            }
        }
        for path in &self.paths {
            let ok = path.starts_with('/')
                && !path.contains('\0')
                && !path.split('/').any(|c| c == ".." || c == ".");
            if !ok {
                return Err(ScopeError::BadPath(path.clone()));
            }
        }
        Ok(())
    }

    /// Whether every request `inner` allows, this scope allows too (so a token of scope
    /// `self` may mint or rotate a token of scope `inner` without widening itself).
    pub fn contains(&self, inner: &TokenScope) -> bool {
        let list = |outer: &[String], inner: &[String]| {
            outer.is_empty() || (!inner.is_empty() && inner.iter().all(|i| outer.contains(i)))
        };
        let actions = self.actions.is_empty()
            || (!inner.actions.is_empty()
                && inner.actions.iter().all(|a| {
                    self.actions.contains(a)
                        || Action::parse(a).is_some_and(|action| self.allows_action(action))
                }));
        let paths = self.paths.is_empty()
            || (!inner.paths.is_empty() && inner.paths.iter().all(|p| self.allows_path(p)));
        let tier = match (self.max_tier, inner.max_tier) {
            (None, _) => true,
            (Some(_), None) => false,
            (Some(outer), Some(inner)) => inner <= outer,
        };
        let ips = self.allowed_ips.is_empty()
            || (!inner.allowed_ips.is_empty()
                && inner
                    .allowed_ips
                    .iter()
                    .all(|n| self.allowed_ips.iter().any(|o| o.contains(n))));
        actions
            && paths
            && tier
            && ips
            && list(&self.providers, &inner.providers)
            && list(&self.models, &inner.models)
    }

    /// Whether the scope names `action` explicitly (by name or family), rather than allowing
    /// it by leaving actions unrestricted.
    pub fn names_action(&self, action: Action) -> bool {
        !self.actions.is_empty() && self.allows_action(action)
    }

    /// Whether the scope restricts nothing.
    pub fn is_unrestricted(&self) -> bool {
        self == &TokenScope::default()
    }

    /// Whether the token may take `action`.
    pub fn allows_action(&self, action: Action) -> bool {
        if self.actions.is_empty() || action == Action::Authenticate {
            return true;
        }
        let name = action.as_str();
        self.actions.iter().any(|a| match a.strip_suffix(".*") {
            Some(family) => name.split('.').next() == Some(family),
            None => a == name,
        })
    }

    /// Whether `path` lies under one of the prefixes (whole components). Listing the root or
    /// a parent of a prefix is allowed; the listing itself is filtered by the caller.
    pub fn allows_path(&self, path: &str) -> bool {
        if self.paths.is_empty() {
            return true;
        }
        self.paths.iter().any(|prefix| {
            let prefix = prefix.trim_end_matches('/');
            prefix.is_empty()
                || path == prefix
                || path
                    .strip_prefix(prefix)
                    .is_some_and(|rest| rest.starts_with('/'))
        })
    }

    /// Whether a file of `tier` is within the ceiling.
    pub fn allows_tier(&self, tier: Tier) -> bool {
        self.max_tier.is_none_or(|max| tier <= max)
    }

    pub fn allows_provider(&self, provider: &str) -> bool {
        self.providers.is_empty() || self.providers.iter().any(|p| p == provider)
    }

    pub fn allows_model(&self, model: &str) -> bool {
        self.models.is_empty() || self.models.iter().any(|m| m == model)
    }

    /// Whether the token may be used from `addr`. A scope with an allowlist refuses a request
    /// whose address is unknown.
    pub fn allows_ip(&self, addr: Option<IpAddr>) -> bool {
        if self.allowed_ips.is_empty() {
            return true;
        }
        addr.is_some_and(|ip| {
            let ip = canonical(ip);
            self.allowed_ips.iter().any(|net| net.contains(&ip))
        })
    }
}

/// IPv4-mapped IPv6 addresses (`::ffff:10.0.0.1`) compare as IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The client address of a request: the peer, unless the peer is a trusted proxy, in which
/// case `X-Forwarded-For` (every header line, joined in order) is walked from the right,
/// skipping trusted proxies, and the first untrusted hop is the client. A request from a
/// trusted proxy without the header is the proxy's own. A malformed header from a trusted
/// proxy gives no address at all (`None`), so IP allowlists fail closed rather than trusting
/// the proxy's address.
pub fn client_ip(peer: IpAddr, forwarded_for: Option<&str>, trusted: &[IpNet]) -> Option<IpAddr> {
    let peer = canonical(peer);
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return Some(peer);
    }
    let Some(header) = forwarded_for else {
        return Some(peer);
    };
    let mut client = peer;
    for hop in header.rsplit(',') {
        match hop.trim().parse::<IpAddr>() {
            Ok(ip) => {
                client = canonical(ip);
                if !is_trusted(&client) {
                    return Some(client);
                }
            }
            Err(_) => return None,
        }
    }
    Some(client)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|n| parse_network(n).unwrap()).collect()
    }

    #[test]
    fn actions_paths_and_tiers() {
        let scope = TokenScope {
            actions: vec!["file.read".into(), "audit.*".into()],
            paths: vec!["/reports".into()],
            max_tier: Some(Tier::Internal),
            ..TokenScope::default()
        };
        scope.validate().unwrap();
        assert!(scope.allows_action(Action::FileRead));
        assert!(scope.allows_action(Action::AuditRead));
        assert!(!scope.allows_action(Action::FileWrite));
        assert!(scope.allows_path("/reports"));
        assert!(scope.allows_path("/reports/q1.txt"));
        assert!(!scope.allows_path("/reports-old/q1.txt"));
        assert!(!scope.allows_path("/hr/salaries.csv"));
        assert!(scope.allows_tier(Tier::Public) && scope.allows_tier(Tier::Internal));
        assert!(!scope.allows_tier(Tier::Confidential));
        assert!(TokenScope::default().allows_action(Action::FilePurge));
        assert!(TokenScope::default().is_unrestricted());
    }

    #[test]
    fn bad_scopes_are_refused() {
        let bad_action = TokenScope {
            actions: vec!["file.reed".into()],
            ..TokenScope::default()
        };
        assert_eq!(
            bad_action.validate(),
            Err(ScopeError::UnknownAction("file.reed".into()))
        );
        let bad_path = TokenScope {
            paths: vec!["/a/../b".into()],
            ..TokenScope::default()
        };
        assert!(matches!(bad_path.validate(), Err(ScopeError::BadPath(_))));
        assert!(parse_network("10.0.0.0/33").is_err());
        assert!(parse_network("example.com").is_err());
        assert_eq!(
            parse_network("10.1.2.3/8").unwrap(),
            "10.0.0.0/8".parse().unwrap()
        );
    }

    #[test]
    fn ip_allowlist() {
        let scope = TokenScope {
            allowed_ips: nets(&["10.0.0.0/8", "2001:db8::/32", "192.0.2.7"]),
            ..TokenScope::default()
        };
        let ip = |s: &str| Some(s.parse::<IpAddr>().unwrap());
        assert!(scope.allows_ip(ip("10.20.30.40")));
        assert!(scope.allows_ip(ip("::ffff:10.0.0.1")));
        assert!(scope.allows_ip(ip("2001:db8::1")));
        assert!(scope.allows_ip(ip("192.0.2.7")));
        assert!(!scope.allows_ip(ip("192.0.2.8")));
        assert!(!scope.allows_ip(None));
        assert!(TokenScope::default().allows_ip(None));
    }

    #[test]
    fn forwarded_for_is_trusted_only_from_proxies() {
        let trusted = nets(&["127.0.0.1", "10.0.0.0/8"]);
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        // An untrusted peer cannot claim another address.
        assert_eq!(
            client_ip(ip("203.0.113.5"), Some("10.1.1.1"), &trusted),
            Some(ip("203.0.113.5"))
        );
        // A trusted proxy's header is used; trusted hops are skipped from the right.
        assert_eq!(
            client_ip(ip("127.0.0.1"), Some("198.51.100.9, 10.0.0.2"), &trusted),
            Some(ip("198.51.100.9"))
        );
        // A client-supplied left part cannot hide the real client.
        assert_eq!(
            client_ip(ip("127.0.0.1"), Some("10.9.9.9, 198.51.100.9"), &trusted),
            Some(ip("198.51.100.9"))
        );
        // Garbage from a trusted proxy: no address (allowlists fail closed).
        assert_eq!(
            client_ip(ip("127.0.0.1"), Some("not-an-ip"), &trusted),
            None
        );
        assert_eq!(
            client_ip(ip("127.0.0.1"), None, &trusted),
            Some(ip("127.0.0.1"))
        );
    }
}
