//! PDF: page text through pdf-extract (run on the extraction worker, so a panic or a spin
//! cannot take the caller down), with characters under 4 pt or outside the page's media box
//! set apart as hidden parts; a second pass over each page's content stream (lopdf, as
//! re-exported by pdf-extract) finds text drawn in the invisible rendering mode or filled
//! white; the Info dictionary gives metadata. Every Flate stream is inflated once, bounded,
//! before either pass, so a compression bomb is refused rather than expanded.
//! Not examined: text covered by images, and text inside form XObjects for the second pass.

use std::io::Read;

use pdf_extract::{Document, MediaBox, Object, OutputDev, OutputError, Transform};

use crate::format::memfind;
use crate::ooxml::TINY_PT;
use crate::sink::Sink;
use crate::{ExtractError, Format, Hidden, Limits};

pub(crate) fn extract(bytes: &[u8], limits: &Limits, sink: &mut Sink) -> Result<(), ExtractError> {
    // Before lopdf sees the file: it inflates object streams while loading, without bound.
    check_raw_streams(bytes, limits)?;
    let mut doc = match Document::load_mem(bytes) {
        Ok(doc) => doc,
        Err(pdf_extract::Error::Decryption(_)) => {
            return Err(ExtractError::Encrypted { format: "PDF" });
        }
        Err(e) => return Err(ExtractError::malformed(Format::Pdf, e)),
    };
    if doc.is_encrypted() && doc.decrypt("").is_err() {
        return Err(ExtractError::Encrypted { format: "PDF" });
    }
    check_forms(&doc)?;
    let pages = doc.get_pages();
    if pages.len() as u64 > u64::from(limits.max_pages) {
        sink.note(format!(
            "only the first {} of {} pages were read",
            limits.max_pages,
            pages.len()
        ));
        sink.truncate();
    }
    let mut collector = Collector {
        sink,
        page: 0,
        media: (0.0, 0.0, 0.0, 0.0),
        visible: String::new(),
        tiny: String::new(),
        outside: String::new(),
        last: None,
        max_pages: limits.max_pages,
        stopped: false,
    };
    let result = pdf_extract::output_doc(&doc, &mut collector);
    collector.flush();
    let stopped = collector.stopped;
    match result {
        Ok(()) => {}
        Err(_) if stopped => {}
        Err(e) => return Err(ExtractError::malformed(Format::Pdf, format!("{e:?}"))),
    }
    for (&number, &id) in pages.iter().take(limits.max_pages as usize) {
        if !sink.has_room() {
            break;
        }
        let Ok(content) = doc.get_page_content(id) else {
            continue;
        };
        hidden_ops(&content, number, sink);
    }
    info(&doc, sink);
    Ok(())
}

/// Inflates every zlib stream in the raw file once, through a bounded reader, before the
/// parser does: `stream` … `endstream` spans are found textually (a span that is not zlib is
/// left to the parser, which rejects or reads it).
fn check_raw_streams(bytes: &[u8], limits: &Limits) -> Result<(), ExtractError> {
    let mut total: u64 = 0;
    let mut at = 0usize;
    while let Some(found) = memfind(&bytes[at..], b"stream") {
        let mut start = at + found + b"stream".len();
        at = start;
        if bytes.get(start) == Some(&b'\r') {
            start += 1;
        }
        if bytes.get(start) != Some(&b'\n') {
            continue;
        }
        start += 1;
        let end = memfind(&bytes[start..], b"endstream").map_or(bytes.len(), |e| start + e);
        let budget = limits
            .max_entry
            .min(limits.max_unpacked.saturating_sub(total));
        let mut decoder = flate2::read::ZlibDecoder::new(&bytes[start..end]).take(budget + 1);
        let inflated = std::io::copy(&mut decoder, &mut std::io::sink()).unwrap_or(0);
        if inflated > budget {
            return Err(ExtractError::Limit {
                what: "a PDF stream inflating beyond the limit (a compression bomb)".into(),
                limit: budget,
            });
        }
        total += inflated;
        at = end;
    }
    Ok(())
}

