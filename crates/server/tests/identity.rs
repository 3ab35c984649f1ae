//! Identity and least privilege end to end over REST: the authorization matrix (every route ×
//! every built-in role × every tier, against the expected decision of the default policy
//! table), IP allowlists with `X-Forwarded-For` believed only from trusted proxies, token
//! rotation with its overlap window, and MFA-required actions with TOTP codes computed by an
//! independent implementation (totp-rs) from the enrolment URI.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use covault_guard::{
    Caller, InitOptions, IpNet, NewKekSource, NewPrincipal, PrincipalKind, Tier, Vault, VaultLimits,
};
use covault_server::{Application, ServerConfig};
use futures_util::stream;
use reqwest::{Method, StatusCode};
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use zeroize::Zeroizing;

const ROLES: [&str; 7] = [
    "viewer",
    "editor",
    "analyst",
    "workflow-admin",
    "auditor",
    "security-admin",
    "admin",
];
const TIERS: [Tier; 4] = [
    Tier::Public,
    Tier::Internal,
    Tier::Confidential,
    Tier::Restricted,
];

struct App {
    url: String,
    http: reqwest::Client,
    admin_token: String,
    vault: Arc<Vault>,
    operator: Caller,
    _dir: tempfile::TempDir,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

async fn spawn(trusted_proxies: Vec<IpNet>) -> App {
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
    let config = ServerConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        trusted_proxies,
        ..ServerConfig::default()
    };
    let app = Application::build(config, vault.clone()).await.unwrap();
    let url = app.url();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until(async move {
        let _ = rx.await;
    }));
    App {
        url,
        http: reqwest::Client::new(),
        admin_token: init.admin_token.expose_secret().to_owned(),
        vault,
        operator: init.operator,
        _dir: dir,
        _shutdown: tx,
    }
}

impl App {
    fn req(&self, token: &str, method: Method, route: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{route}", self.url))
            .bearer_auth(token)
    }

    /// A principal with `role` and its token, created by the local operator.
    async fn user(&self, name: &str, role: &str) -> String {
        let (_, token) = self
            .vault
            .create_principal(
                &self.operator,
                NewPrincipal {
                    name: name.into(),
                    kind: PrincipalKind::User,
                    role: role.into(),
                    token_expires_at_ms: Some(None),
                },
            )
            .await
            .unwrap();
        token.unwrap().expose_secret().to_owned()
    }

    /// A file at `path` with benign content, labelled `tier` by the operator.
    async fn seed(&self, path: &str, tier: Tier) {
        let body = Box::pin(stream::iter([Ok(bytes::Bytes::from_static(
            b"quarterly notes\n",
        ))]));
        self.vault
            .put(&self.operator, path, Some(Tier::Public), body)
            .await
            .unwrap();
        self.vault
            .set_tier(&self.operator, path, tier)
            .await
            .unwrap();
    }
}

async fn kind_of(response: reqwest::Response) -> (StatusCode, String) {
    let status = response.status();
    let body: Value = response.json().await.unwrap_or_default();
    (
        status,
        body["error"]["kind"].as_str().unwrap_or("").to_owned(),
    )
}

fn rank(tier: Tier) -> u8 {
    match tier {
        Tier::Public => 0,
        Tier::Internal => 1,
        Tier::Confidential => 2,
        Tier::Restricted => 3,
    }
}

/// The default policy table, written out independently of the Cedar files: may `role` do
/// `op` on a file of `tier` (without MFA, not its owner)?
fn expected_file(role: &str, op: &str, tier: Tier) -> bool {
    let t = rank(tier);
    let ceiling = match role {
        "viewer" if matches!(op, "read" | "stat" | "history") => Some(1),
        "editor" | "analyst" | "workflow-admin" => match op {
            "read" | "stat" | "history" | "write" | "delete" | "label-up" => Some(2),
            _ => None,
        },
        "security-admin" | "admin" => Some(3),
        _ => None,
    };
    let Some(ceiling) = ceiling else { return false };
    if t > ceiling {
        return false;
    }
    // Without a second factor: no restricted reads, no purges.
    !((op == "read" && t == 3) || op == "purge")
}

