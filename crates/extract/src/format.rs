//! Telling formats apart: magic bytes first (PDF, zip containers by the entries they hold,
//! OLE compound files), then the file name's extension, then a look at the text.

use serde::Serialize;

use crate::ExtractError;

/// A format covault extracts text from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Pdf,
    Docx,
    Pptx,
    /// XLSX and XLSM.
    Xlsx,
    Odt,
    Ods,
    Html,
    Markdown,
    /// An RFC 5322 message (EML) with its MIME parts and attachments.
    Email,
    Csv,
    Tsv,
    Json,
    Yaml,
    Toml,
    /// Plain text in any common encoding.
    #[default]
    Text,
    /// An OLE compound file: an encrypted Office document, or a legacy binary one.
    OleCompound,
    /// Binary content of no format covault reads.
    Binary,
}

const OLE_MAGIC: &[u8] = &[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
const ZIP_MAGIC: &[u8] = b"PK\x03\x04";

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Pdf => "PDF",
            Format::Docx => "DOCX",
            Format::Pptx => "PPTX",
            Format::Xlsx => "XLSX",
            Format::Odt => "ODT",
            Format::Ods => "ODS",
            Format::Html => "HTML",
            Format::Markdown => "Markdown",
            Format::Email => "email",
            Format::Csv => "CSV",
            Format::Tsv => "TSV",
            Format::Json => "JSON",
            Format::Yaml => "YAML",
            Format::Toml => "TOML",
            Format::Text => "text",
            Format::OleCompound => "OLE compound",
            Format::Binary => "binary",
        }
    }

    /// Decides the format of `bytes` (the whole content, or at least its first 8 KiB).
    pub fn detect(bytes: &[u8], name: Option<&str>) -> Format {
        let ext = extension(name);
        // The header may follow junk within the first KiB (as readers allow) only when the
        // name says PDF; otherwise it must open the file.
        let head = &bytes[..bytes.len().min(1024)];
        if bytes.starts_with(b"%PDF-") || (ext == "pdf" && memfind(head, b"%PDF-").is_some()) {
            return Format::Pdf;
        }
        if bytes.starts_with(OLE_MAGIC) {
            return Format::OleCompound;
        }
        if bytes.starts_with(ZIP_MAGIC) {
            // A zip is what its entries say; a name only helps when it names a zip format
            // (so a damaged DOCX is reported as a damaged DOCX), never a text one.
            let zipped = by_extension(&ext).filter(|f| {
                matches!(
                    f,
                    Format::Docx | Format::Xlsx | Format::Pptx | Format::Odt | Format::Ods
                )
            });
            return zip_kind(bytes).or(zipped).unwrap_or(Format::Binary);
        }
        let utf16 = crate::text::utf16_order(bytes).is_some();
        if !utf16 && bytes[..bytes.len().min(8192)].contains(&0) {
            return Format::Binary;
        }
        if let Some(f) = by_extension(&ext) {
            return f;
        }
        let text = if utf16 {
            crate::text::decode_text(&bytes[..bytes.len().min(8192)])
        } else {
            String::from_utf8_lossy(&bytes[..bytes.len().min(8192)]).into_owned()
        };
        let start = text.trim_start_matches(['\u{feff}', ' ', '\t', '\r', '\n']);
        let lower: String = start
            .chars()
            .take(15)
            .collect::<String>()
            .to_ascii_lowercase();
        if lower.starts_with("<!doctype html") || lower.starts_with("<html") {
            return Format::Html;
        }
        if looks_like_email(start) {
            return Format::Email;
        }
        Format::Text
    }

    /// True when the store must hold the whole content and extract it rather than scan the
    /// bytes as they stream: document containers, markup that can hide text, messages, and
    /// text in an encoding the byte scanner does not read (UTF-16).
    pub fn wants_whole(prefix: &[u8], name: Option<&str>) -> bool {
        // Containers are decided on the whole content, whatever they are named.
        if crate::text::utf16_order(prefix).is_some()
            || prefix.starts_with(ZIP_MAGIC)
            || prefix.starts_with(OLE_MAGIC)
            || prefix.starts_with(b"%PDF-")
        {
            return true;
        }
        match Format::detect(prefix, name) {
            Format::Pdf
            | Format::Docx
            | Format::Pptx
            | Format::Xlsx
            | Format::Odt
            | Format::Ods
            | Format::Html
            | Format::Markdown
            | Format::Email
            | Format::OleCompound => true,
            // A zip whose directory is not in the prefix: decided when the whole is seen.
            Format::Binary => prefix.starts_with(ZIP_MAGIC),
            _ => false,
        }
    }
}

