//! `covault-sso` against a real OpenID provider: panva's `oidc-provider` (tests/idp) on loopback.
//!
//! Each test starts its own provider (`node tests/idp/provider.mjs`, port 0, issuer read from its
//! first stdout line), drives a browser login with a cookie-carrying reqwest client that follows
//! redirects by hand (the provider's test-only interaction endpoint logs in the account named in
//! `?account=`), stops at the redirect to `redirect_url` and hands `code` and `state` to
//! `OidcClient::complete`. Without `node`, or when `npm ci` fails, the tests say why and skip,
//! unless `CI=true`, where they fail.
//!
//! The provider and the browser are `covault_sso::testing`, behind the `test-idp` feature (this
//! target has `required-features = ["test-idp"]`). `cargo test --workspace` has the feature (the
//! covault server's dev-dependency enables it); this crate alone:
//!
//! ```text
//! cargo test -p covault-sso --features test-idp
//! ```

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use covault_sso::testing::{
    ALICE, BOB, Browser, ProviderOptions, TestAccount, TestProvider, idp_available, skip_or_fail,
    start_provider_with,
};
use covault_sso::{OidcClient, OidcConfig, PendingLogin, SsoError, SsoIdentity, Url};
use secrecy::SecretString;

const WEB_CLIENT: &str = "covault-web";
const WEB_SECRET: &str = "web-client-secret-for-tests-only-0123456789";
const WEB_REDIRECT: &str = "http://127.0.0.1:1/auth/oidc/callback";
const CLI_CLIENT: &str = "covault-cli";
/// What the CLI registers; it then uses any port on loopback (RFC 8252 §7.3).
const CLI_REGISTERED_REDIRECT: &str = "http://127.0.0.1/callback";
const CLI_REDIRECT: &str = "http://127.0.0.1:53682/callback";

// ---------------------------------------------------------------------------------------------
// The provider and the browser (covault_sso::testing)

/// A running provider for these tests' two clients.
struct Idp {
    _provider: TestProvider,
    issuer: String,
}

#[derive(Clone, Copy, PartialEq)]
enum Claims {
    /// oidc-provider's default for the code flow: profile claims only from userinfo.
    FromUserinfo,
    /// Profile claims (email, name, groups) in the ID token too.
    InIdToken,
}

impl Idp {
    /// Starts a provider, or returns `None` (test skipped) when node/npm are unavailable outside
    /// CI.
    fn start(claims: Claims) -> Option<Self> {
        if let Err(why) = idp_available() {
            skip_or_fail(&why);
            return None;
        }
        let clients = serde_json::json!([
            {
                "client_id": WEB_CLIENT,
                "client_secret": WEB_SECRET,
                "redirect_uris": [WEB_REDIRECT],
                "grant_types": ["authorization_code"],
                "response_types": ["code"],
            },
            {
                "client_id": CLI_CLIENT,
                "application_type": "native",
                "token_endpoint_auth_method": "none",
                "redirect_uris": [CLI_REGISTERED_REDIRECT],
                "grant_types": ["authorization_code"],
                "response_types": ["code"],
            },
        ]);
        let options = ProviderOptions {
            claims_in_id_token: claims == Claims::InIdToken,
        };
        let provider = start_provider_with(&clients, options).unwrap_or_else(|e| panic!("{e}"));
        let issuer = provider.issuer.clone();
        Some(Self {
            _provider: provider,
            issuer,
        })
    }

    fn web_config(&self) -> OidcConfig {
        let mut config = OidcConfig::new(
            self.issuer.clone(),
            WEB_CLIENT,
            Some(SecretString::from(WEB_SECRET)),
            WEB_REDIRECT,
        );
        config.role_mapping = vec![
            ("covault-admins".into(), "admin".into()),
            ("eng".into(), "member".into()),
        ];
        config
    }

    fn cli_config(&self) -> OidcConfig {
        let mut config = OidcConfig::new(self.issuer.clone(), CLI_CLIENT, None, CLI_REDIRECT);
        config.role_mapping = vec![("eng".into(), "member".into())];
        config
    }
}

/// The relying party's HTTP client, built as the doc of `OidcClient::discover` asks.
fn rp_http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .unwrap()
}

/// What the provider's final redirect carried.
struct Callback {
    code: String,
    state: String,
}

/// Follows the authorization URL through login and consent as `account`, and stops at the
/// redirect to `redirect_url` without following it.
async fn login_as(authorize: &Url, account: &TestAccount, redirect_url: &str) -> Callback {
    let location = Browser::new()
        .login(authorize.as_str(), account.subject, redirect_url)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    callback_in(&location)
}

