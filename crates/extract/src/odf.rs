//! OpenDocument text (ODT) and spreadsheets (ODS) from `content.xml` and `meta.xml`.
//!
//! Automatic styles are read first: a style whose text is white, under 4 pt or
//! `text:display="none"` hides what uses it, as does a table style with
//! `table:display="false"` (a hidden sheet). Hidden text and paragraphs, sections that are
//! not displayed, collapsed or filtered rows and columns, annotations (comments) and tracked
//! changes are hidden parts.

use std::collections::HashMap;

use crate::ooxml::{Para, TINY_PT};
use crate::sink::Sink;
use crate::xml::{self, Ev, attr, is_whitish};
use crate::zipped::Zip;
use crate::{ExtractError, Format, Hidden, Limits};

pub(crate) fn odt(bytes: &[u8], limits: &Limits, sink: &mut Sink) -> Result<(), ExtractError> {
    run(bytes, Format::Odt, limits, sink)
}

pub(crate) fn ods(bytes: &[u8], limits: &Limits, sink: &mut Sink) -> Result<(), ExtractError> {
    run(bytes, Format::Ods, limits, sink)
}

fn run(bytes: &[u8], format: Format, limits: &Limits, sink: &mut Sink) -> Result<(), ExtractError> {
    let mut zip = Zip::open(bytes, format, limits)?;
    if zip.has("META-INF/manifest.xml")
        && let Some(manifest) = zip.read("META-INF/manifest.xml")?
        && crate::format::memfind(&manifest, b"encryption-data").is_some()
    {
        return Err(ExtractError::Encrypted {
            format: format.name(),
        });
    }
    let Some(content) = zip.read("content.xml")? else {
        return Err(ExtractError::malformed(format, "no content.xml"));
    };
    let styles = hiding_styles(&content, format)?;
    if format == Format::Odt {
        text_body(&content, &styles, sink)?;
    } else {
        sheets(&content, &styles, limits, sink)?;
    }
    if let Some(meta) = zip.read("meta.xml")? {
        let mut field: Option<String> = None;
        xml::walk(&meta, format, |ev| match ev {
            Ev::Open(e) => field = Some(String::from_utf8_lossy(xml::name(e)).into_owned()),
            Ev::Close(_) => field = None,
            Ev::Text(t) => {
                if let Some(f) = &field
                    && matches!(
                        f.as_str(),
                        "title"
                            | "subject"
                            | "description"
                            | "keyword"
                            | "creator"
                            | "initial-creator"
                            | "user-defined"
                    )
                {
                    sink.push(format!("metadata {f}"), t, Some(Hidden::Metadata));
                }
            }
        })?;
    }
    Ok(())
}

/// Style name → what using it hides.
fn hiding_styles(content: &[u8], format: Format) -> Result<HashMap<String, Hidden>, ExtractError> {
    let mut out = HashMap::new();
    let mut current: Option<String> = None;
    xml::walk(content, format, |ev| match ev {
        Ev::Open(e) => match xml::name(e) {
            b"style" => current = attr(e, b"name"),
            b"text-properties" => {
                let Some(name) = current.clone() else { return };
                let hidden = if attr(e, b"display").as_deref() == Some("none") {
                    Some(Hidden::HiddenText)
                } else if attr(e, b"color").is_some_and(|c| is_whitish(&c))
                    && attr(e, b"background-color")
                        .is_none_or(|c| is_whitish(&c) || c == "transparent")
                {
                    Some(Hidden::WhiteText)
                } else if attr(e, b"font-size")
                    .and_then(|s| points(&s))
                    .is_some_and(|p| p < TINY_PT)
                {
                    Some(Hidden::TinyFont)
                } else {
                    None
                };
                if let Some(h) = hidden {
                    out.insert(name, h);
                }
            }
            b"table-properties" => {
                if let Some(name) = current.clone()
                    && attr(e, b"display").as_deref() == Some("false")
                {
                    out.insert(name, Hidden::HiddenSheet);
                }
            }
            _ => {}
        },
        Ev::Close(b"style") => current = None,
        _ => {}
    })?;
    Ok(out)
}

