//! Audit routes: search the log (`GET /v1/audit/events`, paged JSON), follow it
//! (`follow=true`: newline-delimited JSON that stays open and carries new events as they are
//! appended), prove one event's inclusion under a signed checkpoint, and list the signed
//! checkpoints with the key that signs them. Each is one
//! [`Vault`] call behind policy (auditors, security admins and admins); reading is audited.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use covault_guard::export::{EncodeOptions, Format, encode};
use covault_guard::{
    AuditQuery, Caller, Checkpoint, ConsistencyProof, InclusionProof, Outcome, StoredEvent, Vault,
};
use futures_util::stream;
use serde::Deserialize;

use crate::error::{ApiError, ErrorBody};

/// Query of `GET /v1/audit/events`.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct EventsQuery {
    /// Events at or after this time (milliseconds since the Unix epoch).
    since_ms: Option<i64>,
    /// Events before this time (milliseconds since the Unix epoch).
    until_ms: Option<i64>,
    principal: Option<String>,
    /// An action (`file.read`) or a family (`file.*`).
    action: Option<String>,
    /// A path or directory (whole components).
    path: Option<String>,
    /// success, denied or failed.
    #[param(value_type = Option<String>)]
    outcome: Option<Outcome>,
    correlation_id: Option<String>,
    request_id: Option<String>,
    /// Continue after this position (`next_after` of the previous page).
    after: Option<u64>,
    /// Page size, 1 to 1000 (default 100).
    limit: Option<u32>,
    /// Keep the response open and stream new events as newline-delimited JSON.
    #[serde(default)]
    follow: bool,
}

impl EventsQuery {
    fn to_query(&self) -> AuditQuery {
        AuditQuery {
            since_ms: self.since_ms,
            until_ms: self.until_ms,
            principal: self.principal.clone(),
            action: self.action.clone(),
            path: self.path.clone(),
            outcome: self.outcome,
            correlation_id: self.correlation_id.clone(),
            request_id: self.request_id.clone(),
            after_seq: self.after,
            limit: self.limit,
        }
    }
}

fn options() -> EncodeOptions {
    EncodeOptions::new("covault", env!("CARGO_PKG_VERSION"))
}

/// Each event as its JSON line (the export's JSONL record).
fn lines(events: &[StoredEvent]) -> Result<Vec<String>, ApiError> {
    let opts = options();
    events
        .iter()
        .map(|e| encode(Format::Jsonl, e, &opts))
        .collect::<Result<_, _>>()
        .map_err(|e| {
            tracing::error!(error = %e, "could not encode an audit event");
            ApiError::new(
                covault_guard::ErrorKind::Internal,
                "could not encode an audit event",
            )
        })
}

#[utoipa::path(get, path = "/v1/audit/events", tag = "audit", params(EventsQuery),
    responses(
        (status = 200, description = "`{\"events\": [...], \"next_after\": N|null}`; with `follow=true`, newline-delimited JSON events"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn events(
    State(vault): State<Arc<Vault>>,
    Extension(caller): Extension<Caller>,
    q: Result<Query<EventsQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) =
        q.map_err(|e| ApiError::bad_request(format!("bad query string: {}", e.body_text())))?;
    let query = q.to_query();
    if q.follow {
        return follow(vault, caller, query).await;
    }
    let found = vault.audit_search(&caller, &query).await?;
    let next_after = if found.len() == query.page_size() as usize {
        found.last().map(|e| e.seq.to_string())
    } else {
        None
    };
    let mut body = String::from("{\"events\":[");
    body.push_str(&lines(&found)?.join(","));
    body.push_str("],\"next_after\":");
    body.push_str(next_after.as_deref().unwrap_or("null"));
    body.push('}');
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

async fn follow(
    vault: Arc<Vault>,
    caller: Caller,
    query: AuditQuery,
) -> Result<Response, ApiError> {
    let follower = vault.audit_follow(&caller, query).await?;
    let chunks = stream::unfold(follower, |mut follower| async move {
        let chunk = match follower.next().await {
            Ok(events) => match lines(&events) {
                Ok(lines) => Ok(lines.into_iter().map(|l| l + "\n").collect::<String>()),
                Err(_) => Err(std::io::Error::other("could not encode an audit event")),
            },
            Err(e) => {
                tracing::warn!(error = %e, "audit follow stopped");
                Err(std::io::Error::other("the audit log could not be read"))
            }
        };
        Some((chunk, follower))
    });
    Ok((
        [(header::CONTENT_TYPE, "application/x-ndjson")],
        Body::from_stream(chunks),
    )
        .into_response())
}

#[utoipa::path(get, path = "/v1/audit/proof/{seq}", tag = "audit",
    params(("seq" = u64, Path, description = "the event's position")),
    responses((status = 200, description = "an RFC 9162 inclusion proof under the newest signed checkpoint: `{seq, canonical, audit_path, checkpoint}`"),
        (status = 404, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn proof(
    State(vault): State<Arc<Vault>>,
    Extension(caller): Extension<Caller>,
    axum::extract::Path(seq): axum::extract::Path<String>,
) -> Result<Json<InclusionProof>, ApiError> {
    let seq: u64 = seq.parse().ok().filter(|s| *s > 0).ok_or_else(|| {
        ApiError::bad_request(format!("`{seq}` is not an event position (1, 2, …)"))
    })?;
    Ok(Json(vault.audit_proof(&caller, seq).await?))
}

/// Query of `GET /v1/audit/consistency`.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyQuery {
    /// The size of the older tree (the `tree_size` of a checkpoint you kept).
    from: u64,
}

#[utoipa::path(get, path = "/v1/audit/consistency", tag = "audit", params(ConsistencyQuery),
    responses((status = 200, description = "an RFC 9162 consistency proof from `from` events to the newest signed checkpoint: `{from, path, checkpoint}`"),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn consistency(
    State(vault): State<Arc<Vault>>,
    Extension(caller): Extension<Caller>,
    q: Result<Query<ConsistencyQuery>, QueryRejection>,
) -> Result<Json<ConsistencyProof>, ApiError> {
    let Query(q) =
        q.map_err(|e| ApiError::bad_request(format!("bad query string: {}", e.body_text())))?;
    if q.from == 0 {
        return Err(ApiError::bad_request("`from` must be at least 1"));
    }
    Ok(Json(vault.audit_consistency(&caller, q.from).await?))
}

/// Response of `GET /v1/audit/checkpoints`.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Checkpoints {
    /// The Ed25519 public key (hex) that signs the checkpoints.
    public_key: String,
    #[schema(value_type = Vec<Object>)]
    checkpoints: Vec<Checkpoint>,
}

#[utoipa::path(get, path = "/v1/audit/checkpoints", tag = "audit",
    responses((status = 200, body = Checkpoints), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn checkpoints(
    State(vault): State<Arc<Vault>>,
    Extension(caller): Extension<Caller>,
) -> Result<Json<Checkpoints>, ApiError> {
    let checkpoints = vault.audit_checkpoints(&caller).await?;
    Ok(Json(Checkpoints {
        public_key: vault.audit_public_key()?,
        checkpoints,
    }))
}
