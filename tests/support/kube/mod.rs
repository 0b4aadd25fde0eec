//! The Kubernetes side of a test world: a real kube-apiserver (on the binary's
//! shared etcd) behind a fault-injecting proxy, and an admin client for the
//! tests to arrange and inspect state. The plugin reaches the proxy through
//! the world's kubeconfig, authenticating with the token its exec block yields.

pub mod client;
pub mod pki;
pub mod proxy;
pub mod server;

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use k8s_openapi::api::core::v1::{Namespace, ServiceAccount};
use kube::api::{Api, ListParams, PostParams};
use serde_json::Value;

pub use proxy::{KubeFault, KubeProxy, RecordedRequest};
pub use server::{ApiServer, Users, peer, peer_bin};

pub struct KubeCluster {
    server: Mutex<Option<ApiServer>>,
    proxy: KubeProxy,
    admin: kube::Client,
    rt: tokio::runtime::Runtime,
    dir: PathBuf,
    /// The API server's own URL (no proxy): for kubectl as the admin.
    pub direct_url: String,
}

impl KubeCluster {
    /// A fresh cluster whose ServiceAccount tokens are signed for `issuer`,
    /// with namespace `default` present (as on any cluster).
    pub fn start(dir: &Path, issuer: &str, users: &Users) -> KubeCluster {
        let server = ApiServer::start(&dir.join("apiserver"), issuer, users);
        let direct_url = server.url();
        let proxy = KubeProxy::start(direct_url.clone());
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("admin runtime");
        let admin_config =
            client::kubeconfig_text(&direct_url, &users.admin_token, pki::Pki::get());
        std::fs::write(dir.join("admin-kubeconfig"), &admin_config).expect("admin kubeconfig");
        let admin = rt.block_on(client::client_from(&admin_config));
        let cluster = KubeCluster {
            server: Mutex::new(Some(server)),
            proxy,
            admin,
            rt,
            dir: dir.to_path_buf(),
            direct_url,
        };
        // The namespace controller creates `default` right after readiness.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while !cluster.namespaces().iter().any(|n| n == "default") {
            assert!(
                std::time::Instant::now() < deadline,
                "namespace default never appeared"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        cluster
    }

    /// The URL the plugin uses (through the fault proxy).
    pub fn url(&self) -> String {
        self.proxy.url()
    }

    /// The kubeconfig of the cluster admin (`system:masters`), straight at the API server.
    pub fn admin_kubeconfig(&self) -> PathBuf {
        self.dir.join("admin-kubeconfig")
    }

    /// The built kubectl, as the cluster admin.
    pub fn admin_kubectl(&self) -> std::process::Command {
        let mut cmd = std::process::Command::new(peer("kubectl"));
        cmd.env_clear()
            .env("KUBECONFIG", self.admin_kubeconfig())
            .env("HOME", &self.dir)
            .env("PATH", "/usr/bin:/bin");
        cmd
    }

    /// Runs the built kubectl as the admin; panics with its output when it fails.
    #[track_caller]
    pub fn admin(&self, args: &[&str], stdin: Option<&str>) -> String {
        use std::io::Write;
        let mut cmd = self.admin_kubectl();
        cmd.args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = cmd.spawn().expect("run kubectl");
        if let Some(mut input) = child.stdin.take() {
            input
                .write_all(stdin.unwrap_or_default().as_bytes())
                .expect("kubectl stdin");
        }
        let out = child.wait_with_output().expect("kubectl output");
        assert!(
            out.status.success(),
            "kubectl {args:?} failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn add_namespace(&self, name: &str) {
        let ns: Namespace = serde_json::from_value(serde_json::json!({
            "metadata": {"name": name}
        }))
        .expect("namespace");
        let api: Api<Namespace> = Api::all(self.admin.clone());
        self.rt
            .block_on(api.create(&PostParams::default(), &ns))
            .expect("create namespace");
    }

    pub fn namespaces(&self) -> Vec<String> {
        let api: Api<Namespace> = Api::all(self.admin.clone());
        self.rt
            .block_on(api.list(&ListParams::default()))
            .map(|list| {
                list.items
                    .into_iter()
                    .filter_map(|n| n.metadata.name)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The ServiceAccount as JSON, or None when it does not exist.
    pub fn service_account(&self, ns: &str, name: &str) -> Option<Value> {
        let api: Api<ServiceAccount> = Api::namespaced(self.admin.clone(), ns);
        let sa = self
            .rt
            .block_on(api.get_opt(name))
            .expect("get ServiceAccount")?;
        Some(serde_json::to_value(sa).expect("ServiceAccount JSON"))
    }

    /// The ConfigMap as JSON, or None when it does not exist.
    pub fn config_map(&self, ns: &str, name: &str) -> Option<Value> {
        let api: Api<k8s_openapi::api::core::v1::ConfigMap> =
            Api::namespaced(self.admin.clone(), ns);
        let cm = self
            .rt
            .block_on(api.get_opt(name))
            .expect("get ConfigMap")?;
        Some(serde_json::to_value(cm).expect("ConfigMap JSON"))
    }

    /// Creates or replaces a ServiceAccount as someone editing it by hand would
    /// (`kubectl edit`: an update under its own field manager).
    pub fn put_service_account(&self, ns: &str, obj: Value) {
        let api: Api<ServiceAccount> = Api::namespaced(self.admin.clone(), ns);
        let mut sa: ServiceAccount = serde_json::from_value(obj).expect("ServiceAccount");
        sa.metadata.managed_fields = None;
        let name = sa.metadata.name.clone().expect("ServiceAccount name");
        let params = PostParams {
            field_manager: Some("kubectl-edit".into()),
            ..PostParams::default()
        };
        let exists = self.rt.block_on(api.get_opt(&name)).expect("get").is_some();
        if exists {
            self.rt
                .block_on(api.replace(&name, &params, &sa))
                .expect("replace ServiceAccount");
        } else {
            sa.metadata.resource_version = None;
            self.rt
                .block_on(api.create(&params, &sa))
                .expect("create ServiceAccount");
        }
    }

    /// Restarts the API server with another service-account issuer (same data, same port).
    pub fn restart_with_issuer(&self, issuer: &str) {
        let mut server = self.server.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(old) = server.take() {
            *server = Some(old.restart_with_issuer(issuer));
        }
    }

    /// The last lines of the API server's log (for failure messages).
    pub fn server_log(&self) -> String {
        self.server
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .map(ApiServer::log)
            .unwrap_or_default()
    }

    pub fn inject(&self, method: &str, path_contains: &str, fault: KubeFault, times: usize) {
        self.proxy.inject(method, path_contains, fault, times);
    }

    pub fn clear_faults(&self) {
        self.proxy.clear_faults();
    }

    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.proxy.requests()
    }

    pub fn write_requests(&self) -> Vec<RecordedRequest> {
        self.proxy.write_requests()
    }

    pub fn clear_requests(&self) {
        self.proxy.clear_requests();
    }

    /// The cluster becomes unreachable for the plugin (the proxy stops; the
    /// server keeps running so tests can still inspect it).
    pub fn stop(&self) {
        self.proxy.stop();
    }
}
