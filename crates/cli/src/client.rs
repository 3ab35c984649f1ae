//! Client commands: thin calls to the REST API (`COVAULT_URL`, `COVAULT_TOKEN`). Uploads and
//! downloads stream; a download lands in a temporary file renamed into place only when every
//! byte arrived and verified server-side.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, anyhow, bail};
use covault_guard::{FileInfo, Listing, PurgeInfo, VersionInfo};
use futures_util::StreamExt;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use tokio::io::AsyncWriteExt;

use crate::args::{ClientArgs, Command};
use crate::env;

/// Characters left as they are in a path segment.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Writes a line to standard output (the binary's one place that prints results).
#[allow(clippy::print_stdout)]
pub fn print_line(text: &str) {
    println!("{text}");
}

pub(crate) struct Client {
    http: reqwest::Client,
    base: String,
    token: SecretString,
}

impl Client {
    pub(crate) fn new(args: &ClientArgs) -> anyhow::Result<Self> {
        let token = match std::env::var(env::TOKEN) {
            Ok(t) => SecretString::from(t),
            Err(_) => {
                let path = std::env::var_os(env::TOKEN_FILE)
                    .map(std::path::PathBuf::from)
                    .or_else(|| default_token_file().filter(|p| p.exists()));
                match path {
                    Some(path) => SecretString::from(
                        std::fs::read_to_string(&path)
                            .with_context(|| format!("reading the token file {}", path.display()))?
                            .trim()
                            .to_owned(),
                    ),
                    None => bail!(
                        "no API token: set {} or {}, or run `covault login`",
                        env::TOKEN,
                        env::TOKEN_FILE
                    ),
                }
            }
        };
        Self::with_token(args, token)
    }

    /// A client with an explicit token (or an empty one, for the unauthenticated SSO routes).
    pub(crate) fn with_token(args: &ClientArgs, token: SecretString) -> anyhow::Result<Self> {
        let base = args
            .url
            .clone()
            .or_else(|| std::env::var(env::URL).ok())
            .unwrap_or_else(|| "http://127.0.0.1:8750".to_owned());
        let base = base.trim_end_matches('/').to_owned();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            bail!("COVAULT_URL `{base}` must start with http:// or https://");
        }
        let mut builder = reqwest::Client::builder()
            .user_agent(concat!("covault-cli/", env!("CARGO_PKG_VERSION")));
        if let Some(ca) = std::env::var_os(env::CA_CERT) {
            let pem = std::fs::read(&ca).with_context(|| format!("reading {}", env::CA_CERT))?;
            builder = builder.tls_certs_only([reqwest::Certificate::from_pem(&pem)?]);
        }
        Ok(Self {
            http: builder.build().context("building the HTTP client")?,
            base,
            token,
        })
    }

    pub(crate) fn request(
        &self,
        method: Method,
        route: &str,
        path: Option<&str>,
    ) -> RequestBuilder {
        let mut url = format!("{}{route}", self.base);
        if let Some(path) = path {
            let encoded: Vec<String> = path
                .trim_start_matches('/')
                .split('/')
                .map(|s| utf8_percent_encode(s, SEGMENT).to_string())
                .collect();
            url.push('/');
            url.push_str(&encoded.join("/"));
        }
        let request = self
            .http
            .request(method, url)
            .bearer_auth(self.token.expose_secret());
        // A second factor for actions that need one (lowering labels, restricted reads,
        // admin changes): the authenticator's current code.
        match std::env::var(env::OTP) {
            Ok(code) if !code.trim().is_empty() => request.header("x-covault-otp", code.trim()),
            _ => request,
        }
    }
}

/// Where `covault login` keeps its token: `$XDG_CONFIG_HOME/covault/token` (or ~/.config).
pub(crate) fn default_token_file() -> Option<std::path::PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".config"))
        })?;
    Some(base.join("covault").join("token"))
}

impl Client {
    /// The server's base URL.
    pub(crate) fn base(&self) -> &str {
        &self.base
    }
    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.http
    }
}

/// Turns a non-success response into an error carrying the server's message.
pub(crate) async fn check(response: Response) -> anyhow::Result<Response> {
    if response.status().is_success() {
        return Ok(response);
    }
    let status = response.status();
    let body: serde_json::Value = response.json().await.unwrap_or_default();
    let kind = body["error"]["kind"].as_str().unwrap_or("error");
    let message = body["error"]["message"]
        .as_str()
        .unwrap_or_else(|| status.canonical_reason().unwrap_or("request failed"));
    Err(anyhow!("{message} ({kind}, HTTP {})", status.as_u16()))
}

pub(crate) async fn send(builder: RequestBuilder) -> anyhow::Result<Response> {
    let response = builder.send().await.map_err(|e| {
        anyhow!("cannot reach covault: {e} (is `covault serve` running? check COVAULT_URL)")
    })?;
    check(response).await
}