/// pdf-extract draws form XObjects by recursing, with no depth limit: a form that draws
/// itself (directly, through others, or through resources it inherits) would overflow the
/// stack and abort the process. Refused here: cycles, nesting deeper than 16, and forms that
/// draw others without resources of their own.
fn check_forms(doc: &Document) -> Result<(), ExtractError> {
    use std::collections::HashMap;
    let mut edges: HashMap<pdf_extract::ObjectId, Vec<pdf_extract::ObjectId>> = HashMap::new();
    for (&id, object) in &doc.objects {
        let Object::Stream(stream) = object else {
            continue;
        };
        let form =
            matches!(stream.dict.get(b"Subtype"), Ok(Object::Name(n)) if n.as_slice() == b"Form");
        if !form {
            continue;
        }
        let resources = match stream.dict.get(b"Resources") {
            Ok(Object::Reference(r)) => doc.get_dictionary(*r).ok(),
            Ok(Object::Dictionary(d)) => Some(d),
            _ => None,
        };
        let Some(resources) = resources else {
            let draws = stream
                .decompressed_content()
                .unwrap_or_else(|_| stream.content.clone())
                .windows(2)
                .any(|w| w == b"Do");
            if draws {
                return Err(ExtractError::Limit {
                    what: "a PDF form that draws others without resources of its own (possible recursion)".into(),
                    limit: 0,
                });
            }
            continue;
        };
        let xobjects = match resources.get(b"XObject") {
            Ok(Object::Reference(r)) => doc.get_dictionary(*r).ok(),
            Ok(Object::Dictionary(d)) => Some(d),
            _ => None,
        };
        let targets = xobjects
            .map(|x| {
                x.iter()
                    .filter_map(|(_, v)| v.as_reference().ok())
                    .collect()
            })
            .unwrap_or_default();
        edges.insert(id, targets);
    }
    // Depth-first from every form, bounded; a node on the current path seen again is a cycle.
    fn depth(
        id: pdf_extract::ObjectId,
        edges: &std::collections::HashMap<pdf_extract::ObjectId, Vec<pdf_extract::ObjectId>>,
        path: &mut Vec<pdf_extract::ObjectId>,
        done: &mut std::collections::HashSet<pdf_extract::ObjectId>,
    ) -> Result<(), ExtractError> {
        if done.contains(&id) {
            return Ok(());
        }
        if path.contains(&id) || path.len() > 16 {
            return Err(ExtractError::Limit {
                what: "PDF forms nested in a cycle or deeper than 16".into(),
                limit: 16,
            });
        }
        path.push(id);
        for &next in edges.get(&id).map(Vec::as_slice).unwrap_or(&[]) {
            depth(next, edges, path, done)?;
        }
        path.pop();
        done.insert(id);
        Ok(())
    }
    let mut done = std::collections::HashSet::new();
    for &id in edges.keys() {
        depth(id, &edges, &mut Vec::new(), &mut done)?;
    }
    Ok(())
}

struct Collector<'a> {
    sink: &'a mut Sink,
    page: u32,
    media: (f64, f64, f64, f64),
    visible: String,
    tiny: String,
    outside: String,
    /// End of the last character drawn (x, y) and its size, to place spaces and line breaks.
    last: Option<(f64, f64, f64)>,
    max_pages: u32,
    stopped: bool,
}

impl Collector<'_> {
    fn flush(&mut self) {
        let location = format!("page {}", self.page);
        self.sink.push(location.clone(), &self.visible, None);
        self.sink
            .push(location.clone(), &self.tiny, Some(Hidden::TinyFont));
        self.sink
            .push(location, &self.outside, Some(Hidden::OutsidePage));
        self.visible.clear();
        self.tiny.clear();
        self.outside.clear();
        self.last = None;
    }
}

impl OutputDev for Collector<'_> {
    fn begin_page(
        &mut self,
        page: u32,
        media: &MediaBox,
        _art: Option<(f64, f64, f64, f64)>,
    ) -> Result<(), OutputError> {
        if self.page != 0 {
            self.flush();
        }
        if page > self.max_pages || !self.sink.has_room() {
            self.stopped = true;
            return Err(OutputError::FormatError(std::fmt::Error));
        }
        self.page = page;
        self.media = (media.llx, media.lly, media.urx, media.ury);
        Ok(())
    }

    fn end_page(&mut self) -> Result<(), OutputError> {
        Ok(())
    }

    fn output_character(
        &mut self,
        trm: &Transform,
        width: f64,
        spacing: f64,
        font_size: f64,
        ch: &str,
    ) -> Result<(), OutputError> {
        let scale = (trm.m11 * trm.m22 - trm.m12 * trm.m21).abs().sqrt();
        let size = font_size * scale;
        let (x, y) = (trm.m31, trm.m32);
        let (llx, lly, urx, ury) = self.media;
        let slack = size.max(1.0);
        let target = if x < llx.min(urx) - slack
            || x > urx.max(llx) + slack
            || y < lly.min(ury) - slack
            || y > ury.max(lly) + slack
        {
            &mut self.outside
        } else if size > 0.0 && size < TINY_PT {
            &mut self.tiny
        } else {
            &mut self.visible
        };
        if let Some((end_x, last_y, last_size)) = self.last {
            let line_gap = last_size.max(size) * 0.5;
            if (y - last_y).abs() > line_gap {
                target.push('\n');
            } else if x > end_x + last_size.max(size) * 0.15 && !target.ends_with(' ') && ch != " "
            {
                target.push(' ');
            }
        }
        target.push_str(ch);
        self.last = Some((x + (width * font_size + spacing) * scale, y, size));
        Ok(())
    }

    fn begin_word(&mut self) -> Result<(), OutputError> {
        Ok(())
    }

    fn end_word(&mut self) -> Result<(), OutputError> {
        Ok(())
    }

    fn end_line(&mut self) -> Result<(), OutputError> {
        Ok(())
    }
}

