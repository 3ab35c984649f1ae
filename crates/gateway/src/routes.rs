//! The client-facing endpoints: Anthropic `POST /v1/messages` and `/v1/messages/count_tokens`,
//! OpenAI `POST /v1/chat/completions`, and `GET /v1/models` in either format. Each call runs
//! policy → limits → `covault://` expansion → scan and rewrite → policy on the data tier →
//! upstream → restore and DLP → one audit event (committed before the end of the answer).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Instant;

use axum::Extension;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use covault_guard::{
    AiFields, AiGrant, AiOutcome, AiTarget, Caller, Outcome, Tier, month_of, now_ms,
    principal_subject, provider_subject,
};
use serde_json::{Value, json};

use crate::Gateway;
use crate::answer::{self, AnswerContext};
use crate::config::{ProviderConfig, ProviderKind};
use crate::error::{Dialect, GatewayError, Problem, Rendered};
use crate::prompt::{self, FileText};
use crate::relay;
use crate::upstream;

/// Which endpoint a call is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Endpoint {
    Messages,
    CountTokens,
    ChatCompletions,
}

impl Endpoint {
    fn dialect(self) -> Dialect {
        match self {
            Endpoint::Messages | Endpoint::CountTokens => Dialect::Anthropic,
            Endpoint::ChatCompletions => Dialect::Openai,
        }
    }

    fn path(self) -> &'static str {
        match self {
            Endpoint::Messages => "/v1/messages",
            Endpoint::CountTokens => "/v1/messages/count_tokens",
            Endpoint::ChatCompletions => "/v1/chat/completions",
        }
    }

    fn kind(self) -> ProviderKind {
        match self.dialect() {
            Dialect::Anthropic => ProviderKind::Anthropic,
            Dialect::Openai => ProviderKind::Openai,
        }
    }
}

/// Header a client may use to pick a provider when several serve a model.
pub const PROVIDER_HEADER: &str = "x-covault-provider";

pub(crate) async fn messages(
    State(gw): State<Arc<Gateway>>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    call(gw, caller, Endpoint::Messages, headers, body).await
}

pub(crate) async fn count_tokens(
    State(gw): State<Arc<Gateway>>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    call(gw, caller, Endpoint::CountTokens, headers, body).await
}

pub(crate) async fn chat_completions(
    State(gw): State<Arc<Gateway>>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    call(gw, caller, Endpoint::ChatCompletions, headers, body).await
}

/// `GET /v1/models`: Anthropic's list format when the client sends `anthropic-version`,
/// OpenAI's otherwise. Only names from configured providers; no upstream call.
pub(crate) async fn models(
    State(gw): State<Arc<Gateway>>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
) -> Response {
    let anthropic = headers.contains_key("anthropic-version");
    let mut data = Vec::new();
    for p in &gw.config.providers {
        for m in &p.models {
            // Only what this caller may send to (a listing is not a call: nothing is audited).
            let target = AiTarget {
                provider: &p.name,
                clearance: p.clearance,
                model: m,
            };
            if !gw.vault.may_send_ai(&caller, target) {
                continue;
            }
            if anthropic && p.kind == ProviderKind::Anthropic {
                data.push(json!({"type": "model", "id": m, "display_name": m,
                                 "created_at": "1970-01-01T00:00:00Z"}));
            } else if !anthropic {
                data.push(
                    json!({"id": m, "object": "model", "created": 0, "owned_by": p.name,
                                 "covault": {"provider": p.name, "kind": p.kind,
                                             "clearance": p.clearance.as_str(),
                                             "zero_retention": p.zero_retention,
                                             "residency": p.residency}}),
                );
            }
        }
    }
    let body = if anthropic {
        let first = data.first().and_then(|d| d.get("id")).cloned();
        let last = data.last().and_then(|d| d.get("id")).cloned();
        json!({"data": data, "has_more": false, "first_id": first, "last_id": last})
    } else {
        json!({"object": "list", "data": data})
    };
    axum::Json(body).into_response()
}

/// Everything known about a call, for its audit event.
struct Facts<'a> {
    provider: &'a ProviderConfig,
    model: String,
}

