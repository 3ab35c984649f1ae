//! Document text extraction: what a person (or a model) would read in a PDF, DOCX, XLSX/XLSM,
//! PPTX, ODT/ODS, HTML, Markdown, EML/MIME message, CSV/TSV, JSON/YAML/TOML or plain-text file,
//! with a location for every piece (page, sheet and cell, slide, paragraph, line), and — as
//! carefully — what they would *not* see: white or tiny text, hidden runs, sheets, rows and
//! columns, comments, tracked changes, speaker notes, off-slide shapes, HTML comments and
//! `display:none`, PDF text that is invisible or outside the page, metadata fields.
//!
//! No I/O and no async: callers hand in bytes. Parsing runs on a worker thread under a
//! deadline, so a parser that panics or spins becomes an [`ExtractError`], never a crash or a
//! hang of the caller; every input, archive entry, text and cell count is bounded
//! ([`Limits`]). [`scan_document`] runs the content scanner over the result and turns hidden
//! parts into `HIDDEN_CONTENT` findings that weigh on the injection score.

mod email;
mod format;
mod html;
mod odf;
mod ooxml;
mod pdf;
mod scan;
mod sink;
mod text;
mod xlsx;
mod xml;
mod zipped;

use std::sync::mpsc;
use std::time::Duration;

use serde::Serialize;

pub use format::Format;
pub use scan::{DocumentScan, HIDDEN_INJECTION_SCORE, LocatedFinding, scan_document};
pub use text::decode_text;

/// Bounds on every extraction. The defaults suit a workspace write; they are all checked
/// before the memory they protect is spent.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Largest input handed to a parser.
    pub max_input: usize,
    /// Extracted text kept in all (further text is dropped and the document marked truncated).
    pub max_text: usize,
    /// Uncompressed bytes read from one archive entry.
    pub max_entry: u64,
    /// Uncompressed bytes read from one archive in all.
    pub max_unpacked: u64,
    /// Largest uncompressed/compressed ratio of an archive entry over 1 MiB (zip bombs).
    pub max_ratio: u64,
    /// Entries in one archive.
    pub max_entries: usize,
    /// Nesting of attachments and embedded messages.
    pub max_depth: u8,
    /// Spreadsheet cells read in all.
    pub max_cells: usize,
    /// PDF pages read.
    pub max_pages: u32,
    /// Wall-clock time for one extraction.
    pub timeout: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_input: 64 << 20,
            max_text: 32 << 20,
            max_entry: 256 << 20,
            max_unpacked: 512 << 20,
            max_ratio: 200,
            max_entries: 10_000,
            max_depth: 3,
            max_cells: 2_000_000,
            max_pages: 5_000,
            timeout: Duration::from_secs(30),
        }
    }
}

/// Why a piece of text would not be seen by a person reading the document normally.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Hidden {
    /// Text coloured white or near the background.
    WhiteText,
    /// Text in a font too small to read (under 4 pt).
    TinyFont,
    /// A run or paragraph marked hidden (`w:vanish`, `text:hidden-*`, `text:display="none"`).
    HiddenText,
    /// A sheet marked hidden.
    HiddenSheet,
    /// A sheet marked very hidden (only a macro or XML edit can show it).
    VeryHiddenSheet,
    /// A hidden spreadsheet row.
    HiddenRow,
    /// A hidden spreadsheet column.
    HiddenColumn,
    /// A comment or annotation.
    Comment,
    /// An insertion or deletion recorded as a tracked change.
    TrackedChange,
    /// Presenter notes of a slide.
    SpeakerNotes,
    /// A shape placed outside the slide.
    OffSlide,
    /// A slide that is not shown in the presentation.
    HiddenSlide,
    /// An HTML (or Markdown) comment.
    HtmlComment,
    /// An element styled `display:none`, `visibility:hidden` or `opacity:0`, or with the
    /// `hidden` attribute.
    DisplayNone,
    /// An element of zero size, or positioned far off the page.
    ZeroSize,
    /// PDF text drawn in the invisible rendering mode (`3 Tr`).
    InvisibleText,
    /// PDF text placed outside the page's media box.
    OutsidePage,
    /// A metadata field (title, author, subject, keywords, description).
    Metadata,
}

