//! The `covault` binary end to end, as a user drives it: init with a passphrase, serve, the
//! file commands against the running server, verify (exit codes), key rotation, and the errors
//! a user sees for a wrong passphrase or a repeated init.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_covault");
const CHEAP_KDF: [&str; 6] = [
    "--argon2-memory-kib",
    "8192",
    "--argon2-iterations",
    "1",
    "--argon2-lanes",
    "1",
];

struct Env {
    _root: tempfile::TempDir,
    data: PathBuf,
    work: PathBuf,
}

impl Env {
    fn new() -> Self {
        let root = tempfile::tempdir().unwrap();
        let data = root.path().join("data");
        let work = root.path().join("work");
        std::fs::create_dir_all(&work).unwrap();
        Self {
            _root: root,
            data,
            work,
        }
    }

    fn cmd(&self, pass: &str) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("COVAULT_DATA", &self.data)
            .env("COVAULT_PASSPHRASE", pass)
            .current_dir(&self.work)
            .stdin(Stdio::null());
        cmd
    }
}

fn run(mut cmd: Command) -> Output {
    cmd.output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

struct Server {
    child: Child,
    url: String,
}

impl Server {
    fn start(env: &Env, pass: &str) -> Self {
        let mut child = env
            .cmd(pass)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let mut lines = BufReader::new(stderr).lines();
        let url = loop {
            let line = lines
                .next()
                .expect("server exited before listening")
                .unwrap();
            if let Some(url) = line.strip_prefix("covault listening on ") {
                break url.trim().to_owned();
            }
        };
        std::thread::spawn(move || for _ in lines {});
        Self { child, url }
    }

    fn stop(mut self) -> std::process::ExitStatus {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        self.child.wait().unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

fn blob_files(data: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for shard in std::fs::read_dir(data.join("blobs")).unwrap().flatten() {
        out.extend(
            std::fs::read_dir(shard.path())
                .unwrap()
                .flatten()
                .map(|e| e.path()),
        );
    }
    out
}

#[test]
fn a_user_session_from_init_to_rotation() {
    let env = Env::new();
    let pass = "correct horse battery staple";

    // init: the token is printed once, on stdout
    let out = run({
        let mut c = env.cmd(pass);
        c.arg("init").args(CHEAP_KDF);
        c
    });
    assert!(out.status.success(), "{}", text(&out.stderr));
    let token = text(&out.stdout).trim().to_owned();
    assert!(
        token.starts_with("cvt_") && !token.contains('\n'),
        "{token}"
    );
    assert!(env.data.join("covault.toml").exists());
    let again = run({
        let mut c = env.cmd(pass);
        c.arg("init").args(CHEAP_KDF);
        c
    });
    assert!(!again.status.success());
    assert!(text(&again.stderr).contains("already exists"));

    let server = Server::start(&env, pass);
    let client = |args: &[&str]| {
        let mut c = env.cmd("");
        c.env("COVAULT_URL", &server.url)
            .env("COVAULT_TOKEN", &token)
            .args(args);
        run(c)
    };
    let data: Vec<u8> = (0..1_000_003u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(env.work.join("big.bin"), &data).unwrap();
    let put = client(&[
        "put",
        "big.bin",
        "/reports/big.bin",
        "--tier",
        "confidential",
    ]);
    assert!(put.status.success(), "{}", text(&put.stderr));
    let put2 = client(&["put", "big.bin", "/reports/big.bin"]);
    assert!(put2.status.success());
    let ls = client(&["ls", "/reports"]);
    assert!(
        text(&ls.stdout).contains("/reports/big.bin") && text(&ls.stdout).contains("confidential"),
        "{}",
        text(&ls.stdout)
    );
    let get = client(&["get", "/reports/big.bin", "copy.bin"]);
    assert!(get.status.success(), "{}", text(&get.stderr));
    assert_eq!(std::fs::read(env.work.join("copy.bin")).unwrap(), data);
    let history = client(&["history", "/reports/big.bin", "--json"]);
    let versions: serde_json::Value = serde_json::from_slice(&history.stdout).unwrap();
    assert_eq!(versions.as_array().unwrap().len(), 2);
    assert!(client(&["rm", "/reports/big.bin"]).status.success());
    let gone = client(&["get", "/reports/big.bin", "-"]);
    assert!(!gone.status.success() && text(&gone.stderr).contains("deleted"));
    assert!(
        client(&["restore", "/reports/big.bin", "--version", "1"])
            .status
            .success()
    );
    assert!(
        client(&["label", "/reports/big.bin", "restricted"])
            .status
            .success()
    );
    let refused = client(&["purge", "/reports/big.bin"]);
    assert!(!refused.status.success() && text(&refused.stderr).contains("--yes"));
    std::fs::write(env.work.join("keep.txt"), "keep me").unwrap();
    assert!(client(&["put", "keep.txt", "/keep.txt"]).status.success());
    assert!(client(&["put", "keep.txt", "/gone.txt"]).status.success());
    // Purging needs a second factor: enrol an authenticator (its codes computed here by
    // totp-rs from the URI), confirm it, then purge with a recovery code in COVAULT_OTP.
    let without = client(&["purge", "/gone.txt", "--yes"]);
    assert!(!without.status.success() && text(&without.stderr).contains("mfa_required"));
    let enrolled = client(&["mfa", "enroll"]);
    assert!(enrolled.status.success(), "{}", text(&enrolled.stderr));
    let stdout = text(&enrolled.stdout);
    let uri = stdout
        .lines()
        .find(|l| l.starts_with("otpauth://totp/"))
        .unwrap();
    let totp = totp_rs::Totp::from_url(uri).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let confirmed = client(&["mfa", "confirm", &totp.generate(now).to_string()]);
    assert!(confirmed.status.success(), "{}", text(&confirmed.stderr));
    let recovery: Vec<String> = text(&confirmed.stdout).lines().map(str::to_owned).collect();
    assert_eq!(recovery.len(), 10);
    let purged = run({
        let mut c = env.cmd("");
        c.env("COVAULT_URL", &server.url)
            .env("COVAULT_TOKEN", &token)
            .env("COVAULT_OTP", &recovery[0])
            .args(["purge", "/gone.txt", "--yes"]);
        c
    });
    assert!(purged.status.success(), "{}", text(&purged.stderr));
    let stat = client(&["stat", "/gone.txt"]);
    assert!(!stat.status.success() && text(&stat.stderr).contains("not found"));
    let bad = {
        let mut c = env.cmd("");
        c.env("COVAULT_URL", &server.url)
            .env("COVAULT_TOKEN", "cvt_nope")
            .args(["ls"]);
        run(c)
    };
    assert!(!bad.status.success() && !text(&bad.stderr).contains("cvt_nope"));

    // verify runs beside the live server
    let verify = run({
        let mut c = env.cmd(pass);
        c.arg("verify");
        c
    });
    assert_eq!(
        verify.status.code(),
        Some(0),
        "{}{}",
        text(&verify.stdout),
        text(&verify.stderr)
    );
    assert_eq!(server.stop().code(), Some(0), "graceful stop");

    // corrupt one blob: verify names the version and exits 3
    let blobs = blob_files(&env.data);
    assert_eq!(
        blobs.len(),
        3,
        "the three versions of big.bin are blobs; small files are inline"
    );
    let victim = blobs[0].clone();
    let original = std::fs::read(&victim).unwrap();
    let mut bad_bytes = original.clone();
    bad_bytes[0] ^= 0xff;
    std::fs::write(&victim, &bad_bytes).unwrap();
    let verify = run({
        let mut c = env.cmd(pass);
        c.arg("verify");
        c
    });
    assert_eq!(verify.status.code(), Some(3));
    assert!(
        text(&verify.stdout).contains("PROBLEM /reports/big.bin version "),
        "{}",
        text(&verify.stdout)
    );
    std::fs::write(&victim, &original).unwrap();

    // wrong passphrase: a clear error, nothing changed
    let wrong = run({
        let mut c = env.cmd("not the passphrase");
        c.arg("verify");
        c
    });
    assert!(!wrong.status.success());
    assert!(
        text(&wrong.stderr).contains("does not unlock"),
        "{}",
        text(&wrong.stderr)
    );

    // rotate: the old passphrase opens nothing afterwards, the new one everything
    let new_pass = "a much better passphrase";
    let rotate = run({
        let mut c = env.cmd(pass);
        c.env("COVAULT_NEW_PASSPHRASE", new_pass)
            .args(["keys", "rotate"])
            .args(CHEAP_KDF);
        c
    });
    assert!(rotate.status.success(), "{}", text(&rotate.stderr));
    let old = run({
        let mut c = env.cmd(pass);
        c.arg("verify");
        c
    });
    assert!(!old.status.success() && text(&old.stderr).contains("does not unlock"));
    let new = run({
        let mut c = env.cmd(new_pass);
        c.arg("verify");
        c
    });
    assert_eq!(new.status.code(), Some(0), "{}", text(&new.stderr));

    // the server comes back with the new passphrase and serves the same data
    let server = Server::start(&env, new_pass);
    let mut c = env.cmd("");
    c.env("COVAULT_URL", &server.url)
        .env("COVAULT_TOKEN", &token)
        .args(["get", "/keep.txt"]);
    assert_eq!(text(&run(c).stdout), "keep me");
}

#[test]
fn key_file_workspaces_and_the_demo() {
    let env = Env::new();
    let out = run({
        let mut c = env.cmd("");
        c.env_remove("COVAULT_PASSPHRASE")
            .args(["init", "--key-file", "kek.hex"]);
        c
    });
    assert!(out.status.success(), "{}", text(&out.stderr));
    let key = env.work.join("kek.hex");
    assert!(key.exists());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let verify = run({
        let mut c = env.cmd("");
        c.env_remove("COVAULT_PASSPHRASE").arg("verify");
        c
    });
    assert_eq!(verify.status.code(), Some(0), "{}", text(&verify.stderr));
    // without its key file the workspace stays closed, with an error that says why
    std::fs::rename(&key, env.work.join("elsewhere.hex")).unwrap();
    let missing = run({
        let mut c = env.cmd("");
        c.env_remove("COVAULT_PASSPHRASE").arg("verify");
        c
    });
    assert!(
        !missing.status.success() && text(&missing.stderr).contains("kek.hex"),
        "{}",
        text(&missing.stderr)
    );

    // the demo: a workspace with sample files and an env file for the client
    let demo_dir = env.work.join("demo");
    let mut demo = Command::new(BIN)
        .args(["demo", "--data-dir"])
        .arg(&demo_dir)
        .args(["--listen", "127.0.0.1:0"])
        .env_remove("COVAULT_DATA")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(demo.stderr.take().unwrap()).lines();
    let url = loop {
        let line = lines.next().expect("demo exited").unwrap();
        if let Some(url) = line.strip_prefix("covault listening on ") {
            break url.trim().to_owned();
        }
    };
    let env_text = std::fs::read_to_string(demo_dir.join("demo.env")).unwrap();
    let token = env_text
        .lines()
        .find_map(|l| l.strip_prefix("export COVAULT_TOKEN="))
        .unwrap()
        .to_owned();
    let ls = Command::new(BIN)
        .args(["ls", "/"])
        .env("COVAULT_URL", &url)
        .env("COVAULT_TOKEN", &token)
        .output()
        .unwrap();
    let listing = text(&ls.stdout);
    assert!(
        listing.contains("/welcome.md") && listing.contains("/hr/contacts.txt"),
        "{listing}{}",
        text(&ls.stderr)
    );
    // Files written without a tier were classified from their content.
    let tier_of = |path: &str| {
        listing
            .lines()
            .find(|l| l.contains(path))
            .unwrap_or_else(|| panic!("{path} not listed: {listing}"))
            .to_owned()
    };
    assert!(
        tier_of("/ops/deploy.env").contains("restricted"),
        "{listing}"
    );
    assert!(
        tier_of("/hr/contacts.txt").contains("confidential"),
        "{listing}"
    );
    let get = Command::new(BIN)
        .args(["get", "/welcome.md"])
        .env("COVAULT_URL", &url)
        .env("COVAULT_TOKEN", &token)
        .output()
        .unwrap();
    assert!(text(&get.stdout).contains("Welcome to covault"));
    let _ = demo.kill();
    let _ = demo.wait();
}
