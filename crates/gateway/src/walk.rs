//! Where the text is in a request of each dialect: system prompts, message content, tool
//! results, tool-call arguments, text documents. The walker hands every text field to a
//! visitor and reports content it cannot read (images, PDFs, audio). Unknown block types are
//! walked whole (every string but identifiers), so a new content type is scanned rather than
//! skipped.

use serde_json::Value;

use crate::error::Dialect;

/// What a visited piece of content is.
pub enum Slot<'a> {
    /// Prose or any text the model reads.
    Text(&'a mut String),
    /// A JSON document held in a string (OpenAI tool-call arguments).
    JsonText(&'a mut String),
    /// Content that cannot be scanned; the `&str` names its kind (`image`, `document`, ...).
    Binary(&'static str),
}

/// Fields that identify rather than say something; never rewritten.
const IDENTIFIERS: &[&str] = &[
    "type",
    "id",
    "tool_use_id",
    "tool_call_id",
    "name",
    "media_type",
    "signature",
    "role",
    "cache_control",
    "citations",
];

/// Visits every text of a request body.
pub fn visit_request(dialect: Dialect, body: &mut Value, visit: &mut dyn FnMut(Slot<'_>)) {
    match dialect {
        Dialect::Anthropic => {
            // Tool descriptions are prompt text too.
            if let Some(Value::Array(tools)) = body.get_mut("tools") {
                for t in tools {
                    if let Some(Value::String(d)) = t.get_mut("description") {
                        visit(Slot::Text(d));
                    }
                }
            }
            if let Some(system) = body.get_mut("system") {
                anthropic_content(system, visit);
            }
            if let Some(Value::Array(messages)) = body.get_mut("messages") {
                for m in messages {
                    if let Some(content) = m.get_mut("content") {
                        anthropic_content(content, visit);
                    }
                }
            }
        }
        Dialect::Openai => {
            if let Some(Value::Array(tools)) = body.get_mut("tools") {
                for t in tools {
                    if let Some(Value::String(d)) = t.pointer_mut("/function/description") {
                        visit(Slot::Text(d));
                    }
                }
            }
            if let Some(prediction) = body
                .get_mut("prediction")
                .and_then(|p| p.get_mut("content"))
            {
                openai_content(prediction, visit);
            }
            if let Some(Value::Array(messages)) = body.get_mut("messages") {
                for m in messages {
                    if let Some(content) = m.get_mut("content") {
                        openai_content(content, visit);
                    }
                    if let Some(Value::Array(calls)) = m.get_mut("tool_calls") {
                        for call in calls {
                            if let Some(Value::String(args)) = call
                                .get_mut("function")
                                .and_then(|f| f.get_mut("arguments"))
                            {
                                visit(Slot::JsonText(args));
                            }
                        }
                    }
                    if let Some(Value::Object(fc)) = m.get_mut("function_call")
                        && let Some(Value::String(args)) = fc.get_mut("arguments")
                    {
                        visit(Slot::JsonText(args));
                    }
                }
            }
        }
    }
}

/// A string or an array of content blocks (Anthropic).
fn anthropic_content(content: &mut Value, visit: &mut dyn FnMut(Slot<'_>)) {
    match content {
        Value::String(s) => visit(Slot::Text(s)),
        Value::Array(blocks) => {
            for b in blocks {
                anthropic_block(b, visit);
            }
        }
        _ => {}
    }
}

fn anthropic_block(block: &mut Value, visit: &mut dyn FnMut(Slot<'_>)) {
    let kind = block
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    match kind.as_str() {
        "text" => {
            if let Some(Value::String(s)) = block.get_mut("text") {
                visit(Slot::Text(s));
            }
        }
        "tool_use" | "server_tool_use" => {
            if let Some(input) = block.get_mut("input") {
                all_values(input, visit);
            }
        }
        "tool_result" => {
            if let Some(content) = block.get_mut("content") {
                anthropic_content(content, visit);
            }
        }
        "image" => visit(Slot::Binary("image")),
        "document" => {
            let source_kind = block
                .get("source")
                .and_then(|s| s.get("type"))
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned();
            match source_kind.as_str() {
                "text" => {
                    if let Some(Value::String(s)) =
                        block.get_mut("source").and_then(|s| s.get_mut("data"))
                    {
                        visit(Slot::Text(s));
                    }
                }
                "content" => {
                    if let Some(content) =
                        block.get_mut("source").and_then(|s| s.get_mut("content"))
                    {
                        anthropic_content(content, visit);
                    }
                }
                _ => visit(Slot::Binary("document")),
            }
            for field in ["title", "context"] {
                if let Some(Value::String(s)) = block.get_mut(field) {
                    visit(Slot::Text(s));
                }
            }
        }
        // Thinking is signed by the provider; rewriting it would void the signature. It holds
        // what the model wrote over placeholders, which covault never restores inside it.
        "thinking" | "redacted_thinking" => {}
        _ => all_strings(block, visit),
    }
}

/// A string or an array of parts (OpenAI).
fn openai_content(content: &mut Value, visit: &mut dyn FnMut(Slot<'_>)) {
    match content {
        Value::String(s) => visit(Slot::Text(s)),
        Value::Array(parts) => {
            for p in parts {
                let kind = p
                    .get("type")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned();
                match kind.as_str() {
                    "text" | "refusal" => {
                        for field in ["text", "refusal"] {
                            if let Some(Value::String(s)) = p.get_mut(field) {
                                visit(Slot::Text(s));
                            }
                        }
                    }
                    "image_url" => visit(Slot::Binary("image")),
                    "input_audio" => visit(Slot::Binary("audio")),
                    "file" => visit(Slot::Binary("file")),
                    _ => all_strings(p, visit),
                }
            }
        }
        _ => {}
    }
}

/// Every string inside `value` except identifier fields (block structure).
pub fn all_strings(value: &mut Value, visit: &mut dyn FnMut(Slot<'_>)) {
    strings(value, true, visit);
}

/// Every string inside `value`, whatever its key (tool inputs and arguments: a field called
/// `name` or `id` there holds data, not structure).
pub fn all_values(value: &mut Value, visit: &mut dyn FnMut(Slot<'_>)) {
    strings(value, false, visit);
}

fn strings(value: &mut Value, skip_ids: bool, visit: &mut dyn FnMut(Slot<'_>)) {
    match value {
        Value::String(s) => visit(Slot::Text(s)),
        Value::Array(items) => {
            for v in items {
                strings(v, skip_ids, visit);
            }
        }
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                if !skip_ids || !IDENTIFIERS.contains(&k.as_str()) {
                    strings(v, skip_ids, visit);
                }
            }
        }
        _ => {}
    }
}
