//! The response path's content work: output DLP and placeholder restoration for whole answers
//! and for streamed ones, event by event, in each dialect. Text deltas, tool-call argument
//! deltas (streamed JSON, restored with JSON escaping) and whole tool inputs are covered;
//! thinking is left as the model wrote it (its signature covers it). A stream keeps its event
//! structure: each upstream delta yields at most one delta downstream, and what a guard still
//! holds when a block ends is emitted just before the block's end.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use covault_scan::{
    DlpConfig, DlpStop, Escape, PlaceholderVault, Scanner, StreamDlp, StreamRestorer,
};
use serde_json::{Value, json};

use crate::walk::{Slot, all_strings, all_values};

/// What every guard of one answer shares.
#[derive(Clone)]
pub struct AnswerContext {
    pub scanner: Scanner,
    /// `None` when output DLP is off.
    pub dlp: Option<Arc<DlpConfig>>,
    pub vault: Arc<PlaceholderVault>,
}

/// DLP then restoration, for one text stream.
pub struct TextGuard {
    dlp: Option<StreamDlp>,
    restorer: StreamRestorer,
    vault: Arc<PlaceholderVault>,
}

impl TextGuard {
    pub fn new(ctx: &AnswerContext, escape: Escape) -> TextGuard {
        TextGuard {
            dlp: ctx
                .dlp
                .as_ref()
                .map(|c| StreamDlp::new(ctx.scanner.clone(), Arc::clone(c))),
            restorer: StreamRestorer::with_escape(escape),
            vault: Arc::clone(&ctx.vault),
        }
    }

    pub fn push(&mut self, chunk: &str) -> Result<String, DlpStop> {
        let checked = match &mut self.dlp {
            Some(d) => d.push(chunk)?,
            None => chunk.to_owned(),
        };
        Ok(self.restorer.push(&checked, &self.vault))
    }

    pub fn finish(&mut self) -> Result<String, DlpStop> {
        let checked = match &mut self.dlp {
            Some(d) => d.finish()?,
            None => String::new(),
        };
        let mut out = self.restorer.push(&checked, &self.vault);
        out.push_str(&self.restorer.finish(&self.vault));
        Ok(out)
    }

    /// The whole of one text.
    pub fn whole(
        ctx: &AnswerContext,
        text: &str,
        escape: Escape,
    ) -> Result<(String, Tally), DlpStop> {
        let mut g = TextGuard::new(ctx, escape);
        let mut out = g.push(text)?;
        out.push_str(&g.finish()?);
        let mut tally = Tally::default();
        tally.add(&g);
        Ok((out, tally))
    }
}

/// DLP counts of an answer.
#[derive(Clone, Debug, Default)]
pub struct Tally {
    pub masked: BTreeMap<String, u64>,
    pub late: u64,
}

impl Tally {
    pub fn add(&mut self, g: &TextGuard) {
        if let Some(d) = &g.dlp {
            for (k, n) in d.masked() {
                *self.masked.entry(k.as_str().to_owned()).or_default() += n;
            }
            self.late += d.late();
        }
    }

    fn merge(&mut self, other: Tally) {
        for (k, n) in other.masked {
            *self.masked.entry(k).or_default() += n;
        }
        self.late += other.late;
    }
}

/// Token counts reported by the provider.
#[derive(Clone, Copy, Debug, Default)]
pub struct Tokens {
    pub input: u64,
    pub output: u64,
}

fn u64_of(v: Option<&Value>) -> u64 {
    v.and_then(Value::as_u64).unwrap_or(0)
}

