//! RFC 5322 messages (EML) through mail-parser: subject and addresses, text bodies, HTML
//! bodies (with their hidden content), and attachments extracted as documents of their own,
//! recursively (embedded messages too) up to [`Limits::max_depth`].

use mail_parser::{Message, MessageParser, MimeHeaders, PartType};

use crate::sink::Sink;
use crate::{ExtractError, Format, Limits};

pub(crate) fn extract(
    bytes: &[u8],
    limits: &Limits,
    depth: u8,
    sink: &mut Sink,
) -> Result<(), ExtractError> {
    let message = MessageParser::default()
        .parse(bytes)
        .ok_or_else(|| ExtractError::malformed(Format::Email, "not a parseable message"))?;
    if message.parts.is_empty() {
        return Err(ExtractError::malformed(
            Format::Email,
            "a message with no parts",
        ));
    }
    read_message(&message, limits, depth, sink);
    Ok(())
}

fn read_message(message: &Message<'_>, limits: &Limits, depth: u8, sink: &mut Sink) {
    if let Some(subject) = message.subject() {
        sink.push("subject", subject, None);
    }
    for (label, addresses) in [
        ("from", message.from()),
        ("to", message.to()),
        ("cc", message.cc()),
    ] {
        let Some(addresses) = addresses else { continue };
        let text: Vec<String> = addresses
            .iter()
            .map(|a| match (&a.name, &a.address) {
                (Some(n), Some(e)) => format!("{n} <{e}>"),
                (None, Some(e)) => e.to_string(),
                (Some(n), None) => n.to_string(),
                (None, None) => String::new(),
            })
            .collect();
        sink.push(label, &text.join(", "), None);
    }
    let mut bodies = 0usize;
    for (index, part) in message.parts.iter().enumerate() {
        if !sink.has_room() {
            return;
        }
        let attachment = message.attachments.iter().any(|&a| a as usize == index);
        if attachment {
            let name = part
                .attachment_name()
                .unwrap_or(if part.is_message() {
                    "(message)"
                } else {
                    "(unnamed)"
                })
                .to_owned();
            let label = format!("attachment {name}");
            if depth + 1 > limits.max_depth {
                sink.fail(format!(
                    "{label}: nested deeper than {} levels; not examined",
                    limits.max_depth
                ));
                continue;
            }
            if let PartType::Message(inner) = &part.body {
                let mut child = Sink::new(sink.room());
                read_message(inner, limits, depth + 1, &mut child);
                sink.absorb(&label, child.finish(Format::Email));
                continue;
            }
            let contents = part.contents();
            let format = Format::detect(contents, Some(&name));
            if format == Format::Binary {
                // An image or a plain archive: not text, as a binary file is not (the store
                // does not scan those either); said, not counted as unread.
                sink.note(format!("{label}: binary content, not examined"));
                continue;
            }
            match crate::extract_here(contents, format, limits, depth + 1) {
                Ok(doc) => sink.absorb(&label, doc),
                Err(e) => sink.fail(format!("{label}: {e}")),
            }
            continue;
        }
        match &part.body {
            PartType::Text(text) => {
                bodies += 1;
                let mut child = Sink::new(sink.room());
                crate::text::push_lines(text, &mut child);
                sink.absorb(&format!("body {bodies}"), child.finish(Format::Text));
            }
            PartType::Html(html) => {
                bodies += 1;
                let mut child = Sink::new(sink.room());
                crate::html::extract(html, Format::Html, &mut child);
                sink.absorb(&format!("HTML body {bodies}"), child.finish(Format::Html));
            }
            PartType::Message(inner) => {
                if depth + 1 > limits.max_depth {
                    sink.fail(format!(
                        "an embedded message nested deeper than {} levels; not examined",
                        limits.max_depth
                    ));
                } else {
                    let mut child = Sink::new(sink.room());
                    read_message(inner, limits, depth + 1, &mut child);
                    sink.absorb("embedded message", child.finish(Format::Email));
                }
            }
            PartType::Binary(_) | PartType::InlineBinary(_) | PartType::Multipart(_) => {}
        }
    }
}
