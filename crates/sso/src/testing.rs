//! Test harness, never used by the product (it exists only behind the `test-idp` feature, which
//! only dev-dependencies enable): the real OpenID provider of `tests/idp` (panva's
//! `oidc-provider` under node, installed by `npm ci` on first use) on loopback, and a
//! [`Browser`] that follows redirects by hand with a cookie jar, logging in as a test account at
//! the provider's interaction steps. Used by this crate's tests and by the covault server's SSO
//! tests.
//!
//! ```ignore
//! if let Err(reason) = idp_available() {
//!     skip_or_fail(&reason);
//!     return;
//! }
//! let idp = start_provider(&json!([{ "client_id": "c", "client_secret": "…",
//!     "redirect_uris": ["http://127.0.0.1:8080/v1/sso/callback"] }]))?;
//! // … point the relying party at idp.issuer …
//! let server = "http://127.0.0.1:8080";
//! let mut browser = Browser::new();
//! let login = format!("{server}/v1/sso/login");
//! let callback = format!("{server}/v1/sso/callback");
//! let location = browser.login(&login, ALICE.subject, &callback).await?;
//! let response = browser.get(&location).await?; // the server sets its session cookie
//! let session = browser.cookie("127.0.0.1:8080", "covault_session");
//! ```

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock, mpsc};
use std::time::Duration;

use openidconnect::url::Url;
use reqwest::header::{COOKIE, HeaderMap, LOCATION, SET_COOKIE};

/// How long the provider may take to print its issuer.
const STARTUP_DEADLINE: Duration = Duration::from_secs(30);
/// How long one browser request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Most redirects a login follows.
const MAX_HOPS: usize = 16;

// ---------------------------------------------------------------------------------------------
// The test accounts

/// A test account of `tests/idp/provider.mjs`, whose `accounts` table these constants mirror
/// (the tests that log in check the claims the provider returns against them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TestAccount {
    /// The `sub` claim, and the name [`Browser::login`] logs in with.
    pub subject: &'static str,
    pub email: &'static str,
    /// The provider vouches for every test account's email (`email_verified: true`).
    pub email_verified: bool,
    pub name: &'static str,
    /// The `groups` claim, in the provider's order.
    pub groups: &'static [&'static str],
}

/// An engineer and covault administrator: groups `eng` and `covault-admins`.
pub const ALICE: TestAccount = TestAccount {
    subject: "alice",
    email: "alice@example.com",
    email_verified: true,
    name: "Alice Example",
    groups: &["eng", "covault-admins"],
};

/// A contractor, on another email domain: group `contractors` only.
pub const BOB: TestAccount = TestAccount {
    subject: "bob",
    email: "bob@contractor.example",
    email_verified: true,
    name: "Bob Contractor",
    groups: &["contractors"],
};

// ---------------------------------------------------------------------------------------------
// node and oidc-provider

fn idp_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/idp")
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|value| value == "true")
}

fn run(command: &mut Command) -> Result<(), String> {
    let output = command
        .current_dir(idp_dir())
        .stdin(Stdio::null())
        .output()
        .map_err(|error| format!("cannot run {command:?}: {error}"))?;
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let tail: Vec<&str> = stderr.lines().rev().take(15).collect();
    Err(format!(
        "{command:?} failed ({}):\n{}",
        output.status,
        tail.into_iter().rev().collect::<Vec<_>>().join("\n")
    ))
}

/// `npm ci` unless `oidc-provider` is installed, under a lock on `package-lock.json`: another
/// test process (this crate's and the server's tests run side by side under nextest, or two
/// cargo runs) may be installing at the same time, and `npm ci` starts by deleting
/// `node_modules`.
fn install() -> Result<(), String> {
    run(Command::new("node").arg("--version"))?;
    let lock_path = idp_dir().join("package-lock.json");
    let lock = File::open(&lock_path).map_err(|e| format!("{}: {e}", lock_path.display()))?;
    lock.lock()
        .map_err(|e| format!("lock {}: {e}", lock_path.display()))?;
    if idp_dir()
        .join("node_modules/oidc-provider/package.json")
        .exists()
    {
        return Ok(());
    }
    run(Command::new("npm").args(["ci", "--no-audit", "--no-fund", "--loglevel=error"]))
    // `lock` is released when the file closes.
}

