//! The OTLP/HTTP logs sink: one `ExportLogsServiceRequest` per batch, POSTed as JSON.
//!
//! Only a 2xx answer counts as delivered. 429, 5xx, timeouts and connection errors are
//! retried (the OTLP specification's retryable set); any other answer, redirects included
//! (a redirected POST may be replayed as a GET and "succeed" without the batch), means the
//! configuration is wrong and is reported as permanent. A 2xx with a partial success that
//! rejected records is logged: the specification says not to retry it.

use std::time::Duration;

use covault_guard::StoredEvent;
use covault_guard::export::{EncodeOptions, otlp_logs_request};
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use reqwest::{StatusCode, Url};
use secrecy::{ExposeSecret, SecretString};

use super::{DeliveryError, SinkConfigError};

const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

pub(crate) struct OtlpSink {
    url: Url,
    headers: HeaderMap,
    /// Built on the first delivery, then kept (it pools connections).
    client: Option<reqwest::Client>,
}

impl OtlpSink {
    pub(crate) fn new(
        sink: &str,
        url: &str,
        headers: &[(String, SecretString)],
    ) -> Result<Self, SinkConfigError> {
        Ok(Self {
            url: parse_url(sink, url)?,
            headers: header_map(sink, headers)?,
            client: None,
        })
    }

    pub(crate) async fn deliver(
        &mut self,
        events: &[StoredEvent],
        options: &EncodeOptions,
    ) -> Result<(), DeliveryError> {
        let body = otlp_logs_request(events, options)?.to_string();
        let client = self.client()?.clone();
        let response = client
            .post(self.url.clone())
            .header(CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await
            .map_err(|e| DeliveryError::Http(e.without_url()))?;
        let status = response.status();
        if !status.is_success() {
            return Err(classify(status));
        }
        if let Ok(answer) = response.json::<serde_json::Value>().await {
            warn_on_partial_success(&answer, events.len());
        }
        Ok(())
    }

    fn client(&mut self) -> Result<&reqwest::Client, DeliveryError> {
        let client = match self.client.take() {
            Some(client) => client,
            None => reqwest::Client::builder()
                .timeout(REQUEST_TIMEOUT)
                .connect_timeout(CONNECT_TIMEOUT)
                .redirect(reqwest::redirect::Policy::none())
                .default_headers(self.headers.clone())
                .build()
                .map_err(DeliveryError::Client)?,
        };
        Ok(self.client.insert(client))
    }
}

/// A failed answer: retried if the collector is busy or broken, else permanent.
fn classify(status: StatusCode) -> DeliveryError {
    if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
        DeliveryError::Unavailable(status.as_u16())
    } else {
        DeliveryError::Refused(status.as_u16())
    }
}

fn warn_on_partial_success(answer: &serde_json::Value, sent: usize) {
    let rejected = &answer["partialSuccess"]["rejectedLogRecords"];
    let rejected = rejected
        .as_u64()
        .or_else(|| rejected.as_str().and_then(|text| text.parse().ok()))
        .unwrap_or(0);
    if rejected > 0 {
        tracing::warn!(rejected, sent, "the OTLP collector rejected some records");
    }
}

fn parse_url(sink: &str, text: &str) -> Result<Url, SinkConfigError> {
    let bad = || SinkConfigError::Url {
        name: sink.to_owned(),
        url: text.chars().take(200).collect(),
    };
    let url = Url::parse(text).map_err(|_| bad())?;
    let bad = || SinkConfigError::Url {
        name: sink.to_owned(),
        url: url.as_str().chars().take(200).collect(),
    };
    let web = matches!(url.scheme(), "http" | "https");
    if !web || url.host().is_none() || url.path() == "/" {
        return Err(bad());
    }
    Ok(url)
}

fn header_map(
    sink: &str,
    headers: &[(String, SecretString)],
) -> Result<HeaderMap, SinkConfigError> {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        let bad = || SinkConfigError::Header {
            name: sink.to_owned(),
            header: name.chars().take(80).collect(),
        };
        let header = HeaderName::from_bytes(name.as_bytes()).map_err(|_| bad())?;
        let mut value = HeaderValue::from_str(value.expose_secret()).map_err(|_| bad())?;
        value.set_sensitive(true);
        map.append(header, value);
    }
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_status(code: u16, permanent: bool) {
        let err = classify(StatusCode::from_u16(code).unwrap());
        assert_eq!(err.is_permanent(), permanent, "{code}");
    }

    #[test]
    fn statuses() {
        check_status(429, false);
        check_status(500, false);
        check_status(502, false);
        check_status(503, false);
        check_status(504, false);
        check_status(400, true);
        check_status(401, true);
        check_status(404, true);
        check_status(413, true);
        check_status(301, true);
        check_status(307, true);
    }

    #[test]
    fn header_values_are_sensitive() {
        let headers = [("authorization".to_owned(), SecretString::from("Bearer k"))];
        let map = header_map("s", &headers).unwrap();
        assert!(map["authorization"].is_sensitive());
    }
}