impl Facts<'_> {
    fn target(&self) -> AiTarget<'_> {
        AiTarget {
            provider: &self.provider.name,
            clearance: self.provider.clearance,
            model: &self.model,
        }
    }
}

async fn call(
    gw: Arc<Gateway>,
    caller: Caller,
    endpoint: Endpoint,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let dialect = endpoint.dialect();
    match run(&gw, &caller, endpoint, &headers, body).await {
        Ok(response) => response,
        Err(e) => Rendered(dialect, e).into_response(),
    }
}

fn bad(message: impl Into<String>) -> GatewayError {
    GatewayError::new(Problem::BadRequest, message)
}

async fn run(
    gw: &Arc<Gateway>,
    caller: &Caller,
    endpoint: Endpoint,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, GatewayError> {
    let started = Instant::now();
    let dialect = endpoint.dialect();
    let config = &gw.config;
    let bytes = axum::body::to_bytes(body, config.max_request_bytes)
        .await
        .map_err(|_| {
            GatewayError::new(
                Problem::TooLarge,
                format!(
                    "the request body exceeds gateway.max_request_bytes ({} bytes)",
                    config.max_request_bytes
                ),
            )
        })?;
    let mut request: Value = serde_json::from_slice(&bytes)
        .map_err(|e| bad(format!("the request body is not valid JSON: {e}")))?;
    if !request.is_object() {
        return Err(bad("the request body must be a JSON object"));
    }
    let model = request
        .get("model")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("`model` is required"))?
        .to_owned();
    let stream = endpoint != Endpoint::CountTokens
        && request
            .get("stream")
            .and_then(Value::as_bool)
            .unwrap_or(false);
    let provider = pick_provider(gw, endpoint, headers, &model)?;
    let facts = Facts { provider, model };
    let user = caller.principal().id.clone();

    // Policy first: may this caller use this provider and model at all?
    gw.vault
        .authorize_ai(caller, facts.target(), Tier::Public)
        .await?;
    admit(gw, caller, &facts, bytes.len()).await?;
    let slot = if stream {
        match gw.limits.stream_slot(&user) {
            Ok(s) => Some(s),
            Err(e) => return Err(refuse(gw, caller, &facts, e).await),
        }
    } else {
        None
    };

    // covault:// references, read under the caller's own permissions.
    let refs = prompt::file_refs(dialect, &mut request);
    if refs.len() > config.max_file_refs {
        let e = bad(format!(
            "the prompt names {} covault:// files; at most {} (gateway.max_file_refs)",
            refs.len(),
            config.max_file_refs
        ));
        return Err(refuse(gw, caller, &facts, e).await);
    }
    let mut files = HashMap::new();
    for path in refs {
        let file = gw
            .vault
            .read_for_ai(caller, &path, config.max_file_bytes)
            .await?;
        files.insert(
            path,
            FileText {
                text: file.text,
                tier: file.tier,
                version: file.version,
                hidden_injection: file.hidden_injection,
            },
        );
    }

    // Scan and rewrite (CPU work off the async threads for large prompts).
    let scan_started = Instant::now();
    let prepared = {
        let gw2 = Arc::clone(gw);
        let provider = facts.provider.clone();
        let work = move || {
            prompt::prepare(
                dialect,
                request,
                &files,
                &gw2.scanner,
                &gw2.policy,
                &gw2.config,
                &provider,
            )
        };
        let failed = || {
            GatewayError::new(
                Problem::Internal,
                "the prompt could not be scanned, so it was not sent",
            )
        };
        let done = if bytes.len() > 64 * 1024 {
            tokio::task::spawn_blocking(work).await.ok()
        } else {
            // A scanner fault refuses the request; it never lets the prompt through unscanned.
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(work)).ok()
        };
        match done {
            Some(p) => p,
            None => return Err(refuse(gw, caller, &facts, failed()).await),
        }
    };
    let scan_us = scan_started.elapsed().as_micros() as u64;
    // Files spliced in by covault:// count against tokens per minute too (estimated as bytes / 4).
    if let Ok(p) = &prepared {
        let extra = p.scanned_bytes.saturating_sub(bytes.len() as u64) / 4;
        gw.limits.charge(&user, &facts.provider.name, extra);
    }
    let mut prepared = match prepared {
        Ok(p) => p,
        Err(refusal) => {
            let ai = AiFields {
                redactions: refusal.blocked.clone(),
                injection_score: Some(f64::from(refusal.injection_score)),
                ..AiFields::default()
            };
            let detail = json!({ "blocked": refusal.blocked, "endpoint": endpoint.path() });
            let e = refusal.error;
            if let Err(audit) = gw
                .vault
                .refuse_ai(
                    caller,
                    facts.target(),
                    Outcome::Denied,
                    e.code(),
                    ai,
                    detail,
                )
                .await
            {
                return Err(audit.into());
            }
            return Err(e);
        }
    };

    // Policy again, now that the tier of what would leave is known.
    let grant = gw
        .vault
        .authorize_ai(caller, facts.target(), prepared.data_tier)
        .await?;
    if let Err(e) = gw.vault.reserve_ai(&grant).await {
        let e = GatewayError::from(e);
        return Err(finish_failed(gw, grant, &prepared, e, started).await);
    }
    let key = match gw.provider_key(&facts.provider.name).await {
        Ok(Some(k)) => k,
        Err(e) => {
            let e = GatewayError::from(e);
            return Err(finish_failed(gw, grant, &prepared, e, started).await);
        }
        Ok(None) => {
            let e = GatewayError::new(
                Problem::Upstream,
                format!(
                    "provider `{}` has no API key (the operator sets one with `covault provider set-key {}`)",
                    facts.provider.name, facts.provider.name
                ),
            );
            return Err(finish_failed(gw, grant, &prepared, e, started).await);
        }
    };

    let mut client_wants_usage = false;
    if stream && endpoint == Endpoint::ChatCompletions {
        client_wants_usage = prepared
            .body
            .pointer("/stream_options/include_usage")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        match prepared.body.get_mut("stream_options") {
            Some(Value::Object(options)) => {
                options.insert("include_usage".into(), Value::Bool(true));
            }
            _ => prepared.body["stream_options"] = json!({ "include_usage": true }),
        }
    }
    let built = serde_json::to_vec(&prepared.body)
        .map_err(|_| GatewayError::new(Problem::Internal, "could not encode the request"))
        .and_then(|body| {
            upstream::request(
                &gw.http,
                facts.provider,
                &key,
                endpoint.path(),
                headers,
                body,
                stream,
            )
        });
    drop(key);
    let rb = match built {
        Ok(rb) => rb,
        Err(e) => return Err(finish_failed(gw, grant, &prepared, e, started).await),
    };
    // From here the call is in flight: if the client goes away (the handler is dropped), the
    // pending grant still records it.
    let mut pending = Pending {
        gw: Arc::clone(gw),
        grant: Some(grant),
    };
    let pre_upstream_us = started.elapsed().as_micros() as u64;
    let sent = Instant::now();
    let response = match tokio::time::timeout(facts.provider.timeout(), rb.send()).await {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => {
            let err = upstream::transport_error(facts.provider, &e);
            let grant = pending.take()?;
            return Err(finish_failed(gw, grant, &prepared, err, started).await);
        }
        Err(_) => {
            let err = GatewayError::new(
                Problem::Timeout,
                format!("provider `{}` did not answer in time", facts.provider.name),
            );
            let grant = pending.take()?;
            return Err(finish_failed(gw, grant, &prepared, err, started).await);
        }
    };
    let status = response.status();
    let ctx = AnswerContext {
        scanner: gw.scanner.clone(),
        dlp: gw.dlp_for(&prepared.exempt),
        vault: Arc::new(std::mem::take(&mut prepared.vault)),
    };
    let call = CallRecord {
        endpoint,
        provider: facts.provider.name.clone(),
        user,
        redactions: prepared.redactions.clone(),
        injection_score: prepared.injection_score,
        data_tier: prepared.data_tier,
        binary_parts: prepared.binary_parts,
        scanned_bytes: prepared.scanned_bytes,
        scan_us,
        pre_upstream_us,
        started,
        sent,
        flagged: prepared.injection_score >= gw.config.injection_flag,
    };

    let is_sse = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"));
    if stream && status.is_success() && is_sse {
        let slot = slot.ok_or_else(|| GatewayError::new(Problem::Internal, "no stream slot"))?;
        return Ok(relay::start(
            Arc::clone(gw),
            dialect,
            response,
            ctx,
            pending.take()?,
            call,
            slot,
            client_wants_usage,
        ));
    }
    drop(slot);
    whole_answer(gw, response, ctx, &mut pending, call).await
}