/// Whether the provider can run: `node` is present and `oidc-provider` installed (running
/// `npm ci` in `tests/idp` when it is not, once per process). `Err` says why not; a test then
/// calls [`skip_or_fail`] with it.
pub fn idp_available() -> Result<(), String> {
    static READY: OnceLock<Result<(), String>> = OnceLock::new();
    READY.get_or_init(install).clone()
}

/// Says on stderr why a test is skipped — or, under `CI=true`, fails it, since CI must run
/// every test. The caller returns from the test after it.
// A test harness's way to fail a test: the one place in this crate that panics on purpose.
#[allow(clippy::panic)]
pub fn skip_or_fail(reason: &str) {
    if in_ci() {
        panic!("CI=true and the test OpenID provider cannot run: {reason}");
    }
    eprintln!("skipping: the test OpenID provider cannot run here: {reason}");
}

// ---------------------------------------------------------------------------------------------
// The provider process

/// How to run the provider.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProviderOptions {
    /// Also put the scope claims (email, name, groups) in the ID token. By default
    /// (oidc-provider's `conformIdTokenClaims`) the code flow returns them from the userinfo
    /// endpoint only.
    pub claims_in_id_token: bool,
}

/// A running provider (`node tests/idp/provider.mjs` on 127.0.0.1, port 0); killed and reaped
/// on drop. It also exits by itself when its stdin closes, so a test process that dies cannot
/// leave it behind. If dropped while the thread panics, it prints the provider's stderr.
pub struct TestProvider {
    /// `http://127.0.0.1:<port>`, without a trailing slash: what the relying party's
    /// `issuer` must be.
    pub issuer: String,
    child: Child,
    _stdin: ChildStdin,
    stderr: Arc<Mutex<String>>,
}

impl TestProvider {
    /// What the provider wrote to stderr so far (for failure messages).
    pub fn stderr(&self) -> String {
        self.stderr
            .lock()
            .map(|text| text.clone())
            .unwrap_or_else(|poisoned| poisoned.into_inner().clone())
    }
}

impl std::fmt::Debug for TestProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestProvider")
            .field("issuer", &self.issuer)
            .field("pid", &self.child.id())
            .finish_non_exhaustive()
    }
}

impl Drop for TestProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("--- provider stderr ---\n{}", self.stderr());
        }
    }
}

fn drain(mut from: impl Read + Send + 'static, into: Arc<Mutex<String>>) {
    std::thread::spawn(move || {
        let mut buffer = [0u8; 4096];
        while let Ok(read @ 1..) = from.read(&mut buffer) {
            if let Ok(mut text) = into.lock() {
                text.push_str(&String::from_utf8_lossy(&buffer[..read]));
            }
        }
    });
}

/// [`start_provider_with`] with the default [`ProviderOptions`].
pub fn start_provider(clients: &serde_json::Value) -> Result<TestProvider, String> {
    start_provider_with(clients, ProviderOptions::default())
}

/// Starts the provider for `clients` — a non-empty JSON array of client metadata as
/// oidc-provider takes it (`client_id`, `client_secret` or `"token_endpoint_auth_method":
/// "none"`, `redirect_uris`, …) — and waits (at most 30 s) for the issuer it prints first.
/// Runs [`idp_available`] first and returns its `Err`.
pub fn start_provider_with(
    clients: &serde_json::Value,
    options: ProviderOptions,
) -> Result<TestProvider, String> {
    idp_available()?;
    let mut child = Command::new("node")
        .arg("provider.mjs")
        .arg(clients.to_string())
        .current_dir(idp_dir())
        .env(
            "IDP_CLAIMS_IN_ID_TOKEN",
            if options.claims_in_id_token { "1" } else { "0" },
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("spawn node provider.mjs: {e}"))?;
    let (Some(stdin), Some(stdout), Some(stderr_pipe)) =
        (child.stdin.take(), child.stdout.take(), child.stderr.take())
    else {
        let _ = child.kill();
        let _ = child.wait();
        return Err("the provider's pipes are missing".into());
    };
    let stderr = Arc::new(Mutex::new(String::new()));
    drain(stderr_pipe, Arc::clone(&stderr));
    let (first_line, lines) = mpsc::channel();
    std::thread::spawn(move || {
        let mut lines_in = BufReader::new(stdout).lines();
        let _ = first_line.send(lines_in.next());
        for _ in lines_in {}
    });
    // Built before the wait so that any early return kills the child.
    let mut provider = TestProvider {
        issuer: String::new(),
        child,
        _stdin: stdin,
        stderr,
    };
    match lines.recv_timeout(STARTUP_DEADLINE) {
        Ok(Some(Ok(line))) if line.starts_with("http://127.0.0.1:") => {
            provider.issuer = line.trim().to_owned();
            Ok(provider)
        }
        other => Err(format!(
            "the provider did not print its issuer within {STARTUP_DEADLINE:?} ({other:?}); \
             stderr:\n{}",
            provider.stderr()
        )),
    }
}

