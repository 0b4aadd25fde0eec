//! A stand-in for the AWS IAM Identity Center portal (`sso:GetRoleCredentials`,
//! which moto does not serve), on loopback: it answers every request with
//! fixed role credentials and records the request line and the bearer token.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// One request the portal got.
#[derive(Debug, Clone)]
pub struct PortalRequest {
    pub line: String,
    pub bearer: Option<String>,
}

pub struct SsoPortal {
    port: u16,
    stop: Arc<AtomicBool>,
    requests: Arc<Mutex<Vec<PortalRequest>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl SsoPortal {
    /// Serves `{"roleCredentials": ...}` with these keys, valid for an hour.
    pub fn start(access_key: &str, secret_key: &str) -> SsoPortal {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind SSO portal");
        let port = listener.local_addr().expect("portal address").port();
        let stop = Arc::new(AtomicBool::new(false));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let expiration = (std::time::SystemTime::now() + std::time::Duration::from_secs(3600))
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_millis();
        let body = format!(
            r#"{{"roleCredentials":{{"accessKeyId":"{access_key}","secretAccessKey":"{secret_key}","sessionToken":"portal-session-token","expiration":{expiration}}}}}"#
        );
        let thread = std::thread::spawn({
            let stop = stop.clone();
            let requests = requests.clone();
            move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    if let Ok(stream) = stream {
                        serve(stream, &body, &requests);
                    }
                }
            }
        });
        SsoPortal {
            port,
            stop,
            requests,
            thread: Some(thread),
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn requests(&self) -> Vec<PortalRequest> {
        self.requests.lock().expect("portal requests").clone()
    }
}

fn serve(stream: TcpStream, body: &str, requests: &Mutex<Vec<PortalRequest>>) {
    let mut reader = BufReader::new(&stream);
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let mut bearer = None;
    loop {
        let mut header = String::new();
        match reader.read_line(&mut header) {
            Ok(0) | Err(_) => break,
            Ok(_) if header.trim().is_empty() => break,
            Ok(_) => {
                if let Some((name, value)) = header.split_once(':')
                    && name.trim().eq_ignore_ascii_case("x-amz-sso_bearer_token")
                {
                    bearer = Some(value.trim().to_string());
                }
            }
        }
    }
    requests
        .lock()
        .expect("portal requests")
        .push(PortalRequest {
            line: line.trim().to_string(),
            bearer,
        });
    let mut stream = &stream;
    let _ = write!(
        stream,
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
}

impl Drop for SsoPortal {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
