//! Text formats: encoding detection and conversion (BOMs, BOM-less UTF-16, legacy 8-bit
//! encodings guessed by chardetng), plain text in line blocks, CSV/TSV rows, and the string
//! and number leaves of JSON, YAML and TOML documents with their paths.

use std::borrow::Cow;

use crate::sink::Sink;
use crate::{ExtractError, Format, Limits};

/// Text per part for plain text (split at line ends).
const BLOCK: usize = 4096;
/// Nesting followed in data documents.
const MAX_NESTING: usize = 128;

/// The byte order of UTF-16 content: from a BOM, or from the pattern of zero bytes that
/// mostly-ASCII UTF-16 text shows. `Some(true)` is little-endian.
pub(crate) fn utf16_order(bytes: &[u8]) -> Option<bool> {
    if bytes.starts_with(&[0xFF, 0xFE]) {
        return Some(true);
    }
    if bytes.starts_with(&[0xFE, 0xFF]) {
        return Some(false);
    }
    let sample = &bytes[..bytes.len().min(4096) & !1];
    if sample.len() < 16 {
        return None;
    }
    let pairs = sample.len() / 2;
    let (mut even, mut odd) = (0usize, 0usize);
    for pair in sample.chunks_exact(2) {
        if pair[0] == 0 && pair[1] != 0 {
            even += 1;
        }
        if pair[1] == 0 && pair[0] != 0 {
            odd += 1;
        }
    }
    if odd * 10 >= pairs * 7 && even * 20 < pairs {
        Some(true)
    } else if even * 10 >= pairs * 7 && odd * 20 < pairs {
        Some(false)
    } else {
        None
    }
}

/// Decodes text in any common encoding to UTF-8: UTF-8 (with or without BOM), UTF-16 (with
/// a BOM or recognised without), and otherwise the legacy encoding chardetng judges most
/// likely (Latin-1/Windows-1252, Shift_JIS, GBK, …). Never fails; undecodable bytes become
/// U+FFFD.
pub fn decode_text(bytes: &[u8]) -> String {
    if let Some(le) = utf16_order(bytes) {
        let encoding = if le {
            encoding_rs::UTF_16LE
        } else {
            encoding_rs::UTF_16BE
        };
        let body = if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
            &bytes[2..]
        } else {
            bytes
        };
        return encoding.decode_without_bom_handling(body).0.into_owned();
    }
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(body) {
        Ok(text) => text.to_owned(),
        Err(_) => {
            let mut detector =
                chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Deny);
            detector.feed(body, true);
            let encoding = detector.guess(None, chardetng::Utf8Detection::Allow);
            encoding.decode_without_bom_handling(body).0.into_owned()
        }
    }
}

fn decoded(bytes: &[u8]) -> Cow<'_, str> {
    if utf16_order(bytes).is_none()
        && let Ok(text) = std::str::from_utf8(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes))
    {
        return Cow::Borrowed(text);
    }
    Cow::Owned(decode_text(bytes))
}

/// Plain text, in blocks of whole lines, each located by its first line.
pub(crate) fn plain(bytes: &[u8], sink: &mut Sink) {
    push_lines(&decoded(bytes), sink);
}

pub(crate) fn push_lines(text: &str, sink: &mut Sink) {
    let mut line = 1usize;
    let mut rest = text;
    while !rest.is_empty() && sink.has_room() {
        let mut cut = rest.len().min(BLOCK);
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        if cut < rest.len()
            && let Some(nl) = rest[..cut].rfind('\n')
        {
            cut = nl + 1;
        }
        let block = &rest[..cut];
        // Leading blank lines move the block's first line on.
        let lead = block.len() - block.trim_start().len();
        let first = line + block[..lead].matches('\n').count();
        sink.push(format!("line {first}"), block, None);
        line += block.matches('\n').count();
        rest = &rest[cut..];
    }
    if !rest.is_empty() {
        sink.truncate();
    }
}

/// CSV or TSV: one part per row, cells separated by tabs.
pub(crate) fn delimited(
    bytes: &[u8],
    format: Format,
    limits: &Limits,
    sink: &mut Sink,
) -> Result<(), ExtractError> {
    let text = decoded(bytes);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(if format == Format::Tsv { b'\t' } else { b',' })
        .from_reader(text.as_bytes());
    let mut cells = 0usize;
    let mut row_text = String::new();
    for (index, record) in reader.records().enumerate() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                sink.note(format!(
                    "row {}: {}; the rest read as plain text",
                    index + 1,
                    csv_reason(&e)
                ));
                let offset = e
                    .position()
                    .map_or(0, |p| p.byte() as usize)
                    .min(text.len());
                let mut start = offset;
                while !text.is_char_boundary(start) {
                    start -= 1;
                }
                push_lines(&text[start..], sink);
                return Ok(());
            }
        };
        cells += record.len();
        if cells > limits.max_cells {
            sink.note(format!("stopped after {} cells", limits.max_cells));
            sink.truncate();
            break;
        }
        row_text.clear();
        for (i, cell) in record.iter().enumerate() {
            if i > 0 {
                row_text.push('\t');
            }
            row_text.push_str(cell);
        }
        sink.push(format!("row {}", index + 1), &row_text, None);
        if !sink.has_room() {
            break;
        }
    }
    Ok(())
}

fn csv_reason(e: &csv::Error) -> &'static str {
    match e.kind() {
        csv::ErrorKind::Utf8 { .. } => "invalid UTF-8",
        csv::ErrorKind::UnequalLengths { .. } => "unequal row lengths",
        _ => "not valid CSV",
    }
}