// ---------------------------------------------------------------------------------------------
// The browser

/// `host:port` of `url`, the key of [`Browser`]'s cookie jar (the port always written, e.g.
/// `127.0.0.1:8080`, `example.com:443`).
pub fn host_port(url: &Url) -> Option<String> {
    Some(format!(
        "{}:{}",
        url.host_str()?,
        url.port_or_known_default()?
    ))
}

/// A browser: a reqwest client that follows no redirects, and a cookie jar.
///
/// The jar keeps cookies per `host:port` — stricter than a real browser, which shares them
/// across the ports of a host — so a covault server and the provider, both on 127.0.0.1, never
/// see each other's cookies and a test can read exactly what each one set. Within a `host:port`
/// every cookie is sent on every request (`Path` and `Domain` are ignored); a cookie set empty,
/// with `Max-Age=0` or with a 1970 `Expires` is removed.
#[derive(Debug)]
pub struct Browser {
    /// `Err` if the client could not be built; every request then returns it.
    http: Result<reqwest::Client, String>,
    /// `host:port` → cookie name → value.
    jar: BTreeMap<String, BTreeMap<String, String>>,
}

impl Default for Browser {
    fn default() -> Self {
        Self::new()
    }
}

impl Browser {
    pub fn new() -> Self {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(REQUEST_TIMEOUT)
            .build()
            .map_err(|e| format!("cannot build the browser's HTTP client: {e}"));
        Self {
            http,
            jar: BTreeMap::new(),
        }
    }

    /// The `Cookie` header this browser sends to `host_port` (see [`host_port`]); empty when it
    /// has no cookies for it. For requests the caller makes with its own client.
    pub fn cookie_header(&self, host_port: &str) -> String {
        let Some(cookies) = self.jar.get(host_port) else {
            return String::new();
        };
        let pairs: Vec<String> = cookies.iter().map(|(n, v)| format!("{n}={v}")).collect();
        pairs.join("; ")
    }

    /// The value of the cookie `name` this browser holds for `host_port`.
    pub fn cookie(&self, host_port: &str, name: &str) -> Option<&str> {
        self.jar.get(host_port)?.get(name).map(String::as_str)
    }

    fn store(&mut self, host_port: &str, headers: &HeaderMap) {
        for header in headers.get_all(SET_COOKIE) {
            let Ok(header) = header.to_str() else {
                continue;
            };
            let mut parts = header.split(';');
            let Some((name, value)) = parts.next().and_then(|pair| pair.split_once('=')) else {
                continue;
            };
            let (name, value) = (name.trim(), value.trim());
            if name.is_empty() {
                continue;
            }
            let expired = parts.any(|attribute| {
                let attribute = attribute.trim().to_ascii_lowercase();
                attribute
                    .strip_prefix("max-age=")
                    .is_some_and(|age| age.trim().parse::<i64>().is_ok_and(|age| age <= 0))
                    || attribute
                        .strip_prefix("expires=")
                        .is_some_and(|date| date.contains("1970"))
            });
            let cookies = self.jar.entry(host_port.to_owned()).or_default();
            if value.is_empty() || expired {
                cookies.remove(name);
            } else {
                cookies.insert(name.to_owned(), value.to_owned());
            }
        }
    }

    async fn fetch(&mut self, url: &Url) -> Result<reqwest::Response, String> {
        let http = self.http.as_ref().map_err(String::clone)?;
        let key = host_port(url).ok_or_else(|| format!("{url}: no host and port"))?;
        let mut request = http.get(url.clone());
        let cookies = self.cookie_header(&key);
        if !cookies.is_empty() {
            request = request.header(COOKIE, cookies);
        }
        let response = request
            .send()
            .await
            .map_err(|e| format!("GET {url}: {e}"))?;
        self.store(&key, response.headers());
        Ok(response)
    }

