//! Gateway configuration: upstream providers (base URL, clearance, retention, residency,
//! models, limits), how findings are handled per tier, output DLP, injection thresholds, and
//! the size and rate limits. Read from `[gateway]` in `covault.toml`; checked before serving.

use std::time::Duration;

use covault_guard::Tier;
use serde::{Deserialize, Serialize};

/// Which wire protocol a provider speaks (and which client endpoint reaches it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    /// Anthropic Messages (`/v1/messages`).
    Anthropic,
    /// OpenAI Chat Completions (`/v1/chat/completions`) and compatible servers.
    Openai,
}

/// What happens to sensitive values in answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DlpMode {
    /// Replace each with `[REDACTED_<TYPE>]`.
    Mask,
    /// End the answer with an error.
    Stop,
    /// Count in the audit event only.
    Off,
}

/// Images and documents in a prompt cannot be scanned for text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BinaryContent {
    /// Refuse requests that carry them (the default).
    Block,
    /// Forward them unscanned (recorded in the audit event).
    Pass,
}

/// One upstream model provider.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderConfig {
    /// Name used in policies (`Provider::"<name>"`), token scopes, audit events and
    /// `covault provider set-key <name>`.
    pub name: String,
    pub kind: ProviderKind,
    /// e.g. `https://api.anthropic.com` or `https://api.openai.com` (the `/v1/...` path is
    /// appended).
    pub base_url: String,
    /// The highest tier this provider may receive.
    #[serde(default = "default_clearance")]
    pub clearance: Tier,
    /// The provider contractually keeps no prompts or answers (required for confidential).
    #[serde(default)]
    pub zero_retention: bool,
    /// Where the provider processes data (recorded; shown in `/v1/models`).
    #[serde(default)]
    pub residency: Option<String>,
    /// Models it may be asked for: exact names, or a prefix ending in `*`.
    pub models: Vec<String>,
    /// Total time for a non-streamed answer, and the longest silence within a stream.
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
    #[serde(default)]
    pub requests_per_minute: Option<u32>,
    #[serde(default)]
    pub tokens_per_minute: Option<u32>,
    #[serde(default)]
    pub monthly_tokens: Option<u64>,
}

fn default_clearance() -> Tier {
    Tier::Internal
}

fn default_timeout() -> u64 {
    300
}

impl ProviderConfig {
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_secs)
    }

    /// Whether the provider may serve `model`.
    pub fn serves(&self, model: &str) -> bool {
        self.models.iter().any(|m| match m.strip_suffix('*') {
            Some(prefix) => model.starts_with(prefix),
            None => m == model,
        })
    }
}

/// Per-caller limits (`None` = unlimited).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    pub requests_per_minute_per_token: Option<u32>,
    pub tokens_per_minute_per_token: Option<u32>,
    pub requests_per_minute_per_user: Option<u32>,
    pub tokens_per_minute_per_user: Option<u32>,
    pub concurrent_streams_per_user: Option<u32>,
    pub monthly_tokens_per_user: Option<u64>,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            requests_per_minute_per_token: Some(600),
            tokens_per_minute_per_token: Some(1_000_000),
            requests_per_minute_per_user: Some(1200),
            tokens_per_minute_per_user: Some(2_000_000),
            concurrent_streams_per_user: Some(32),
            monthly_tokens_per_user: None,
        }
    }
}