/// Rewrites a whole Anthropic Messages response.
pub fn anthropic_message(
    ctx: &AnswerContext,
    body: &mut Value,
) -> Result<(Tally, Tokens), DlpStop> {
    let mut tally = Tally::default();
    if let Some(Value::Array(blocks)) = body.get_mut("content") {
        for b in blocks {
            let kind = b
                .get("type")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned();
            match kind.as_str() {
                "text" => {
                    if let Some(Value::String(s)) = b.get_mut("text") {
                        let (out, t) = TextGuard::whole(ctx, s, Escape::None)?;
                        *s = out;
                        tally.merge(t);
                    }
                }
                "thinking" | "redacted_thinking" => {}
                "tool_use" | "server_tool_use" => {
                    if let Some(input) = b.get_mut("input") {
                        strings(ctx, input, false, &mut tally)?;
                    }
                }
                _ => strings(ctx, b, true, &mut tally)?,
            }
        }
    }
    let tokens = Tokens {
        input: u64_of(body.pointer("/usage/input_tokens")),
        output: u64_of(body.pointer("/usage/output_tokens")),
    };
    Ok((tally, tokens))
}

/// Rewrites a whole OpenAI Chat Completions response.
pub fn openai_completion(
    ctx: &AnswerContext,
    body: &mut Value,
) -> Result<(Tally, Tokens), DlpStop> {
    let mut tally = Tally::default();
    if let Some(Value::Array(choices)) = body.get_mut("choices") {
        for c in choices {
            let Some(message) = c.get_mut("message") else {
                continue;
            };
            for field in ["content", "refusal"] {
                if let Some(Value::String(s)) = message.get_mut(field) {
                    let (out, t) = TextGuard::whole(ctx, s, Escape::None)?;
                    *s = out;
                    tally.merge(t);
                }
            }
            if let Some(Value::Array(calls)) = message.get_mut("tool_calls") {
                for call in calls {
                    if let Some(Value::String(args)) = call.pointer_mut("/function/arguments") {
                        let (out, t) = TextGuard::whole(ctx, args, Escape::JsonString)?;
                        *args = out;
                        tally.merge(t);
                    }
                }
            }
        }
    }
    let tokens = Tokens {
        input: u64_of(body.pointer("/usage/prompt_tokens")),
        output: u64_of(body.pointer("/usage/completion_tokens")),
    };
    Ok((tally, tokens))
}

/// Every string of a block except identifiers (tool inputs).
fn strings(
    ctx: &AnswerContext,
    value: &mut Value,
    skip_ids: bool,
    tally: &mut Tally,
) -> Result<(), DlpStop> {
    let mut result = Ok(());
    let walk = if skip_ids { all_strings } else { all_values };
    walk(value, &mut |slot| {
        if let (Slot::Text(s), Ok(())) = (slot, &result) {
            match TextGuard::whole(ctx, s, Escape::None) {
                Ok((out, t)) => {
                    *s = out;
                    tally.merge(t);
                }
                Err(e) => result = Err(e),
            }
        }
    });
    result
}

/// One event of a relayed stream.
#[derive(Debug)]
pub enum Out {
    /// An SSE event: its `event:` name (Anthropic) and JSON data.
    Event(Option<String>, Value),
    /// The stream's last event (`message_stop` / `[DONE]`): sent only after the audit event
    /// commits.
    Final(Option<String>, Option<Value>),
}

/// State of a streamed Anthropic answer.
pub struct AnthropicStream {
    ctx: AnswerContext,
    blocks: HashMap<u64, (TextGuard, &'static str)>,
    pub tally: Tally,
    pub tokens: Tokens,
}

impl AnthropicStream {
    pub fn new(ctx: AnswerContext) -> AnthropicStream {
        AnthropicStream {
            ctx,
            blocks: HashMap::new(),
            tally: Tally::default(),
            tokens: Tokens::default(),
        }
    }

