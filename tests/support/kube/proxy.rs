//! A loopback HTTPS proxy in front of the real API server, for faults the
//! server itself never makes: error statuses (429, 500, 503), dropped
//! connections (before or after the call took effect), slow answers and hangs.
//! It also records each request, so tests can say "no write was made".
//! It terminates TLS with the test CA's certificate and forwards everything,
//! Authorization included, to the API server over TLS.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls_pki_types::pem::PemObject;
use tokio::sync::oneshot;

use super::pki::Pki;

/// A fault injected into matching requests (see `KubeProxy::inject`).
#[derive(Clone, Debug)]
pub enum KubeFault {
    /// Answer with this status (a Kubernetes `Status` body) instead of forwarding.
    Status(u16),
    /// The same, with this `message`: what an admission webhook or an
    /// aggregated API server could put there (kube-apiserver alone never
    /// returns attacker-chosen bytes, so the peer is extended for it).
    StatusMessage(u16, String),
    /// Forward, but only after this long.
    Slow(Duration),
    /// Write `arrived`, then hold the request until `release` exists (tests crash the client meanwhile).
    Hang {
        arrived: std::path::PathBuf,
        release: std::path::PathBuf,
    },
    /// Close the connection without an answer; the server never sees the call.
    Drop,
    /// Forward (the call takes effect), then close the connection without the answer.
    DropAfter,
}

struct FaultRule {
    method: String,
    path_contains: String,
    fault: KubeFault,
    remaining: usize,
}

#[derive(Clone, Debug, PartialEq)]
pub struct RecordedRequest {
    pub method: String,
    pub path: String,
    pub query: String,
    /// A server-side dry run (`dryRun=All` in the query, or in a DELETE's body).
    pub dry_run: bool,
}

#[derive(Default)]
struct State {
    faults: Vec<FaultRule>,
    requests: Vec<RecordedRequest>,
}

type Upstream = Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>;

pub struct KubeProxy {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    shutdown: Mutex<Option<oneshot::Sender<()>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl KubeProxy {
    /// Serves on a free 127.0.0.1 port from a thread with its own runtime. The
    /// listener is bound before this returns: callers need no readiness wait.
    pub fn start(upstream: String) -> KubeProxy {
        let pki = Pki::get();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("proxy address");
        let state = Arc::new(Mutex::new(State::default()));
        let (shutdown, stopped) = oneshot::channel::<()>();
        let tls = server_config(pki);
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config((*super::client::tls_client_config(pki)).clone())
            .https_only()
            .enable_http1()
            .build();
        let shared = state.clone();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("proxy runtime");
            runtime.block_on(async move {
                let client: Upstream = Client::builder(TokioExecutor::new()).build(connector);
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                let acceptor = tokio_rustls::TlsAcceptor::from(tls);
                let serve = async {
                    loop {
                        let Ok((tcp, _)) = listener.accept().await else {
                            continue;
                        };
                        let (acceptor, client, state, upstream) = (
                            acceptor.clone(),
                            client.clone(),
                            shared.clone(),
                            upstream.clone(),
                        );
                        tokio::spawn(async move {
                            let Ok(tls) = acceptor.accept(tcp).await else {
                                return;
                            };
                            let service = hyper::service::service_fn(move |req| {
                                handle(req, state.clone(), client.clone(), upstream.clone())
                            });
                            let _ = hyper::server::conn::http1::Builder::new()
                                .serve_connection(TokioIo::new(tls), service)
                                .await;
                        });
                    }
                };
                tokio::select! {
                    _ = serve => {}
                    _ = stopped => {}
                }
            });
            // Dropping the runtime cancels the connection tasks and closes their
            // sockets, so no keep-alive connection reaches the server after `stop`.
        });
        KubeProxy {
            addr,
            state,
            shutdown: Mutex::new(Some(shutdown)),
            thread: Mutex::new(Some(thread)),
        }
    }

    pub fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.addr.port())
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The next `times` requests whose method is `method` and whose path
    /// contains `path_contains` get `fault`. Server-side dry runs pass: the
    /// plugin dry-runs each cluster write before any write, and a fault is
    /// meant for the write itself (a failing dry run is tested by RBAC).
    pub fn inject(&self, method: &str, path_contains: &str, fault: KubeFault, times: usize) {
        self.state().faults.push(FaultRule {
            method: method.to_string(),
            path_contains: path_contains.to_string(),
            fault,
            remaining: times,
        });
    }

    pub fn clear_faults(&self) {
        self.state().faults.clear();
    }

    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state().requests.clone()
    }

    /// Requests that could change something: not reads, and not server-side
    /// dry runs (`dryRun=All` is authorized and admitted, never persisted).
    pub fn write_requests(&self) -> Vec<RecordedRequest> {
        self.requests()
            .into_iter()
            .filter(|r| !matches!(r.method.as_str(), "GET" | "HEAD" | "OPTIONS"))
            .filter(|r| !r.dry_run)
            .collect()
    }

    pub fn clear_requests(&self) {
        self.state().requests.clear();
    }

    /// Stops serving: the cluster becomes unreachable (connection refused).
    pub fn stop(&self) {
        if let Some(tx) = self
            .shutdown
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = thread.join();
        }
    }
}

