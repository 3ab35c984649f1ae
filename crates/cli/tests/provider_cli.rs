//! `covault provider` as an operator drives it: a provider configured in covault.toml, its API
//! key stored from standard input or an environment variable (never printed, never in the
//! database in the clear), listed, and removed; bad configuration is refused before anything
//! runs.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_covault");
const KEY: &str = "sk-ant-provider-cli-test-7c1f0e";

fn covault(dir: &std::path::Path) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("COVAULT_DATA", dir.join("data"))
        .env("COVAULT_KEY_FILE", dir.join("kek"));
    cmd
}

#[test]
fn provider_keys_are_stored_sealed_listed_and_removed() {
    let root = tempfile::tempdir().unwrap();
    let out = covault(root.path())
        .args(["init", "--key-file"])
        .arg(root.path().join("kek"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let config = root.path().join("data/covault.toml");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str(
        "\n[[gateway.providers]]\nname = \"anthropic\"\nkind = \"anthropic\"\nbase_url = \"https://api.anthropic.com\"\nmodels = [\"claude-*\"]\n",
    );
    std::fs::write(&config, &text).unwrap();

    let list = |want: &str| {
        let out = covault(root.path())
            .args(["provider", "list"])
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(out.status.success() && stdout.contains(want), "{stdout}");
        assert!(!stdout.contains(KEY));
    };
    list("no key");
    let mut child = covault(root.path())
        .args(["provider", "set-key", "anthropic"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{KEY}\n").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains(KEY));
    assert!(!String::from_utf8_lossy(&out.stderr).contains(KEY));
    list("key set");
    // The key is in the database only sealed.
    for file in ["meta.db", "meta.db-wal"] {
        if let Ok(bytes) = std::fs::read(root.path().join("data").join(file)) {
            assert!(
                !bytes.windows(KEY.len()).any(|w| w == KEY.as_bytes()),
                "{file} holds the key in the clear"
            );
        }
    }
    let out = covault(root.path())
        .args(["provider", "delete-key", "anthropic"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    list("no key");

    // A provider cleared for confidential data without zero retention is refused up front.
    std::fs::write(&config, format!("{text}clearance = \"confidential\"\n")).unwrap();
    let out = covault(root.path())
        .args(["provider", "list"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("zero_retention"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