#[derive(Clone, Copy)]
struct State {
    white: bool,
    invisible: bool,
}

/// Text shown in rendering mode 3 (invisible) or with a white fill, from the page's own
/// content stream. Strings are read as Latin-1 when they look like text; text in an embedded
/// font's private encoding is counted and noted instead.
fn hidden_ops(content: &[u8], page: u32, sink: &mut Sink) {
    let Ok(content) = pdf_extract::content::Content::decode(content) else {
        return;
    };
    let mut stack: Vec<State> = Vec::new();
    let mut state = State {
        white: false,
        invisible: false,
    };
    let (mut invisible, mut white) = (String::new(), String::new());
    let mut unreadable = 0usize;
    for op in &content.operations {
        let numbers: Vec<f64> = op
            .operands
            .iter()
            .filter_map(|o| match o {
                Object::Integer(i) => Some(*i as f64),
                Object::Real(r) => Some(f64::from(*r)),
                _ => None,
            })
            .collect();
        match op.operator.as_str() {
            "q" if stack.len() < 64 => stack.push(state),
            "Q" => state = stack.pop().unwrap_or(state),
            "g" if numbers.len() == 1 => state.white = numbers[0] >= 0.94,
            "rg" if numbers.len() == 3 => state.white = numbers.iter().all(|&c| c >= 0.94),
            "k" if numbers.len() == 4 => state.white = numbers.iter().all(|&c| c <= 0.06),
            "sc" | "scn" => {
                state.white = match numbers.len() {
                    1 => numbers[0] >= 0.94,
                    3 => numbers.iter().all(|&c| c >= 0.94),
                    4 => numbers.iter().all(|&c| c <= 0.06),
                    _ => state.white,
                }
            }
            "Tr" if numbers.len() == 1 => state.invisible = numbers[0] as i64 == 3,
            "Tj" | "'" | "\"" | "TJ" => {
                if !(state.invisible || state.white) {
                    continue;
                }
                let mut text = String::new();
                for operand in &op.operands {
                    match operand {
                        Object::String(bytes, _) => push_latin1(bytes, &mut text, &mut unreadable),
                        Object::Array(items) => {
                            for item in items {
                                if let Object::String(bytes, _) = item {
                                    push_latin1(bytes, &mut text, &mut unreadable);
                                } else if let Object::Integer(n) = item
                                    && *n < -200
                                {
                                    text.push(' ');
                                }
                            }
                        }
                        _ => {}
                    }
                }
                let target = if state.invisible {
                    &mut invisible
                } else {
                    &mut white
                };
                if !target.is_empty() {
                    target.push(' ');
                }
                target.push_str(&text);
            }
            _ => {}
        }
    }
    let location = format!("page {page}");
    sink.push(location.clone(), &invisible, Some(Hidden::InvisibleText));
    sink.push(location.clone(), &white, Some(Hidden::WhiteText));
    if unreadable > 0 {
        sink.note(format!(
            "{location}: {unreadable} hidden text strings in a font's private encoding"
        ));
        sink.push(
            location,
            "[hidden text in an embedded font encoding]",
            Some(Hidden::InvisibleText),
        );
    }
}

fn push_latin1(bytes: &[u8], out: &mut String, unreadable: &mut usize) {
    let control = bytes
        .iter()
        .filter(|&&b| b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r'))
        .count();
    if control * 5 > bytes.len() {
        *unreadable += 1;
        return;
    }
    out.extend(bytes.iter().map(|&b| char::from(b)));
}

fn info(doc: &Document, sink: &mut Sink) {
    let Ok(reference) = doc.trailer.get(b"Info").and_then(Object::as_reference) else {
        return;
    };
    let Ok(info) = doc.get_dictionary(reference) else {
        return;
    };
    for (key, value) in info.iter() {
        let field = String::from_utf8_lossy(key);
        if matches!(field.as_ref(), "CreationDate" | "ModDate" | "Trapped") {
            continue;
        }
        if let Object::String(bytes, _) = value {
            sink.push(
                format!("metadata {field}"),
                &pdf_string(bytes),
                Some(Hidden::Metadata),
            );
        }
    }
}

/// A PDF text string: UTF-16BE with a BOM, or PDFDocEncoding (read as Latin-1).
fn pdf_string(bytes: &[u8]) -> String {
    if let Some(body) = bytes.strip_prefix(&[0xFE, 0xFF]) {
        return encoding_rs::UTF_16BE
            .decode_without_bom_handling(body)
            .0
            .into_owned();
    }
    bytes.iter().map(|&b| char::from(b)).collect()
}