/// The `[gateway]` section.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GatewayConfig {
    pub providers: Vec<ProviderConfig>,
    /// Findings of this tier or higher become reversible placeholders (and so does anything
    /// above the provider's clearance). Restricted findings block the request.
    pub redact_from: Tier,
    pub binary_content: BinaryContent,
    /// Injection score at which a request is refused.
    pub injection_block: f32,
    /// Injection score at which a request is forwarded but flagged in the audit event.
    pub injection_flag: f32,
    pub dlp: DlpMode,
    /// Answer findings of this tier or higher are acted on (unless the caller sent the value).
    pub dlp_from: Tier,
    /// Strings planted in data that must never come back in an answer (a stream that carries
    /// one is stopped).
    pub canaries: Vec<String>,
    /// Largest request body.
    pub max_request_bytes: usize,
    /// Largest answer (body or stream) relayed.
    pub max_answer_bytes: usize,
    /// Largest file a `covault://` reference may pull into a prompt, and the most references.
    pub max_file_bytes: u64,
    pub max_file_refs: usize,
    pub limits: LimitsConfig,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        GatewayConfig {
            providers: Vec::new(),
            redact_from: Tier::Internal,
            binary_content: BinaryContent::Block,
            injection_block: 0.85,
            injection_flag: 0.5,
            dlp: DlpMode::Mask,
            dlp_from: Tier::Confidential,
            canaries: Vec::new(),
            max_request_bytes: 4 << 20,
            max_answer_bytes: 16 << 20,
            max_file_bytes: 1 << 20,
            max_file_refs: 16,
            limits: LimitsConfig::default(),
        }
    }
}

/// A configuration that cannot be served.
#[derive(Debug, thiserror::Error)]
#[error("gateway configuration: {0}")]
pub struct ConfigError(pub String);

impl GatewayConfig {
    /// Checks names, URLs, thresholds and the retention rule for confidential clearance.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |m: String| Err(ConfigError(m));
        let mut seen = std::collections::HashSet::new();
        for p in &self.providers {
            let name_ok = (1..=64).contains(&p.name.len())
                && p.name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
            if !name_ok {
                return bad(format!(
                    "provider name `{}`: 1 to 64 characters from A-Z a-z 0-9 - _ .",
                    p.name
                ));
            }
            if !seen.insert(p.name.as_str()) {
                return bad(format!("provider `{}` is defined twice", p.name));
            }
            match reqwest::Url::parse(&p.base_url) {
                Ok(u) if matches!(u.scheme(), "https" | "http") && u.host().is_some() => {
                    let loopback = u.host_str().is_some_and(|h| {
                        h == "localhost"
                            || h.parse::<std::net::IpAddr>()
                                .is_ok_and(|ip| ip.is_loopback())
                            || h.trim_matches(['[', ']'])
                                .parse::<std::net::IpAddr>()
                                .is_ok_and(|ip| ip.is_loopback())
                    });
                    if u.scheme() == "http" && !loopback {
                        return bad(format!(
                            "provider `{}`: base_url must be https (plain http only on loopback)",
                            p.name
                        ));
                    }
                }
                _ => {
                    return bad(format!(
                        "provider `{}`: base_url `{}` is not an http(s) URL",
                        p.name, p.base_url
                    ));
                }
            }
            if p.models.is_empty() {
                return bad(format!(
                    "provider `{}`: list the models it may serve (`models = [\"claude-*\"]`)",
                    p.name
                ));
            }
            if p.clearance >= Tier::Confidential && !p.zero_retention {
                return bad(format!(
                    "provider `{}`: clearance {} needs zero_retention = true",
                    p.name, p.clearance
                ));
            }
            if p.clearance == Tier::Restricted {
                return bad(format!(
                    "provider `{}`: restricted data never leaves; the highest clearance is confidential",
                    p.name
                ));
            }
            if p.timeout_secs == 0 || p.timeout_secs > 3600 {
                return bad(format!(
                    "provider `{}`: timeout_secs must be 1 to 3600",
                    p.name
                ));
            }
        }
        if !(0.0..=1.0).contains(&self.injection_block)
            || !(0.0..=1.0).contains(&self.injection_flag)
            || self.injection_flag > self.injection_block
        {
            return bad("injection_flag <= injection_block, both within 0..1".into());
        }
        if self.redact_from == Tier::Public {
            return bad(
                "redact_from must be internal or higher (public data has no findings)".into(),
            );
        }
        if self.canaries.iter().any(|c| c.len() < 8 || c.len() > 256) {
            return bad("canaries are 8 to 256 bytes each".into());
        }
        if self.max_request_bytes == 0 || self.max_answer_bytes == 0 {
            return bad("max_request_bytes and max_answer_bytes must be positive".into());
        }
        Ok(())
    }

    pub fn provider(&self, name: &str) -> Option<&ProviderConfig> {
        self.providers.iter().find(|p| p.name == name)
    }
}
