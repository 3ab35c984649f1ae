//! The syslog transports: RFC 5424 records over UDP (one datagram each, RFC 5426), and over
//! TCP or TLS with RFC 6587 octet counting (RFC 5425).
//!
//! A stream has no acknowledgement, so "delivered" means written and flushed to the kernel.
//! Before each batch the sink checks whether the collector has closed the connection (EOF
//! or an error on a non-blocking read and peek): a collector that restarted between two
//! batches would otherwise take the next batch into a dead socket, whose first write still
//! succeeds. A write that fails or stalls drops the connection; the batch is sent again
//! whole on a new one.

use std::io;
use std::mem::MaybeUninit;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use covault_guard::export::octet_counted;
use futures_util::FutureExt;
use rustls::ClientConfig;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::time::timeout;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use super::transport::Prepared;
use super::{DeliveryError, SinkConfigError};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);
/// The largest UDP payload over IPv4.
const MAX_DATAGRAM: usize = 65_507;

/// Syslog over UDP: best effort.
pub(crate) struct UdpSink {
    addr: SocketAddr,
    socket: Option<UdpSocket>,
}

impl UdpSink {
    pub(crate) fn new(addr: SocketAddr) -> Self {
        Self { addr, socket: None }
    }

    pub(crate) async fn deliver(&mut self, batch: &Prepared<'_>) -> Result<(), DeliveryError> {
        let socket = match self.socket.take() {
            Some(socket) => socket,
            None => self.bind().await?,
        };
        // A connected socket reports an earlier ICMP "port unreachable" on the next send:
        // the batch is then retried, which is the only loss UDP lets a sender notice.
        send_datagrams(&socket, batch).await?;
        self.socket = Some(socket);
        Ok(())
    }

    async fn bind(&self) -> Result<UdpSocket, DeliveryError> {
        let local: SocketAddr = if self.addr.is_ipv4() {
            (Ipv4Addr::UNSPECIFIED, 0).into()
        } else {
            (Ipv6Addr::UNSPECIFIED, 0).into()
        };
        let connect = |source| DeliveryError::Connect {
            addr: self.addr.to_string(),
            source,
        };
        let socket = UdpSocket::bind(local).await.map_err(connect)?;
        socket.connect(self.addr).await.map_err(connect)?;
        Ok(socket)
    }
}

async fn send_datagrams(socket: &UdpSocket, batch: &Prepared<'_>) -> Result<(), DeliveryError> {
    for (event, record) in batch.events().iter().zip(batch.records()) {
        if record.len() > MAX_DATAGRAM {
            tracing::warn!(
                seq = event.seq,
                bytes = record.len(),
                "audit record too large for a UDP datagram; not sent"
            );
            continue;
        }
        socket
            .send(record.as_bytes())
            .await
            .map_err(DeliveryError::Send)?;
    }
    Ok(())
}

/// Syslog over TCP or TLS.
pub(crate) struct StreamSink {
    addr: SocketAddr,
    tls: Option<TlsTarget>,
    conn: Option<Conn>,
}

struct TlsTarget {
    server_name: ServerName<'static>,
    ca_file: Option<PathBuf>,
    /// Built on the first connection (it reads the CA file), then kept.
    config: Option<Arc<ClientConfig>>,
}

impl StreamSink {
    pub(crate) fn tcp(addr: SocketAddr) -> Self {
        Self {
            addr,
            tls: None,
            conn: None,
        }
    }

    pub(crate) fn tls(
        sink: &str,
        addr: SocketAddr,
        server_name: &str,
        ca_file: Option<PathBuf>,
    ) -> Result<Self, SinkConfigError> {
        let server_name = ServerName::try_from(server_name.to_owned()).map_err(|_| {
            SinkConfigError::ServerName {
                name: sink.to_owned(),
                server_name: server_name.chars().take(80).collect(),
            }
        })?;
        Ok(Self {
            addr,
            tls: Some(TlsTarget {
                server_name,
                ca_file,
                config: None,
            }),
            conn: None,
        })
    }

    pub(crate) async fn deliver(&mut self, records: &[String]) -> Result<(), DeliveryError> {
        if self.conn.as_mut().is_some_and(Conn::peer_closed) {
            tracing::info!("the collector closed the connection; reconnecting");
            self.conn = None;
        }
        let mut payload = String::with_capacity(records.iter().map(|r| r.len() + 8).sum());
        for record in records {
            payload.push_str(&octet_counted(record));
        }
        let mut conn = match self.conn.take() {
            Some(conn) => conn,
            None => self.connect().await?,
        };
        match timeout(WRITE_TIMEOUT, conn.write_flush(payload.as_bytes())).await {
            Ok(Ok(())) => {
                self.conn = Some(conn);
                Ok(())
            }
            Ok(Err(e)) => Err(DeliveryError::Send(e)),
            Err(_) => Err(DeliveryError::Timeout(WRITE_TIMEOUT)),
        }
    }

