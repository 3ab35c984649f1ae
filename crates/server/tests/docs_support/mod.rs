//! Real documents for the server tests, made by `crates/extract/tests/fixtures/make_docs.py`
//! (python-docx, openpyxl, python-pptx, reportlab, odfpy, msoffcrypto-tool) with the Python
//! in `COVAULT_TEST_PYTHON`. Without it the tests skip, except under `CI=true`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

pub fn documents() -> Option<&'static HashMap<String, Vec<u8>>> {
    static DOCS: OnceLock<Option<HashMap<String, Vec<u8>>>> = OnceLock::new();
    DOCS.get_or_init(|| {
        let python = std::env::var("COVAULT_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
        let dir = tempfile::tempdir().ok()?;
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../extract/tests/fixtures/make_docs.py");
        let made = Command::new(&python).arg(&script).arg(dir.path()).output();
        let ok = matches!(&made, Ok(o) if o.status.success());
        if !ok {
            let why = match made {
                Ok(o) => String::from_utf8_lossy(&o.stderr).into_owned(),
                Err(e) => e.to_string(),
            };
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI=true but the document fixtures cannot be made with {python}: {why}"
            );
            eprintln!("SKIP: cannot make document fixtures with {python}: {why}");
            return None;
        }
        let mut docs = HashMap::new();
        for entry in std::fs::read_dir(dir.path()).ok()?.flatten() {
            if entry.path().is_file() {
                let name = entry.file_name().to_string_lossy().into_owned();
                docs.insert(name, std::fs::read(entry.path()).ok()?);
            }
        }
        Some(docs)
    })
    .as_ref()
}