fn points(size: &str) -> Option<f64> {
    let size = size.trim();
    let (number, factor) = if let Some(n) = size.strip_suffix("pt") {
        (n, 1.0)
    } else if let Some(n) = size.strip_suffix("px") {
        (n, 0.75)
    } else if let Some(n) = size.strip_suffix("mm") {
        (n, 2.835)
    } else if let Some(n) = size.strip_suffix("cm") {
        (n, 28.35)
    } else if let Some(n) = size.strip_suffix("in") {
        (n, 72.0)
    } else {
        return None;
    };
    number.trim().parse::<f64>().ok().map(|n| n * factor)
}

/// What an element itself hides (its style or its kind).
fn hides(
    e: &quick_xml::events::BytesStart<'_>,
    styles: &HashMap<String, Hidden>,
) -> Option<Hidden> {
    match xml::name(e) {
        b"annotation" => return Some(Hidden::Comment),
        b"tracked-changes" => return Some(Hidden::TrackedChange),
        b"hidden-text" | b"hidden-paragraph" => return Some(Hidden::HiddenText),
        b"section" if attr(e, b"display").as_deref() == Some("none") => {
            return Some(Hidden::HiddenText);
        }
        b"table-row" | b"table-column" => {
            if matches!(
                attr(e, b"visibility").as_deref(),
                Some("collapse" | "filter")
            ) {
                return Some(if xml::name(e) == b"table-row" {
                    Hidden::HiddenRow
                } else {
                    Hidden::HiddenColumn
                });
            }
        }
        _ => {}
    }
    attr(e, b"style-name").and_then(|s| styles.get(&s).copied())
}

fn text_body(
    content: &[u8],
    styles: &HashMap<String, Hidden>,
    sink: &mut Sink,
) -> Result<(), ExtractError> {
    let mut open: Vec<Option<Hidden>> = Vec::new();
    let mut paras: Vec<Para> = Vec::new();
    let mut count = 0usize;
    let mut in_body = false;
    xml::walk(content, Format::Odt, |ev| match ev {
        Ev::Open(e) => {
            let name = xml::name(e);
            if name == b"body" {
                in_body = true;
            }
            open.push(hides(e, styles));
            match name {
                b"p" | b"h" => paras.push(Para::default()),
                b"s" => {
                    let n = attr(e, b"c")
                        .and_then(|c| c.parse::<usize>().ok())
                        .unwrap_or(1)
                        .min(64);
                    if let Some(p) = paras.last_mut() {
                        p.add(current(&open), &" ".repeat(n));
                    }
                }
                b"tab" => {
                    if let Some(p) = paras.last_mut() {
                        p.add(current(&open), "\t");
                    }
                }
                b"line-break" => {
                    if let Some(p) = paras.last_mut() {
                        p.add(current(&open), "\n");
                    }
                }
                _ => {}
            }
        }
        Ev::Close(name) => {
            if matches!(name, b"p" | b"h")
                && let Some(p) = paras.pop()
            {
                count += 1;
                // A paragraph inside an annotation is folded into the annotation's text.
                match paras.last_mut() {
                    Some(outer) if current(&open).is_some() => {
                        let hidden = current(&open);
                        let mut text = String::new();
                        p.visit(|_, t| text.push_str(t));
                        outer.add(hidden, &text);
                        outer.add(hidden, "\n");
                    }
                    _ => p.flush(&format!("paragraph {count}"), sink),
                }
            }
            open.pop();
        }
        Ev::Text(t) => {
            if !in_body {
                return;
            }
            let hidden = current(&open);
            match paras.last_mut() {
                Some(p) => p.add(hidden, t),
                // Text outside paragraphs (rare): kept, so nothing is missed.
                None => sink.push("body", t, hidden),
            }
        }
    })
}

fn current(open: &[Option<Hidden>]) -> Option<Hidden> {
    open.iter().rev().find_map(|h| *h)
}

