//! Fuzzes the ODS extractor: any input gives a document or an error, never a panic, and
//! the text kept stays within the limit.
#![no_main]

use covault_extract::{Format, Limits, extract_inline};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = Limits {
        max_text: 1 << 20,
        ..Limits::default()
    };
    if let Ok(doc) = extract_inline(data, Format::Ods, &limits) {
        assert!(doc.text_len() <= limits.max_text);
    }
});