/// The code and state of the redirect to the relying party.
fn callback_in(location: &str) -> Callback {
    let query: BTreeMap<String, String> = Url::parse(location)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect();
    assert!(
        !query.contains_key("error"),
        "provider returned an error: {query:?}"
    );
    Callback {
        code: query.get("code").expect("code in the redirect").clone(),
        state: query.get("state").expect("state in the redirect").clone(),
    }
}

/// Discovery, `begin`, and the login as `account`.
async fn start_login(
    config: OidcConfig,
    account: &TestAccount,
) -> (OidcClient, PendingLogin, Callback) {
    let redirect = config.redirect_url.clone();
    let client = OidcClient::discover(config, rp_http()).await.unwrap();
    let (authorize, pending) = client.begin().unwrap();
    let callback = login_as(&authorize, account, &redirect).await;
    (client, pending, callback)
}

fn now() -> SystemTime {
    SystemTime::now()
}

fn assert_alice(identity: &SsoIdentity, issuer: &str) {
    assert_eq!(identity.subject, ALICE.subject);
    assert_eq!(identity.issuer, issuer);
    assert_eq!(identity.email.as_deref(), Some(ALICE.email));
    assert_eq!(identity.name.as_deref(), Some(ALICE.name));
    assert_eq!(identity.groups, ALICE.groups);
}

/// An error's text and debug form, checked not to carry the authorization code.
fn safe_text(error: &SsoError, code: &str) -> String {
    let text = error.to_string();
    assert!(!text.contains(code), "error echoes the code: {text}");
    assert!(
        !format!("{error:?}").contains(code),
        "debug echoes the code"
    );
    text
}

// ---------------------------------------------------------------------------------------------
// The tests

#[tokio::test]
async fn web_login_as_alice_maps_groups_to_roles() {
    let Some(idp) = Idp::start(Claims::FromUserinfo) else {
        return;
    };
    let mut config = idp.web_config();
    config.allowed_email_domains = vec!["example.com".into()];
    let (client, pending, callback) = start_login(config, &ALICE).await;
    assert_eq!(pending.state(), callback.state);
    // `complete` runs in a spawned task: the server needs its future to be Send.
    let client = Arc::new(client);
    let task = {
        let client = Arc::clone(&client);
        tokio::spawn(async move {
            client
                .complete(pending, &callback.state, &callback.code, now())
                .await
        })
    };
    let identity = task.await.unwrap().unwrap();
    assert_alice(&identity, &idp.issuer);
    assert_eq!(identity.roles, vec!["admin", "member"]);
}

#[tokio::test]
async fn claims_in_the_id_token_are_read_without_userinfo() {
    let Some(idp) = Idp::start(Claims::InIdToken) else {
        return;
    };
    let (client, pending, callback) = start_login(idp.web_config(), &ALICE).await;
    let identity = client
        .complete(pending, &callback.state, &callback.code, now())
        .await
        .unwrap();
    assert_alice(&identity, &idp.issuer);
    assert_eq!(identity.roles, vec!["admin", "member"]);
}

#[tokio::test]
async fn native_cli_login_uses_a_public_client_and_a_loopback_redirect() {
    let Some(idp) = Idp::start(Claims::FromUserinfo) else {
        return;
    };
    let (client, pending, callback) = start_login(idp.cli_config(), &ALICE).await;
    let identity = client
        .complete(pending, &callback.state, &callback.code, now())
        .await
        .unwrap();
    assert_alice(&identity, &idp.issuer);
    assert_eq!(identity.roles, vec!["member"]);
}

#[tokio::test]
async fn wrong_state_is_refused_before_the_code_is_spent() {
    let Some(idp) = Idp::start(Claims::FromUserinfo) else {
        return;
    };
    let (client, pending, callback) = start_login(idp.web_config(), &ALICE).await;
    let error = client
        .complete(pending.clone(), "forged-state", &callback.code, now())
        .await
        .unwrap_err();
    assert!(matches!(error, SsoError::StateMismatch), "{error}");
    safe_text(&error, &callback.code);
    // The code was not sent to the provider, so the real callback still completes.
    let identity = client
        .complete(pending, &callback.state, &callback.code, now())
        .await
        .unwrap();
    assert_eq!(identity.subject, ALICE.subject);
}

#[tokio::test]
async fn a_replayed_code_is_refused_by_the_provider() {
    let Some(idp) = Idp::start(Claims::FromUserinfo) else {
        return;
    };
    let (client, pending, callback) = start_login(idp.web_config(), &ALICE).await;
    client
        .complete(pending.clone(), &callback.state, &callback.code, now())
        .await
        .unwrap();
    let error = client
        .complete(pending, &callback.state, &callback.code, now())
        .await
        .unwrap_err();
    assert!(matches!(error, SsoError::CodeRejected { .. }), "{error}");
    let text = safe_text(&error, &callback.code);
    assert!(text.contains("invalid_grant"), "{text}");
}

