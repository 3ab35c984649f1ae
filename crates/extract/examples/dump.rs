//! Prints the parts extracted from each file given (for looking at what extraction sees).

#![allow(clippy::print_stdout)]
fn main() {
    for path in std::env::args().skip(1) {
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        match covault_extract::extract(&bytes, Some(&path), &covault_extract::Limits::default()) {
            Ok(doc) => {
                eprintln!(
                    "== {path}: {:?} notes={:?} unread={}",
                    doc.format, doc.notes, doc.unread
                );
                for p in doc.parts {
                    eprintln!(
                        "  [{}] {:?}: {:?}",
                        p.location,
                        p.hidden,
                        p.text.chars().take(100).collect::<String>()
                    );
                }
            }
            Err(e) => eprintln!("== {path}: {e}"),
        }
    }
}
