//! XLSX/XLSM workbooks: cell values streamed by calamine (never a dense range, so a sheet
//! that claims a million rows costs only the cells it has), one part per row; hidden and
//! very hidden sheets, hidden rows and columns (read from the sheet XML), cells whose font is
//! white on a light fill or under 4 pt, comments and metadata are hidden parts.

use std::collections::{HashMap, HashSet};
use std::io::Cursor;

use calamine::{DataRef, Reader, SheetVisible, Xlsx};

use crate::ooxml::{TINY_PT, comments, metadata};
use crate::sink::Sink;
use crate::xml::{self, Ev, attr};
use crate::zipped::{Zip, number_in};
use crate::{ExtractError, Format, Hidden, Limits};

#[derive(Default)]
struct SheetLayout {
    hidden_rows: HashSet<u32>,
    hidden_cols: Vec<(u32, u32)>,
}

pub(crate) fn extract(bytes: &[u8], limits: &Limits, sink: &mut Sink) -> Result<(), ExtractError> {
    // Our own pass first: container limits (calamine inflates entries itself), layout flags
    // calamine does not expose, comments and metadata.
    let mut zip = Zip::open(bytes, Format::Xlsx, limits)?;
    let layouts = layouts(&mut zip)?;
    let mut book: Xlsx<_> =
        Xlsx::new(Cursor::new(bytes)).map_err(|e| ExtractError::malformed(Format::Xlsx, e))?;
    let sheets = book.sheets_metadata().to_vec();
    let mut cells = 0usize;
    'sheets: for sheet in sheets {
        let sheet_hidden = match sheet.visible {
            SheetVisible::Visible => None,
            SheetVisible::Hidden => Some(Hidden::HiddenSheet),
            SheetVisible::VeryHidden => Some(Hidden::VeryHiddenSheet),
        };
        let layout = layouts.get(&sheet.name);
        let mut reader = match book.worksheet_cells_reader(&sheet.name) {
            Ok(r) => r,
            // Chart sheets and dialog sheets have no cells.
            Err(calamine::XlsxError::WorksheetNotFound(_)) => continue,
            Err(e) => return Err(ExtractError::malformed(Format::Xlsx, e)),
        };
        let mut row_text = String::new();
        let mut current_row: Option<u32> = None;
        loop {
            let next = reader.next_cell_with_style_id().map_err(|e| {
                ExtractError::malformed(Format::Xlsx, format!("sheet {}: {e}", sheet.name))
            })?;
            let Some((cell, style)) = next else { break };
            let (row, col) = cell.get_position();
            if current_row != Some(row) {
                if let Some(r) = current_row {
                    sink.push(
                        format!("sheet {}, row {}", sheet.name, r + 1),
                        &row_text,
                        sheet_hidden,
                    );
                }
                row_text.clear();
                current_row = Some(row);
            }
            let value = match cell.get_value() {
                DataRef::Empty => continue,
                DataRef::SharedString(s) => (*s).to_owned(),
                DataRef::String(s) | DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => s.clone(),
                DataRef::Int(i) => i.to_string(),
                DataRef::Float(f) => f.to_string(),
                DataRef::Bool(_) | DataRef::Error(_) => continue,
                DataRef::DateTime(d) => d.to_string(),
            };
            cells += 1;
            if cells > limits.max_cells {
                sink.note(format!("stopped after {} cells", limits.max_cells));
                sink.truncate();
                break 'sheets;
            }
            let hidden = sheet_hidden
                .or_else(|| {
                    let layout = layout?;
                    if layout.hidden_rows.contains(&(row + 1)) {
                        Some(Hidden::HiddenRow)
                    } else if layout
                        .hidden_cols
                        .iter()
                        .any(|&(a, b)| (a..=b).contains(&(col + 1)))
                    {
                        Some(Hidden::HiddenColumn)
                    } else {
                        None
                    }
                })
                .or_else(|| style_hidden(reader.styles().get(style)));
            match hidden {
                Some(h) if sheet_hidden.is_none() => sink.push(
                    format!("sheet {}, cell {}", sheet.name, cell_ref(row, col)),
                    &value,
                    Some(h),
                ),
                _ => {
                    if !row_text.is_empty() {
                        row_text.push('\t');
                    }
                    row_text.push_str(&value);
                }
            }
            if !sink.has_room() {
                break 'sheets;
            }
        }
        if let Some(r) = current_row {
            sink.push(
                format!("sheet {}, row {}", sheet.name, r + 1),
                &row_text,
                sheet_hidden,
            );
        }
    }
    for prefix in ["xl/comments", "xl/threadedComments/"] {
        for name in zip.matching(prefix, ".xml") {
            if let Some(xml) = zip.read(&name)? {
                comments(
                    &xml,
                    &format!("comments {}", number_in(&name)),
                    Format::Xlsx,
                    sink,
                )?;
            }
        }
    }
    metadata(&mut zip, Format::Xlsx, sink)?;
    Ok(())
}