impl Hidden {
    /// A stable id (the finding's detector: `hidden-white-text`, …).
    pub fn detector(self) -> &'static str {
        match self {
            Hidden::WhiteText => "hidden-white-text",
            Hidden::TinyFont => "hidden-tiny-font",
            Hidden::HiddenText => "hidden-text",
            Hidden::HiddenSheet => "hidden-sheet",
            Hidden::VeryHiddenSheet => "hidden-very-hidden-sheet",
            Hidden::HiddenRow => "hidden-row",
            Hidden::HiddenColumn => "hidden-column",
            Hidden::Comment => "hidden-comment",
            Hidden::TrackedChange => "hidden-tracked-change",
            Hidden::SpeakerNotes => "hidden-speaker-notes",
            Hidden::OffSlide => "hidden-off-slide",
            Hidden::HiddenSlide => "hidden-slide",
            Hidden::HtmlComment => "hidden-html-comment",
            Hidden::DisplayNone => "hidden-display-none",
            Hidden::ZeroSize => "hidden-zero-size",
            Hidden::InvisibleText => "hidden-invisible-text",
            Hidden::OutsidePage => "hidden-outside-page",
            Hidden::Metadata => "hidden-metadata",
        }
    }

    /// Words for a person ("white text", "a hidden sheet").
    pub fn describe(self) -> &'static str {
        match self {
            Hidden::WhiteText => "white or background-coloured text",
            Hidden::TinyFont => "text in a tiny font",
            Hidden::HiddenText => "text marked hidden",
            Hidden::HiddenSheet => "a hidden sheet",
            Hidden::VeryHiddenSheet => "a very hidden sheet",
            Hidden::HiddenRow => "a hidden row",
            Hidden::HiddenColumn => "a hidden column",
            Hidden::Comment => "a comment",
            Hidden::TrackedChange => "a tracked change",
            Hidden::SpeakerNotes => "speaker notes",
            Hidden::OffSlide => "a shape outside the slide",
            Hidden::HiddenSlide => "a hidden slide",
            Hidden::HtmlComment => "an HTML comment",
            Hidden::DisplayNone => "an element that is not displayed",
            Hidden::ZeroSize => "a zero-size or off-page element",
            Hidden::InvisibleText => "invisible PDF text",
            Hidden::OutsidePage => "text outside the page",
            Hidden::Metadata => "a metadata field",
        }
    }
}

/// One piece of a document's text and where it is.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Part {
    /// Where a person finds it: `page 2`, `sheet Sales!B7`, `slide 3`, `paragraph 14`,
    /// `line 5`, prefixed by `attachment NAME › ` inside messages.
    pub location: String,
    pub text: String,
    /// Set when a person reading the document would not see this text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hidden: Option<Hidden>,
}

/// The text of one document.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Document {
    pub format: Format,
    pub parts: Vec<Part>,
    /// Things a reviewer should know that are not failures: a limit reached, a feature not
    /// examined (e.g. an attachment nested too deeply).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Some text was dropped at [`Limits::max_text`] or another limit.
    pub truncated: bool,
    /// Pieces that could not be read (an encrypted or malformed attachment, one nested too
    /// deeply); the notes say which. A document with any is not fully examined.
    pub unread: usize,
}

impl Document {
    /// Bytes of text extracted.
    pub fn text_len(&self) -> usize {
        self.parts.iter().map(|p| p.text.len()).sum()
    }

    /// Parts a reader would not see.
    pub fn hidden(&self) -> impl Iterator<Item = &Part> {
        self.parts.iter().filter(|p| p.hidden.is_some())
    }

    /// All text, one part per line block, hidden parts labelled as such — what the gateway
    /// puts into a prompt for a `covault://` reference.
    pub fn to_prompt_text(&self) -> String {
        let mut out = String::with_capacity(self.text_len() + self.parts.len() * 2);
        for part in &self.parts {
            if !out.is_empty() {
                out.push('\n');
            }
            if let Some(h) = part.hidden {
                out.push_str("[hidden in the document: ");
                out.push_str(h.describe());
                out.push_str(", ");
                out.push_str(&part.location);
                out.push_str("] ");
            }
            out.push_str(&part.text);
        }
        out
    }
}

/// Why a document could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ExtractError {
    #[error("the {format} file is encrypted; its content cannot be examined")]
    Encrypted { format: &'static str },
    #[error("the {format} file is malformed: {reason}")]
    Malformed {
        format: &'static str,
        reason: String,
    },
    #[error("{what} exceeds the limit of {limit}")]
    Limit { what: String, limit: u64 },
    #[error("{0}")]
    Unsupported(String),
    #[error("extraction did not finish within {0:?}")]
    Timeout(Duration),
    #[error("the {format} parser failed unexpectedly")]
    Crashed { format: &'static str },
}

impl ExtractError {
    /// A short stable code (`encrypted`, `malformed`, `limit`, `unsupported`, `timeout`,
    /// `crashed`) for summaries and audit events.
    pub fn code(&self) -> &'static str {
        match self {
            ExtractError::Encrypted { .. } => "encrypted",
            ExtractError::Malformed { .. } => "malformed",
            ExtractError::Limit { .. } => "limit",
            ExtractError::Unsupported(_) => "unsupported",
            ExtractError::Timeout(_) => "timeout",
            ExtractError::Crashed { .. } => "crashed",
        }
    }

    pub(crate) fn malformed(format: Format, reason: impl std::fmt::Display) -> ExtractError {
        let mut reason = reason.to_string();
        // Parser messages can quote input; keep them short and free of long runs of content.
        if reason.len() > 160 {
            let mut cut = 160;
            while !reason.is_char_boundary(cut) {
                cut -= 1;
            }
            reason.truncate(cut);
            reason.push('…');
        }
        ExtractError::Malformed {
            format: format.name(),
            reason,
        }
    }
}

