//! Fuzzes the scanner over arbitrary bytes, and checks that findings are in bounds, ordered,
//! non-overlapping (apart from injection evidence) and the same when the input is streamed.
#![no_main]

use std::sync::LazyLock;

use covault_scan::{EntityType, Scanner, StreamScanner};
use libfuzzer_sys::fuzz_target;

static SCANNER: LazyLock<Scanner> = LazyLock::new(|| Scanner::new().expect("scanner"));

fuzz_target!(|data: &[u8]| {
    let whole = SCANNER.scan_bytes(data);
    let mut last_end = 0;
    for f in whole.iter().filter(|f| f.kind != EntityType::PromptInjection) {
        assert!(f.start < f.end && f.end <= data.len());
        assert!(f.start >= last_end, "overlapping findings");
        last_end = f.end;
    }
    // Stream it in uneven chunks: same findings.
    let mut stream = StreamScanner::new(SCANNER.clone());
    let mut streamed = Vec::new();
    let step = 1 + data.first().copied().unwrap_or(7) as usize;
    for chunk in data.chunks(step) {
        streamed.extend(stream.push(chunk));
    }
    streamed.extend(stream.finish());
    assert_eq!(streamed, whole);
});
