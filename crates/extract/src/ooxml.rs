//! Office Open XML documents and presentations (DOCX, PPTX) from their zip parts, and the
//! metadata every OOXML package carries (`docProps/core.xml`, `docProps/custom.xml`).
//!
//! DOCX: paragraphs of the body, headers, footers, footnotes and endnotes; runs marked
//! `w:vanish`, coloured white (or the colour of their shading), or under 4 pt are hidden
//! parts, as are tracked insertions and deletions and comments. PPTX: each slide's
//! paragraphs; hidden slides, shapes placed outside the slide, white or background-coloured
//! text on a light background, tiny text, speaker notes and comments are hidden parts.

use std::collections::HashMap;

use crate::sink::Sink;
use crate::xml::{self, Ev, attr, is_dark, is_whitish, on};
use crate::zipped::{Zip, number_in};
use crate::{ExtractError, Format, Hidden, Limits};

/// Under this size (in points) text is flagged as tiny.
pub(crate) const TINY_PT: f64 = 4.0;

/// Collects one paragraph's runs, grouped by what hides them.
#[derive(Default)]
pub(crate) struct Para {
    segments: Vec<(Option<Hidden>, String)>,
}

impl Para {
    pub(crate) fn add(&mut self, hidden: Option<Hidden>, text: &str) {
        match self.segments.last_mut() {
            Some((h, s)) if *h == hidden => s.push_str(text),
            _ => self.segments.push((hidden, text.to_owned())),
        }
    }

    /// Calls `f` with each stretch of text and what hides it.
    pub(crate) fn visit(&self, mut f: impl FnMut(Option<Hidden>, &str)) {
        for (hidden, text) in &self.segments {
            f(*hidden, text);
        }
    }

    /// Visible text as one part, each hidden stretch as its own.
    pub(crate) fn flush(self, location: &str, sink: &mut Sink) {
        let mut visible = String::new();
        for (hidden, text) in &self.segments {
            if hidden.is_none() {
                visible.push_str(text);
            }
        }
        sink.push(location, &visible, None);
        for (hidden, text) in self.segments {
            if hidden.is_some() {
                sink.push(location, &text, hidden);
            }
        }
    }
}

pub(crate) fn docx(bytes: &[u8], limits: &Limits, sink: &mut Sink) -> Result<(), ExtractError> {
    let mut zip = Zip::open(bytes, Format::Docx, limits)?;
    let main = main_part(&mut zip)?.unwrap_or_else(|| "word/document.xml".to_owned());
    if !zip.has(&main) {
        return Err(ExtractError::malformed(
            Format::Docx,
            format!("no main document part ({main})"),
        ));
    }
    let mut parts = vec![(main, String::new())];
    for (prefix, label) in [("word/header", "header"), ("word/footer", "footer")] {
        for name in zip.matching(prefix, ".xml") {
            let label = format!("{label} {} ", number_in(&name).max(1));
            parts.push((name, label));
        }
    }
    parts.push(("word/footnotes.xml".into(), "footnotes ".into()));
    parts.push(("word/endnotes.xml".into(), "endnotes ".into()));
    let styles = match zip.read("word/styles.xml")? {
        Some(xml) => docx_styles(&xml)?,
        None => HashMap::new(),
    };
    for (name, label) in parts {
        if let Some(xml) = zip.read(&name)? {
            docx_part(&xml, &label, None, &styles, sink)?;
        }
    }
    if let Some(xml) = zip.read("word/comments.xml")? {
        docx_part(&xml, "comment ", Some(Hidden::Comment), &styles, sink)?;
    }
    metadata(&mut zip, Format::Docx, sink)?;
    Ok(())
}

/// The package's main part, from `_rels/.rels` (Office Online names it `document2.xml`).
fn main_part(zip: &mut Zip<'_>) -> Result<Option<String>, ExtractError> {
    let Some(xml) = zip.read("_rels/.rels")? else {
        return Ok(None);
    };
    let mut main = None;
    xml::walk(&xml, Format::Docx, |ev| {
        if let Ev::Open(e) = ev
            && xml::name(e) == b"Relationship"
            && attr(e, b"Type").is_some_and(|t| t.ends_with("/officeDocument"))
            && let Some(target) = attr(e, b"Target")
        {
            main = Some(target.trim_start_matches('/').to_owned());
        }
    })?;
    Ok(main)
}