    /// One upstream event in, events out.
    pub fn event(&mut self, name: &str, mut data: Value) -> Result<Vec<Out>, DlpStop> {
        let index = u64_of(data.get("index"));
        match name {
            "message_start" => {
                self.tokens.input = u64_of(data.pointer("/message/usage/input_tokens"));
                self.tokens.output = u64_of(data.pointer("/message/usage/output_tokens"));
            }
            "content_block_start" => {
                let kind = data
                    .pointer("/content_block/type")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                let (escape, field) = match kind {
                    "text" => (Escape::None, "text"),
                    "tool_use" | "server_tool_use" => (Escape::JsonString, "partial_json"),
                    _ => (Escape::None, ""),
                };
                if !field.is_empty() {
                    let mut guard = TextGuard::new(&self.ctx, escape);
                    // A start block may carry initial text; hold it like any delta.
                    let mut lead = String::new();
                    if let Some(Value::String(s)) = data.pointer_mut("/content_block/text") {
                        lead = guard.push(s)?;
                        s.clear();
                    }
                    self.blocks.insert(index, (guard, field));
                    let mut out = vec![Out::Event(Some(name.into()), data)];
                    if !lead.is_empty() {
                        out.push(Out::Event(
                            Some("content_block_delta".into()),
                            json!({"type": "content_block_delta", "index": index,
                                   "delta": {"type": "text_delta", "text": lead}}),
                        ));
                    }
                    return Ok(out);
                }
            }
            "content_block_delta" => {
                let kind = data
                    .pointer("/delta/type")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                let field = match kind {
                    "text_delta" => "text",
                    "input_json_delta" => "partial_json",
                    _ => "",
                };
                if !field.is_empty() && !self.blocks.contains_key(&index) {
                    // A delta without its block start is still checked, never passed raw.
                    let escape = if field == "text" {
                        Escape::None
                    } else {
                        Escape::JsonString
                    };
                    self.blocks
                        .insert(index, (TextGuard::new(&self.ctx, escape), field));
                }
                if let (false, Some((guard, _))) = (field.is_empty(), self.blocks.get_mut(&index))
                    && let Some(Value::String(s)) =
                        data.get_mut("delta").and_then(|d| d.get_mut(field))
                {
                    let released = guard.push(s)?;
                    if released.is_empty() {
                        return Ok(Vec::new());
                    }
                    *s = released;
                }
            }
            "content_block_stop" => {
                if let Some((mut guard, field)) = self.blocks.remove(&index) {
                    let rest = guard.finish()?;
                    self.tally.add(&guard);
                    let mut out = Vec::new();
                    if !rest.is_empty() {
                        let delta = if field == "text" {
                            json!({"type": "text_delta", "text": rest})
                        } else {
                            json!({"type": "input_json_delta", "partial_json": rest})
                        };
                        out.push(Out::Event(
                            Some("content_block_delta".into()),
                            json!({"type": "content_block_delta", "index": index, "delta": delta}),
                        ));
                    }
                    out.push(Out::Event(Some(name.into()), data));
                    return Ok(out);
                }
            }
            "message_delta" => {
                if let Some(n) = data.pointer("/usage/output_tokens").and_then(Value::as_u64) {
                    self.tokens.output = n;
                }
                if let Some(n) = data.pointer("/usage/input_tokens").and_then(Value::as_u64) {
                    self.tokens.input = self.tokens.input.max(n);
                }
            }
            "message_stop" => return Ok(vec![Out::Final(Some(name.into()), Some(data))]),
            _ => {}
        }
        Ok(vec![Out::Event(Some(name.into()), data)])
    }
}

/// State of a streamed OpenAI answer.
pub struct OpenaiStream {
    ctx: AnswerContext,
    content: HashMap<(u64, &'static str), TextGuard>,
    tools: HashMap<(u64, u64), TextGuard>,
    /// The client asked for a usage chunk (`stream_options.include_usage`).
    pub client_wants_usage: bool,
    pub tally: Tally,
    pub tokens: Tokens,
}

impl OpenaiStream {
    pub fn new(ctx: AnswerContext, client_wants_usage: bool) -> OpenaiStream {
        OpenaiStream {
            ctx,
            content: HashMap::new(),
            tools: HashMap::new(),
            client_wants_usage,
            tally: Tally::default(),
            tokens: Tokens::default(),
        }
    }