impl Drop for KubeProxy {
    fn drop(&mut self) {
        self.stop();
    }
}

fn server_config(pki: &Pki) -> Arc<rustls::ServerConfig> {
    let certs = rustls_pki_types::CertificateDer::pem_slice_iter(pki.server_cert_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .expect("server cert");
    let key = rustls_pki_types::PrivateKeyDer::from_pem_slice(pki.server_key_pem.as_bytes())
        .expect("server key");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .expect("server TLS config");
    // HTTP/1.1 only: clients that offer h2 (kubectl) fall back to it.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Arc::new(config)
}

fn take_fault(state: &Mutex<State>, method: &str, path: &str) -> Option<KubeFault> {
    let mut state = state.lock().unwrap_or_else(|e| e.into_inner());
    let rule = state
        .faults
        .iter_mut()
        .find(|r| r.remaining > 0 && r.method == method && path.contains(&r.path_contains))?;
    rule.remaining -= 1;
    Some(rule.fault.clone())
}

/// An error from the service makes hyper close the connection unanswered.
type Dropped = std::io::Error;

async fn handle(
    req: Request<Incoming>,
    state: Arc<Mutex<State>>,
    client: Upstream,
    upstream: String,
) -> Result<Response<Full<Bytes>>, Dropped> {
    let method = req.method().to_string();
    let path = req.uri().path().to_string();
    let path_and_query = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| path.clone());
    let (parts, body) = req.into_parts();
    let body = body
        .collect()
        .await
        .map_err(std::io::Error::other)?
        .to_bytes();
    let query = parts.uri.query().unwrap_or_default().to_string();
    let dry_run = query.split('&').any(|p| p == "dryRun=All")
        || serde_json::from_slice::<serde_json::Value>(&body)
            .is_ok_and(|b| b["dryRun"].as_array().is_some_and(|d| !d.is_empty()));
    state
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .requests
        .push(RecordedRequest {
            method: method.clone(),
            path: path.clone(),
            query,
            dry_run,
        });
    let mut drop_after = false;
    let fault = if dry_run {
        None
    } else {
        take_fault(&state, &method, &path)
    };
    match fault {
        Some(KubeFault::Status(code)) => {
            return Ok(status_response(code, &format!("injected fault {code}")));
        }
        Some(KubeFault::StatusMessage(code, message)) => {
            return Ok(status_response(code, &message));
        }
        Some(KubeFault::Drop) => return Err(std::io::Error::other("dropped by the fault proxy")),
        Some(KubeFault::DropAfter) => drop_after = true,
        Some(KubeFault::Slow(delay)) => tokio::time::sleep(delay).await,
        Some(KubeFault::Hang { arrived, release }) => {
            let _ = std::fs::write(&arrived, b"");
            // Held until the test releases it (or the client gives up and the
            // test ends, which drops this task with the runtime).
            while !release.exists() {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        None => {}
    }
    let mut forward = Request::builder()
        .method(parts.method)
        .uri(format!("{upstream}{path_and_query}"));
    for (name, value) in parts.headers.iter() {
        if !is_hop_header(name) {
            forward = forward.header(name, value);
        }
    }
    let forward = forward
        .body(Full::new(body))
        .map_err(std::io::Error::other)?;
    let answer = match client.request(forward).await {
        Ok(answer) => answer,
        Err(e) => {
            return Ok(text_response(
                StatusCode::BAD_GATEWAY,
                &format!("proxy: {e}"),
            ));
        }
    };
    let (mut parts, body) = answer.into_parts();
    let body = body
        .collect()
        .await
        .map_err(std::io::Error::other)?
        .to_bytes();
    if drop_after {
        return Err(std::io::Error::other("answer dropped by the fault proxy"));
    }
    let headers = std::mem::take(&mut parts.headers);
    for (name, value) in headers.iter() {
        if !is_hop_header(name) {
            parts.headers.append(name, value.clone());
        }
    }
    Ok(Response::from_parts(parts, Full::new(body)))
}

/// Headers that describe one connection or one body framing, not the request.
fn is_hop_header(name: &hyper::header::HeaderName) -> bool {
    matches!(
        name.as_str(),
        "host" | "connection" | "keep-alive" | "transfer-encoding" | "content-length" | "upgrade"
    )
}

fn status_response(code: u16, message: &str) -> Response<Full<Bytes>> {
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = serde_json::json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": status.canonical_reason().unwrap_or("Fault"),
        "code": code,
    });
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert("content-type", "application/json".parse().expect("header"));
    if code == 429 {
        response
            .headers_mut()
            .insert("retry-after", "1".parse().expect("header"));
    }
    response
}

fn text_response(status: StatusCode, text: &str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(text.to_string())));
    *response.status_mut() = status;
    response
}