/// Key under which [`docx_styles`] files the document's default run properties.
const DOC_DEFAULTS: &str = "\u{0}docDefaults";
/// Key under which [`docx_styles`] files the default paragraph style.
const DEFAULT_PARAGRAPH: &str = "\u{0}defaultParagraph";

/// Paragraph and character styles that hide their text (vanish, white, tiny), with
/// `w:basedOn` inheritance followed: a style is how hidden formatting escapes a run-level look.
fn docx_styles(xml: &[u8]) -> Result<HashMap<String, Hidden>, ExtractError> {
    #[derive(Default)]
    struct Raw {
        based_on: Option<String>,
        hidden: Option<Hidden>,
        dark_fill: bool,
    }
    let mut raw: HashMap<String, Raw> = HashMap::new();
    let mut current: Option<String> = None;
    let mut default_paragraph: Option<String> = None;
    let mut in_rpr = false;
    let mut in_change = 0usize;
    xml::walk(xml, Format::Docx, |ev| match ev {
        Ev::Open(e) if in_change > 0 || matches!(xml::name(e), b"rPrChange" | b"pPrChange") => {
            if matches!(xml::name(e), b"rPrChange" | b"pPrChange") {
                in_change += 1;
            }
        }
        Ev::Close(b"rPrChange" | b"pPrChange") => in_change = in_change.saturating_sub(1),
        Ev::Close(_) if in_change > 0 => {}
        Ev::Open(e) => match xml::name(e) {
            b"docDefaults" => {
                current = Some(DOC_DEFAULTS.to_owned());
                raw.entry(DOC_DEFAULTS.to_owned()).or_default();
            }
            b"style" => {
                current = attr(e, b"styleId");
                if let Some(id) = &current {
                    raw.entry(id.clone()).or_default();
                    if attr(e, b"type").as_deref() == Some("paragraph")
                        && matches!(attr(e, b"default").as_deref(), Some("1" | "true"))
                    {
                        default_paragraph = Some(id.clone());
                    }
                }
            }
            b"shd" => {
                if let Some(entry) = current.as_ref().and_then(|id| raw.get_mut(id))
                    && attr(e, b"fill").is_some_and(|f| is_dark(&f))
                {
                    entry.dark_fill = true;
                }
            }
            b"basedOn" => {
                if let Some(entry) = current.as_ref().and_then(|id| raw.get_mut(id)) {
                    entry.based_on = attr(e, b"val");
                }
            }
            b"rPr" => in_rpr = true,
            name if in_rpr => {
                let Some(entry) = current.as_ref().and_then(|id| raw.get_mut(id)) else {
                    return;
                };
                let found = match name {
                    b"vanish" | b"specVanish" if on(e) => Some(Hidden::HiddenText),
                    b"color" if run_color(e).is_some_and(|c| is_whitish(&c)) => {
                        Some(Hidden::WhiteText)
                    }
                    b"sz" => attr(e, b"val")
                        .and_then(|v| v.parse::<f64>().ok())
                        .filter(|half| half / 2.0 < TINY_PT)
                        .map(|_| Hidden::TinyFont),
                    _ => None,
                };
                if entry.hidden.is_none() {
                    entry.hidden = found;
                }
            }
            _ => {}
        },
        Ev::Close(b"rPr") => in_rpr = false,
        Ev::Close(b"style" | b"docDefaults") => current = None,
        _ => {}
    })?;
    let mut out = HashMap::new();
    for id in raw.keys() {
        let mut at = Some(id.as_str());
        let mut dark = false;
        for _ in 0..16 {
            let Some(style) = at.and_then(|s| raw.get(s)) else {
                break;
            };
            dark |= style.dark_fill;
            if let Some(h) = style.hidden {
                // White text on the style's own dark shading is legible.
                if !(h == Hidden::WhiteText && dark) {
                    out.insert(id.clone(), h);
                }
                break;
            }
            at = style.based_on.as_deref();
        }
    }
    if let Some(h) = default_paragraph.and_then(|d| out.get(&d).copied()) {
        out.insert(DEFAULT_PARAGRAPH.to_owned(), h);
    }
    Ok(out)
}

/// A run colour, with theme background colours read as the page colour (white).
fn run_color(e: &quick_xml::events::BytesStart<'_>) -> Option<String> {
    if attr(e, b"themeColor").is_some_and(|t| t.starts_with("background")) {
        return Some("FFFFFF".into());
    }
    attr(e, b"val")
}

