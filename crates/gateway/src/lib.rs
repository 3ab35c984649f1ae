//! The AI gateway: Anthropic Messages and OpenAI Chat Completions in front of configured
//! providers. Prompts are scanned and rewritten before they leave (reversible placeholders,
//! blocks for restricted data and injection), answers are restored and checked (DLP, canaries)
//! as they stream back, limits and budgets apply per token, user and provider, and every call is
//! one audit event. All access goes through the [`covault_guard::Vault`]: `ai.send` decisions,
//! `covault://` file reads, provider keys and audit.
//!
//! The server mounts [`Gateway::router`] behind its authentication middleware, which puts the
//! [`covault_guard::Caller`] in the request's extensions.

mod answer;
mod config;
mod error;
mod limits;
mod prompt;
mod relay;
mod routes;
mod upstream;
mod walk;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use covault_guard::Vault;
use covault_scan::{ClassificationPolicy, DlpAction, DlpConfig, ScanConfig, Scanner};

pub use config::{
    BinaryContent, ConfigError, DlpMode, GatewayConfig, LimitsConfig, ProviderConfig, ProviderKind,
};
pub use error::{Dialect, GatewayError, Problem};
pub use routes::PROVIDER_HEADER;

/// A running gateway: configuration, scanner, upstream client and limiters.
pub struct Gateway {
    vault: Arc<Vault>,
    config: Arc<GatewayConfig>,
    scanner: Scanner,
    policy: ClassificationPolicy,
    dlp: Option<DlpConfig>,
    http: reqwest::Client,
    limits: limits::Limits,
    /// Provider keys opened from the keyring, kept for [`KEY_CACHE`] (a database read and an
    /// unseal per request otherwise). Zeroized when replaced or dropped.
    keys: std::sync::Mutex<
        std::collections::HashMap<String, (std::time::Instant, secrecy::SecretString)>,
    >,
}

/// How long an opened provider key is reused.
const KEY_CACHE: Duration = Duration::from_secs(60);

/// Errors starting the gateway.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("cannot build the content scanner: {0}")]
    Scanner(String),
    #[error("cannot build the upstream HTTP client: {0}")]
    Http(String),
}

impl Gateway {
    /// Checks the configuration and builds the gateway.
    pub fn new(vault: Arc<Vault>, config: GatewayConfig) -> Result<Gateway, StartError> {
        config.validate()?;
        let scanner = Scanner::with_config(ScanConfig::default())
            .map_err(|e| StartError::Scanner(e.to_string()))?;
        let policy = ClassificationPolicy::default();
        let dlp = match config.dlp {
            DlpMode::Off => None,
            mode => Some(DlpConfig {
                min_tier: config.dlp_from,
                policy: policy.clone(),
                action: if mode == DlpMode::Stop {
                    DlpAction::Stop
                } else {
                    DlpAction::Mask
                },
                canaries: config.canaries.clone(),
                ..DlpConfig::default()
            }),
        };
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .pool_idle_timeout(Duration::from_secs(90))
            .build()
            .map_err(|e| StartError::Http(e.to_string()))?;
        let limits = limits::Limits::new(&config);
        Ok(Gateway {
            vault,
            config: Arc::new(config),
            scanner,
            policy,
            dlp,
            http,
            limits,
            keys: std::sync::Mutex::new(std::collections::HashMap::new()),
        })
    }

    /// The API key of a provider (cached for a minute).
    async fn provider_key(
        &self,
        name: &str,
    ) -> Result<Option<secrecy::SecretString>, covault_guard::GuardError> {
        if let Ok(keys) = self.keys.lock()
            && let Some((at, key)) = keys.get(name)
            && at.elapsed() < KEY_CACHE
        {
            return Ok(Some(key.clone()));
        }
        let key = self.vault.provider_key(name).await?;
        if let (Some(k), Ok(mut keys)) = (&key, self.keys.lock()) {
            keys.insert(name.to_owned(), (std::time::Instant::now(), k.clone()));
        }
        Ok(key)
    }

    /// The configuration in force.
    pub fn config(&self) -> &GatewayConfig {
        &self.config
    }

    /// The DLP settings for one answer (the caller's clear values exempt).
    fn dlp_for(&self, exempt: &HashSet<String>) -> Option<Arc<DlpConfig>> {
        self.dlp.as_ref().map(|base| {
            Arc::new(DlpConfig {
                exempt: exempt.clone(),
                ..base.clone()
            })
        })
    }

    /// The gateway's routes. They expect a [`covault_guard::Caller`] extension (added by the
    /// server's authentication layer) and read their bodies themselves, within
    /// `max_request_bytes`.
    pub fn router(self: Arc<Self>) -> Router {
        Router::new()
            .route("/v1/messages", post(routes::messages))
            .route("/v1/messages/count_tokens", post(routes::count_tokens))
            .route("/v1/chat/completions", post(routes::chat_completions))
            .route("/v1/models", get(routes::models))
            .layer(DefaultBodyLimit::disable())
            .with_state(self)
    }
}

/// The dialect of a gateway path (for rendering errors raised before a handler runs).
pub fn dialect_of(path: &str, headers: &axum::http::HeaderMap) -> Dialect {
    if path.starts_with("/v1/messages")
        || (path == "/v1/models" && headers.contains_key("anthropic-version"))
    {
        Dialect::Anthropic
    } else {
        Dialect::Openai
    }
}

/// The paths the gateway serves.
pub const PATHS: &[&str] = &[
    "/v1/messages",
    "/v1/messages/count_tokens",
    "/v1/chat/completions",
    "/v1/models",
];