fn show_json<T: serde::Serialize>(value: &T) -> anyhow::Result<()> {
    print_line(&serde_json::to_string_pretty(value)?);
    Ok(())
}

pub async fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Ls {
            prefix,
            deleted,
            json,
            client,
        } => ls(&Client::new(&client)?, &prefix, deleted, json).await?,
        Command::Put {
            local,
            remote,
            tier,
            client,
        } => put(&Client::new(&client)?, &local, &remote, tier).await?,
        Command::Get {
            remote,
            local,
            version,
            client,
        } => get(&Client::new(&client)?, &remote, local.as_deref(), version).await?,
        Command::Stat {
            remote,
            json,
            client,
        } => {
            let info: FileInfo =
                send(Client::new(&client)?.request(Method::GET, "/v1/stat", Some(&remote)))
                    .await?
                    .json()
                    .await?;
            if json {
                show_json(&info)?
            } else {
                print_file_header();
                print_file(&info)
            }
        }
        Command::History {
            remote,
            json,
            client,
        } => {
            let versions: Vec<VersionInfo> =
                send(Client::new(&client)?.request(Method::GET, "/v1/history", Some(&remote)))
                    .await?
                    .json()
                    .await?;
            if json {
                show_json(&versions)?
            } else {
                print_history(&versions)
            }
        }
        Command::Restore {
            remote,
            version,
            client,
        } => {
            let c = Client::new(&client)?;
            let info: VersionInfo = send(
                c.request(Method::POST, "/v1/restore", Some(&remote))
                    .json(&serde_json::json!({ "version": version })),
            )
            .await?
            .json()
            .await?;
            eprintln!(
                "restored {} version {version} as version {}",
                info.path, info.version
            );
        }
        Command::Rm { remote, client } => {
            send(Client::new(&client)?.request(Method::DELETE, "/v1/files", Some(&remote))).await?;
            eprintln!("deleted {remote} (history kept; `covault restore` brings it back)");
        }
        Command::Purge {
            remote,
            yes,
            client,
        } => {
            if !yes {
                bail!(
                    "purge destroys every version of `{remote}` irrecoverably: pass --yes to confirm"
                );
            }
            let info: PurgeInfo =
                send(Client::new(&client)?.request(Method::POST, "/v1/purge", Some(&remote)))
                    .await?
                    .json()
                    .await?;
            eprintln!(
                "purged {}: {} versions crypto-shredded",
                info.path, info.versions_destroyed
            );
        }
        Command::Label {
            remote,
            tier,
            client,
        } => {
            let info: FileInfo = send(
                Client::new(&client)?
                    .request(Method::PUT, "/v1/label", Some(&remote))
                    .json(&serde_json::json!({ "tier": tier })),
            )
            .await?
            .json()
            .await?;
            eprintln!("{} is now {}", info.path, info.tier);
        }
        Command::Whoami { client } => {
            let who: serde_json::Value =
                send(Client::new(&client)?.request(Method::GET, "/v1/whoami", None))
                    .await?
                    .json()
                    .await?;
            show_json(&who)?;
        }
        _ => bail!("not a client command"),
    }
    Ok(ExitCode::SUCCESS)
}

