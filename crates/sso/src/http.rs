//! The adapter that lets `openidconnect` talk to the provider over covault's own reqwest 0.13.
//!
//! `openidconnect`'s default features bring reqwest 0.12 and a second TLS stack; with them off it
//! asks for an [`AsyncHttpClient`], which this implements over the `reqwest::Client` the caller
//! passes in (so TLS roots, proxies and user agent stay the server's choice). It adds what a
//! relying party needs from any client: a per-request timeout, a cap on response size, and a
//! refusal of redirected answers (provider endpoints never redirect; following one would be an
//! SSRF path). It knows nothing of OpenID Connect itself.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use openidconnect::{AsyncHttpClient, HttpRequest, HttpResponse};

/// How long one request to the provider may take, connect to last body byte.
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

/// The largest provider response read (discovery documents and key sets are a few KiB).
pub(crate) const MAX_RESPONSE_BYTES: usize = 1024 * 1024;

/// Why one HTTP exchange with the provider failed. Messages name URLs at most (provider
/// endpoints carry no secrets in their URLs), never bodies.
#[derive(Debug, thiserror::Error)]
pub(crate) enum HttpError {
    #[error("request to the provider failed: {0}")]
    Request(#[source] reqwest::Error),
    #[error(
        "the provider answered `{requested}` with a redirect; build the HTTP client with `redirect::Policy::none()`"
    )]
    Redirected { requested: String },
    #[error("the provider's response is larger than {MAX_RESPONSE_BYTES} bytes")]
    TooLarge,
    #[error("the provider's response could not be rebuilt: {0}")]
    Response(#[source] openidconnect::http::Error),
}

/// The caller's `reqwest::Client`, seen as an `openidconnect` HTTP client.
#[derive(Clone, Debug)]
pub(crate) struct ProviderHttp {
    client: reqwest::Client,
}

impl ProviderHttp {
    pub(crate) fn new(client: reqwest::Client) -> Self {
        Self { client }
    }

    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, HttpError> {
        let mut request = reqwest::Request::try_from(request).map_err(HttpError::Request)?;
        *request.timeout_mut() = Some(REQUEST_TIMEOUT);
        let requested = request.url().clone();
        let mut response = self
            .client
            .execute(request)
            .await
            .map_err(HttpError::Request)?;
        if response.url() != &requested {
            return Err(HttpError::Redirected {
                requested: requested.to_string(),
            });
        }
        let mut builder = openidconnect::http::Response::builder()
            .status(response.status())
            .version(response.version());
        for (name, value) in response.headers() {
            builder = builder.header(name, value);
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(HttpError::Request)? {
            if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
                return Err(HttpError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        builder.body(body).map_err(HttpError::Response)
    }
}

impl<'c> AsyncHttpClient<'c> for ProviderHttp {
    type Error = HttpError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, HttpError>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(self.send(request))
    }
}