/// The grant of a call that went out and has not been recorded yet. Dropped with the grant
/// still inside — the client went away and the handler was cancelled — it records the call as
/// `client_disconnected` (dropping the upstream request, which cancels it).
struct Pending {
    gw: Arc<Gateway>,
    grant: Option<AiGrant>,
}

impl Pending {
    fn take(&mut self) -> Result<AiGrant, GatewayError> {
        self.grant
            .take()
            .ok_or_else(|| GatewayError::new(Problem::Internal, "the call was recorded twice"))
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        let Some(grant) = self.grant.take() else {
            return;
        };
        let vault = Arc::clone(&self.gw.vault);
        let outcome = AiOutcome {
            failure: Some("client_disconnected".into()),
            ..AiOutcome::default()
        };
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(async move {
                if let Err(e) = vault.finish_ai(grant, outcome).await {
                    tracing::error!(error = %e, "could not audit an abandoned AI call");
                }
            });
        }
    }
}

/// Content-free facts of one call, for its audit event.
pub(crate) struct CallRecord {
    pub endpoint: Endpoint,
    pub provider: String,
    pub user: String,
    pub redactions: BTreeMap<String, u64>,
    pub injection_score: f32,
    pub data_tier: Tier,
    pub binary_parts: u64,
    pub scanned_bytes: u64,
    pub scan_us: u64,
    pub pre_upstream_us: u64,
    pub started: Instant,
    pub sent: Instant,
    pub flagged: bool,
}

