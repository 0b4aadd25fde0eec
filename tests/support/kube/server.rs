//! The real Kubernetes control plane the tests run against: one etcd per test
//! binary, and one kube-apiserver per test world (each under its own etcd
//! prefix, so worlds are isolated like separate clusters: their own
//! namespaces, RBAC, token file and service-account issuer).
//!
//! The binaries are built from their Go modules by `scripts/test-env`
//! (`tests/peers/*/go.mod`); `KLANKER_TRUST_PEER_BIN` names their directory
//! (scripts/test sets it; without it, `scripts/test-env --peer-bin` is asked).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock, mpsc};
use std::time::{Duration, Instant};

/// How long a peer may take to become ready before the test fails.
const READY_WITHIN: Duration = Duration::from_secs(90);
/// Polling interval while waiting for readiness (a poll, not a fixed wait).
const POLL: Duration = Duration::from_millis(50);

/// The directory holding kube-apiserver, kubectl, etcd, kubectl-krew and actionlint.
pub fn peer_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(dir) = std::env::var_os("KLANKER_TRUST_PEER_BIN") {
            return PathBuf::from(dir);
        }
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/test-env");
        let out = Command::new(script)
            .arg("--peer-bin")
            .output()
            .expect("run scripts/test-env --peer-bin");
        PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
    })
    .clone()
}

/// The path of one peer binary; a clear failure when `scripts/test-env` has not built it.
pub fn peer(name: &str) -> PathBuf {
    let path = peer_bin().join(name);
    assert!(
        path.exists(),
        "test peer {} is missing: run scripts/test-env (it builds the Kubernetes peers from their Go modules), or use scripts/test",
        path.display()
    );
    path
}

/// Spawns children from one thread that lives as long as the test binary,
/// with PR_SET_PDEATHSIG: the kernel kills them when that thread dies, i.e.
/// when the test process exits or is killed, so no server outlives the tests.
/// (The signal follows the spawning *thread*, hence not the test's own thread.)
fn spawn(mut cmd: Command) -> std::io::Result<Child> {
    type Job = (Command, mpsc::Sender<std::io::Result<Child>>);
    static SPAWNER: OnceLock<Mutex<mpsc::Sender<Job>>> = OnceLock::new();
    let sender = SPAWNER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("peer-spawner".into())
            .spawn(move || {
                for (mut cmd, reply) in rx {
                    use std::os::unix::process::CommandExt;
                    // SAFETY: prctl is async-signal-safe; nothing else runs between fork and exec.
                    unsafe {
                        cmd.pre_exec(|| {
                            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                                return Err(std::io::Error::last_os_error());
                            }
                            Ok(())
                        });
                    }
                    let _ = reply.send(cmd.spawn());
                }
            })
            .expect("spawner thread");
        Mutex::new(tx)
    });
    let (reply, answer) = mpsc::channel();
    cmd.stdin(Stdio::null());
    sender
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .send((cmd, reply))
        .expect("spawner alive");
    answer.recv().expect("spawner answer")
}

/// Where peers keep their data: the tests' target tmp dir (the demo's
/// example binary has none, and uses the system's).
pub fn peer_tmp() -> PathBuf {
    option_env!("CARGO_TARGET_TMPDIR")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir)
        .join("kube-peers")
}

/// A port that was free a moment ago (the server binding it may still race
/// another; callers retry when the server reports the address in use).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

fn log_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

/// A plain-HTTP GET on loopback, for etcd's /health.
fn http_get(port: u16, path: &str) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut text = String::new();
    stream.read_to_string(&mut text).ok()?;
    Some(text)
}

struct Etcd {
    client_url: String,
    _child: Child,
}

/// The test binary's etcd, started on first use.
fn etcd() -> &'static Etcd {
    static ETCD: OnceLock<Etcd> = OnceLock::new();
    ETCD.get_or_init(|| {
        let root = peer_tmp();
        std::fs::create_dir_all(&root).expect("peer dir");
        remove_stale_dirs(&root);
        let dir = root.join(format!("etcd-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for _attempt in 0..5 {
            let (client, peer_port) = (free_port(), free_port());
            let log = dir.with_extension("log");
            let mut cmd = Command::new(peer("etcd"));
            cmd.arg("--data-dir")
                .arg(&dir)
                .arg(format!("--listen-client-urls=http://127.0.0.1:{client}"))
                .arg(format!("--advertise-client-urls=http://127.0.0.1:{client}"))
                .arg(format!("--listen-peer-urls=http://127.0.0.1:{peer_port}"))
                .arg(format!(
                    "--initial-advertise-peer-urls=http://127.0.0.1:{peer_port}"
                ))
                .arg(format!(
                    "--initial-cluster=default=http://127.0.0.1:{peer_port}"
                ))
                // Test data: durability buys nothing and fsync costs seconds per test.
                .arg("--unsafe-no-fsync")
                .arg("--log-level=warn")
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(&log).expect("etcd log"));
            let mut child = spawn(cmd).expect("start etcd");
            let deadline = Instant::now() + READY_WITHIN;
            loop {
                if http_get(client, "/health").is_some_and(|t| t.contains("\"health\":\"true\"")) {
                    return Etcd {
                        client_url: format!("http://127.0.0.1:{client}"),
                        _child: child,
                    };
                }
                if let Ok(Some(_)) = child.try_wait() {
                    break; // most likely a port taken meanwhile: try others
                }
                assert!(
                    Instant::now() < deadline,
                    "etcd did not become healthy:\n{}",
                    log_tail(&log)
                );
                std::thread::sleep(POLL);
            }
            let _ = std::fs::remove_dir_all(&dir);
        }
        panic!("etcd could not start (see {}/etcd-*.log)", root.display());
    })
}