#[derive(Default)]
struct Run {
    vanish: bool,
    white: bool,
    tiny: bool,
    color: Option<String>,
    fill: Option<String>,
    style: Option<Hidden>,
}

fn docx_part(
    xml: &[u8],
    label: &str,
    all_hidden: Option<Hidden>,
    styles: &HashMap<String, Hidden>,
    sink: &mut Sink,
) -> Result<(), ExtractError> {
    let mut stack: Vec<Para> = Vec::new();
    let mut para_style: Option<Hidden> = None;
    let mut count = 0usize;
    let mut run = Run::default();
    let (mut in_ppr, mut in_rpr, mut in_t) = (false, false, false);
    let mut tracked = 0usize;
    let mut para_fill: Option<String> = None;
    let mut cell_fill: Option<String> = None;
    let mut in_tcpr = false;
    // Formatting inside a tracked formatting change is what the text *was*: not its look now.
    let mut in_change = 0usize;
    let defaults = styles
        .get(DEFAULT_PARAGRAPH)
        .or_else(|| styles.get(DOC_DEFAULTS))
        .copied();
    xml::walk(xml, Format::Docx, |ev| match ev {
        Ev::Open(e) if in_change > 0 || matches!(xml::name(e), b"rPrChange" | b"pPrChange") => {
            if matches!(xml::name(e), b"rPrChange" | b"pPrChange") {
                in_change += 1;
            }
        }
        Ev::Close(b"rPrChange" | b"pPrChange") => in_change = in_change.saturating_sub(1),
        Ev::Close(_) if in_change > 0 => {}
        Ev::Open(e) => match xml::name(e) {
            b"p" => {
                stack.push(Para::default());
                para_fill = None;
                para_style = None;
            }
            b"pStyle" if in_ppr => {
                para_style = attr(e, b"val").and_then(|v| styles.get(&v).copied())
            }
            b"rStyle" if in_rpr => {
                run.style = attr(e, b"val").and_then(|v| styles.get(&v).copied())
            }
            b"pPr" => in_ppr = true,
            b"tcPr" => in_tcpr = true,
            b"r" => run = Run::default(),
            b"rPr" if !in_ppr => in_rpr = true,
            b"vanish" | b"specVanish" if in_rpr => run.vanish = on(e),
            b"color" if in_rpr => run.color = run_color(e),
            b"sz" if in_rpr => {
                if let Some(half) = attr(e, b"val").and_then(|v| v.parse::<f64>().ok()) {
                    run.tiny = half / 2.0 < TINY_PT;
                }
            }
            b"shd" => {
                let fill = attr(e, b"fill").filter(|f| f != "auto");
                if in_rpr {
                    run.fill = fill;
                } else if in_tcpr {
                    cell_fill = fill;
                } else if in_ppr {
                    para_fill = fill;
                }
            }
            b"ins" | b"del" | b"moveFrom" | b"moveTo" => tracked += 1,
            b"t" | b"delText" => in_t = true,
            b"tab" if !in_ppr && !in_rpr => {
                if let Some(p) = stack.last_mut() {
                    p.add(None, "\t");
                }
            }
            b"br" | b"cr" => {
                if let Some(p) = stack.last_mut() {
                    p.add(None, "\n");
                }
            }
            _ => {}
        },
        Ev::Close(name) => match name {
            b"p" => {
                if let Some(p) = stack.pop() {
                    count += 1;
                    p.flush(&format!("{label}paragraph {count}"), sink);
                }
            }
            b"pPr" => in_ppr = false,
            b"tcPr" => in_tcpr = false,
            b"tc" => cell_fill = None,
            b"rPr" if in_rpr => {
                in_rpr = false;
                let background = run
                    .fill
                    .clone()
                    .or_else(|| para_fill.clone())
                    .or_else(|| cell_fill.clone());
                run.white = match (&run.color, &background) {
                    (Some(c), Some(bg)) => {
                        c.eq_ignore_ascii_case(bg) || (is_whitish(c) && !is_dark(bg))
                    }
                    (Some(c), None) => is_whitish(c),
                    _ => false,
                };
            }
            b"ins" | b"del" | b"moveFrom" | b"moveTo" => tracked = tracked.saturating_sub(1),
            b"t" | b"delText" => in_t = false,
            _ => {}
        },
        Ev::Text(text) => {
            if !in_t {
                return;
            }
            let hidden = all_hidden.or(if run.vanish {
                Some(Hidden::HiddenText)
            } else if tracked > 0 {
                Some(Hidden::TrackedChange)
            } else if run.white {
                Some(Hidden::WhiteText)
            } else if run.tiny {
                Some(Hidden::TinyFont)
            } else {
                // A style's white is overridden by a run's own colour.
                run.style.or(para_style).or(defaults).filter(|h| {
                    !(*h == Hidden::WhiteText
                        && run.color.as_deref().is_some_and(|c| !is_whitish(c)))
                })
            });
            if let Some(p) = stack.last_mut() {
                p.add(hidden, text);
            }
        }
    })
}

