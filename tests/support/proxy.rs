//! A forward proxy on loopback, as a corporate proxy would be: `CONNECT
//! host:port` is tunnelled (the kube-apiserver's TLS), and an absolute-form
//! request (`POST http://127.0.0.1:PORT/ HTTP/1.1`, moto's plain HTTP) is
//! passed on to that host unchanged. It records the target of each
//! connection, and refuses any target that is not loopback.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;

/// How a connection asked to be carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Connect,
    Plain,
}

/// One client connection and the loopback port it was carried to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tunnel {
    pub kind: Kind,
    pub port: u16,
}

pub struct ForwardProxy {
    addr: SocketAddr,
    tunnels: Arc<Mutex<Vec<Tunnel>>>,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl ForwardProxy {
    /// Serves on a free 127.0.0.1 port from a thread with its own runtime;
    /// the listener is bound before this returns (no readiness wait needed).
    pub fn start() -> ForwardProxy {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind forward proxy");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("proxy address");
        let tunnels = Arc::new(Mutex::new(Vec::new()));
        let (shutdown, stopped) = oneshot::channel::<()>();
        let shared = tunnels.clone();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("proxy runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                let serve = async {
                    loop {
                        let Ok((client, _)) = listener.accept().await else {
                            continue;
                        };
                        tokio::spawn(carry(client, shared.clone()));
                    }
                };
                tokio::select! {
                    _ = serve => {}
                    _ = stopped => {}
                }
            });
            // Dropping the runtime closes every tunnel.
        });
        ForwardProxy {
            addr,
            tunnels,
            shutdown: Some(shutdown),
            thread: Some(thread),
        }
    }

    /// `http://HOST:PORT` of the proxy, with `host` naming 127.0.0.1.
    pub fn url_as(&self, host: &str) -> String {
        format!("http://{host}:{}", self.addr.port())
    }

    pub fn url(&self) -> String {
        self.url_as("127.0.0.1")
    }

    pub fn tunnels(&self) -> Vec<Tunnel> {
        self.tunnels
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// How many connections of `kind` went to the server at `url`'s port.
    pub fn count(&self, kind: Kind, url: &str) -> usize {
        let port = port_of(url);
        self.tunnels()
            .iter()
            .filter(|t| t.kind == kind && t.port == port)
            .count()
    }
}

impl Drop for ForwardProxy {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The port of `http(s)://127.0.0.1:PORT[/...]`.
pub fn port_of(url: &str) -> u16 {
    url.rsplit(':')
        .next()
        .and_then(|p| p.split('/').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no port in {url}"))
}

async fn carry(mut client: TcpStream, tunnels: Arc<Mutex<Vec<Tunnel>>>) {
    // The request head; anything read past it is sent on.
    let mut buf = Vec::new();
    let head_end = loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
        let mut chunk = [0u8; 4096];
        match client.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
        if buf.len() > 64 * 1024 {
            return;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut words = head.lines().next().unwrap_or_default().split_whitespace();
    let (method, target) = (
        words.next().unwrap_or_default(),
        words.next().unwrap_or_default(),
    );
    let (kind, authority) = if method == "CONNECT" {
        (Kind::Connect, target.to_string())
    } else if let Some(rest) = target.strip_prefix("http://") {
        (
            Kind::Plain,
            rest.split('/').next().unwrap_or_default().to_string(),
        )
    } else {
        let _ = client
            .write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n")
            .await;
        return;
    };
    let Ok(addr) = authority.parse::<SocketAddr>() else {
        let _ = client
            .write_all(b"HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n")
            .await;
        return;
    };
    if !addr.ip().is_loopback() {
        let _ = client
            .write_all(b"HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n")
            .await;
        return;
    }
    let Ok(mut upstream) = TcpStream::connect(addr).await else {
        let _ = client
            .write_all(b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n")
            .await;
        return;
    };
    tunnels
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(Tunnel {
            kind,
            port: addr.port(),
        });
    let forward = match kind {
        Kind::Connect => {
            if client
                .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                .await
                .is_err()
            {
                return;
            }
            &buf[head_end..]
        }
        // The origin server accepts the absolute form as it is.
        Kind::Plain => &buf[..],
    };
    if upstream.write_all(forward).await.is_err() {
        return;
    }
    let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
}
