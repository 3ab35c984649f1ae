//! Fuzzes the streaming restorer: for any text and chunking, streaming restoration equals
//! restoring the whole text, and text without placeholders passes through unchanged.
#![no_main]

use covault_scan::{EntityType, PlaceholderVault, StreamRestorer};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut vault = PlaceholderVault::new();
    vault.placeholder(EntityType::EmailAddress, "a@b.example");
    vault.placeholder(EntityType::Person, "Ann [PERSON_1] Lee");
    let whole = vault.restore(text);
    let step = 1 + (data.len() % 7);
    let mut restorer = StreamRestorer::new();
    let mut out = String::new();
    let mut start = 0;
    while start < text.len() {
        let mut end = (start + step).min(text.len());
        while !text.is_char_boundary(end) {
            end += 1;
        }
        out.push_str(&restorer.push(&text[start..end], &vault));
        start = end;
    }
    out.push_str(&restorer.finish(&vault));
    assert_eq!(out, whole);
    if !text.contains('[') {
        assert_eq!(whole, text);
    }
});