async fn ls(client: &Client, prefix: &str, deleted: bool, json: bool) -> anyhow::Result<()> {
    let mut after: Option<String> = None;
    let mut all = Vec::new();
    loop {
        let mut query = vec![
            ("prefix", prefix.to_owned()),
            ("deleted", deleted.to_string()),
        ];
        if let Some(a) = &after {
            query.push(("after", a.clone()));
        }
        let page: Listing = send(client.request(Method::GET, "/v1/files", None).query(&query))
            .await?
            .json()
            .await?;
        all.extend(page.files);
        match page.next_after {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    if json {
        return show_json(&all);
    }
    print_file_header();
    for file in &all {
        print_file(file);
    }
    Ok(())
}

fn print_file_header() {
    print_line(&format!(
        "{:<12} {:>4} {:>12}  {:<24} PATH",
        "TIER", "VER", "SIZE", "UPDATED"
    ));
}

fn print_file(f: &FileInfo) {
    let deleted = if f.deleted { "  (deleted)" } else { "" };
    print_line(&format!(
        "{:<12} {:>4} {:>12}  {:<24} {}{deleted}",
        f.tier.as_str(),
        f.version,
        f.size,
        f.updated_at,
        f.path
    ));
}

/// One line of a version's findings: document format and extraction outcome, types with
/// counts, and `PENDING REVIEW` when it could not be examined (`--json` shows everything).
fn findings_summary(findings: Option<&serde_json::Value>) -> String {
    let Some(f) = findings else {
        return "-".into();
    };
    let mut parts = Vec::new();
    if let Some(doc) = f.get("document") {
        parts.push(format!(
            "{} {}",
            doc["format"].as_str().unwrap_or("?"),
            doc["extraction"].as_str().unwrap_or("?")
        ));
    }
    if let Some(counts) = f.get("counts").and_then(|c| c.as_object()) {
        for (kind, n) in counts {
            parts.push(format!("{kind}x{n}"));
        }
    }
    if f["pending_review"] == true {
        parts.push("PENDING REVIEW".into());
    }
    if parts.is_empty() {
        "none".into()
    } else {
        parts.join(" ")
    }
}

fn print_history(versions: &[VersionInfo]) {
    print_line(&format!(
        "{:>4} {:>12} {:<12} {:<24} {:<16} {:<8} {:<16} FINDINGS",
        "VER", "SIZE", "TIER", "CREATED", "AUTHOR", "KIND", "HASH"
    ));
    for v in versions {
        let kind = match v.restored_from {
            Some(from) => format!("restore<{from}"),
            None => v.kind.clone(),
        };
        let hash = if v.purged {
            "(purged)".to_owned()
        } else {
            v.content_hash[..16].to_owned()
        };
        print_line(&format!(
            "{:>4} {:>12} {:<12} {:<24} {:<16} {:<8} {hash:<16} {}",
            v.version,
            v.size,
            v.tier.as_str(),
            v.created_at,
            v.author,
            kind,
            findings_summary(v.findings.as_ref())
        ));
    }
}

async fn put(
    client: &Client,
    local: &Path,
    remote: &str,
    tier: Option<String>,
) -> anyhow::Result<()> {
    let mut request = client.request(Method::PUT, "/v1/files", Some(remote));
    if let Some(tier) = tier {
        request = request.query(&[("tier", tier)]);
    }
    let request = if local == Path::new("-") {
        let stdin = tokio_util::io::ReaderStream::new(tokio::io::stdin());
        request.body(reqwest::Body::wrap_stream(stdin))
    } else {
        let file = tokio::fs::File::open(local)
            .await
            .with_context(|| format!("opening `{}`", local.display()))?;
        let len = file.metadata().await?.len();
        request
            .header(reqwest::header::CONTENT_LENGTH, len)
            .body(reqwest::Body::wrap_stream(
                tokio_util::io::ReaderStream::with_capacity(file, 256 * 1024),
            ))
    };
    let info: VersionInfo =
        send(request.header(reqwest::header::CONTENT_TYPE, "application/octet-stream"))
            .await?
            .json()
            .await?;
    eprintln!(
        "stored {} version {} ({} bytes, {})",
        info.path, info.version, info.size, info.tier
    );
    Ok(())
}

async fn get(
    client: &Client,
    remote: &str,
    local: Option<&Path>,
    version: Option<i64>,
) -> anyhow::Result<()> {
    let mut request = client.request(Method::GET, "/v1/files", Some(remote));
    if let Some(v) = version {
        request = request.query(&[("version", v)]);
    }
    let response = send(request).await?;
    if response.status() != StatusCode::OK {
        bail!("unexpected response {}", response.status());
    }
    let mut body = response.bytes_stream();
    match local {
        None => {
            let mut out = std::io::stdout().lock();
            while let Some(chunk) = body.next().await {
                let chunk = chunk.map_err(|e| {
                    anyhow!("download failed part-way ({e}); the output is incomplete")
                })?;
                out.write_all(&chunk)?;
            }
            out.flush()?;
        }
        Some(path) if path == Path::new("-") => {
            let mut out = std::io::stdout().lock();
            while let Some(chunk) = body.next().await {
                out.write_all(&chunk.map_err(|e| anyhow!("download failed part-way ({e})"))?)?;
            }
            out.flush()?;
        }
        Some(path) => {
            let dir = path
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            let name = path
                .file_name()
                .context("the local path needs a file name")?
                .to_string_lossy()
                .into_owned();
            let tmp = dir.join(format!(".{name}.covault-partial-{}", std::process::id()));
            let result = async {
                let mut file = tokio::fs::File::create(&tmp).await?;
                while let Some(chunk) = body.next().await {
                    let chunk = chunk.map_err(|e| {
                        anyhow!(
                            "download failed part-way ({e}); nothing was written to `{}`",
                            path.display()
                        )
                    })?;
                    file.write_all(&chunk).await?;
                }
                file.sync_all().await?;
                tokio::fs::rename(&tmp, path).await?;
                anyhow::Ok(())
            }
            .await;
            if result.is_err() {
                let _ = tokio::fs::remove_file(&tmp).await;
            }
            result?;
        }
    }
    Ok(())
}