fn extension(name: Option<&str>) -> String {
    name.and_then(|n| n.rsplit('/').next())
        .and_then(|n| n.rsplit_once('.'))
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default()
}

fn by_extension(ext: &str) -> Option<Format> {
    Some(match ext {
        "pdf" => Format::Pdf,
        "docx" | "docm" | "dotx" => Format::Docx,
        "pptx" | "pptm" => Format::Pptx,
        "xlsx" | "xlsm" => Format::Xlsx,
        "odt" => Format::Odt,
        "ods" => Format::Ods,
        "html" | "htm" | "xhtml" => Format::Html,
        "md" | "markdown" => Format::Markdown,
        "eml" => Format::Email,
        "csv" => Format::Csv,
        "tsv" | "tab" => Format::Tsv,
        "json" => Format::Json,
        "yaml" | "yml" => Format::Yaml,
        "toml" => Format::Toml,
        "txt" | "text" | "log" => Format::Text,
        _ => return None,
    })
}

/// Names a zip container by the entries it holds (its central directory must be present).
fn zip_kind(bytes: &[u8]) -> Option<Format> {
    let archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).ok()?;
    let has = |n: &str| archive.index_for_name(n).is_some();
    if has("word/document.xml") {
        return Some(Format::Docx);
    }
    if has("xl/workbook.xml") {
        return Some(Format::Xlsx);
    }
    if has("ppt/presentation.xml") {
        return Some(Format::Pptx);
    }
    // OpenDocument stores its media type uncompressed as the first entry.
    let head = &bytes[..bytes.len().min(200)];
    if memfind(head, b"application/vnd.oasis.opendocument.spreadsheet").is_some() {
        return Some(Format::Ods);
    }
    if memfind(head, b"application/vnd.oasis.opendocument.text").is_some() {
        return Some(Format::Odt);
    }
    None
}

fn looks_like_email(text: &str) -> bool {
    const HEADERS: &[&str] = &[
        "from:",
        "to:",
        "subject:",
        "date:",
        "message-id:",
        "mime-version:",
        "received:",
        "return-path:",
        "content-type:",
        "delivered-to:",
    ];
    let mut known = 0;
    for line in text.lines().take(40) {
        if line.is_empty() {
            break;
        }
        if line.starts_with([' ', '\t']) {
            continue;
        }
        let lower = line.to_ascii_lowercase();
        if HEADERS.iter().any(|h| lower.starts_with(h)) {
            known += 1;
        } else if !line.contains(':') {
            return false;
        }
    }
    known >= 2
}

pub(crate) fn memfind(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// What an OLE compound file is: an encrypted OOXML document carries an `EncryptionInfo`
/// stream; anything else is a legacy binary format covault does not read.
pub(crate) fn ole_error(bytes: &[u8]) -> ExtractError {
    let marker: Vec<u8> = "EncryptionInfo"
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    if memfind(bytes, &marker).is_some() {
        ExtractError::Encrypted { format: "Office" }
    } else {
        ExtractError::Unsupported(
            "legacy binary Office or Outlook files (.doc, .xls, .ppt, .msg) are not read; \
             save them as DOCX, XLSX or PPTX"
                .into(),
        )
    }
}