impl CallRecord {
    /// The outcome for the audit event.
    pub fn outcome(
        &self,
        tokens: answer::Tokens,
        tally: &answer::Tally,
        failure: Option<String>,
        extra: Value,
    ) -> AiOutcome {
        let mut detail = json!({
            "endpoint": self.endpoint.path(),
            "latency_ms": self.started.elapsed().as_millis() as u64,
            "upstream_ms": self.sent.elapsed().as_millis() as u64,
            "covault_us": self.pre_upstream_us,
            "scan_us": self.scan_us,
            "scanned_bytes": self.scanned_bytes,
            "data_tier": self.data_tier.as_str(),
            "injection_flagged": self.flagged,
            "binary_parts": self.binary_parts,
            "dlp_masked": tally.masked,
            "dlp_late": tally.late,
        });
        if let (Some(d), Value::Object(extra)) = (detail.as_object_mut(), extra) {
            d.extend(extra);
        }
        AiOutcome {
            ai: AiFields {
                tokens_in: tokens.input,
                tokens_out: tokens.output,
                redactions: self.redactions.clone(),
                injection_score: Some(f64::from(self.injection_score)),
                ..AiFields::default()
            },
            failure,
            detail,
        }
    }
}

fn pick_provider<'a>(
    gw: &'a Gateway,
    endpoint: Endpoint,
    headers: &HeaderMap,
    model: &str,
) -> Result<&'a ProviderConfig, GatewayError> {
    let kind = endpoint.kind();
    if let Some(name) = headers.get(PROVIDER_HEADER).and_then(|v| v.to_str().ok()) {
        let p = gw
            .config
            .provider(name)
            .filter(|p| p.kind == kind)
            .ok_or_else(|| {
                GatewayError::new(
                    Problem::NotFound,
                    format!("no {kind:?} provider named `{name}` is configured"),
                )
            })?;
        if !p.serves(model) {
            return Err(GatewayError::new(
                Problem::NotFound,
                format!("provider `{name}` does not serve model `{model}`"),
            ));
        }
        return Ok(p);
    }
    gw.config
        .providers
        .iter()
        .find(|p| p.kind == kind && p.serves(model))
        .ok_or_else(|| {
            GatewayError::new(
                Problem::NotFound,
                format!("no configured provider serves model `{model}`"),
            )
        })
}