pub(crate) fn pptx(bytes: &[u8], limits: &Limits, sink: &mut Sink) -> Result<(), ExtractError> {
    let mut zip = Zip::open(bytes, Format::Pptx, limits)?;
    let mut size = (12_192_000i64, 6_858_000i64); // 16:9 default, in EMU
    if let Some(xml) = zip.read("ppt/presentation.xml")? {
        xml::walk(&xml, Format::Pptx, |ev| {
            if let Ev::Open(e) = ev
                && xml::name(e) == b"sldSz"
            {
                let cx = attr(e, b"cx").and_then(|v| v.parse().ok());
                let cy = attr(e, b"cy").and_then(|v| v.parse().ok());
                if let (Some(cx), Some(cy)) = (cx, cy) {
                    size = (cx, cy);
                }
            }
        })?;
    }
    for name in zip.matching("ppt/slides/slide", ".xml") {
        if let Some(xml) = zip.read(&name)? {
            let label = format!("slide {}", number_in(&name));
            slide(&xml, &label, size, None, sink)?;
        }
    }
    for name in zip.matching("ppt/notesSlides/notesSlide", ".xml") {
        if let Some(xml) = zip.read(&name)? {
            let label = format!("notes {}", number_in(&name));
            slide(&xml, &label, size, Some(Hidden::SpeakerNotes), sink)?;
        }
    }
    for name in zip.matching("ppt/comments/", ".xml") {
        if let Some(xml) = zip.read(&name)? {
            comments(
                &xml,
                &format!("comments {}", number_in(&name)),
                Format::Pptx,
                sink,
            )?;
        }
    }
    metadata(&mut zip, Format::Pptx, sink)?;
    Ok(())
}

#[derive(Default)]
struct Shape {
    off: Option<(i64, i64)>,
    ext: Option<(i64, i64)>,
    dark_fill: bool,
}

fn slide(
    xml: &[u8],
    label: &str,
    (width, height): (i64, i64),
    all_hidden: Option<Hidden>,
    sink: &mut Sink,
) -> Result<(), ExtractError> {
    let mut hidden_slide = false;
    let mut dark_background = false;
    let (mut in_bg, mut in_sppr, mut in_rpr, mut in_fill, mut in_t, mut in_ln) =
        (false, false, false, false, false, false);
    let mut shape = Shape::default();
    let mut run_white = false;
    let mut run_tiny = false;
    let mut para: Option<Para> = None;
    xml::walk(xml, Format::Pptx, |ev| match ev {
        Ev::Open(e) => match xml::name(e) {
            b"sld" => hidden_slide = attr(e, b"show").is_some_and(|v| v == "0" || v == "false"),
            b"bg" => in_bg = true,
            b"sp" | b"graphicFrame" | b"cxnSp" => shape = Shape::default(),
            b"spPr" => in_sppr = true,
            b"ln" => in_ln = true,
            b"off" if in_sppr => {
                shape.off = attr(e, b"x")
                    .and_then(|x| x.parse().ok())
                    .zip(attr(e, b"y").and_then(|y| y.parse().ok()));
            }
            b"ext" if in_sppr => {
                shape.ext = attr(e, b"cx")
                    .and_then(|x| x.parse().ok())
                    .zip(attr(e, b"cy").and_then(|y| y.parse().ok()));
            }
            b"solidFill" => in_fill = true,
            b"srgbClr" if in_fill => {
                let val = attr(e, b"val").unwrap_or_default();
                if in_bg {
                    dark_background = is_dark(&val);
                } else if in_rpr {
                    run_white = is_whitish(&val);
                } else if in_sppr && !in_ln {
                    shape.dark_fill = is_dark(&val);
                }
            }
            b"schemeClr" if in_fill && in_rpr => {
                // Text drawn in the background colour of the theme.
                run_white = matches!(attr(e, b"val").as_deref(), Some("bg1" | "bg2"));
            }
            b"p" => para = Some(Para::default()),
            b"r" | b"fld" => {
                run_white = false;
                run_tiny = false;
            }
            b"rPr" => {
                in_rpr = true;
                if let Some(sz) = attr(e, b"sz").and_then(|v| v.parse::<f64>().ok()) {
                    run_tiny = sz / 100.0 < TINY_PT;
                }
            }
            b"t" => in_t = true,
            b"br" => {
                if let Some(p) = para.as_mut() {
                    p.add(None, "\n");
                }
            }
            _ => {}
        },
        Ev::Close(name) => match name {
            b"bg" => in_bg = false,
            b"spPr" => in_sppr = false,
            b"ln" => in_ln = false,
            b"solidFill" => in_fill = false,
            b"rPr" => in_rpr = false,
            b"t" => in_t = false,
            b"p" => {
                if let Some(p) = para.take() {
                    p.flush(label, sink);
                }
            }
            _ => {}
        },
        Ev::Text(text) => {
            if !in_t {
                return;
            }
            let off_slide = match (shape.off, shape.ext) {
                (Some((x, y)), ext) => {
                    let (cx, cy) = ext.unwrap_or((0, 0));
                    x.saturating_add(cx) <= 0
                        || y.saturating_add(cy) <= 0
                        || x >= width
                        || y >= height
                }
                _ => false,
            };
            let hidden = all_hidden.or(if hidden_slide {
                Some(Hidden::HiddenSlide)
            } else if off_slide {
                Some(Hidden::OffSlide)
            } else if run_white && !dark_background && !shape.dark_fill {
                Some(Hidden::WhiteText)
            } else if run_tiny {
                Some(Hidden::TinyFont)
            } else {
                None
            });
            if let Some(p) = para.as_mut() {
                p.add(hidden, text);
            }
        }
    })
}