/// The pending login as JSON with one field replaced, read back.
fn tampered(pending: &PendingLogin, field: &str, value: serde_json::Value) -> PendingLogin {
    let mut json = serde_json::to_value(pending).unwrap();
    json[field] = value;
    serde_json::from_value(json).unwrap()
}

#[tokio::test]
async fn a_tampered_pkce_verifier_is_refused_by_the_provider() {
    let Some(idp) = Idp::start(Claims::FromUserinfo) else {
        return;
    };
    let (client, pending, callback) = start_login(idp.web_config(), &ALICE).await;
    let forged = tampered(
        &pending,
        "pkce_verifier",
        "x".repeat(43).into(), // a well-formed verifier, just not this login's
    );
    let error = client
        .complete(forged, &callback.state, &callback.code, now())
        .await
        .unwrap_err();
    assert!(matches!(error, SsoError::CodeRejected { .. }), "{error}");
    safe_text(&error, &callback.code);
}

#[tokio::test]
async fn a_tampered_nonce_fails_id_token_verification() {
    let Some(idp) = Idp::start(Claims::FromUserinfo) else {
        return;
    };
    let (client, pending, callback) = start_login(idp.web_config(), &ALICE).await;
    let forged = tampered(&pending, "nonce", "another-nonce".into());
    let error = client
        .complete(forged, &callback.state, &callback.code, now())
        .await
        .unwrap_err();
    assert!(matches!(error, SsoError::InvalidIdToken { .. }), "{error}");
    assert!(
        safe_text(&error, &callback.code).contains("nonce"),
        "{error}"
    );
}

#[tokio::test]
async fn an_expired_or_foreign_pending_login_is_refused() {
    let Some(idp) = Idp::start(Claims::FromUserinfo) else {
        return;
    };
    let (client, pending, callback) = start_login(idp.web_config(), &ALICE).await;
    let later = pending.created_at() + Duration::from_secs(10 * 60 + 1);
    let error = client
        .complete(pending.clone(), &callback.state, &callback.code, later)
        .await
        .unwrap_err();
    assert!(matches!(error, SsoError::PendingExpired { .. }), "{error}");
    assert_eq!(
        error.to_string(),
        "this login expired (it is older than 10 minutes); start the login again"
    );
    let foreign = tampered(&pending, "issuer", "https://idp.example.com".into());
    let error = client
        .complete(foreign, &callback.state, &callback.code, now())
        .await
        .unwrap_err();
    assert!(matches!(error, SsoError::PendingWrongIssuer), "{error}");
    let backdated = tampered(&pending, "created_at", 1_000.into());
    let error = client
        .complete(backdated, &callback.state, &callback.code, now())
        .await
        .unwrap_err();
    assert!(matches!(error, SsoError::PendingExpired { .. }), "{error}");
    assert!(serde_json::from_str::<PendingLogin>(r#"{"state":"x"}"#).is_err());
}

#[tokio::test]
async fn an_identity_whose_groups_map_to_nothing_is_refused_without_a_default_role() {
    let Some(idp) = Idp::start(Claims::FromUserinfo) else {
        return;
    };
    let (client, pending, callback) = start_login(idp.web_config(), &BOB).await;
    let error = client
        .complete(pending, &callback.state, &callback.code, now())
        .await
        .unwrap_err();
    assert!(matches!(error, SsoError::NoRole), "{error}");
    assert!(
        error
            .to_string()
            .starts_with("no covault role for this identity")
    );

    let mut config = idp.web_config();
    config.default_role = Some("viewer".into());
    let (client, pending, callback) = start_login(config, &BOB).await;
    let identity = client
        .complete(pending, &callback.state, &callback.code, now())
        .await
        .unwrap();
    assert_eq!(identity.subject, BOB.subject);
    assert_eq!(identity.email.as_deref(), Some(BOB.email));
    assert_eq!(identity.groups, BOB.groups);
    assert_eq!(identity.roles, vec!["viewer"]);
}

#[tokio::test]
async fn an_email_outside_the_allowed_domains_is_refused() {
    let Some(idp) = Idp::start(Claims::FromUserinfo) else {
        return;
    };
    let mut config = idp.web_config();
    config.default_role = Some("viewer".into());
    config.allowed_email_domains = vec!["example.com".into()];
    let (client, pending, callback) = start_login(config, &BOB).await;
    let error = client
        .complete(pending, &callback.state, &callback.code, now())
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "the email domain `contractor.example` may not sign in to covault"
    );
}

#[tokio::test]
async fn discovery_refuses_an_issuer_that_is_not_the_providers() {
    let Some(idp) = Idp::start(Claims::FromUserinfo) else {
        return;
    };
    let mut config = idp.web_config();
    config.issuer = format!("{}/", idp.issuer);
    let error = OidcClient::discover(config, rp_http()).await.unwrap_err();
    assert!(matches!(error, SsoError::Discovery { .. }), "{error}");
    assert!(error.to_string().contains("unexpected issuer"), "{error}");
}

#[tokio::test]
async fn discovery_refuses_plain_http_to_a_remote_issuer_without_a_request() {
    let config = OidcConfig::new(
        "http://login.example.com",
        WEB_CLIENT,
        None,
        "https://covault.example.com/auth/oidc/callback",
    );
    let error = OidcClient::discover(config, rp_http()).await.unwrap_err();
    assert!(matches!(error, SsoError::InsecureUrl { .. }), "{error}");
}

/// A relying party on its own port, as the covault server is: `GET /login` sets `rp_pending`
/// and redirects to `authorize`; `GET /callback?…` clears `rp_pending`, sets `rp_session` and
/// answers with the `Cookie` header it received.
async fn serve_rp(listener: tokio::net::TcpListener, authorize: Url) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    while let Ok((mut stream, _)) = listener.accept().await {
        let mut request = Vec::new();
        let mut buffer = [0u8; 4096];
        while !request.windows(4).any(|w| w == b"\r\n\r\n") {
            let read = stream.read(&mut buffer).await.unwrap();
            if read == 0 {
                break;
            }
            request.extend_from_slice(&buffer[..read]);
        }
        let request = String::from_utf8_lossy(&request);
        let path = request.split(' ').nth(1).unwrap_or_default().to_owned();
        let cookies = request
            .lines()
            .filter_map(|line| line.split_once(':'))
            .find(|(name, _)| name.eq_ignore_ascii_case("cookie"))
            .map(|(_, value)| value.trim().to_owned())
            .unwrap_or_default();
        let response = if path == "/login" {
            format!(
                "HTTP/1.1 302 Found\r\nLocation: {authorize}\r\n\
                 Set-Cookie: rp_pending=p1; Path=/; HttpOnly\r\n\
                 Content-Length: 0\r\nConnection: close\r\n\r\n"
            )
        } else if path.starts_with("/callback?") {
            format!(
                "HTTP/1.1 200 OK\r\nSet-Cookie: rp_pending=; Path=/; Max-Age=0\r\n\
                 Set-Cookie: rp_session=s1; Path=/; HttpOnly\r\n\
                 Content-Length: {}\r\nConnection: close\r\n\r\n{cookies}",
                cookies.len()
            )
        } else {
            "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".into()
        };
        stream.write_all(response.as_bytes()).await.unwrap();
        let _ = stream.shutdown().await;
    }
}

