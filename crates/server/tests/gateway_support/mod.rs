//! A scripted fake model provider for the gateway tests: a real HTTP server on loopback that
//! speaks enough of the Anthropic Messages and OpenAI Chat Completions protocols, records every
//! request it receives (body and headers), and answers by model name:
//!
//! - `echo[-split-K]`: the text of the last user message back (streamed in 5-byte deltas, or in
//!   two deltas split at byte K);
//! - `tool[-split-K]`: a `send_email` tool call whose `to` argument is that text;
//! - `leak`: a card number and a canary that were never in the prompt;
//! - `fail`: the provider's own error (529 / 500);
//! - `hang`: a stream that trickles deltas until the client goes away (then `disconnected`
//!   is notified).

#![allow(dead_code)]

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};
use tokio::sync::Notify;

pub const CARD_NOT_IN_PROMPT: &str = "4000 0566 5566 5556";
pub const CANARY: &str = "CANARY-7f3a9c41";

#[derive(Clone, Debug)]
pub struct Received {
    pub path: String,
    pub body: Value,
    pub raw: String,
    pub headers: HeaderMap,
}

#[derive(Default)]
pub struct Fixture {
    pub received: Mutex<Vec<Received>>,
    pub disconnected: Notify,
}

impl Fixture {
    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// Everything the provider was sent, as one string (bodies and header values).
    pub fn everything(&self) -> String {
        self.received()
            .iter()
            .map(|r| {
                let headers: Vec<String> = r
                    .headers
                    .iter()
                    .map(|(k, v)| format!("{k}: {}", v.to_str().unwrap_or("")))
                    .collect();
                format!("{} {}\n{}", r.path, headers.join("\n"), r.raw)
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// Starts the fixture; returns its base URL.
pub async fn start() -> (String, Arc<Fixture>) {
    let fixture = Arc::new(Fixture::default());
    let app = Router::new()
        .route("/v1/messages", post(anthropic))
        .route("/v1/messages/count_tokens", post(count_tokens))
        .route("/v1/chat/completions", post(openai))
        .with_state(fixture.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    // Small SSE writes must not wait for ACKs (Nagle), as on a real provider's edge.
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, fixture)
}

fn record(fx: &Fixture, path: &str, headers: &HeaderMap, raw: &str) -> Value {
    let body: Value = serde_json::from_str(raw).unwrap_or(Value::Null);
    fx.received.lock().unwrap().push(Received {
        path: path.into(),
        body: body.clone(),
        raw: raw.into(),
        headers: headers.clone(),
    });
    body
}

/// Text of the last user message (string content or text blocks / parts).
fn last_user_text(body: &Value) -> String {
    let messages = body["messages"].as_array().cloned().unwrap_or_default();
    let Some(last) = messages.iter().rev().find(|m| m["role"] == "user") else {
        return String::new();
    };
    match &last["content"] {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p["text"].as_str())
            .collect::<Vec<_>>()
            .join(""),
        _ => String::new(),
    }
}

fn split_at(model: &str) -> Option<usize> {
    model
        .rsplit_once("-split-")
        .and_then(|(_, k)| k.parse().ok())
}

/// The answer's pieces: an explicit split, or 5-byte chunks (on character boundaries).
fn pieces(text: &str, split: Option<usize>) -> Vec<String> {
    let floor = |mut i: usize| {
        while !text.is_char_boundary(i) {
            i -= 1;
        }
        i
    };
    if let Some(k) = split {
        let k = floor(k.min(text.len()));
        return vec![text[..k].to_owned(), text[k..].to_owned()];
    }
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < text.len() {
        let mut end = (pos + 5).min(text.len());
        while !text.is_char_boundary(end) {
            end += 1;
        }
        out.push(text[pos..end].to_owned());
        pos = end;
    }
    out
}

fn answer_text(model: &str, body: &Value) -> String {
    if model == "leak" {
        return format!(
            "Here is a card you did not give me: {CARD_NOT_IN_PROMPT} and the word {CANARY} ok"
        );
    }
    if model == "leak-card" {
        return format!("Here is a card you did not give me: {CARD_NOT_IN_PROMPT}, done.");
    }
    last_user_text(body)
}

fn sse(events: Vec<Event>) -> Response {
    let stream = futures_util::stream::iter(events.into_iter().map(Ok::<_, Infallible>));
    Sse::new(stream).into_response()
}

fn ev(name: &str, data: Value) -> Event {
    Event::default().event(name).data(data.to_string())
}

async fn count_tokens(State(fx): State<Arc<Fixture>>, headers: HeaderMap, raw: String) -> Response {
    let body = record(&fx, "/v1/messages/count_tokens", &headers, &raw);
    let n = last_user_text(&body).len() / 4 + 1;
    axum::Json(json!({ "input_tokens": n })).into_response()
}

/// Drops when the response stream is dropped (the client went away).
struct OnDrop(Arc<Fixture>);

impl Drop for OnDrop {
    fn drop(&mut self) {
        self.0.disconnected.notify_one();
    }
}

fn hang(fx: Arc<Fixture>, make: fn(u64) -> Event) -> Response {
    let guard = OnDrop(fx);
    let stream = futures_util::stream::unfold((0u64, guard), move |(n, guard)| async move {
        if n > 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Some((Ok::<_, Infallible>(make(n)), (n + 1, guard)))
    });
    Sse::new(stream).into_response()
}

async fn anthropic(State(fx): State<Arc<Fixture>>, headers: HeaderMap, raw: String) -> Response {
    let body = record(&fx, "/v1/messages", &headers, &raw);
    let model = body["model"].as_str().unwrap_or("").to_owned();
    let stream = body["stream"].as_bool().unwrap_or(false);
    let input_tokens = raw.len() as u64 / 4;
    if model == "fail" {
        return (
            StatusCode::from_u16(529).unwrap(),
            axum::Json(json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})),
        )
            .into_response();
    }
    if model == "hang" {
        return hang(fx, |n| {
            if n == 0 {
                ev(
                    "message_start",
                    json!({"type": "message_start", "message": {"id": "msg_h", "type": "message", "role": "assistant", "model": "hang", "content": [], "usage": {"input_tokens": 1, "output_tokens": 0}}}),
                )
            } else {
                ev("ping", json!({"type": "ping"}))
            }
        });
    }
    let tool = model.starts_with("tool");
    let text = answer_text(&model, &body);
    let message = |content: Value, out: u64| {
        json!({"id": "msg_fixture", "type": "message", "role": "assistant", "model": model,
               "content": content, "stop_reason": if tool {"tool_use"} else {"end_turn"},
               "stop_sequence": null, "usage": {"input_tokens": input_tokens, "output_tokens": out}})
    };
    if !stream {
        let content = if tool {
            json!([{"type": "tool_use", "id": "toolu_1", "name": "send_email", "input": {"to": text}}])
        } else {
            json!([{"type": "text", "text": text}])
        };
        return axum::Json(message(content, 7)).into_response();
    }
    let mut events = vec![ev(
        "message_start",
        json!({"type": "message_start", "message": message(json!([]), 1)}),
    )];
    if tool {
        events.push(ev("content_block_start", json!({"type": "content_block_start", "index": 0,
            "content_block": {"type": "tool_use", "id": "toolu_1", "name": "send_email", "input": {}}})));
        let args = json!({"to": text}).to_string();
        for p in pieces(&args, split_at(&model)) {
            events.push(ev(
                "content_block_delta",
                json!({"type": "content_block_delta", "index": 0,
                "delta": {"type": "input_json_delta", "partial_json": p}}),
            ));
        }
    } else {
        events.push(ev(
            "content_block_start",
            json!({"type": "content_block_start", "index": 0,
            "content_block": {"type": "text", "text": ""}}),
        ));
        events.push(ev("ping", json!({"type": "ping"})));
        for p in pieces(&text, split_at(&model)) {
            events.push(ev(
                "content_block_delta",
                json!({"type": "content_block_delta", "index": 0,
                "delta": {"type": "text_delta", "text": p}}),
            ));
        }
    }
    events.push(ev(
        "content_block_stop",
        json!({"type": "content_block_stop", "index": 0}),
    ));
    events.push(ev(
        "message_delta",
        json!({"type": "message_delta",
        "delta": {"stop_reason": if tool {"tool_use"} else {"end_turn"}, "stop_sequence": null},
        "usage": {"output_tokens": 7}}),
    ));
    events.push(ev("message_stop", json!({"type": "message_stop"})));
    sse(events)
}

async fn openai(State(fx): State<Arc<Fixture>>, headers: HeaderMap, raw: String) -> Response {
    let body = record(&fx, "/v1/chat/completions", &headers, &raw);
    let model = body["model"].as_str().unwrap_or("").to_owned();
    let stream = body["stream"].as_bool().unwrap_or(false);
    let include_usage = body["stream_options"]["include_usage"]
        .as_bool()
        .unwrap_or(false);
    if model == "fail" {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            axum::Json(json!({"error": {"message": "The server had an error", "type": "server_error", "param": null, "code": null}})),
        )
            .into_response();
    }
    let chunk = |delta: Value, finish: Value| {
        json!({"id": "chatcmpl-fx", "object": "chat.completion.chunk", "created": 1, "model": model,
               "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
    };
    if model == "hang" {
        return hang(fx, |_| {
            Event::default().data(
                json!({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "hang",
                "choices": [{"index": 0, "delta": {"content": "more "}, "finish_reason": null}]})
                .to_string(),
            )
        });
    }
    let tool = model.starts_with("tool");
    let text = answer_text(&model, &body);
    let usage = json!({"prompt_tokens": raw.len() / 4, "completion_tokens": 7, "total_tokens": raw.len() / 4 + 7});
    if !stream {
        let message = if tool {
            json!({"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function",
                   "function": {"name": "send_email", "arguments": json!({"to": text}).to_string()}}]})
        } else {
            json!({"role": "assistant", "content": text})
        };
        return axum::Json(json!({"id": "chatcmpl-fx", "object": "chat.completion", "created": 1, "model": model,
            "choices": [{"index": 0, "message": message, "finish_reason": if tool {"tool_calls"} else {"stop"}}],
            "usage": usage}))
        .into_response();
    }
    let data = |v: Value| Event::default().data(v.to_string());
    let mut events = vec![data(chunk(
        json!({"role": "assistant", "content": ""}),
        Value::Null,
    ))];
    if tool {
        events.push(data(chunk(
            json!({"tool_calls": [{"index": 0, "id": "call_1", "type": "function",
            "function": {"name": "send_email", "arguments": ""}}]}),
            Value::Null,
        )));
        for p in pieces(&json!({"to": text}).to_string(), split_at(&model)) {
            events.push(data(chunk(
                json!({"tool_calls": [{"index": 0, "function": {"arguments": p}}]}),
                Value::Null,
            )));
        }
    } else {
        for p in pieces(&text, split_at(&model)) {
            events.push(data(chunk(json!({"content": p}), Value::Null)));
        }
    }
    events.push(data(chunk(
        json!({}),
        json!(if tool { "tool_calls" } else { "stop" }),
    )));
    if include_usage {
        events.push(data(
            json!({"id": "chatcmpl-fx", "object": "chat.completion.chunk", "created": 1,
            "model": model, "choices": [], "usage": usage}),
        ));
    }
    events.push(Event::default().data("[DONE]"));
    sse(events)
}