/// Comment parts: one hidden part per comment element (`cm`, `comment`), all its text.
pub(crate) fn comments(
    xml: &[u8],
    label: &str,
    format: Format,
    sink: &mut Sink,
) -> Result<(), ExtractError> {
    let mut text = String::new();
    let mut depth = 0usize;
    let mut count = 0usize;
    xml::walk(xml, format, |ev| match ev {
        Ev::Open(e) => {
            if matches!(xml::name(e), b"cm" | b"comment" | b"threadedComment") {
                depth += 1;
            }
            if depth > 0 && matches!(xml::name(e), b"p" | b"br") {
                text.push('\n');
            }
        }
        Ev::Close(name) => {
            if matches!(name, b"cm" | b"comment" | b"threadedComment") && depth > 0 {
                depth -= 1;
                if depth == 0 {
                    count += 1;
                    sink.push(
                        format!("{label}, comment {count}"),
                        &text,
                        Some(Hidden::Comment),
                    );
                    text.clear();
                }
            }
        }
        Ev::Text(t) => {
            if depth > 0 {
                text.push_str(t);
            }
        }
    })
}

/// `docProps/core.xml` fields and `docProps/custom.xml` properties as metadata parts.
pub(crate) fn metadata(
    zip: &mut Zip<'_>,
    format: Format,
    sink: &mut Sink,
) -> Result<(), ExtractError> {
    if let Some(xml) = zip.read("docProps/core.xml")? {
        let mut field: Option<String> = None;
        xml::walk(&xml, format, |ev| match ev {
            Ev::Open(e) => field = Some(String::from_utf8_lossy(xml::name(e)).into_owned()),
            Ev::Close(_) => field = None,
            Ev::Text(t) => {
                if let Some(f) = &field
                    && !matches!(
                        f.as_str(),
                        "created" | "modified" | "revision" | "lastPrinted"
                    )
                {
                    sink.push(format!("metadata {f}"), t, Some(Hidden::Metadata));
                }
            }
        })?;
    }
    if let Some(xml) = zip.read("docProps/custom.xml")? {
        let mut property = String::new();
        let mut in_value = false;
        xml::walk(&xml, format, |ev| match ev {
            Ev::Open(e) => {
                if xml::name(e) == b"property" {
                    property = attr(e, b"name").unwrap_or_default();
                } else if !property.is_empty() {
                    in_value = true;
                }
            }
            Ev::Close(_) => in_value = false,
            Ev::Text(t) => {
                if in_value {
                    sink.push(
                        format!("metadata custom property {property}"),
                        t,
                        Some(Hidden::Metadata),
                    );
                }
            }
        })?;
    }
    Ok(())
}