/// Per-minute limits and monthly budgets; a refusal is audited.
async fn admit(
    gw: &Gateway,
    caller: &Caller,
    facts: &Facts<'_>,
    body_len: usize,
) -> Result<(), GatewayError> {
    let user = &caller.principal().id;
    let token = caller.token_id().map(|t| t.as_str().to_owned());
    let estimate = u32::try_from(body_len / 4).unwrap_or(u32::MAX).max(1);
    if let Err(e) = gw
        .limits
        .admit(token.as_deref(), user, &facts.provider.name, estimate)
    {
        return Err(refuse(gw, caller, facts, e).await);
    }
    let now = now_ms();
    let month = month_of(now);
    let budgets = [
        (
            gw.limits.monthly_tokens_per_user(),
            principal_subject(user),
            "this user's",
        ),
        (
            facts.provider.monthly_tokens,
            provider_subject(&facts.provider.name),
            "this provider's",
        ),
    ];
    for (budget, subject, whose) in budgets {
        let Some(budget) = budget else { continue };
        let used = gw.vault.ai_usage(&subject, &month).await?;
        if u64::try_from(used.tokens).unwrap_or(0) >= budget {
            let e = GatewayError::rate_limited(
                format!("{whose} monthly token budget ({budget}) is spent"),
                crate::limits::seconds_to_next_month(now),
            );
            return Err(refuse(gw, caller, facts, e).await);
        }
    }
    Ok(())
}

/// Audits a refusal before the call went out; returns the error to send (or the audit failure).
async fn refuse(gw: &Gateway, caller: &Caller, facts: &Facts<'_>, e: GatewayError) -> GatewayError {
    let outcome = if e.problem == Problem::RateLimited {
        Outcome::Denied
    } else {
        Outcome::Failed
    };
    match gw
        .vault
        .refuse_ai(
            caller,
            facts.target(),
            outcome,
            e.code(),
            AiFields::default(),
            Value::Null,
        )
        .await
    {
        Ok(()) => e,
        Err(audit) => audit.into(),
    }
}

/// Commits a failed call's event; returns the error to send.
async fn finish_failed(
    gw: &Gateway,
    grant: AiGrant,
    prepared: &prompt::Prepared,
    e: GatewayError,
    started: Instant,
) -> GatewayError {
    let outcome = AiOutcome {
        ai: AiFields {
            redactions: prepared.redactions.clone(),
            injection_score: Some(f64::from(prepared.injection_score)),
            ..AiFields::default()
        },
        failure: Some(e.code().to_owned()),
        detail: json!({ "latency_ms": started.elapsed().as_millis() as u64 }),
    };
    match gw.vault.finish_ai(grant, outcome).await {
        Ok(()) => e,
        Err(audit) => audit.into(),
    }
}

