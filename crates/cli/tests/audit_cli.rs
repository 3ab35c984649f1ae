//! `covault audit …` end to end (issue 5): search and tail (following) against a running
//! server, the checkpoint written at shutdown to a file outside the data directory, then
//! verify (exit 0, and exit 3 naming the problem after the database is edited), the outside
//! copy catching a truncation the database alone hides, and pruning.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_covault");

struct Env {
    _root: tempfile::TempDir,
    data: PathBuf,
    key: PathBuf,
    checkpoints: PathBuf,
}

impl Env {
    fn new() -> Self {
        let root = tempfile::tempdir().unwrap();
        let data = root.path().join("data");
        let key = root.path().join("kek.hex");
        let checkpoints = root.path().join("checkpoints.jsonl");
        Self {
            _root: root,
            data,
            key,
            checkpoints,
        }
    }

    fn cmd(&self) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("COVAULT_DATA", &self.data)
            .env("COVAULT_KEY_FILE", &self.key)
            .env("COVAULT_AUDIT__CHECKPOINT_FILE", &self.checkpoints)
            .stdin(Stdio::null());
        cmd
    }

    fn run(&self, args: &[&str]) -> Output {
        self.cmd().args(args).output().unwrap()
    }

    fn client(&self, url: &str, token: &str, args: &[&str]) -> Output {
        self.cmd()
            .env("COVAULT_URL", url)
            .env("COVAULT_TOKEN", token)
            .args(args)
            .output()
            .unwrap()
    }

    fn db(&self) -> rusqlite::Connection {
        let conn = rusqlite::Connection::open(self.data.join("meta.db")).unwrap();
        conn.execute_batch(
            "DROP TRIGGER IF EXISTS audit_events_no_update; DROP TRIGGER IF EXISTS audit_events_no_delete; \
             DROP TRIGGER IF EXISTS audit_checkpoints_no_delete;",
        )
        .unwrap();
        conn
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
    }
}

