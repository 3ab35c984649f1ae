//! Relaying a streamed answer: a task reads the provider's SSE events, passes each through the
//! dialect's stream state (restore, DLP), and sends the results to the client as they come.
//! The final event (`message_stop`, `[DONE]`) is sent only after the call's audit event is
//! committed; if that fails, the client gets an error event instead. A client that goes away
//! drops the receiver, which ends the task and with it the upstream connection; the call is
//! still audited (`client_disconnected`). Silence longer than the provider's timeout and
//! answers over `max_answer_bytes` end the stream with an error event.

use std::convert::Infallible;
use std::sync::Arc;

use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Response};
use covault_guard::AiGrant;
use eventsource_stream::Eventsource;
use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::Gateway;
use crate::answer::{AnswerContext, AnthropicStream, OpenaiStream, Out, Tally, Tokens};
use crate::error::{Dialect, GatewayError, Problem};
use crate::limits::StreamSlot;
use crate::routes::CallRecord;

/// Events buffered between the relay task and a slow client.
const CHANNEL: usize = 64;

enum Machine {
    Anthropic(AnthropicStream),
    Openai(OpenaiStream),
}

impl Machine {
    fn tally_tokens(&self) -> (Tally, Tokens) {
        match self {
            Machine::Anthropic(m) => (m.tally.clone(), m.tokens),
            Machine::Openai(m) => (m.tally.clone(), m.tokens),
        }
    }
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn start(
    gw: Arc<Gateway>,
    dialect: Dialect,
    response: reqwest::Response,
    ctx: AnswerContext,
    grant: AiGrant,
    call: CallRecord,
    slot: StreamSlot,
    client_wants_usage: bool,
) -> Response {
    let (tx, rx) = mpsc::channel::<Result<Event, Infallible>>(CHANNEL);
    let machine = match dialect {
        Dialect::Anthropic => Machine::Anthropic(AnthropicStream::new(ctx)),
        Dialect::Openai => Machine::Openai(OpenaiStream::new(ctx, client_wants_usage)),
    };
    // Should the relay task die, its supervisor still records the call.
    let fallback = grant.for_failure();
    let vault = Arc::clone(&gw.vault);
    let task = tokio::spawn(relay(gw, dialect, response, machine, grant, call, slot, tx));
    tokio::spawn(async move {
        if let Err(e) = task.await
            && e.is_panic()
        {
            tracing::error!("a streamed AI call's relay task failed");
            let outcome = covault_guard::AiOutcome {
                failure: Some("internal_error".into()),
                ..covault_guard::AiOutcome::default()
            };
            if let Err(e) = vault.finish_ai(fallback, outcome).await {
                tracing::error!(error = %e, "could not audit a failed streamed AI call");
            }
        }
    });
    let stream = tokio_stream_from(rx);
    Sse::new(stream).into_response()
}

fn tokio_stream_from(
    mut rx: mpsc::Receiver<Result<Event, Infallible>>,
) -> impl futures_util::Stream<Item = Result<Event, Infallible>> {
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

fn to_event(name: Option<String>, data: &Value) -> Event {
    let e = Event::default().data(data.to_string());
    match name {
        Some(n) => e.event(n),
        None => e,
    }
}

fn error_event(dialect: Dialect, e: &GatewayError) -> Event {
    match dialect {
        Dialect::Anthropic => Event::default()
            .event("error")
            .data(e.body(dialect).to_string()),
        Dialect::Openai => Event::default().data(e.body(dialect).to_string()),
    }
}

#[allow(clippy::too_many_arguments)]
async fn relay(
    gw: Arc<Gateway>,
    dialect: Dialect,
    response: reqwest::Response,
    mut machine: Machine,
    grant: AiGrant,
    call: CallRecord,
    slot: StreamSlot,
    tx: mpsc::Sender<Result<Event, Infallible>>,
) {
    let _slot = slot;
    let idle = gw
        .config
        .provider(&call.provider)
        .map(|p| p.timeout())
        .unwrap_or(std::time::Duration::from_secs(300));
    let limit = gw.config.max_answer_bytes;
    let mut events = response.bytes_stream().eventsource();
    let mut relayed = 0usize;
    let mut sent_events = 0u64;
    let mut upstream_events = 0u64;
    let mut upstream_error = false;
    let failure: String = 'relay: loop {
        // A client that leaves is noticed even while nothing is being sent to it (DLP may be
        // holding text back).
        let next = tokio::select! {
            biased;
            () = tx.closed() => break "client_disconnected".into(),
            next = tokio::time::timeout(idle, events.next()) => next,
        };
        let next = match next {
            Err(_) => {
                let e = GatewayError::new(Problem::Timeout, "the provider's stream went silent");
                let _ = tx.send(Ok(error_event(dialect, &e))).await;
                break "upstream_timeout".into();
            }
            Ok(None) => {
                if upstream_error {
                    break "upstream_error".into();
                }
                let e = GatewayError::new(Problem::Upstream, "the provider's stream ended early");
                let _ = tx.send(Ok(error_event(dialect, &e))).await;
                break "upstream_incomplete".into();
            }
            Ok(Some(Err(_))) => {
                let e = GatewayError::new(Problem::Upstream, "the provider's stream broke off");
                let _ = tx.send(Ok(error_event(dialect, &e))).await;
                break "upstream_stream_error".into();
            }
            Ok(Some(Ok(ev))) => ev,
        };
        upstream_events += 1;
        relayed += next.data.len();
        if relayed > limit {
            let e = GatewayError::new(
                Problem::Upstream,
                format!("the answer exceeds gateway.max_answer_bytes ({limit})"),
            );
            let _ = tx.send(Ok(error_event(dialect, &e))).await;
            break "answer_too_large".into();
        }
        let outs = match &mut machine {
            Machine::Anthropic(m) => {
                if next.event == "error" {
                    upstream_error = true;
                }
                match serde_json::from_str::<Value>(&next.data) {
                    Ok(data) => m.event(&next.event, data),
                    Err(_) => continue,
                }
            }
            Machine::Openai(m) => {
                let data = next.data.trim();
                if data == "[DONE]" {
                    m.chunk(None)
                } else {
                    match serde_json::from_str::<Value>(data) {
                        Ok(v) => {
                            if v.get("error").is_some() {
                                upstream_error = true;
                            }
                            m.chunk(Some(v))
                        }
                        Err(_) => continue,
                    }
                }
            }
        };
        let outs = match outs {
            Ok(o) => o,
            Err(stop) => {
                let e =
                    GatewayError::new(Problem::Blocked, format!("the answer was stopped: {stop}"));
                let _ = tx.send(Ok(error_event(dialect, &e))).await;
                break "dlp_stopped".into();
            }
        };
        for out in outs {
            match out {
                Out::Event(name, data) => {
                    if tx.send(Ok(to_event(name, &data))).await.is_err() {
                        break 'relay "client_disconnected".into();
                    }
                    sent_events += 1;
                }
                Out::Final(name, data) => {
                    let (tally, tokens) = machine.tally_tokens();
                    gw.limits.charge(&call.user, &call.provider, tokens.output);
                    let outcome = call.outcome(
                        tokens,
                        &tally,
                        None,
                        json!({"stream": true, "events_in": upstream_events, "events_out": sent_events + 1}),
                    );
                    let last = match gw.vault.finish_ai(grant, outcome).await {
                        Ok(()) => match (name, data) {
                            (name, Some(d)) => to_event(name, &d),
                            (_, None) => Event::default().data("[DONE]"),
                        },
                        Err(e) => error_event(dialect, &GatewayError::from(e)),
                    };
                    let _ = tx.send(Ok(last)).await;
                    return;
                }
            }
        }
    };
    drop(events);
    let (tally, tokens) = machine.tally_tokens();
    gw.limits.charge(&call.user, &call.provider, tokens.output);
    let outcome = call.outcome(
        tokens,
        &tally,
        Some(failure),
        json!({"stream": true, "events_in": upstream_events, "events_out": sent_events}),
    );
    if let Err(e) = gw.vault.finish_ai(grant, outcome).await {
        tracing::error!(error = %e, "could not audit the end of a streamed AI call");
        let _ = tx
            .send(Ok(error_event(dialect, &GatewayError::from(e))))
            .await;
    }
}
