//! Architecture invariants, written as absences and checked on the source tree:
//! - every Rust file starts with a `//!` comment saying what it owns;
//! - the pure crates (scan, crypto, policy, audit, extract) pull in no async runtime, SQL, HTTP
//!   or storage;
//! - the server never depends on the store: handlers can only reach data through the guard;
//! - only the guard opens the store for callers: no crate above it names `covault_store`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n != "target") {
                rust_files(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn dependencies(krate: &str) -> String {
    let manifest = std::fs::read_to_string(
        workspace_root()
            .join("crates")
            .join(krate)
            .join("Cargo.toml"),
    )
    .unwrap();
    let start = manifest.find("[dependencies]").unwrap();
    let rest = &manifest[start + "[dependencies]".len()..];
    rest[..rest.find("\n[").unwrap_or(rest.len())].to_owned()
}

#[test]
fn every_file_says_what_it_owns() {
    let mut files = Vec::new();
    rust_files(&workspace_root().join("crates"), &mut files);
    assert!(files.len() > 20);
    let missing: Vec<_> = files
        .iter()
        .filter(|f| !std::fs::read_to_string(f).unwrap().starts_with("//!"))
        .collect();
    assert!(
        missing.is_empty(),
        "files without a leading //! comment: {missing:?}"
    );
}

#[test]
fn pure_crates_do_no_io() {
    for krate in ["scan", "crypto", "policy", "audit", "extract"] {
        let deps = dependencies(krate);
        for banned in ["tokio", "sqlx", "axum", "reqwest", "hyper", "covault-store"] {
            assert!(
                !deps.contains(banned),
                "covault-{krate} depends on {banned}"
            );
        }
    }
}

#[test]
fn the_server_cannot_reach_the_store() {
    assert!(!dependencies("server").contains("covault-store"));
    assert!(!dependencies("cli").contains("covault-store"));
    assert!(!dependencies("gateway").contains("covault-store"));
    for krate in ["server", "cli", "gateway"] {
        let mut files = Vec::new();
        rust_files(
            &workspace_root().join("crates").join(krate).join("src"),
            &mut files,
        );
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            assert!(
                !text.contains("covault_store"),
                "{} names covault_store",
                file.display()
            );
        }
    }
}
