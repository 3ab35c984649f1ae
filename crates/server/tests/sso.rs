//! Single sign-on end to end: a real OpenID provider (panva's `oidc-provider`, started on
//! loopback by `covault_sso::testing`), the real covault server, and a browser driven by
//! hand. Alice signs in through `/v1/sso/login`, is provisioned with the role her groups map
//! to, and gets a session cookie whose state-changing requests need the CSRF token; logout
//! ends it. `covault login`'s flow exchanges the loopback code (with its PKCE verifier) for an
//! API token. Without node the tests say why and skip, except under CI=true.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use covault_guard::{InitOptions, NewKekSource, Vault, VaultLimits};
use covault_server::{Application, ServerConfig};
use covault_sso::OidcConfig;
use covault_sso::testing::{Browser, idp_available, skip_or_fail, start_provider};
use reqwest::StatusCode;
use reqwest::header::{COOKIE, SET_COOKIE};
use secrecy::SecretString;
use serde_json::{Value, json};
use zeroize::Zeroizing;

const CLIENT: &str = "covault-server";
const SECRET: &str = "server-client-secret-for-tests-only-0123456789";

struct Setup {
    url: String,
    vault: Arc<Vault>,
    operator: covault_guard::Caller,
    _idp: covault_sso::testing::TestProvider,
    _dir: tempfile::TempDir,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

async fn setup() -> Option<Setup> {
    if let Err(reason) = idp_available() {
        skip_or_fail(&reason);
        return None;
    }
    // A native-type confidential client: any loopback port may be the redirect (RFC 8252).
    let idp = start_provider(&json!([{
        "client_id": CLIENT,
        "client_secret": SECRET,
        "application_type": "native",
        "redirect_uris": ["http://127.0.0.1/v1/sso/callback"],
        "grant_types": ["authorization_code"],
        "response_types": ["code"],
    }]))
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let key = Zeroizing::new(
        covault_guard::generate_key_file()
            .unwrap()
            .as_bytes()
            .to_vec(),
    );
    let init = Vault::init(InitOptions {
        data_dir: dir.path().to_path_buf(),
        source: NewKekSource::KeyFile(key),
        admin_name: "root".into(),
        limits: VaultLimits::default(),
    })
    .await
    .unwrap();
    let vault = Arc::new(init.vault);
    // The redirect URL names the server's port, which the configuration needs before the
    // server binds: take a free port from the kernel and listen on it.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let mut oidc = OidcConfig::new(
        idp.issuer.clone(),
        CLIENT,
        Some(SecretString::from(SECRET)),
        format!("http://127.0.0.1:{port}/v1/sso/callback"),
    );
    oidc.role_mapping = vec![
        ("covault-admins".into(), "admin".into()),
        ("eng".into(), "editor".into()),
    ];
    let config = ServerConfig {
        listen: format!("127.0.0.1:{port}").parse().unwrap(),
        sso: Some(oidc),
        ..ServerConfig::default()
    };
    let app = Application::build(config, vault.clone()).await.unwrap();
    let url = app.url();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until(async move {
        let _ = rx.await;
    }));
    Some(Setup {
        url,
        vault,
        operator: init.operator,
        _idp: idp,
        _dir: dir,
        _shutdown: tx,
    })
}

fn cookie_value(set_cookies: &[String], name: &str) -> String {
    set_cookies
        .iter()
        .find_map(|c| c.strip_prefix(&format!("{name}=")))
        .map(|rest| rest.split(';').next().unwrap().to_owned())
        .unwrap_or_else(|| panic!("no {name} cookie in {set_cookies:?}"))
}

