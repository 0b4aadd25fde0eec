//! Talking to the real API server from the tests themselves: readiness, and
//! an admin client for arranging and inspecting cluster state.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

use rustls_pki_types::pem::PemObject;

use super::pki::Pki;

/// rustls trusting only the test CA.
pub fn tls_client_config(pki: &Pki) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pki_types::CertificateDer::pem_slice_iter(pki.ca_pem.as_bytes()) {
        roots.add(cert.expect("CA PEM")).expect("add CA");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    Arc::new(config)
}

/// `GET /readyz` answers `ok` (anonymous access to it is the API server's default).
pub fn readyz(port: u16, pki: &Pki) -> bool {
    let get = || -> std::io::Result<String> {
        let name = rustls_pki_types::ServerName::try_from("127.0.0.1").expect("server name");
        let conn = rustls::ClientConnection::new(tls_client_config(pki), name)
            .map_err(std::io::Error::other)?;
        let tcp = TcpStream::connect(("127.0.0.1", port))?;
        tcp.set_read_timeout(Some(Duration::from_secs(2)))?;
        let mut tls = rustls::StreamOwned::new(conn, tcp);
        tls.write_all(b"GET /readyz HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")?;
        let mut text = String::new();
        // A server closing without close_notify still gave its answer.
        let _ = tls.read_to_string(&mut text);
        Ok(text)
    };
    get().is_ok_and(|text| text.starts_with("HTTP/1.0 200") && text.trim_end().ends_with("ok"))
}

/// A kubeconfig for `user_token` at `server`, trusting the test CA.
pub fn kubeconfig_text(server: &str, token: &str, pki: &Pki) -> String {
    format!(
        "apiVersion: v1\nkind: Config\ncurrent-context: admin\nclusters:\n- name: test\n  cluster:\n    server: {server}\n    certificate-authority: {ca}\ncontexts:\n- name: admin\n  context:\n    cluster: test\n    user: admin\nusers:\n- name: admin\n  user:\n    token: {token}\n",
        ca = pki.ca_cert.display()
    )
}

/// A kube client from a kubeconfig text (must run inside a tokio runtime).
pub async fn client_from(kubeconfig: &str) -> kube::Client {
    let kc = kube::config::Kubeconfig::from_yaml(kubeconfig).expect("admin kubeconfig");
    let config =
        kube::Config::from_custom_kubeconfig(kc, &kube::config::KubeConfigOptions::default())
            .await
            .expect("admin config");
    kube::Client::try_from(config).expect("admin client")
}