/// JSON, YAML or TOML: every string and number leaf (and every key) located by its path.
/// Content that does not parse is read as plain text, with a note.
pub(crate) fn data(bytes: &[u8], format: Format, sink: &mut Sink) -> Result<(), ExtractError> {
    let text = decoded(bytes);
    let mut leaves = Vec::new();
    let parsed = match format {
        Format::Json => serde_json::from_str::<serde_json::Value>(&text)
            .map(|v| json_leaves(&v, "$", 0, &mut leaves))
            .map_err(|e| e.to_string()),
        Format::Yaml => serde_yaml_ng::from_str::<serde_yaml_ng::Value>(&text)
            .map(|v| yaml_leaves(&v, "$", 0, &mut leaves))
            .map_err(|e| e.to_string()),
        _ => toml::from_str::<toml::Value>(&text)
            .map(|v| toml_leaves(&v, "$", 0, &mut leaves))
            .map_err(|e| e.message().to_owned()),
    };
    match parsed {
        Ok(()) => {
            for (path, value) in leaves {
                sink.push(path, &value, None);
                if !sink.has_room() {
                    break;
                }
            }
        }
        Err(reason) => {
            let reason: String = reason.chars().take(120).collect();
            sink.note(format!(
                "not valid {} ({reason}); read as plain text",
                format.name()
            ));
            push_lines(&text, sink);
        }
    }
    Ok(())
}

fn key_path(parent: &str, key: &str) -> String {
    if !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
    {
        format!("{parent}.{key}")
    } else {
        format!("{parent}[{}]", serde_json::Value::String(key.to_owned()))
    }
}

fn json_leaves(v: &serde_json::Value, path: &str, depth: usize, out: &mut Vec<(String, String)>) {
    use serde_json::Value;
    if depth > MAX_NESTING {
        return;
    }
    match v {
        Value::String(s) => out.push((path.to_owned(), s.clone())),
        Value::Number(n) => out.push((path.to_owned(), n.to_string())),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                json_leaves(item, &format!("{path}[{i}]"), depth + 1, out);
            }
        }
        Value::Object(map) => {
            for (k, item) in map {
                let p = key_path(path, k);
                out.push((format!("{p} (key)"), k.clone()));
                json_leaves(item, &p, depth + 1, out);
            }
        }
        Value::Bool(_) | Value::Null => {}
    }
}

fn yaml_leaves(
    v: &serde_yaml_ng::Value,
    path: &str,
    depth: usize,
    out: &mut Vec<(String, String)>,
) {
    use serde_yaml_ng::Value;
    if depth > MAX_NESTING {
        return;
    }
    match v {
        Value::String(s) => out.push((path.to_owned(), s.clone())),
        Value::Number(n) => out.push((path.to_owned(), n.to_string())),
        Value::Sequence(items) => {
            for (i, item) in items.iter().enumerate() {
                yaml_leaves(item, &format!("{path}[{i}]"), depth + 1, out);
            }
        }
        Value::Mapping(map) => {
            for (k, item) in map {
                let key = match k {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    Value::Bool(b) => b.to_string(),
                    _ => String::from("?"),
                };
                let p = key_path(path, &key);
                out.push((format!("{p} (key)"), key));
                yaml_leaves(item, &p, depth + 1, out);
            }
        }
        Value::Tagged(tagged) => yaml_leaves(&tagged.value, path, depth + 1, out),
        Value::Bool(_) | Value::Null => {}
    }
}

fn toml_leaves(v: &toml::Value, path: &str, depth: usize, out: &mut Vec<(String, String)>) {
    use toml::Value;
    if depth > MAX_NESTING {
        return;
    }
    match v {
        Value::String(s) => out.push((path.to_owned(), s.clone())),
        Value::Integer(n) => out.push((path.to_owned(), n.to_string())),
        Value::Float(n) => out.push((path.to_owned(), n.to_string())),
        Value::Datetime(d) => out.push((path.to_owned(), d.to_string())),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                toml_leaves(item, &format!("{path}[{i}]"), depth + 1, out);
            }
        }
        Value::Table(map) => {
            for (k, item) in map {
                let p = key_path(path, k);
                out.push((format!("{p} (key)"), k.clone()));
                toml_leaves(item, &p, depth + 1, out);
            }
        }
        Value::Boolean(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf16_with_and_without_bom_and_latin1_are_decoded() {
        let text = "Jürgen Müller, jurgen@example.de";
        let le: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
        let be: Vec<u8> = text.encode_utf16().flat_map(u16::to_be_bytes).collect();
        let mut bom = vec![0xFF, 0xFE];
        bom.extend_from_slice(&le);
        assert_eq!(decode_text(&le), text);
        assert_eq!(decode_text(&be), text);
        assert_eq!(decode_text(&bom), text);
        let (latin1, _, _) = encoding_rs::WINDOWS_1252.encode(text);
        assert_eq!(decode_text(&latin1), text);
        assert_eq!(decode_text(text.as_bytes()), text);
    }

    #[test]
    fn long_lines_of_multibyte_text_are_cut_on_character_boundaries() {
        let text = "ü".repeat(5000) + "\n" + &"€".repeat(3000);
        let mut sink = Sink::new(1 << 20);
        push_lines(&text, &mut sink);
        let doc = sink.finish(Format::Text);
        let joined: String = doc.parts.iter().map(|p| p.text.as_str()).collect();
        assert_eq!(joined.chars().filter(|&c| c == 'ü').count(), 5000);
        assert_eq!(joined.chars().filter(|&c| c == '€').count(), 3000);
    }

    #[test]
    fn plain_ascii_is_not_mistaken_for_utf16() {
        assert_eq!(utf16_order(b"just some ordinary ascii text here"), None);
    }
}