fn style_hidden(style: Option<&calamine::Style>) -> Option<Hidden> {
    let font = style?.font.as_ref()?;
    if font.size.is_some_and(|s| s > 0.0 && s < TINY_PT) {
        return Some(Hidden::TinyFont);
    }
    let color = font.color.as_ref()?;
    let light = |c: &calamine::Color| c.red >= 0xF0 && c.green >= 0xF0 && c.blue >= 0xF0;
    let dark_fill = style
        .and_then(|s| s.fill.as_ref())
        .and_then(|f| f.foreground_color.as_ref())
        .is_some_and(|c| {
            (u32::from(c.red) * 299 + u32::from(c.green) * 587 + u32::from(c.blue) * 114) / 1000
                < 160
        });
    (light(color) && !dark_fill).then_some(Hidden::WhiteText)
}

/// `A1`-style reference of a zero-based cell position.
fn cell_ref(row: u32, col: u32) -> String {
    let mut letters = Vec::new();
    let mut n = col + 1;
    while n > 0 {
        let rem = (n - 1) % 26;
        letters.push(b'A' + rem as u8);
        n = (n - 1) / 26;
    }
    letters.reverse();
    format!("{}{}", String::from_utf8_lossy(&letters), row + 1)
}

/// Hidden rows and columns per sheet name, from `workbook.xml`, its relationships and each
/// sheet's XML (only the `<row>` and `<col>` elements matter).
fn layouts(zip: &mut Zip<'_>) -> Result<HashMap<String, SheetLayout>, ExtractError> {
    let mut sheets: Vec<(String, String)> = Vec::new();
    if let Some(xml) = zip.read("xl/workbook.xml")? {
        xml::walk(&xml, Format::Xlsx, |ev| {
            if let Ev::Open(e) = ev
                && xml::name(e) == b"sheet"
                && let (Some(name), Some(id)) = (attr(e, b"name"), attr(e, b"id"))
            {
                sheets.push((name, id));
            }
        })?;
    }
    let mut targets: HashMap<String, String> = HashMap::new();
    if let Some(xml) = zip.read("xl/_rels/workbook.xml.rels")? {
        xml::walk(&xml, Format::Xlsx, |ev| {
            if let Ev::Open(e) = ev
                && xml::name(e) == b"Relationship"
                && let (Some(id), Some(target)) = (attr(e, b"Id"), attr(e, b"Target"))
            {
                let path = match target.strip_prefix('/') {
                    Some(absolute) => absolute.to_owned(),
                    None => format!("xl/{target}"),
                };
                targets.insert(id, path);
            }
        })?;
    }
    let mut out = HashMap::new();
    for (name, id) in sheets {
        let Some(path) = targets.get(&id) else {
            continue;
        };
        let Some(xml) = zip.read(path)? else { continue };
        let mut layout = SheetLayout::default();
        let mut in_data = false;
        xml::walk(&xml, Format::Xlsx, |ev| match ev {
            Ev::Open(e) => match xml::name(e) {
                b"sheetData" => in_data = true,
                b"col" if hidden_attr(e) => {
                    let min = attr(e, b"min").and_then(|v| v.parse().ok()).unwrap_or(0);
                    let max = attr(e, b"max").and_then(|v| v.parse().ok()).unwrap_or(min);
                    layout.hidden_cols.push((min, max));
                }
                b"row" if in_data && hidden_attr(e) => {
                    if let Some(r) = attr(e, b"r").and_then(|v| v.parse().ok()) {
                        layout.hidden_rows.insert(r);
                    }
                }
                _ => {}
            },
            Ev::Close(b"sheetData") => in_data = false,
            _ => {}
        })?;
        out.insert(name, layout);
    }
    Ok(out)
}

fn hidden_attr(e: &quick_xml::events::BytesStart<'_>) -> bool {
    matches!(attr(e, b"hidden").as_deref(), Some("1" | "true"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn cell_references() {
        assert_eq!(super::cell_ref(0, 0), "A1");
        assert_eq!(super::cell_ref(6, 1), "B7");
        assert_eq!(super::cell_ref(0, 26), "AA1");
        assert_eq!(super::cell_ref(9, 701), "ZZ10");
    }
}