/// Workspace routes: may `role` call them (without MFA)?
fn expected_workspace(role: &str, route: &str) -> bool {
    match route {
        "audit" | "review" => matches!(role, "auditor" | "security-admin" | "admin"),
        "principals" | "groups" => matches!(role, "auditor" | "security-admin" | "admin"),
        // Self-service is for everyone.
        "own-tokens" | "mfa-enroll" => true,
        // An admin change: needs MFA, so nobody without it.
        "create-principal" => false,
        _ => unreachable!("{route}"),
    }
}

#[tokio::test]
async fn authorization_matrix_routes_roles_tiers() {
    let app = spawn(Vec::new()).await;
    let mut tokens = Vec::new();
    for role in ROLES {
        tokens.push((role, app.user(&format!("u-{role}"), role).await));
        for tier in TIERS {
            app.seed(&format!("/m/{role}/{tier}.txt"), tier).await;
        }
    }
    let mut checked = 0;
    let mut wrong = Vec::new();
    for (role, token) in &tokens {
        for tier in TIERS {
            let path = format!("m/{role}/{tier}.txt");
            let cases: [(&str, Method, String, Option<Value>); 7] = [
                ("stat", Method::GET, format!("/v1/stat/{path}"), None),
                ("history", Method::GET, format!("/v1/history/{path}"), None),
                ("read", Method::GET, format!("/v1/files/{path}"), None),
                ("write", Method::PUT, format!("/v1/files/{path}"), None),
                (
                    "label-up",
                    Method::PUT,
                    format!("/v1/label/{path}"),
                    Some(json!({ "tier": "restricted" })),
                ),
                ("purge", Method::POST, format!("/v1/purge/{path}"), None),
                ("delete", Method::DELETE, format!("/v1/files/{path}"), None),
            ];
            for (op, method, route, body) in cases {
                let mut request = app.req(token, method.clone(), &route);
                request = match (&body, op) {
                    (Some(b), _) => request.json(b),
                    (None, "write") => request.body("quarterly notes, revised\n"),
                    _ => request,
                };
                let (status, kind) = kind_of(request.send().await.unwrap()).await;
                let allowed = status.is_success();
                let expected = expected_file(role, op, tier);
                checked += 1;
                if allowed != expected || (!allowed && !matches!(status, StatusCode::FORBIDDEN)) {
                    wrong.push(format!(
                        "{role} {op} {tier}: got {status} {kind}, expected {}",
                        if expected { "allow" } else { "deny" }
                    ));
                }
                // After a raise, the file is restricted: put it back for the next op.
                if op == "label-up" && allowed {
                    app.vault
                        .set_tier(&app.operator, &format!("/{path}"), tier)
                        .await
                        .unwrap();
                }
            }
        }
        for (route_name, method, route) in [
            ("audit", Method::GET, "/v1/audit/events"),
            ("review", Method::GET, "/v1/access-review"),
            ("principals", Method::GET, "/v1/principals"),
            ("groups", Method::GET, "/v1/groups"),
            ("own-tokens", Method::GET, "/v1/tokens"),
            ("mfa-enroll", Method::POST, "/v1/mfa/enroll"),
            ("create-principal", Method::POST, "/v1/principals"),
        ] {
            let mut request = app.req(token, method, route);
            if route_name == "create-principal" {
                request = request.json(&json!({ "name": format!("new-{role}"), "role": "viewer" }));
            }
            let (status, kind) = kind_of(request.send().await.unwrap()).await;
            let expected = expected_workspace(role, route_name);
            checked += 1;
            if status.is_success() != expected {
                wrong.push(format!("{role} {route_name}: got {status} {kind}"));
            }
            if route_name == "create-principal" && matches!(*role, "admin" | "security-admin") {
                assert_eq!(kind, "mfa_required", "{role} create-principal");
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {checked} wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    assert!(checked >= ROLES.len() * (TIERS.len() * 7 + 7));

    // Every denial is audited with the policies that decided it.
    let events = app.vault.recent_audit(&app.operator, 1000).await.unwrap();
    let denied: Vec<_> = events
        .iter()
        .filter(|e| e.outcome == covault_guard::Outcome::Denied && e.action != "authenticate")
        .collect();
    assert!(!denied.is_empty());
    assert!(
        denied.iter().filter(|e| e.action == "file.purge").all(|e| e
            .policies
            .iter()
            .any(|p| p.starts_with("mfa-"))
            || e.reason.contains("no policy")),
        "purge denials name the MFA policy or the missing permit"
    );
    let allowed = events
        .iter()
        .find(|e| e.action == "file.read" && e.outcome == covault_guard::Outcome::Success)
        .unwrap();
    assert!(!allowed.policies.is_empty(), "a permit names its policies");
}

#[tokio::test]
async fn every_route_but_health_needs_a_token() {
    let app = spawn(Vec::new()).await;
    for (method, route) in [
        (Method::GET, "/v1/whoami"),
        (Method::GET, "/v1/principals"),
        (Method::POST, "/v1/principals"),
        (Method::GET, "/v1/principals/root"),
        (Method::PATCH, "/v1/principals/root"),
        (Method::POST, "/v1/principals/root/mfa/reset"),
        (Method::GET, "/v1/groups"),
        (Method::PUT, "/v1/groups/eng"),
        (Method::DELETE, "/v1/groups/eng"),
        (Method::PUT, "/v1/groups/eng/members/root"),
        (Method::DELETE, "/v1/groups/eng/members/root"),
        (Method::GET, "/v1/tokens"),
        (Method::POST, "/v1/tokens"),
        (Method::DELETE, "/v1/tokens/0123456789abcdef"),
        (Method::POST, "/v1/tokens/0123456789abcdef/rotate"),
        (Method::POST, "/v1/mfa/enroll"),
        (Method::POST, "/v1/mfa/confirm"),
        (Method::GET, "/v1/access-review"),
        (Method::GET, "/v1/files"),
        (Method::GET, "/v1/files/a.txt"),
        (Method::PUT, "/v1/files/a.txt"),
        (Method::DELETE, "/v1/files/a.txt"),
        (Method::GET, "/v1/stat/a.txt"),
        (Method::GET, "/v1/history/a.txt"),
        (Method::POST, "/v1/restore/a.txt"),
        (Method::POST, "/v1/purge/a.txt"),
        (Method::PUT, "/v1/label/a.txt"),
        (Method::GET, "/v1/audit/events"),
        (Method::GET, "/v1/audit/checkpoints"),
        (Method::GET, "/v1/audit/proof/1"),
        (Method::GET, "/v1/audit/consistency"),
    ] {
        let r = app
            .http
            .request(method.clone(), format!("{}{route}", app.url))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{method} {route}");
    }
    let r = app
        .http
        .get(format!("{}/healthz", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

async fn scoped_token(app: &App, scope: Value) -> String {
    let r = app
        .req(&app.admin_token, Method::POST, "/v1/tokens")
        .json(&json!({ "description": "scoped", "expires_in_s": 3600, "scope": scope }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let body: Value = r.json().await.unwrap();
    assert!(body["secret"].as_str().unwrap().starts_with("cvt_"));
    body["secret"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn ip_allowlists_believe_forwarded_for_only_from_trusted_proxies() {
    let loopback: IpNet = "127.0.0.1/32".parse().unwrap();
    for trusted in [true, false] {
        let app = spawn(if trusted { vec![loopback] } else { Vec::new() }).await;
        let token = scoped_token(&app, json!({ "allowed_ips": ["10.1.0.0/16"] })).await;
        // From the loopback peer itself: not in the allowlist.
        let (status, _) = kind_of(
            app.req(&token, Method::GET, "/v1/whoami")
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        // Claiming an allowed address.
        let r = app
            .req(&token, Method::GET, "/v1/whoami")
            .header("x-forwarded-for", "10.1.2.3")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().is_success(), trusted, "trusted proxy: {trusted}");
        // A client's own X-Forwarded-For line before the proxy's line does not speak for it.
        let r = app
            .req(&token, Method::GET, "/v1/whoami")
            .header("x-forwarded-for", "10.1.2.3")
            .header("x-forwarded-for", "203.0.113.9")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        // Junk from the proxy gives no address: refused, not the proxy's own.
        let r = app
            .req(&token, Method::GET, "/v1/whoami")
            .header("x-forwarded-for", "not-an-address")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        // A client-supplied left part cannot smuggle an allowed address past the proxy.
        let r = app
            .req(&token, Method::GET, "/v1/whoami")
            .header("x-forwarded-for", "10.1.2.3, 203.0.113.9")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        // The audit event records the address the decision used.
        let events = app.vault.recent_audit(&app.operator, 50).await.unwrap();
        let refused = events
            .iter()
            .find(|e| e.action == "authenticate" && e.reason.contains("allowlist"))
            .unwrap();
        assert!(refused.remote_addr.is_some());
    }
}

#[tokio::test]
async fn scopes_narrow_actions_paths_and_tiers() {
    let app = spawn(Vec::new()).await;
    app.seed("/reports/q1.txt", Tier::Internal).await;
    app.seed("/reports/secret.txt", Tier::Confidential).await;
    app.seed("/hr/pay.txt", Tier::Internal).await;
    let token = scoped_token(
        &app,
        json!({ "actions": ["file.read", "file.stat"], "paths": ["/reports"], "max_tier": "internal" }),
    )
    .await;
    let get = |route: &str| app.req(&token, Method::GET, route).send();
    assert_eq!(
        get("/v1/files/reports/q1.txt").await.unwrap().status(),
        StatusCode::OK
    );
    for route in [
        "/v1/files/hr/pay.txt",
        "/v1/files/reports/secret.txt",
        "/v1/history/reports/q1.txt",
    ] {
        let (status, _) = kind_of(get(route).await.unwrap()).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{route}");
    }
    let r = app
        .req(&token, Method::PUT, "/v1/files/reports/new.txt")
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let events = app.vault.recent_audit(&app.operator, 20).await.unwrap();
    assert!(
        events
            .iter()
            .any(|e| e.policies.iter().any(|p| p.starts_with("token-scope"))),
        "scope denials name the scope policy"
    );
    // A scoped token cannot mint a wider one, nor enrol a second factor.
    let wider = app
        .req(&token, Method::POST, "/v1/tokens")
        .json(&json!({ "description": "escape", "scope": {} }))
        .send()
        .await
        .unwrap();
    assert_eq!(wider.status(), StatusCode::FORBIDDEN);
    let enrol = app
        .req(&token, Method::POST, "/v1/mfa/enroll")
        .send()
        .await
        .unwrap();
    assert_eq!(enrol.status(), StatusCode::FORBIDDEN);
    // A bad scope is refused with a clear message.
    let r = app
        .req(&app.admin_token, Method::POST, "/v1/tokens")
        .json(&json!({ "scope": { "actions": ["file.reed"] } }))
        .send()
        .await
        .unwrap();
    let status = r.status();
    let body: Value = r.json().await.unwrap();
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("file.reed")
    );
}

#[tokio::test]
async fn rotation_keeps_the_old_secret_for_the_overlap_then_kills_it() {
    let app = spawn(Vec::new()).await;
    let old = scoped_token(&app, json!({})).await;
    let tokens: Vec<Value> = app
        .req(&old, Method::GET, "/v1/tokens")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = old[4..20].to_owned();
    assert!(tokens.iter().any(|t| t["id"] == id.as_str()));
    let rotate = |token: &str, overlap: i64| {
        app.req(token, Method::POST, &format!("/v1/tokens/{id}/rotate"))
            .json(&json!({ "overlap_s": overlap }))
            .send()
    };
    let r = rotate(&old, 3600).await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let body: Value = r.json().await.unwrap();
    let new = body["secret"].as_str().unwrap().to_owned();
    assert_eq!(body["token"]["rotated_from"], id.as_str());
    // Both work inside the overlap window.
    for token in [&old, &new] {
        let r = app
            .req(token, Method::GET, "/v1/whoami")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
    }
    // The old one cannot be rotated twice.
    let (status, _) = kind_of(rotate(&new, 0).await.unwrap()).await;
    assert_eq!(status, StatusCode::CONFLICT);
    // Rotating the successor with no overlap kills its secret at once.
    let new_id = new[4..20].to_owned();
    let r = app
        .req(&new, Method::POST, &format!("/v1/tokens/{new_id}/rotate"))
        .json(&json!({ "overlap_s": 0 }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let newest: Value = r.json().await.unwrap();
    let r = app
        .req(&new, Method::GET, "/v1/whoami")
        .send()
        .await
        .unwrap();
    let status = r.status();
    let text = r.text().await.unwrap();
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(text.contains("rotated"), "{text}");
    assert!(!text.contains(&new[21..]), "the 401 never echoes the token");
    let newest = newest["secret"].as_str().unwrap();
    let r = app
        .req(newest, Method::GET, "/v1/whoami")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // Revocation is immediate.
    let newest_id = &newest[4..20];
    let r = app
        .req(
            &app.admin_token,
            Method::DELETE,
            &format!("/v1/tokens/{newest_id}"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = app
        .req(newest, Method::GET, "/v1/whoami")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

fn now_s() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn totp_now(uri: &str) -> (String, totp_rs::Totp) {
    let totp = totp_rs::Totp::from_url(uri).unwrap();
    (totp.generate(now_s()).to_string(), totp)
}

#[tokio::test]
async fn mfa_required_actions_are_refused_without_a_current_code() {
    let app = spawn(Vec::new()).await;
    let admin = app.admin_token.clone();
    app.seed("/vault/keys.txt", Tier::Restricted).await;
    app.seed("/docs/plan.txt", Tier::Confidential).await;
    // Without MFA: restricted read, label lowering and admin changes are refused as such.
    for (method, route, body) in [
        (Method::GET, "/v1/files/vault/keys.txt", None),
        (
            Method::PUT,
            "/v1/label/docs/plan.txt",
            Some(json!({ "tier": "public" })),
        ),
        (
            Method::POST,
            "/v1/principals",
            Some(json!({ "name": "carol", "role": "viewer" })),
        ),
    ] {
        let mut request = app.req(&admin, method.clone(), route);
        if let Some(b) = body {
            request = request.json(&b);
        }
        let (status, kind) = kind_of(request.send().await.unwrap()).await;
        assert_eq!(
            (status, kind.as_str()),
            (StatusCode::FORBIDDEN, "mfa_required"),
            "{method} {route}"
        );
    }
    // Enrol: the URI is for an authenticator app, confirmed by its first code.
    let r = app
        .req(&admin, Method::POST, "/v1/mfa/enroll")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let enrolment: Value = r.json().await.unwrap();
    let uri = enrolment["otpauth_uri"].as_str().unwrap();
    assert!(uri.starts_with("otpauth://totp/"));
    assert!(enrolment["qr_svg"].as_str().unwrap().contains("<svg"));
    let (code, totp) = totp_now(uri);
    let r = app
        .req(&admin, Method::POST, "/v1/mfa/confirm")
        .json(&json!({ "code": code }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let recovery: Value = r.json().await.unwrap();
    let recovery: Vec<String> = recovery["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(recovery.len(), 10);
    // The confirming code was spent: the next request needs the next step's code, so use a
    // recovery code here, and a fresh step's code below.
    let r = app
        .req(&admin, Method::GET, "/v1/files/vault/keys.txt")
        .header("x-covault-otp", &recovery[0])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.text().await.unwrap(), "quarterly notes\n");
    // A recovery code works once.
    let r = app
        .req(&admin, Method::GET, "/v1/files/vault/keys.txt")
        .header("x-covault-otp", &recovery[0])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // A wrong code is refused and audited without the code.
    let r = app
        .req(&admin, Method::GET, "/v1/whoami")
        .header("x-covault-otp", "000000")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // The code of the next step (the server accepts ±1 step of skew) lowers a label.
    let next = totp.generate(now_s() + 30).to_string();
    let r = app
        .req(&admin, Method::PUT, "/v1/label/docs/plan.txt")
        .header("x-covault-otp", &next)
        .json(&json!({ "tier": "public" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // …once: replaying it is refused.
    let r = app
        .req(&admin, Method::POST, "/v1/principals")
        .header("x-covault-otp", &next)
        .json(&json!({ "name": "carol", "role": "viewer" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = app
        .req(&admin, Method::POST, "/v1/principals")
        .header("x-covault-otp", &recovery[1])
        .json(&json!({ "name": "carol", "role": "viewer", "token": true }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let events = app.vault.recent_audit(&app.operator, 100).await.unwrap();
    let text = serde_json::to_string(&events).unwrap();
    for secret in [&recovery[0], &recovery[1], &next] {
        assert!(!text.contains(secret.as_str()), "no code in the audit log");
    }
    let secret_b32 = uri
        .split("secret=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap();
    assert!(
        !text.contains(secret_b32),
        "no TOTP secret in the audit log"
    );
    assert_eq!(
        events
            .iter()
            .filter(|e| e.action == "mfa.recovery_code")
            .count(),
        2,
        "each spent recovery code is an audit event"
    );
    let lowered = events.iter().find(|e| e.action == "file.label").unwrap();
    assert_eq!(lowered.outcome, covault_guard::Outcome::Success);
}

#[tokio::test]
async fn groups_grant_roles_and_access_review_finds_idle_grants() {
    let app = spawn(Vec::new()).await;
    let viewer = app.user("dana", "viewer").await;
    app.seed("/team/plan.txt", Tier::Confidential).await;
    let (status, _) = kind_of(
        app.req(&viewer, Method::GET, "/v1/files/team/plan.txt")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Groups are admin changes: the operator makes them here (no MFA in-process).
    app.vault
        .put_group(&app.operator, "eng", "engineering", vec!["editor".into()])
        .await
        .unwrap();
    app.vault
        .set_group_member(&app.operator, "eng", "dana", true)
        .await
        .unwrap();
    let r = app
        .req(&viewer, Method::GET, "/v1/files/team/plan.txt")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "editor through the group");
    let who: Value = app
        .req(&viewer, Method::GET, "/v1/whoami")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(who["group_roles"], json!(["editor"]));
    // Unknown roles are refused.
    let err = app
        .vault
        .put_group(&app.operator, "ops", "", vec!["superuser".into()])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("unknown role"), "{err}");
    // Access review: the admin's never-used-since-init grant is new, so not stale; the
    // viewer role of dana was exercised through nothing yet.
    let review: Value = app
        .req(
            &app.admin_token,
            Method::GET,
            "/v1/access-review?unused_days=1",
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let findings = review["findings"].as_array().unwrap();
    assert!(findings.iter().any(|f| f["kind"] == "role-never-exercised"
        && f["principal_name"] == "dana"
        && f["role"] == "viewer"));
    assert!(
        !findings
            .iter()
            .any(|f| f["principal_name"] == "dana" && f["role"] == "editor"),
        "editor was exercised"
    );
}
