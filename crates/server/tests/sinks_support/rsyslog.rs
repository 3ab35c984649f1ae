//! rsyslog (Debian's `rsyslogd`) as the collector: started in the foreground from a
//! generated configuration on loopback ports — imtcp and imudp, or imtcp over TLS with the
//! GnuTLS driver — writing every message it receives, as it parsed it and as it arrived, to
//! one JSON object per line. Killed (SIGKILL) and restarted on the same ports by the tests.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

use super::{Received, free_port, skip, wait_until};

/// The rsyslogd binary, or `None` after printing why the test is skipped.
pub fn binary() -> Option<PathBuf> {
    let found = ["/usr/sbin/rsyslogd", "/sbin/rsyslogd"]
        .into_iter()
        .map(PathBuf::from)
        .find(|path| path.exists());
    if found.is_none() {
        skip("rsyslogd is not installed (apt-get install rsyslog)");
    }
    found
}

/// Whether rsyslog's GnuTLS network driver is installed (else prints why TLS is skipped).
pub fn has_gnutls() -> bool {
    let found = [
        "/usr/lib/x86_64-linux-gnu/rsyslog",
        "/usr/lib/aarch64-linux-gnu/rsyslog",
        "/usr/lib/rsyslog",
    ]
    .iter()
    .any(|dir| Path::new(dir).join("lmnsd_gtls.so").exists());
    if !found {
        skip("rsyslog's GnuTLS driver is not installed (apt-get install rsyslog-gnutls)");
    }
    found
}

/// Certificate files for the TLS listener.
pub struct TlsFiles {
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

pub struct Rsyslog {
    binary: PathBuf,
    dir: PathBuf,
    pub tcp_port: u16,
    pub udp_port: u16,
    child: Option<Child>,
}

impl Rsyslog {
    /// Starts rsyslogd listening on TCP and UDP (or TLS only, with `tls`) in `dir`, and
    /// waits until its TCP listener accepts connections.
    pub async fn start(binary: &Path, dir: PathBuf, tls: Option<TlsFiles>) -> Self {
        std::fs::create_dir_all(&dir).unwrap();
        let (tcp_port, udp_port) = (free_port(), free_port());
        let config = config(&dir, tcp_port, udp_port, tls.as_ref());
        std::fs::write(dir.join("rsyslog.conf"), config).unwrap();
        let mut rsyslog = Self {
            binary: binary.to_owned(),
            dir,
            tcp_port,
            udp_port,
            child: None,
        };
        rsyslog.restart().await;
        rsyslog
    }

    pub fn tcp_addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.tcp_port))
    }

    pub fn udp_addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.udp_port))
    }

    /// Kills rsyslogd (SIGKILL: no goodbye to its clients) and reaps it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// (Re)starts rsyslogd on the same ports and waits until it accepts connections.
    pub async fn restart(&mut self) {
        self.kill();
        let _ = std::fs::remove_file(self.dir.join("rsyslogd.pid"));
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("rsyslogd.stderr"))
            .unwrap();
        let child = Command::new(&self.binary)
            .arg("-n")
            .arg("-f")
            .arg(self.dir.join("rsyslog.conf"))
            .arg("-i")
            .arg(self.dir.join("rsyslogd.pid"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        self.child = Some(child);
        let addr = self.tcp_addr();
        wait_until("rsyslogd accepts connections", || {
            self.assert_running();
            std::net::TcpStream::connect(addr).ok()
        })
        .await;
    }

    fn assert_running(&mut self) {
        if let Some(child) = self.child.as_mut()
            && let Some(status) = child.try_wait().unwrap()
        {
            let log = std::fs::read_to_string(self.dir.join("rsyslogd.stderr")).unwrap_or_default();
            panic!("rsyslogd exited with {status}: {log}");
        }
    }

    /// Every message received so far, as rsyslog wrote it (complete lines only).
    pub fn messages(&self) -> Vec<Value> {
        let text = std::fs::read_to_string(self.dir.join("received.jsonl")).unwrap_or_default();
        let complete = text.rfind('\n').map_or("", |end| &text[..end]);
        complete
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }

    /// The audit events received so far, each checked against rsyslog's own parse.
    pub fn received(&self) -> Vec<Received> {
        self.messages()
            .iter()
            .filter(|m| m["app"] == "covault")
            .map(parsed)
            .collect()
    }
}

impl Drop for Rsyslog {
    fn drop(&mut self) {
        self.kill();
    }
}

/// One message: our own RFC 5424 parse of the raw bytes, which must agree with rsyslog's.
fn parsed(message: &Value) -> Received {
    assert_eq!(
        message["protocol"], "1",
        "rsyslog did not parse RFC 5424: {message}"
    );
    let raw = message["raw"].as_str().unwrap();
    let syslog = Rfc5424::parse(raw);
    assert_eq!(message["msgid"], syslog.msgid, "{message}");
    assert_eq!(message["sd"], syslog.structured_data, "{message}");
    assert_eq!(syslog.app, "covault");
    let line: Value = serde_json::from_str(syslog.msg).unwrap();
    let seq: u64 = syslog.param("seq").parse().unwrap();
    assert_eq!(line["action"], syslog.msgid);
    Received { seq, line }
}