#[tokio::test]
async fn browser_sign_in_session_csrf_and_logout() {
    let Some(s) = setup().await else { return };
    let mut browser = Browser::new();
    let callback = format!("{}/v1/sso/callback", s.url);
    let location = browser
        .login(&format!("{}/v1/sso/login", s.url), "alice", &callback)
        .await
        .unwrap();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = http.get(&location).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let set: Vec<String> = r
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    let session_header = set
        .iter()
        .find(|c| c.starts_with("covault_session="))
        .unwrap();
    assert!(session_header.contains("HttpOnly") && session_header.contains("SameSite=Lax"));
    let session = cookie_value(&set, "covault_session");
    let csrf = cookie_value(&set, "covault_csrf");
    assert!(session.starts_with("cvs_"));
    // Replaying the callback (same code and state) is refused.
    let again = http.get(&location).send().await.unwrap();
    assert_eq!(again.status(), StatusCode::UNAUTHORIZED);

    let cookie = format!("covault_session={session}; covault_csrf={csrf}");
    let who: Value = http
        .get(format!("{}/v1/whoami", s.url))
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(who["name"], "alice@example.com");
    assert_eq!(who["role"], "admin", "covault-admins maps to admin first");

    // A state-changing request needs the CSRF token…
    let put = |with_csrf: bool| {
        let mut r = http
            .put(format!("{}/v1/files/alice/notes.txt", s.url))
            .header(COOKIE, &cookie)
            .body("from the browser");
        if with_csrf {
            r = r.header("x-csrf-token", &csrf);
        }
        r.send()
    };
    assert_eq!(put(false).await.unwrap().status(), StatusCode::FORBIDDEN);
    let wrong = http
        .put(format!("{}/v1/files/alice/notes.txt", s.url))
        .header(COOKIE, &cookie)
        .header("x-csrf-token", "0".repeat(64))
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::FORBIDDEN);
    assert_eq!(put(true).await.unwrap().status(), StatusCode::CREATED);

    // The login and the session's requests are audited with the session id.
    let events = s.vault.recent_audit(&s.operator, 50).await.unwrap();
    let write = events.iter().find(|e| e.action == "file.write").unwrap();
    assert!(write.session_id.is_some());
    let text = serde_json::to_string(&events).unwrap();
    assert!(
        !text.contains(&session[21..]),
        "no session secret in the log"
    );
    assert!(!text.contains(&csrf), "no CSRF token in the log");

    // Logout ends the session at once.
    let out = http
        .post(format!("{}/v1/session/logout", s.url))
        .header(COOKIE, &cookie)
        .header("x-csrf-token", &csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    let after = http
        .get(format!("{}/v1/whoami", s.url))
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn cli_login_exchanges_the_loopback_code_for_a_token() {
    let Some(s) = setup().await else { return };
    let verifier = "a-cli-verifier-of-enough-entropy-0123456789abcdef0123456789abcdef";
    let challenge = hex::encode(covault_guard::sha256(verifier.as_bytes()));
    let cli_port = 53_999;
    let mut browser = Browser::new();
    let location = browser
        .login(
            &format!(
                "{}/v1/sso/login?cli_port={cli_port}&code_challenge={challenge}",
                s.url
            ),
            "alice",
            &format!("http://127.0.0.1:{cli_port}/callback"),
        )
        .await
        .unwrap();
    let code = location.split("code=").nth(1).unwrap().to_owned();
    let http = reqwest::Client::new();
    let exchange = |verifier: &str| {
        http.post(format!("{}/v1/sso/token", s.url))
            .json(&json!({ "code": code, "code_verifier": verifier }))
            .send()
    };
    // The wrong verifier burns the code: whoever intercepted it cannot use it, nor can we.
    assert_eq!(
        exchange("not-the-verifier").await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        exchange(verifier).await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );

    // A fresh login with the right verifier yields a working token.
    let location = browser
        .login(
            &format!(
                "{}/v1/sso/login?cli_port={cli_port}&code_challenge={challenge}",
                s.url
            ),
            "alice",
            &format!("http://127.0.0.1:{cli_port}/callback"),
        )
        .await
        .unwrap();
    let code = location.split("code=").nth(1).unwrap().to_owned();
    let r = http
        .post(format!("{}/v1/sso/token", s.url))
        .json(&json!({ "code": code, "code_verifier": verifier }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let body: Value = r.json().await.unwrap();
    let token = body["secret"].as_str().unwrap();
    assert!(token.starts_with("cvt_"));
    let who: Value = http
        .get(format!("{}/v1/whoami", s.url))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(who["name"], "alice@example.com");
    // Used once only.
    let r = http
        .post(format!("{}/v1/sso/token", s.url))
        .json(&json!({ "code": code, "code_verifier": verifier }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn an_sso_identity_never_takes_over_a_local_account_by_name() {
    let Some(s) = setup().await else { return };
    s.vault
        .create_principal(
            &s.operator,
            covault_guard::NewPrincipal {
                name: "alice@example.com".into(),
                kind: covault_guard::PrincipalKind::User,
                role: "viewer".into(),
                token_expires_at_ms: None,
            },
        )
        .await
        .unwrap();
    let mut browser = Browser::new();
    let callback = format!("{}/v1/sso/callback", s.url);
    let location = browser
        .login(&format!("{}/v1/sso/login", s.url), "alice", &callback)
        .await
        .unwrap();
    let r = reqwest::get(&location).await.unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert!(r.text().await.unwrap().contains("never links"));
}
