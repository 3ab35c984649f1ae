//! The OTLP receiver: `otlp_receiver.py` run by `COVAULT_TEST_PYTHON` (a virtualenv with
//! `opentelemetry-proto`), which decodes every request with the official protobuf bindings.
//! It can be told to answer 503 (a `down` file) and can be killed and restarted on its port.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

use super::{Received, skip, wait_until};

/// The header value the OTLP test configures (`x-api-key`).
pub const API_KEY: &str = "k-123";
const MODULE: &str = "opentelemetry.proto.collector.logs.v1.logs_service_pb2";

/// The interpreter, or `None` after printing why the test is skipped.
pub fn python() -> Option<PathBuf> {
    let Some(python) = std::env::var_os("COVAULT_TEST_PYTHON").map(PathBuf::from) else {
        skip("COVAULT_TEST_PYTHON is not set (a python with opentelemetry-proto)");
        return None;
    };
    let imports = Command::new(&python)
        .args([
            "-c",
            &format!("import google.protobuf.json_format, {MODULE}"),
        ])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if !imports {
        skip(&format!(
            "`{}` cannot import {MODULE} (pip install opentelemetry-proto)",
            python.display()
        ));
        return None;
    }
    Some(python)
}

pub struct Receiver {
    python: PathBuf,
    dir: PathBuf,
    pub port: u16,
    child: Option<Child>,
}

impl Receiver {
    pub async fn start(python: &Path, dir: PathBuf) -> Self {
        std::fs::create_dir_all(&dir).unwrap();
        let mut receiver = Self {
            python: python.to_owned(),
            dir,
            port: 0,
            child: None,
        };
        receiver.restart().await;
        receiver
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/v1/logs", self.port)
    }

    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// (Re)starts the receiver on the same port (a free one the first time).
    pub async fn restart(&mut self) {
        self.kill();
        let port_file = self.dir.join("port");
        let _ = std::fs::remove_file(&port_file);
        let script =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sinks_support/otlp_receiver.py");
        let child = Command::new(&self.python)
            .arg(script)
            .arg(self.port.to_string())
            .arg(&self.dir)
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        self.child = Some(child);
        let port = wait_until("the OTLP receiver listens", || {
            self.assert_running();
            std::fs::read_to_string(&port_file)
                .ok()?
                .parse::<u16>()
                .ok()
        })
        .await;
        self.port = port;
    }

    fn assert_running(&mut self) {
        if let Some(child) = self.child.as_mut()
            && let Some(status) = child.try_wait().unwrap()
        {
            panic!("the OTLP receiver exited with {status}");
        }
    }

    /// Makes the receiver answer 503 (`true`) or accept again (`false`).
    pub fn set_down(&self, down: bool) {
        let flag = self.dir.join("down");
        if down {
            std::fs::write(flag, "").unwrap();
        } else {
            std::fs::remove_file(flag).unwrap();
        }
    }

    /// How many requests were answered 503.
    pub fn refused(&self) -> usize {
        std::fs::read_to_string(self.dir.join("refused"))
            .unwrap_or_default()
            .lines()
            .count()
    }

    /// Every record received so far; fails on any request the receiver could not decode.
    pub fn received(&self) -> Vec<Received> {
        if let Ok(errors) = std::fs::read_to_string(self.dir.join("errors")) {
            panic!("the OTLP receiver could not decode a request: {errors}");
        }
        let text = std::fs::read_to_string(self.dir.join("records.jsonl")).unwrap_or_default();
        let complete = text.rfind('\n').map_or("", |end| &text[..end]);
        complete
            .lines()
            .map(|line| {
                let record: Value = serde_json::from_str(line).unwrap();
                assert_eq!(record["service"], "covault");
                assert_eq!(record["scope"], "covault.audit");
                assert_eq!(record["event_name"], record["line"]["action"]);
                assert_eq!(
                    record["api_key"], API_KEY,
                    "the configured header was not sent"
                );
                Received {
                    seq: record["seq"].as_u64().unwrap(),
                    line: record["line"].clone(),
                }
            })
            .collect()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.kill();
    }
}