    /// One `data:` payload in (`[DONE]` as `None`), chunks out. A chunk that ends a choice is
    /// split: its own text first, then what the guards still hold, then the `finish_reason`.
    pub fn chunk(&mut self, data: Option<Value>) -> Result<Vec<Out>, DlpStop> {
        let Some(mut chunk) = data else {
            let mut out = self.flush_all()?;
            out.push(Out::Final(None, None));
            return Ok(out);
        };
        let mut usage = None;
        if let Some(obj) = chunk.as_object_mut()
            && let Some(u) = obj.remove("usage")
            && u.is_object()
        {
            self.tokens.input = u64_of(u.get("prompt_tokens"));
            self.tokens.output = u64_of(u.get("completion_tokens"));
            if self.client_wants_usage {
                usage = Some(u);
            }
        }
        let mut finishing: Vec<(u64, Value)> = Vec::new();
        let mut meaningful = chunk.get("choices").is_none();
        if let Some(Value::Array(choices)) = chunk.get_mut("choices") {
            for choice in choices.iter_mut() {
                let ci = u64_of(choice.get("index"));
                if let Some(f) = choice.get_mut("finish_reason")
                    && !f.is_null()
                {
                    finishing.push((ci, std::mem::take(f)));
                }
                let Some(delta) = choice.get_mut("delta").and_then(Value::as_object_mut) else {
                    continue;
                };
                if delta
                    .keys()
                    .any(|k| !matches!(k.as_str(), "content" | "tool_calls" | "refusal"))
                {
                    meaningful = true;
                }
                for field in ["content", "refusal"] {
                    if let Some(Value::String(s)) = delta.get_mut(field) {
                        let g = self
                            .content
                            .entry((ci, field))
                            .or_insert_with(|| TextGuard::new(&self.ctx, Escape::None));
                        *s = g.push(s)?;
                        if s.is_empty() {
                            delta.remove(field);
                        } else {
                            meaningful = true;
                        }
                    }
                }
                if let Some(Value::Array(calls)) = delta.get_mut("tool_calls") {
                    for call in calls.iter_mut() {
                        let ti = u64_of(call.get("index"));
                        if call.get("id").is_some() || call.pointer("/function/name").is_some() {
                            meaningful = true;
                        }
                        if let Some(Value::String(args)) = call.pointer_mut("/function/arguments") {
                            let g = self
                                .tools
                                .entry((ci, ti))
                                .or_insert_with(|| TextGuard::new(&self.ctx, Escape::JsonString));
                            *args = g.push(args)?;
                            if !args.is_empty() {
                                meaningful = true;
                            }
                        }
                    }
                }
            }
        }
        let shell = chunk_shell(&chunk);
        let mut out = Vec::new();
        if meaningful {
            out.push(Out::Event(None, chunk));
        }
        for (ci, finish) in finishing {
            for delta in self.flush_choice(ci)? {
                out.push(Out::Event(None, with_choice(&shell, delta)));
            }
            out.push(Out::Event(
                None,
                with_choice(
                    &shell,
                    json!({"index": ci, "delta": {}, "finish_reason": finish}),
                ),
            ));
        }
        if let Some(u) = usage {
            match out.last_mut() {
                Some(Out::Event(_, last)) => last["usage"] = u,
                _ => {
                    let mut c = shell.clone();
                    c["usage"] = u;
                    out.push(Out::Event(None, c));
                }
            }
        }
        Ok(out)
    }

    /// Remainders of one choice as delta objects (`{"index", "delta", "finish_reason": null}`).
    fn flush_choice(&mut self, ci: u64) -> Result<Vec<Value>, DlpStop> {
        let mut deltas = Vec::new();
        for field in ["content", "refusal"] {
            if let Some(mut g) = self.content.remove(&(ci, field)) {
                let rest = g.finish()?;
                self.tally.add(&g);
                if !rest.is_empty() {
                    deltas
                        .push(json!({"index": ci, "delta": {field: rest}, "finish_reason": null}));
                }
            }
        }
        let mut keys: Vec<(u64, u64)> = self.tools.keys().filter(|k| k.0 == ci).copied().collect();
        keys.sort_unstable();
        for key in keys {
            if let Some(mut g) = self.tools.remove(&key) {
                let rest = g.finish()?;
                self.tally.add(&g);
                if !rest.is_empty() {
                    deltas.push(json!({"index": ci, "delta": {"tool_calls": [
                        {"index": key.1, "function": {"arguments": rest}}]}, "finish_reason": null}));
                }
            }
        }
        Ok(deltas)
    }