fn sheets(
    content: &[u8],
    styles: &HashMap<String, Hidden>,
    limits: &Limits,
    sink: &mut Sink,
) -> Result<(), ExtractError> {
    let mut open: Vec<Option<Hidden>> = Vec::new();
    let mut sheet = String::new();
    let mut sheet_hidden: Option<Hidden> = None;
    let mut hidden_cols: Vec<(u64, u64)> = Vec::new();
    let mut col_cursor = 0u64;
    let (mut row, mut col) = (0u64, 0u64);
    let mut row_repeat = 1u64;
    let mut col_repeat = 1u64;
    let mut cell_text = String::new();
    let mut row_text = String::new();
    let mut in_cell = false;
    let mut cells = 0usize;
    let mut stopped = false;
    xml::walk(content, Format::Ods, |ev| {
        if stopped {
            return;
        }
        match ev {
            Ev::Open(e) => {
                let h = hides(e, styles);
                open.push(h);
                match xml::name(e) {
                    b"table" => {
                        sheet = attr(e, b"name").unwrap_or_default();
                        sheet_hidden = h;
                        hidden_cols.clear();
                        col_cursor = 0;
                        row = 0;
                    }
                    b"table-column" => {
                        let n = repeat(e, b"number-columns-repeated");
                        if h == Some(Hidden::HiddenColumn) {
                            hidden_cols.push((col_cursor, col_cursor.saturating_add(n - 1)));
                        }
                        col_cursor = col_cursor.saturating_add(n);
                    }
                    b"table-row" => {
                        row_repeat = repeat(e, b"number-rows-repeated");
                        col = 0;
                        row_text.clear();
                    }
                    b"table-cell" | b"covered-table-cell" => {
                        col_repeat = repeat(e, b"number-columns-repeated");
                        in_cell = true;
                        cell_text.clear();
                    }
                    b"p" if in_cell && !cell_text.is_empty() => cell_text.push('\n'),
                    _ => {}
                }
            }
            Ev::Close(name) => {
                match name {
                    b"table-cell" | b"covered-table-cell" => {
                        in_cell = false;
                        if !cell_text.trim().is_empty() {
                            cells += 1;
                            if cells > limits.max_cells {
                                sink.note(format!("stopped after {} cells", limits.max_cells));
                                sink.truncate();
                                stopped = true;
                                return;
                            }
                            let hidden = sheet_hidden.or(current(&open)).or_else(|| {
                                hidden_cols
                                    .iter()
                                    .any(|&(a, b)| (a..=b).contains(&col))
                                    .then_some(Hidden::HiddenColumn)
                            });
                            match hidden {
                                Some(h) if sheet_hidden.is_none() => sink.push(
                                    format!("sheet {sheet}, row {}, column {}", row + 1, col + 1),
                                    &cell_text,
                                    Some(h),
                                ),
                                _ => {
                                    if !row_text.is_empty() {
                                        row_text.push('\t');
                                    }
                                    row_text.push_str(cell_text.trim());
                                }
                            }
                        }
                        col = col.saturating_add(col_repeat);
                    }
                    b"table-row" => {
                        let hidden = sheet_hidden.or(current(&open));
                        sink.push(format!("sheet {sheet}, row {}", row + 1), &row_text, hidden);
                        row = row.saturating_add(row_repeat);
                    }
                    _ => {}
                }
                open.pop();
            }
            Ev::Text(t) => {
                if in_cell {
                    // Annotations inside a cell are their own hidden part.
                    if current(&open) == Some(Hidden::Comment) {
                        sink.push(
                            format!("sheet {sheet}, row {}, column {} comment", row + 1, col + 1),
                            t,
                            Some(Hidden::Comment),
                        );
                    } else {
                        cell_text.push_str(t);
                    }
                }
            }
        }
    })
}

fn repeat(e: &quick_xml::events::BytesStart<'_>, name: &[u8]) -> u64 {
    attr(e, name)
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
        .max(1)
}