/// A non-streamed answer: read (bounded), restore, DLP, audit, then release.
async fn whole_answer(
    gw: &Arc<Gateway>,
    response: reqwest::Response,
    ctx: AnswerContext,
    pending: &mut Pending,
    call: CallRecord,
) -> Result<Response, GatewayError> {
    let status = response.status();
    let passed_headers = passthrough_headers(response.headers());
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json")
        .to_owned();
    let limit = gw.config.max_answer_bytes;
    let body = match read_limited(response, limit).await {
        Ok(b) => b,
        Err(e) => {
            let outcome = call.outcome(
                answer::Tokens::default(),
                &answer::Tally::default(),
                Some(e.code().into()),
                Value::Null,
            );
            gw.vault.finish_ai(pending.take()?, outcome).await?;
            return Err(e);
        }
    };
    let status_code = StatusCode::from_u16(status.as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    if !status.is_success() {
        // The provider's own error, in the client's (same) dialect, passed through.
        let outcome = call.outcome(
            answer::Tokens::default(),
            &answer::Tally::default(),
            Some(format!("upstream_status_{}", status.as_u16())),
            json!({ "upstream_status": status.as_u16() }),
        );
        gw.vault.finish_ai(pending.take()?, outcome).await?;
        let mut response =
            (status_code, [(header::CONTENT_TYPE, content_type)], body).into_response();
        response.headers_mut().extend(passed_headers);
        return Ok(response);
    }
    let mut value: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(_) => {
            let e = GatewayError::new(Problem::Upstream, "the provider's answer was not JSON");
            let outcome = call.outcome(
                answer::Tokens::default(),
                &answer::Tally::default(),
                Some("upstream_bad_answer".into()),
                Value::Null,
            );
            gw.vault.finish_ai(pending.take()?, outcome).await?;
            return Err(e);
        }
    };
    let rewritten = match call.endpoint {
        Endpoint::CountTokens => Ok((
            answer::Tally::default(),
            answer::Tokens {
                input: value
                    .get("input_tokens")
                    .and_then(Value::as_u64)
                    .unwrap_or(0),
                output: 0,
            },
        )),
        Endpoint::Messages => answer::anthropic_message(&ctx, &mut value),
        Endpoint::ChatCompletions => answer::openai_completion(&ctx, &mut value),
    };
    let (tally, tokens) = match rewritten {
        Ok(r) => r,
        Err(stop) => {
            // The provider was paid for this answer: its tokens count although it is withheld.
            let reported = answer::Tokens {
                input: value
                    .pointer("/usage/input_tokens")
                    .or_else(|| value.pointer("/usage/prompt_tokens"))
                    .and_then(Value::as_u64)
                    .unwrap_or(0),
                output: value
                    .pointer("/usage/output_tokens")
                    .or_else(|| value.pointer("/usage/completion_tokens"))
                    .and_then(Value::as_u64)
                    .unwrap_or(0),
            };
            gw.limits
                .charge(&call.user, &call.provider, reported.output);
            let outcome = call.outcome(
                reported,
                &answer::Tally::default(),
                Some("dlp_stopped".into()),
                Value::Null,
            );
            gw.vault.finish_ai(pending.take()?, outcome).await?;
            return Err(GatewayError::new(
                Problem::Blocked,
                format!("the answer was withheld: {stop}"),
            ));
        }
    };
    // Count tokens is not usage: its tokens are not charged to budgets.
    let charged = if call.endpoint == Endpoint::CountTokens {
        answer::Tokens::default()
    } else {
        tokens
    };
    gw.limits.charge(&call.user, &call.provider, charged.output);
    let outcome = call.outcome(charged, &tally, None, Value::Null);
    gw.vault.finish_ai(pending.take()?, outcome).await?;
    Ok((status_code, axum::Json(value)).into_response())
}

/// Provider headers a client's retry logic relies on (never credentials or cookies).
fn passthrough_headers(headers: &reqwest::header::HeaderMap) -> HeaderMap {
    let mut out = HeaderMap::new();
    for (name, value) in headers {
        let n = name.as_str();
        let keep = matches!(
            n,
            "retry-after" | "retry-after-ms" | "x-should-retry" | "request-id" | "x-request-id"
        ) || n.starts_with("anthropic-ratelimit-")
            || n.starts_with("x-ratelimit-");
        if keep
            && let (Ok(name), Ok(value)) = (
                axum::http::HeaderName::from_bytes(name.as_ref()),
                axum::http::HeaderValue::from_bytes(value.as_bytes()),
            )
        {
            out.insert(name, value);
        }
    }
    out
}

async fn read_limited(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<Vec<u8>, GatewayError> {
    let mut out = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if out.len() + chunk.len() > limit {
                    return Err(GatewayError::new(
                        Problem::Upstream,
                        format!("the provider's answer exceeds gateway.max_answer_bytes ({limit})"),
                    ));
                }
                out.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(out),
            Err(e) => {
                return Err(if e.is_timeout() {
                    GatewayError::new(Problem::Timeout, "the provider's answer timed out")
                } else {
                    GatewayError::new(Problem::Upstream, "the provider's answer broke off")
                });
            }
        }
    }
}