fn serve(env: &Env) -> (Server, String) {
    let mut child = env
        .cmd()
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let url = loop {
        let line = lines.next().expect("server exited").unwrap();
        if let Some(url) = line.strip_prefix("covault listening on ") {
            break url.trim().to_owned();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    (Server(child), url)
}

fn stop(mut server: Server) {
    let status = Command::new("kill")
        .args(["-TERM", &server.0.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    assert!(server.0.wait().unwrap().success());
}

#[test]
fn audit_commands_from_search_to_verify_and_prune() {
    let env = Env::new();
    let out = env.run(&["init", "--key-file", env.key.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let token = text(&out.stdout).trim().to_owned();
    // An export sink in covault.toml: the log in OCSF, appended to a file as it grows.
    let archive = env.data.parent().unwrap().join("archive.ocsf.jsonl");
    let mut toml = std::fs::read_to_string(env.data.join("covault.toml")).unwrap();
    toml.push_str(&format!(
        "\n[[audit.sinks]]\nname = \"archive\"\nkind = \"file\"\npath = {:?}\nformat = \"ocsf\"\n",
        archive.display().to_string()
    ));
    std::fs::write(env.data.join("covault.toml"), toml).unwrap();
    let (server, url) = serve(&env);
    let note = env.data.parent().unwrap().join("note.txt");
    std::fs::write(&note, "meeting notes").unwrap();
    for i in 0..3 {
        let out = env.client(
            &url,
            &token,
            &["put", note.to_str().unwrap(), &format!("/notes/{i}.txt")],
        );
        assert!(out.status.success(), "{}", text(&out.stderr));
    }

    // search: text and JSON lines
    let out = env.client(
        &url,
        &token,
        &["audit", "search", "--action", "file.write", "--json"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let lines: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[2]["path"], "/notes/2.txt");
    let out = env.client(
        &url,
        &token,
        &["audit", "search", "--since", "1h", "--path", "/notes/1.txt"],
    );
    let shown = text(&out.stdout);
    assert!(
        shown.contains("file.write") && shown.contains("/notes/1.txt@1"),
        "{shown}"
    );
    let out = env.client(&url, &token, &["audit", "search", "--since", "tomorrow"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("is not a time"));

    // tail -f prints what happens next
    let mut tail = env
        .cmd()
        .env("COVAULT_URL", &url)
        .env("COVAULT_TOKEN", &token)
        .args([
            "audit", "tail", "-f", "-n", "0", "--json", "--action", "file.*",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Once it says it is following, anything that happens next is shown.
    let mut tail_err = BufReader::new(tail.stderr.take().unwrap()).lines();
    let said = tail_err.next().expect("tail said something").unwrap();
    assert!(said.starts_with("following new events"), "{said}");
    let tail_out = tail.stdout.take().unwrap();
    let (lines_tx, lines_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(tail_out).lines().map_while(Result::ok) {
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    let out = env.client(&url, &token, &["get", "/notes/0.txt"]);
    assert!(out.status.success());
    let line = lines_rx
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("tail -f printed the read within a minute");
    let e: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(
        (e["action"].as_str(), e["path"].as_str()),
        (Some("file.read"), Some("/notes/0.txt"))
    );
    let _ = tail.kill();
    let _ = tail.wait();

    // A proof of one event, checked offline by someone who has only the public key.
    let out = env.run(&["audit", "checkpoint"]);
    assert!(
        out.status.success(),
        "checkpointing beside the server: {}",
        text(&out.stderr)
    );
    let kept = env.data.parent().unwrap().join("kept-checkpoint.json");
    std::fs::write(&kept, &out.stdout).unwrap();
    let out = env.client(&url, &token, &["audit", "prove", "2"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let proof_file = env.data.parent().unwrap().join("proof.json");
    std::fs::write(&proof_file, &out.stdout).unwrap();
    let key = text(&env.run(&["audit", "public-key"]).stdout)
        .trim()
        .to_owned();
    let check = |file: &std::path::Path| {
        Command::new(BIN)
            .env_clear()
            .args([
                "audit",
                "check-proof",
                file.to_str().unwrap(),
                "--public-key",
                &key,
            ])
            .output()
            .unwrap()
    };
    let out = check(&proof_file);
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(text(&out.stdout).starts_with("ok: event 2 is in the log"));
    let mut forged: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&proof_file).unwrap()).unwrap();
    forged["seq"] = 3.into();
    std::fs::write(&proof_file, forged.to_string()).unwrap();
    let out = check(&proof_file);
    assert_eq!(out.status.code(), Some(3));
    assert!(text(&out.stdout).contains("PROOF FAILS"));

    // Later, the log the server signs still extends the checkpoint kept earlier.
    let out = env.client(
        &url,
        &token,
        &["put", note.to_str().unwrap(), "/notes/3.txt"],
    );
    assert!(out.status.success());
    assert!(env.run(&["audit", "checkpoint"]).status.success());
    let args = [
        "audit",
        "check-consistency",
        "--checkpoint",
        kept.to_str().unwrap(),
        "--public-key",
        &key,
    ];
    let out = env.client(&url, &token, &args);
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(
        text(&out.stdout).starts_with("ok: the log of"),
        "{}",
        text(&out.stdout)
    );
    stop(server);

    // The sink delivered the log in order, as OCSF records, from the first event on.
    let exported: Vec<serde_json::Value> = std::fs::read_to_string(&archive)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        exported.len() >= 5,
        "init and three writes at least: {}",
        exported.len()
    );
    for (i, record) in exported.iter().enumerate() {
        assert_eq!(
            record["metadata"]["uid"],
            (i + 1).to_string(),
            "in order, once each"
        );
        assert!(record["class_uid"].as_u64().is_some());
    }
    assert!(
        exported
            .iter()
            .any(|r| r["class_uid"] == 1001 && r["file"]["path"] == "/notes/2.txt")
    );

    // The server signed a last checkpoint at shutdown and copied it outside.
    let copies = std::fs::read_to_string(&env.checkpoints).unwrap();
    let last: serde_json::Value = serde_json::from_str(copies.lines().last().unwrap()).unwrap();
    let covered = last["tree_size"].as_u64().unwrap();
    assert_eq!(
        exported.len() as u64,
        covered,
        "at the stop the sink delivered everything the last checkpoint covers"
    );
    let out = env.run(&["audit", "public-key"]);
    assert_eq!(
        text(&out.stdout).trim(),
        last["public_key"].as_str().unwrap()
    );

    let out = env.run(&["audit", "verify"]);
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(
        text(&out.stdout).contains(" 0 problems"),
        "{}",
        text(&out.stdout)
    );

    // An edited event: exit 3, named and located.
    let db = env.db();
    db.execute(
        "UPDATE audit_events SET outcome = 'denied' WHERE seq = 3",
        [],
    )
    .unwrap();
    let out = env.run(&["audit", "verify"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(
        text(&out.stdout).contains("PROBLEM edit at event 3"),
        "{}",
        text(&out.stdout)
    );
    db.execute(
        "UPDATE audit_events SET outcome = 'success' WHERE seq = 3",
        [],
    )
    .unwrap();
    let out = env.run(&["audit", "verify", "--json"]);
    assert!(out.status.success(), "{}", text(&out.stdout));

    // Cut the log, rewind the head and delete the stored checkpoints: the database looks
    // consistent, but the copy outside says how long the log was.
    let keep: i64 = 4;
    db.execute("DELETE FROM audit_events WHERE seq > ?1", [keep])
        .unwrap();
    let hash: Vec<u8> = db
        .query_row(
            "SELECT hash FROM audit_events WHERE seq = ?1",
            [keep],
            |r| r.get(0),
        )
        .unwrap();
    db.execute(
        "UPDATE audit_head SET seq = ?1, hash = ?2",
        rusqlite::params![keep, hash],
    )
    .unwrap();
    db.execute("DELETE FROM audit_checkpoints", []).unwrap();
    drop(db);
    let out = env.run(&["audit", "verify"]);
    assert!(
        out.status.success(),
        "without outside evidence the cut is invisible: {}",
        text(&out.stdout)
    );
    let out = env.run(&[
        "audit",
        "verify",
        "--checkpoints",
        env.checkpoints.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(3));
    let report = text(&out.stdout);
    assert!(report.contains("PROBLEM truncation"), "{report}");
    assert!(report.contains(&format!("covers {covered}")), "{report}");
}

#[test]
fn pruning_needs_confirmation_and_keeps_the_log_verifiable() {
    let env = Env::new();
    let out = env.run(&["init", "--key-file", env.key.to_str().unwrap()]);
    assert!(out.status.success());
    let out = env.run(&["audit", "checkpoint"]);
    assert!(out.status.success());
    let cp: serde_json::Value = serde_json::from_str(text(&out.stdout).trim()).unwrap();
    assert_eq!(cp["tree_size"], 1, "the init event");
    let out = env.run(&["audit", "checkpoint"]);
    assert!(text(&out.stderr).contains("no new events"));
    let out = env.run(&["audit", "prune", "--before", "0s"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("--yes"));
    let out = env.run(&["audit", "prune", "--before", "0s", "--yes"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("pruned"),
        "{}",
        text(&out.stderr)
    );
    let out = env.run(&["audit", "verify"]);
    assert!(out.status.success(), "{}", text(&out.stdout));
    assert!(
        text(&out.stdout).contains("from checkpoint"),
        "{}",
        text(&out.stdout)
    );
}