    /// What every guard still holds, at the end of a stream that never said `finish_reason`.
    fn flush_all(&mut self) -> Result<Vec<Out>, DlpStop> {
        let mut choices: Vec<u64> = self
            .content
            .keys()
            .map(|k| k.0)
            .chain(self.tools.keys().map(|k| k.0))
            .collect();
        choices.sort_unstable();
        choices.dedup();
        let shell = json!({"object": "chat.completion.chunk", "choices": []});
        let mut out = Vec::new();
        for ci in choices {
            for delta in self.flush_choice(ci)? {
                out.push(Out::Event(None, with_choice(&shell, delta)));
            }
        }
        Ok(out)
    }
}

fn with_choice(shell: &Value, choice: Value) -> Value {
    let mut c = shell.clone();
    c["choices"] = json!([choice]);
    c
}

/// A chunk's identifying fields with no choices (for synthetic chunks).
fn chunk_shell(chunk: &Value) -> Value {
    let mut shell = json!({"object": "chat.completion.chunk", "choices": []});
    for key in ["id", "created", "model", "system_fingerprint", "object"] {
        if let Some(v) = chunk.get(key) {
            shell[key] = v.clone();
        }
    }
    shell
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn ctx(vault: PlaceholderVault) -> AnswerContext {
        AnswerContext {
            scanner: Scanner::new().unwrap(),
            dlp: Some(Arc::new(DlpConfig::default())),
            vault: Arc::new(vault),
        }
    }

    fn texts(out: &[Out]) -> String {
        let mut s = String::new();
        for o in out {
            if let Out::Event(_, v) = o {
                for c in v["choices"].as_array().into_iter().flatten() {
                    for f in ["content", "refusal"] {
                        if let Some(t) = c["delta"][f].as_str() {
                            s.push_str(t);
                        }
                    }
                }
            }
        }
        s
    }

    #[test]
    fn openai_finish_chunks_keep_the_order_and_refusals_are_restored() {
        let mut vault = PlaceholderVault::new();
        let p = vault.placeholder(covault_scan::EntityType::EmailAddress, "a@b.example");
        let mut st = OpenaiStream::new(ctx(vault), true);
        let chunk = |delta: Value, finish: Value| {
            json!({"id": "x", "object": "chat.completion.chunk", "created": 1, "model": "m",
                   "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], "usage": null})
        };
        let mut out = st
            .chunk(Some(chunk(json!({"content": "write to "}), Value::Null)))
            .unwrap();
        out.extend(
            st.chunk(Some(chunk(
                json!({"content": format!("{p} now")}),
                json!("stop"),
            )))
            .unwrap(),
        );
        out.extend(
            st.chunk(Some(chunk(
                json!({"refusal": format!("no {p}")}),
                json!("stop"),
            )))
            .unwrap(),
        );
        assert_eq!(texts(&out), "write to a@b.example nowno a@b.example");
        // The finish_reason comes last, after every remainder.
        let finishes: Vec<usize> = out
            .iter()
            .enumerate()
            .filter(|(_, o)| matches!(o, Out::Event(_, v) if v["choices"][0]["finish_reason"] == "stop"))
            .map(|(i, _)| i)
            .collect();
        assert_eq!(finishes.len(), 2);
        let last_text = out
            .iter()
            .rposition(|o| matches!(o, Out::Event(_, v) if v["choices"][0]["delta"]["content"].is_string()))
            .unwrap();
        assert!(finishes[0] > last_text);
    }
}
