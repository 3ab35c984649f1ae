//! The upstream call: URL, the provider's credentials (opened from the keyring for this request
//! only), the headers each protocol needs, and the timeouts.

use axum::http::HeaderMap;
use secrecy::{ExposeSecret, SecretString};

use crate::config::{ProviderConfig, ProviderKind};
use crate::error::{GatewayError, Problem};

/// The Messages API version sent when the client names none.
const ANTHROPIC_VERSION: &str = "2023-06-01";

/// Client headers forwarded as they are (protocol options, never credentials).
const FORWARDED: &[&str] = &["anthropic-version", "anthropic-beta", "openai-beta"];

/// Builds the request to `path` (e.g. `/v1/messages`) of `provider`.
pub fn request(
    http: &reqwest::Client,
    provider: &ProviderConfig,
    key: &SecretString,
    path: &str,
    client_headers: &HeaderMap,
    body: Vec<u8>,
    stream: bool,
) -> Result<reqwest::RequestBuilder, GatewayError> {
    let base = provider.base_url.trim_end_matches('/');
    let base = base.strip_suffix("/v1").unwrap_or(base);
    let url = format!("{base}{path}");
    let mut rb = http
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(
            reqwest::header::ACCEPT,
            if stream {
                "text/event-stream"
            } else {
                "application/json"
            },
        );
    for name in FORWARDED {
        if let Some(v) = client_headers.get(*name).and_then(|v| v.to_str().ok())
            && v.len() <= 512
        {
            rb = rb.header(*name, v);
        }
    }
    match provider.kind {
        ProviderKind::Anthropic => {
            if !client_headers.contains_key("anthropic-version") {
                rb = rb.header("anthropic-version", ANTHROPIC_VERSION);
            }
            let mut value =
                reqwest::header::HeaderValue::from_str(key.expose_secret()).map_err(|_| {
                    GatewayError::new(
                        Problem::Internal,
                        format!(
                            "the API key of provider `{}` is not a valid header value",
                            provider.name
                        ),
                    )
                })?;
            value.set_sensitive(true);
            rb = rb.header("x-api-key", value);
        }
        ProviderKind::Openai => {
            rb = rb.bearer_auth(key.expose_secret());
        }
    }
    if !stream {
        rb = rb.timeout(provider.timeout());
    }
    Ok(rb.body(body))
}

/// Maps a transport failure to the client's error (never naming the key or the prompt).
pub fn transport_error(provider: &ProviderConfig, e: &reqwest::Error) -> GatewayError {
    if e.is_timeout() {
        GatewayError::new(
            Problem::Timeout,
            format!("provider `{}` did not answer in time", provider.name),
        )
    } else {
        tracing::warn!(provider = %provider.name, error = %e, "upstream request failed");
        GatewayError::new(
            Problem::Upstream,
            format!("provider `{}` could not be reached", provider.name),
        )
    }
}