/// Data of test binaries that are gone (each dir is named by its pid).
fn remove_stale_dirs(root: &Path) {
    let Ok(entries) = std::fs::read_dir(root) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let pid = name
            .rsplit('-')
            .next()
            .and_then(|p| p.split('.').next())
            .and_then(|p| p.parse::<u32>().ok());
        if let Some(pid) = pid
            && !Path::new(&format!("/proc/{pid}")).exists()
        {
            let _ = std::fs::remove_dir_all(entry.path());
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Who the token file knows. The kubeconfig's exec block yields one of these
/// tokens, as `aws eks get-token` yields one EKS accepts.
pub struct Users {
    /// In `system:masters`: what a cluster creator has on EKS.
    pub admin_token: String,
    /// In no group: has exactly the RBAC a test binds to it.
    pub rbac_token: String,
}

pub const RBAC_USER: &str = "klanker-admin";

/// One kube-apiserver: TLS from the test CA, token authentication, RBAC, and
/// service-account tokens signed for `issuer`.
pub struct ApiServer {
    pub port: u16,
    dir: PathBuf,
    prefix: String,
    child: Mutex<Option<Child>>,
}

impl ApiServer {
    /// Starts the server and returns once `/readyz` answers `ok`.
    pub fn start(dir: &Path, issuer: &str, users: &Users) -> ApiServer {
        static SERIAL: AtomicUsize = AtomicUsize::new(0);
        let pki = super::pki::Pki::get();
        std::fs::create_dir_all(dir).expect("apiserver dir");
        std::fs::write(
            dir.join("tokens.csv"),
            format!(
                "{},kubernetes-admin,uid-admin,\"system:masters\"\n{},{RBAC_USER},uid-rbac\n",
                users.admin_token, users.rbac_token
            ),
        )
        .expect("token file");
        let prefix = format!(
            "/world-{}-{}",
            std::process::id(),
            SERIAL.fetch_add(1, Ordering::Relaxed)
        );
        let server = ApiServer {
            port: 0,
            dir: dir.to_path_buf(),
            prefix,
            child: Mutex::new(None),
        };
        server.launch(issuer, pki, None)
    }

    /// Stops and starts the server with another issuer, keeping its data and
    /// port (an admin reconfiguring the cluster's service-account issuer).
    pub fn restart_with_issuer(self, issuer: &str) -> ApiServer {
        self.kill();
        let port = self.port;
        let pki = super::pki::Pki::get();
        ApiServer {
            port: 0,
            dir: self.dir.clone(),
            prefix: self.prefix.clone(),
            child: Mutex::new(None),
        }
        .launch(issuer, pki, Some(port))
    }

    fn launch(mut self, issuer: &str, pki: &super::pki::Pki, port: Option<u16>) -> ApiServer {
        let etcd = etcd();
        let log = self.dir.join("kube-apiserver.log");
        for _attempt in 0..5 {
            let port = port.unwrap_or_else(free_port);
            let mut cmd = Command::new(peer("kube-apiserver"));
            cmd.arg(format!("--etcd-servers={}", etcd.client_url))
                .arg(format!("--etcd-prefix={}", self.prefix))
                .arg("--bind-address=127.0.0.1")
                .arg(format!("--secure-port={port}"))
                .arg(format!("--tls-cert-file={}", pki.server_cert.display()))
                .arg(format!(
                    "--tls-private-key-file={}",
                    pki.server_key.display()
                ))
                .arg(format!("--client-ca-file={}", pki.ca_cert.display()))
                .arg(format!(
                    "--token-auth-file={}",
                    self.dir.join("tokens.csv").display()
                ))
                .arg(format!("--service-account-issuer={issuer}"))
                .arg(format!(
                    "--service-account-key-file={}",
                    pki.sa_public.display()
                ))
                .arg(format!(
                    "--service-account-signing-key-file={}",
                    pki.sa_private.display()
                ))
                .arg("--api-audiences=https://kubernetes.default.svc,sts.amazonaws.com")
                .arg("--authorization-mode=Node,RBAC")
                .arg("--service-cluster-ip-range=10.96.0.0/24")
                .arg("--advertise-address=127.0.0.1")
                // The default reconciler refuses a loopback advertise address; nothing
                // here routes to the kubernetes Service anyway.
                .arg("--endpoint-reconciler-type=none")
                .arg(format!("--cert-dir={}", self.dir.join("certs").display()))
                .arg("--profiling=false")
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(&log).expect("apiserver log"));
            let mut child = spawn(cmd).expect("start kube-apiserver");
            let deadline = Instant::now() + READY_WITHIN;
            let ready = loop {
                if super::client::readyz(port, pki) {
                    break true;
                }
                if let Ok(Some(_)) = child.try_wait() {
                    break false;
                }
                assert!(
                    Instant::now() < deadline,
                    "kube-apiserver did not become ready:\n{}",
                    log_tail(&log)
                );
                std::thread::sleep(POLL);
            };
            if ready {
                self.port = port;
                *self.child.lock().unwrap_or_else(|e| e.into_inner()) = Some(child);
                return self;
            }
            let tail = log_tail(&log);
            assert!(
                tail.contains("address already in use"),
                "kube-apiserver exited:\n{tail}"
            );
        }
        panic!("kube-apiserver could not bind a port:\n{}", log_tail(&log));
    }

    pub fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.port)
    }

    pub fn log(&self) -> String {
        log_tail(&self.dir.join("kube-apiserver.log"))
    }

    fn kill(&self) {
        if let Some(mut child) = self.child.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for ApiServer {
    fn drop(&mut self) {
        self.kill();
    }
}