/// The fields of an RFC 5424 message that the tests look at.
pub struct Rfc5424<'a> {
    pub app: &'a str,
    pub msgid: &'a str,
    pub structured_data: &'a str,
    pub msg: &'a str,
}

impl<'a> Rfc5424<'a> {
    pub fn parse(raw: &'a str) -> Self {
        let rest = raw.strip_prefix('<').expect("PRI");
        let (pri, rest) = rest.split_once('>').expect("PRI");
        assert!(pri.parse::<u8>().unwrap() <= 191, "{raw}");
        let mut fields = rest.splitn(7, ' ');
        let mut next = || fields.next().expect("header field");
        assert_eq!(next(), "1", "VERSION");
        let (_time, _host, app, _procid, msgid) = (next(), next(), next(), next(), next());
        let rest = next();
        let end = structured_data_end(rest);
        let (structured_data, msg) = rest.split_at(end);
        let msg = msg.strip_prefix(' ').expect("SP before MSG");
        let msg = msg.strip_prefix('\u{feff}').expect("UTF-8 BOM");
        Self {
            app,
            msgid,
            structured_data,
            msg,
        }
    }

    /// An SD-PARAM of the (single) SD-ELEMENT, unescaped.
    pub fn param(&self, name: &str) -> String {
        let start = self
            .structured_data
            .find(&format!(" {name}=\""))
            .unwrap_or_else(|| panic!("no {name} in {}", self.structured_data))
            + name.len()
            + 3;
        let mut value = String::new();
        let mut chars = self.structured_data[start..].chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => value.push(chars.next().unwrap()),
                '"' => return value,
                c => value.push(c),
            }
        }
        panic!("unterminated PARAM-VALUE")
    }
}

/// The byte length of the STRUCTURED-DATA at the start of `text` (elements in brackets,
/// with `\]` and `\"` escaped inside quoted values).
fn structured_data_end(text: &str) -> usize {
    if text.starts_with('-') {
        return 1;
    }
    let (mut quoted, mut escaped) = (false, false);
    for (i, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ']' if !quoted && !text[i + 1..].starts_with('[') => return i + 1,
            _ => {}
        }
    }
    panic!("unterminated STRUCTURED-DATA: {text}")
}

fn config(dir: &Path, tcp_port: u16, udp_port: u16, tls: Option<&TlsFiles>) -> String {
    let dir = dir.display();
    let global = match tls {
        None => format!(r#"global(workDirectory="{dir}" maxMessageSize="64k")"#),
        Some(tls) => format!(
            r#"global(workDirectory="{dir}" maxMessageSize="64k"
  defaultNetstreamDriver="gtls"
  defaultNetstreamDriverCAFile="{}"
  defaultNetstreamDriverCertFile="{}"
  defaultNetstreamDriverKeyFile="{}")"#,
            tls.ca.display(),
            tls.cert.display(),
            tls.key.display()
        ),
    };
    let inputs = match tls {
        None => format!(
            r#"module(load="imtcp")
module(load="imudp")
input(type="imtcp" address="127.0.0.1" port="{tcp_port}" ruleset="remote")
input(type="imudp" address="127.0.0.1" port="{udp_port}" ruleset="remote")"#
        ),
        Some(_) => format!(
            r#"module(load="imtcp" streamDriver.name="gtls" streamDriver.mode="1" streamDriver.authMode="anon")
input(type="imtcp" address="127.0.0.1" port="{tcp_port}" ruleset="remote")"#
        ),
    };
    format!(
        r#"{global}
{inputs}
template(name="received" type="list" option.jsonf="on") {{
  property(outname="protocol" name="protocol-version" format="jsonf")
  property(outname="app" name="app-name" format="jsonf")
  property(outname="msgid" name="msgid" format="jsonf")
  property(outname="sd" name="structured-data" format="jsonf")
  property(outname="raw" name="rawmsg" format="jsonf")
}}
ruleset(name="remote") {{
  action(type="omfile" file="{dir}/received.jsonl" template="received")
}}
"#
    )
}

#[test]
fn rfc5424_parsing() {
    let raw = "<84>1 2026-11-22T05:09:31.123Z h covault - file.read [covault@32473 seq=\"7\" reason=\"a\\]b \\\"c\\\"\"] \u{feff}{\"seq\":7}";
    let m = Rfc5424::parse(raw);
    assert_eq!(m.app, "covault");
    assert_eq!(m.msgid, "file.read");
    assert_eq!(m.param("seq"), "7");
    assert_eq!(m.param("reason"), "a]b \"c\"");
    assert_eq!(m.msg, "{\"seq\":7}");
}
