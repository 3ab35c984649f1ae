//! What a covault deployment says about its OpenID provider, and the URL rules it must obey.
//!
//! [`OidcConfig`] is plain data that the server's config layer fills in (it does no file or
//! environment reading itself). Its URLs are checked when [`crate::OidcClient::discover`] runs:
//! https everywhere, except plain http to a loopback host (a test provider, or the
//! `http://127.0.0.1:<port>/callback` redirect of a native/CLI login per RFC 8252).

use std::net::IpAddr;

use openidconnect::url::{Host, Url};
use secrecy::SecretString;

use crate::SsoError;

/// The scopes requested when [`OidcConfig::scopes`] is empty; `groups` is added to them when the
/// provider advertises it in `scopes_supported`.
pub const DEFAULT_SCOPES: &[&str] = &["openid", "profile", "email"];

/// The claim read for group names unless [`OidcConfig::groups_claim`] says otherwise.
pub const DEFAULT_GROUPS_CLAIM: &str = "groups";

/// One OpenID provider and how its identities become covault roles.
///
/// Web login: `redirect_url` is the server's callback route, e.g.
/// `https://covault.example.com/auth/oidc/callback`, with a confidential client
/// (`client_secret` set).
///
/// Native/CLI login (`covault login`): bind a listener on `127.0.0.1:0`, then use
/// `http://127.0.0.1:<port>/callback` as `redirect_url`, usually with a public client
/// (`client_secret: None`; PKCE protects the code). Register `http://127.0.0.1/callback` at the
/// provider as a native client: RFC 8252 §7.3 lets it accept any port on loopback.
#[derive(Clone, Debug)]
pub struct OidcConfig {
    /// The issuer exactly as the provider writes it in its discovery document (a trailing slash
    /// matters), e.g. `https://login.example.com/realms/acme`.
    pub issuer: String,
    pub client_id: String,
    /// `None` for a public client (native apps); PKCE is used either way.
    pub client_secret: Option<SecretString>,
    /// Where the provider sends the browser back with `code` and `state`.
    pub redirect_url: String,
    /// Requested scopes; empty means [`DEFAULT_SCOPES`] (plus `groups` where advertised).
    /// `openid` is always requested.
    pub scopes: Vec<String>,
    /// The claim holding the identity's groups: a string or a list of strings. A top-level claim
    /// of exactly this name wins (namespaced names such as `https://example.com/groups` work);
    /// otherwise a dotted name is read as a path into nested objects (`realm_access.roles`).
    pub groups_claim: String,
    /// `(group, covault role)` pairs: an identity gets every role whose group it is in, in this
    /// order, each once. Group names compare exactly (case matters).
    pub role_mapping: Vec<(String, String)>,
    /// The role for an identity none of whose groups is mapped; `None` refuses such identities.
    pub default_role: Option<String>,
    /// When not empty, only email addresses in these domains may sign in (exact domain match,
    /// case-insensitive; subdomains must be listed themselves). An address the provider marks
    /// `email_verified: false` is refused; one without that claim is accepted, since some
    /// providers never send it.
    pub allowed_email_domains: Vec<String>,
}

impl OidcConfig {
    /// A configuration with the default scopes and groups claim, no role mapping, no default
    /// role and no email domain limit.
    pub fn new(
        issuer: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: Option<SecretString>,
        redirect_url: impl Into<String>,
    ) -> Self {
        Self {
            issuer: issuer.into(),
            client_id: client_id.into(),
            client_secret,
            redirect_url: redirect_url.into(),
            scopes: Vec::new(),
            groups_claim: DEFAULT_GROUPS_CLAIM.to_owned(),
            role_mapping: Vec::new(),
            default_role: None,
            allowed_email_domains: Vec::new(),
        }
    }