    async fn connect(&mut self) -> Result<Conn, DeliveryError> {
        let addr = self.addr;
        let tcp = timeout(CONNECT_TIMEOUT, TcpStream::connect(addr))
            .await
            .map_err(|_| DeliveryError::Timeout(CONNECT_TIMEOUT))?
            .map_err(|source| DeliveryError::Connect {
                addr: addr.to_string(),
                source,
            })?;
        // Records are written a batch at a time and flushed; no need to wait for more.
        let _ = tcp.set_nodelay(true);
        let Some(tls) = &mut self.tls else {
            return Ok(Conn::Plain(tcp));
        };
        let config = match &tls.config {
            Some(config) => Arc::clone(config),
            None => Arc::clone(
                tls.config
                    .insert(super::tls::client_config(tls.ca_file.as_deref())?),
            ),
        };
        let handshake = TlsConnector::from(config).connect(tls.server_name.clone(), tcp);
        let stream = timeout(CONNECT_TIMEOUT, handshake)
            .await
            .map_err(|_| DeliveryError::Timeout(CONNECT_TIMEOUT))?
            .map_err(|source| DeliveryError::Handshake {
                addr: addr.to_string(),
                source,
            })?;
        Ok(Conn::Tls(Box::new(stream)))
    }
}

enum Conn {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl Conn {
    async fn write_flush(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self {
            Conn::Plain(stream) => {
                stream.write_all(bytes).await?;
                stream.flush().await
            }
            Conn::Tls(stream) => {
                stream.write_all(bytes).await?;
                stream.flush().await
            }
        }
    }

    /// Whether the collector has closed (or reset) the connection, without waiting.
    fn peer_closed(&mut self) -> bool {
        let closed = match self {
            Conn::Plain(stream) => drain_plain(stream),
            Conn::Tls(stream) => drain_tls(stream),
        };
        closed || peek_closed(self.tcp())
    }

    fn tcp(&self) -> &TcpStream {
        match self {
            Conn::Plain(stream) => stream,
            Conn::Tls(stream) => stream.get_ref().0,
        }
    }
}

/// Reads (and discards) whatever the collector sent; `true` on EOF or an error.
fn drain_plain(stream: &TcpStream) -> bool {
    let mut buf = [0u8; 1024];
    loop {
        match stream.try_read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) => return !is_transient(&e),
        }
    }
}

/// Lets rustls process what the collector sent (session tickets, close_notify) without
/// waiting; `true` on EOF or an error.
fn drain_tls(stream: &mut TlsStream<TcpStream>) -> bool {
    let mut buf = [0u8; 1024];
    loop {
        match stream.read(&mut buf).now_or_never() {
            None => return false,
            Some(Ok(0)) => return true,
            Some(Ok(_)) => continue,
            Some(Err(_)) => return true,
        }
    }
}

/// Asks the kernel directly (the runtime's readiness may not have seen the FIN yet).
fn peek_closed(stream: &TcpStream) -> bool {
    let mut probe = [MaybeUninit::<u8>::uninit(); 1];
    match socket2::SockRef::from(stream).peek(&mut probe) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => !is_transient(&e),
    }
}

fn is_transient(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    #[tokio::test]
    async fn a_closed_peer_is_noticed_before_writing() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let connect = TcpStream::connect(addr);
        let (client, accepted) = tokio::join!(connect, listener.accept());
        let mut conn = Conn::Plain(client.unwrap());
        let (server, _) = accepted.unwrap();
        assert!(!conn.peer_closed());
        drop(server);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while !conn.peer_closed() {
            assert!(tokio::time::Instant::now() < deadline, "EOF never seen");
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test]
    async fn records_are_octet_counted() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut sink = StreamSink::tcp(listener.local_addr().unwrap());
        let records = ["<85>1 - a".to_owned(), "é".to_owned()];
        let (delivered, accepted) = tokio::join!(sink.deliver(&records), listener.accept());
        delivered.unwrap();
        drop(sink);
        let mut received = String::new();
        accepted
            .unwrap()
            .0
            .read_to_string(&mut received)
            .await
            .unwrap();
        assert_eq!(received, "9 <85>1 - a2 é");
    }
}