/// Extracts `bytes` on a worker thread, bounded by `limits.timeout`. `name` (a file name or
/// path) helps tell formats apart where content alone cannot (CSV, Markdown, YAML).
///
/// A parser that panics yields [`ExtractError::Crashed`]; one that overruns the deadline
/// yields [`ExtractError::Timeout`] (its thread is left to finish on its own and its result
/// is discarded).
pub fn extract(
    bytes: &[u8],
    name: Option<&str>,
    limits: &Limits,
) -> Result<Document, ExtractError> {
    let format = Format::detect(bytes, name);
    extract_as(bytes, format, limits)
}

/// [`extract`] with the format already decided.
pub fn extract_as(bytes: &[u8], format: Format, limits: &Limits) -> Result<Document, ExtractError> {
    if bytes.len() > limits.max_input {
        return Err(ExtractError::Limit {
            what: format!("a {} file of {} bytes", format.name(), bytes.len()),
            limit: limits.max_input as u64,
        });
    }
    let started = std::time::Instant::now();
    let slot = Slot::acquire(limits.timeout).ok_or(ExtractError::Timeout(limits.timeout))?;
    let (tx, rx) = mpsc::sync_channel(1);
    let input = bytes.to_vec();
    let worker_limits = limits.clone();
    let spawned = std::thread::Builder::new()
        .name(WORKER_THREAD.into())
        .spawn(move || {
            let _slot = slot;
            let result = extract_here(&input, format, &worker_limits, 0);
            let _ = tx.send(result);
        });
    if spawned.is_err() {
        return Err(ExtractError::Unsupported(
            "no thread available for extraction".into(),
        ));
    }
    match rx.recv_timeout(limits.timeout.saturating_sub(started.elapsed())) {
        Ok(result) => result,
        Err(mpsc::RecvTimeoutError::Timeout) => Err(ExtractError::Timeout(limits.timeout)),
        Err(mpsc::RecvTimeoutError::Disconnected) => Err(ExtractError::Crashed {
            format: format.name(),
        }),
    }
}

/// The name of extraction worker threads (a panic hook can recognise them).
pub const WORKER_THREAD: &str = "covault-extract";

/// Extraction workers that may run at once in a process. A worker that overran its deadline
/// keeps its slot until its parser finishes, so hostile documents can tie up at most this
/// many threads; further extractions wait (within their own deadline) and then time out —
/// which the store treats as a document that cannot be examined.
pub const MAX_WORKERS: usize = 8;

static WORKERS: std::sync::Mutex<usize> = std::sync::Mutex::new(0);
static WORKER_FREED: std::sync::Condvar = std::sync::Condvar::new();

/// A held worker slot, given back when dropped (also when the worker panics).
struct Slot;

impl Slot {
    fn acquire(timeout: Duration) -> Option<Slot> {
        let deadline = std::time::Instant::now() + timeout;
        let mut busy = WORKERS
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        while *busy >= MAX_WORKERS {
            let left = deadline.checked_duration_since(std::time::Instant::now())?;
            busy = WORKER_FREED
                .wait_timeout(busy, left)
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .0;
        }
        *busy += 1;
        Some(Slot)
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut busy = WORKERS
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *busy = busy.saturating_sub(1);
        WORKER_FREED.notify_one();
    }
}

/// Extraction on the calling thread, with no deadline and panics not caught: for fuzzers,
/// which must see a panic. Everything else calls [`extract`] or [`extract_as`].
#[doc(hidden)]
pub fn extract_inline(
    bytes: &[u8],
    format: Format,
    limits: &Limits,
) -> Result<Document, ExtractError> {
    extract_here(bytes, format, limits, 0)
}

/// Extraction on the current thread (used for nested attachments, which already run on the
/// worker).
pub(crate) fn extract_here(
    bytes: &[u8],
    format: Format,
    limits: &Limits,
    depth: u8,
) -> Result<Document, ExtractError> {
    let mut sink = sink::Sink::new(limits.max_text);
    match format {
        Format::Pdf => pdf::extract(bytes, limits, &mut sink)?,
        Format::Docx => ooxml::docx(bytes, limits, &mut sink)?,
        Format::Pptx => ooxml::pptx(bytes, limits, &mut sink)?,
        Format::Xlsx => xlsx::extract(bytes, limits, &mut sink)?,
        Format::Odt => odf::odt(bytes, limits, &mut sink)?,
        Format::Ods => odf::ods(bytes, limits, &mut sink)?,
        Format::Html | Format::Markdown => {
            let text = text::decode_text(bytes);
            html::extract(&text, format, &mut sink);
        }
        Format::Email => email::extract(bytes, limits, depth, &mut sink)?,
        Format::Csv | Format::Tsv => text::delimited(bytes, format, limits, &mut sink)?,
        Format::Json | Format::Yaml | Format::Toml => text::data(bytes, format, &mut sink)?,
        Format::Text => text::plain(bytes, &mut sink),
        Format::OleCompound => return Err(format::ole_error(bytes)),
        Format::Binary => {
            return Err(ExtractError::Unsupported(
                "binary content of no document format covault reads".into(),
            ));
        }
    }
    Ok(sink.finish(format))
}