    /// One `GET` of `url` with this browser's cookies for its `host:port`, storing the cookies
    /// the response sets; a redirect is returned, not followed. E.g. to follow the callback
    /// location [`login`](Self::login) returned and keep the session cookie it sets.
    pub async fn get(&mut self, url: &str) -> Result<reqwest::Response, String> {
        let url = Url::parse(url).map_err(|e| format!("{url}: {e}"))?;
        self.fetch(&url).await
    }

    /// Follows redirects from `url` by hand — appending `account=<account>` to the provider's
    /// interaction steps (`/interaction/<uid>`), which log that account in and grant consent —
    /// until a `Location` starts with `stop_prefix`, and returns that location (absolute)
    /// without requesting it. `url` may be the provider's authorization URL or a page on another
    /// host that redirects to it (a covault server's `/v1/sso/login`); cookies are kept per
    /// `host:port` along the way. `Err` when a response is not a redirect (with its status and
    /// body, e.g. the provider's error page) or after 16 hops.
    pub async fn login(
        &mut self,
        url: &str,
        account: &str,
        stop_prefix: &str,
    ) -> Result<String, String> {
        let mut url = Url::parse(url).map_err(|e| format!("{url}: {e}"))?;
        for _ in 0..MAX_HOPS {
            let response = self.fetch(&url).await?;
            let status = response.status();
            let location = match response.headers().get(LOCATION) {
                Some(location) if status.is_redirection() => location
                    .to_str()
                    .map_err(|_| format!("{url}: a Location header that is not text"))?
                    .to_owned(),
                _ => {
                    let body = response.text().await.unwrap_or_default();
                    let body: String = body.chars().take(2000).collect();
                    return Err(format!("{url} answered {status}, not a redirect: {body}"));
                }
            };
            let mut next = url
                .join(&location)
                .map_err(|e| format!("{url}: Location {location}: {e}"))?;
            if next.as_str().starts_with(stop_prefix) {
                return Ok(next.into());
            }
            if next.path().starts_with("/interaction/") {
                next.query_pairs_mut().append_pair("account", account);
            }
            url = next;
        }
        Err(format!(
            "no redirect to {stop_prefix} after {MAX_HOPS} hops"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn set(browser: &mut Browser, host_port: &str, cookies: &[&'static str]) {
        let mut headers = HeaderMap::new();
        for cookie in cookies {
            headers.append(SET_COOKIE, HeaderValue::from_static(cookie));
        }
        browser.store(host_port, &headers);
    }

    #[test]
    fn the_jar_keeps_cookies_per_host_and_port_and_forgets_expired_ones() {
        let mut browser = Browser::new();
        set(
            &mut browser,
            "127.0.0.1:1",
            &["a=1; Path=/", "b=2; HttpOnly", "c=3", "no-value", "=x"],
        );
        set(&mut browser, "127.0.0.1:2", &["a=other"]);
        assert_eq!(browser.cookie_header("127.0.0.1:1"), "a=1; b=2; c=3");
        assert_eq!(browser.cookie_header("127.0.0.1:2"), "a=other");
        assert_eq!(browser.cookie_header("127.0.0.1:3"), "");
        assert_eq!(browser.cookie("127.0.0.1:2", "a"), Some("other"));

        set(
            &mut browser,
            "127.0.0.1:1",
            &[
                "a=; Path=/",
                "b=2; Max-Age=0",
                "c=3; path=/; expires=Thu, 01 Jan 1970 00:00:00 GMT; httponly",
                "d=4; Max-Age=60",
            ],
        );
        assert_eq!(browser.cookie_header("127.0.0.1:1"), "d=4");
        assert_eq!(browser.cookie("127.0.0.1:1", "a"), None);
        assert_eq!(browser.cookie_header("127.0.0.1:2"), "a=other");
    }

    #[test]
    fn host_port_always_names_the_port() {
        let of = |url: &str| Url::parse(url).ok().and_then(|url| host_port(&url));
        assert_eq!(
            of("http://127.0.0.1:8080/x?y"),
            Some("127.0.0.1:8080".into())
        );
        assert_eq!(of("https://example.com/"), Some("example.com:443".into()));
        assert_eq!(of("http://example.com"), Some("example.com:80".into()));
        assert_eq!(of("data:text/plain,x"), None);
    }
}
