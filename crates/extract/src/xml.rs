//! A thin, forgiving walk over XML parts (quick-xml): elements by local name (namespace
//! prefixes ignored), their attributes, and text with character and predefined entity
//! references resolved. DTD entities are never expanded.

use std::borrow::Cow;

use quick_xml::events::{BytesStart, Event};
use quick_xml::{Reader, XmlVersion};

use crate::{ExtractError, Format};

/// One step of the walk.
pub(crate) enum Ev<'a, 'b> {
    /// An element opens (an empty element is followed at once by its `Close`).
    Open(&'b BytesStart<'a>),
    /// An element closes: its local name.
    Close(&'b [u8]),
    Text(&'b str),
}

/// Walks `xml`, calling `f` for each step.
pub(crate) fn walk(
    xml: &[u8],
    format: Format,
    mut f: impl FnMut(Ev<'_, '_>),
) -> Result<(), ExtractError> {
    let mut reader = Reader::from_reader(xml);
    reader.config_mut().check_end_names = false;
    loop {
        let event = reader.read_event().map_err(|e| {
            ExtractError::malformed(
                format,
                format!("XML at byte {}: {e}", reader.buffer_position()),
            )
        })?;
        match event {
            Event::Start(e) => f(Ev::Open(&e)),
            Event::Empty(e) => {
                f(Ev::Open(&e));
                f(Ev::Close(e.local_name().as_ref().as_bytes()));
            }
            Event::End(e) => f(Ev::Close(e.local_name().as_ref().as_bytes())),
            Event::Text(t) => f(Ev::Text(&t.xml10_content())),
            Event::CData(t) => f(Ev::Text(&t)),
            Event::GeneralRef(r) => {
                let resolved: Option<Cow<'_, str>> = match r.resolve_char_ref() {
                    Ok(Some(c)) => Some(Cow::Owned(c.to_string())),
                    _ => match r.as_ref().as_bytes() {
                        b"amp" => Some("&".into()),
                        b"lt" => Some("<".into()),
                        b"gt" => Some(">".into()),
                        b"quot" => Some("\"".into()),
                        b"apos" => Some("'".into()),
                        _ => None,
                    },
                };
                if let Some(text) = resolved {
                    f(Ev::Text(&text));
                }
            }
            Event::Eof => return Ok(()),
            _ => {}
        }
    }
}

/// The value of the attribute with local name `local`.
pub(crate) fn attr(e: &BytesStart<'_>, local: &[u8]) -> Option<String> {
    e.attributes()
        .flatten()
        .find(|a| a.key.local_name().as_ref().as_bytes() == local)
        .and_then(|a| {
            a.normalized_value(XmlVersion::Implicit1_0)
                .ok()
                .map(Cow::into_owned)
        })
}

/// The element's local name.
pub(crate) fn name<'x>(e: &'x BytesStart<'_>) -> &'x [u8] {
    let full = e.name().into_inner().as_bytes();
    match full.iter().position(|&b| b == b':') {
        Some(i) => &full[i + 1..],
        None => full,
    }
}

/// True for an OOXML on/off property that is on (`<w:vanish/>`, `w:val="true"`, …).
pub(crate) fn on(e: &BytesStart<'_>) -> bool {
    !matches!(
        attr(e, b"val").as_deref(),
        Some("0" | "false" | "off" | "none")
    )
}

/// True for a colour a reader cannot tell from a white page: each channel ≥ 0xF0.
pub(crate) fn is_whitish(hex: &str) -> bool {
    let hex = hex.trim().trim_start_matches('#');
    if !hex.is_ascii() {
        return false;
    }
    let hex = if hex.len() == 8 { &hex[2..] } else { hex }; // ARGB
    if hex.len() == 3 {
        return hex
            .chars()
            .all(|c| matches!(c.to_ascii_lowercase(), 'f' | 'e'));
    }
    if hex.len() != 6 {
        return hex.eq_ignore_ascii_case("white");
    }
    (0..3).all(|i| u8::from_str_radix(&hex[i * 2..i * 2 + 2], 16).is_ok_and(|v| v >= 0xF0))
}

/// True for a colour dark enough that white text on it is legible.
pub(crate) fn is_dark(hex: &str) -> bool {
    let hex = hex.trim().trim_start_matches('#');
    if !hex.is_ascii() {
        return false;
    }
    let hex = if hex.len() == 8 { &hex[2..] } else { hex };
    if hex.len() != 6 {
        return false;
    }
    let c: Vec<u32> = (0..3)
        .filter_map(|i| u32::from_str_radix(&hex[i * 2..i * 2 + 2], 16).ok())
        .collect();
    c.len() == 3 && (c[0] * 299 + c[1] * 587 + c[2] * 114) / 1000 < 160
}