    /// Checks everything that can be checked without talking to the provider.
    pub(crate) fn validate(&self) -> Result<(), SsoError> {
        let issuer = secure_url("issuer", &self.issuer)?;
        if issuer.query().is_some() || issuer.fragment().is_some() {
            return Err(SsoError::InvalidUrl {
                what: "issuer",
                url: self.issuer.clone(),
                reason: "an issuer has no query or fragment",
            });
        }
        let redirect = secure_url("redirect URL", &self.redirect_url)?;
        if redirect.fragment().is_some() {
            return Err(SsoError::InvalidUrl {
                what: "redirect URL",
                url: self.redirect_url.clone(),
                reason: "a redirect URL has no fragment",
            });
        }
        non_empty("client_id", &self.client_id)?;
        non_empty("groups_claim", &self.groups_claim)?;
        for (group, role) in &self.role_mapping {
            non_empty("role_mapping group", group)?;
            non_empty("role_mapping role", role)?;
        }
        if let Some(role) = &self.default_role {
            non_empty("default_role", role)?;
        }
        for domain in &self.allowed_email_domains {
            non_empty("allowed_email_domains", domain)?;
        }
        Ok(())
    }
}

fn non_empty(setting: &'static str, value: &str) -> Result<(), SsoError> {
    if value.trim().is_empty() {
        return Err(SsoError::EmptySetting { setting });
    }
    Ok(())
}

/// Parses `raw` and requires https, or http to a loopback host.
pub(crate) fn secure_url(what: &'static str, raw: &str) -> Result<Url, SsoError> {
    let url = Url::parse(raw).map_err(|_| SsoError::InvalidUrl {
        what,
        url: raw.to_owned(),
        reason: "not an absolute URL",
    })?;
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback(&url) => Ok(url),
        "http" => Err(SsoError::InsecureUrl {
            what,
            url: raw.to_owned(),
        }),
        _ => Err(SsoError::InvalidUrl {
            what,
            url: raw.to_owned(),
            reason: "the scheme must be https",
        }),
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        Some(Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(raw: &str, ok: bool) {
        assert_eq!(secure_url("issuer", raw).is_ok(), ok, "{raw}");
    }

    #[test]
    fn urls_need_https_except_on_loopback() {
        check("https://login.example.com", true);
        check("https://login.example.com/realms/acme", true);
        check("http://127.0.0.1:8080", true);
        check("http://127.9.9.9:8080/x", true);
        check("http://[::1]:8080", true);
        check("http://localhost:3000", true);
        check("http://LOCALHOST:3000", true);
        check("http://login.example.com", false);
        check("http://10.0.0.1", false);
        check("http://127.0.0.1.example.com", false);
        check("ftp://login.example.com", false);
        check("login.example.com", false);
        check("", false);
    }

    #[test]
    fn insecure_issuer_is_named_in_the_error() {
        let config = OidcConfig::new("http://idp.example.com", "c", None, "https://a/cb");
        let message = config.validate().map_err(|e| e.to_string());
        assert_eq!(
            message,
            Err("issuer `http://idp.example.com` must use https (plain http is allowed only for loopback addresses such as 127.0.0.1)".to_owned())
        );
    }

    #[test]
    fn native_loopback_redirect_is_accepted() {
        let config = OidcConfig::new(
            "https://login.example.com",
            "covault-cli",
            None,
            "http://127.0.0.1:53211/callback",
        );
        assert!(config.validate().is_ok());
    }

    #[test]
    fn empty_settings_are_refused() {
        let mut config = OidcConfig::new("https://idp", "", None, "https://a/cb");
        assert!(matches!(
            config.validate(),
            Err(SsoError::EmptySetting {
                setting: "client_id"
            })
        ));
        config.client_id = "c".into();
        config.role_mapping.push(("eng".into(), " ".into()));
        assert!(matches!(
            config.validate(),
            Err(SsoError::EmptySetting {
                setting: "role_mapping role"
            })
        ));
    }

    #[test]
    fn issuer_with_query_or_redirect_with_fragment_is_refused() {
        let config = OidcConfig::new("https://idp/?x=1", "c", None, "https://a/cb");
        assert!(matches!(
            config.validate(),
            Err(SsoError::InvalidUrl { what: "issuer", .. })
        ));
        let config = OidcConfig::new("https://idp", "c", None, "https://a/cb#x");
        assert!(matches!(
            config.validate(),
            Err(SsoError::InvalidUrl {
                what: "redirect URL",
                ..
            })
        ));
    }
}