/// The harness's browser through a relying party on another port than the provider (what the
/// covault server's tests do): it logs in from the relying party's page, keeps each side's
/// cookies apart, and follows the callback with the relying party's cookies.
#[tokio::test]
async fn the_browser_logs_in_through_a_relying_party_on_another_port() {
    let Some(idp) = Idp::start(Claims::FromUserinfo) else {
        return;
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let rp_host = listener.local_addr().unwrap().to_string();
    let rp = format!("http://{rp_host}");
    let mut config = idp.cli_config();
    config.redirect_url = format!("{rp}/callback");
    let client = OidcClient::discover(config, rp_http()).await.unwrap();
    let (authorize, pending) = client.begin().unwrap();
    tokio::spawn(serve_rp(listener, authorize));

    let mut browser = Browser::new();
    let location = browser
        .login(
            &format!("{rp}/login"),
            ALICE.subject,
            &format!("{rp}/callback"),
        )
        .await
        .unwrap();
    let idp_host = idp.issuer.strip_prefix("http://").unwrap();
    assert_eq!(browser.cookie(&rp_host, "rp_pending"), Some("p1"));
    let idp_cookies = browser.cookie_header(idp_host);
    assert!(
        !idp_cookies.is_empty() && !idp_cookies.contains("rp_"),
        "{idp_cookies}"
    );

    let response = browser.get(&location).await.unwrap();
    assert_eq!(response.status(), reqwest::StatusCode::OK);
    // The relying party got its own cookie and none of the provider's.
    assert_eq!(response.text().await.unwrap(), "rp_pending=p1");
    assert_eq!(browser.cookie_header(&rp_host), "rp_session=s1");
    assert_eq!(browser.cookie(&rp_host, "rp_pending"), None);

    let callback = callback_in(&location);
    let identity = client
        .complete(pending, &callback.state, &callback.code, now())
        .await
        .unwrap();
    assert_alice(&identity, &idp.issuer);
}

#[test]
fn oidc_client_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<OidcClient>();
    assert_send_sync::<PendingLogin>();
    assert_send_sync::<SsoError>();
}
