//! Where parsers put what they read: parts with their locations, bounded in total size, with
//! a location prefix for nested documents (attachments).

use crate::{Document, Format, Hidden, Part};

pub(crate) struct Sink {
    parts: Vec<Part>,
    notes: Vec<String>,
    room: usize,
    truncated: bool,
    failures: usize,
    prefix: String,
}

impl Sink {
    pub(crate) fn new(max_text: usize) -> Sink {
        Sink {
            parts: Vec::new(),
            notes: Vec::new(),
            room: max_text,
            truncated: false,
            failures: 0,
            prefix: String::new(),
        }
    }

    /// False once the text limit is reached: parsers may stop early.
    pub(crate) fn has_room(&self) -> bool {
        self.room > 0
    }

    /// Adds a part; empty (whitespace-only) text is skipped.
    pub(crate) fn push(&mut self, location: impl Into<String>, text: &str, hidden: Option<Hidden>) {
        let text = text.trim();
        if text.is_empty() {
            return;
        }
        if self.room == 0 {
            self.truncated = true;
            return;
        }
        let mut take = text.len().min(self.room);
        while !text.is_char_boundary(take) {
            take -= 1;
        }
        if take < text.len() {
            self.truncated = true;
            self.note("text beyond the extraction limit was dropped");
        }
        self.room -= take;
        let location = location.into();
        let location = if self.prefix.is_empty() {
            location
        } else {
            format!("{}{location}", self.prefix)
        };
        self.parts.push(Part {
            location,
            text: text[..take].to_owned(),
            hidden,
        });
    }

    pub(crate) fn note(&mut self, note: impl Into<String>) {
        if self.notes.len() < 100 {
            self.notes.push(note.into());
        }
    }

    /// Records that a piece (an attachment, an embedded document) could not be read.
    pub(crate) fn fail(&mut self, note: impl Into<String>) {
        self.failures += 1;
        self.note(note);
    }

    pub(crate) fn truncate(&mut self) {
        self.truncated = true;
    }

    /// Takes in a nested document's parts under `prefix`, marking them hidden as `hidden`
    /// when the container hides them.
    pub(crate) fn absorb(&mut self, prefix: &str, doc: Document) {
        let nested = format!("{}{prefix} › ", self.prefix);
        let saved = std::mem::replace(&mut self.prefix, nested);
        for part in doc.parts {
            self.push(part.location, &part.text, part.hidden);
        }
        for note in doc.notes {
            self.note(format!("{prefix}: {note}"));
        }
        if doc.truncated {
            self.truncated = true;
        }
        self.failures += doc.unread;
        self.prefix = saved;
    }

    pub(crate) fn room(&self) -> usize {
        self.room
    }

    pub(crate) fn finish(self, format: Format) -> Document {
        Document {
            format,
            parts: self.parts,
            notes: self.notes,
            truncated: self.truncated,
            unread: self.failures,
        }
    }
}
