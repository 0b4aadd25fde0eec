//! Which proxy, if any, the API server is reached through, decided as
//! kubectl does: the kubeconfig cluster's `proxy-url` if set, else
//! `HTTPS_PROXY` (or `HTTP_PROXY` for an `http://` server), unless
//! `NO_PROXY` names the server.
//!
//! kube-client makes this choice itself, but applies `NO_PROXY` to the
//! proxy's own host rather than to the server, and reports a bad value
//! without naming where it came from; the decision is made here instead
//! and handed to kube-client as `Config::proxy_url`.

use crate::no_proxy::NoProxy;

/// A proxy setting that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    /// The value is not an `http://` or `https://` URL with a host. The
    /// value itself is never quoted: a proxy URL may hold a password.
    #[error(
        "{setting} is not a usable proxy URL: {problem}. Use http://HOST:PORT or https://HOST:PORT."
    )]
    Invalid { setting: String, problem: String },
}

/// The proxy settings that apply to one kubeconfig cluster, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct ProxySettings {
    /// The cluster's `proxy-url`: used for the server whatever the
    /// environment says, as client-go does.
    kubeconfig: Option<http::Uri>,
    /// `HTTPS_PROXY`/`https_proxy`, for an `https://` server.
    https: Option<http::Uri>,
    /// `HTTP_PROXY`/`http_proxy`, for an `http://` server.
    http: Option<http::Uri>,
    /// `NO_PROXY`/`no_proxy`, read as kubectl reads it.
    no_proxy: NoProxy,
}

impl ProxySettings {
    /// Reads and validates the settings. `env` looks a variable up (the
    /// process environment in the binary, a map in tests).
    pub fn read(
        cluster: &str,
        cluster_proxy_url: Option<&str>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<ProxySettings, ProxyError> {
        let kubeconfig = match cluster_proxy_url.map(str::trim).filter(|v| !v.is_empty()) {
            None => None,
            Some(value) => Some(parse(
                value,
                &format!("the kubeconfig's `proxy-url` of cluster `{cluster}`"),
            )?),
        };
        let from_env = |names: [&'static str; 2]| -> Result<Option<http::Uri>, ProxyError> {
            match first_set(env, names) {
                None => Ok(None),
                Some((name, value)) => parse(&value, name).map(Some),
            }
        };
        Ok(ProxySettings {
            kubeconfig,
            https: from_env(["HTTPS_PROXY", "https_proxy"])?,
            http: from_env(["HTTP_PROXY", "http_proxy"])?,
            no_proxy: NoProxy::parse(
                &first_set(env, ["NO_PROXY", "no_proxy"])
                    .map(|(_, v)| v)
                    .unwrap_or_default(),
            ),
        })
    }

    /// The proxy to reach `server` through, or `None` to connect directly.
    /// `NO_PROXY` follows kubectl's rules (`crate::no_proxy`, which the AWS
    /// side uses too). The URL kube-client gets is ours, with its user
    /// info, which kube-client sends as Proxy-Authorization.
    pub fn for_server(&self, server: &http::Uri) -> Option<http::Uri> {
        if let Some(uri) = &self.kubeconfig {
            return Some(uri.clone());
        }
        let chosen = match server.scheme_str() {
            Some("https") => self.https.as_ref(),
            Some("http") => self.http.as_ref(),
            _ => None,
        }?;
        (!self.no_proxy.bypasses_uri(server)).then(|| chosen.clone())
    }
}

/// The DER certificates of a PEM bundle (kube-client's own reading).
fn pem_certificates(pem: &[u8]) -> Vec<Vec<u8>> {
    use base64::Engine;
    let text = String::from_utf8_lossy(pem);
    let mut certs = Vec::new();
    let mut body: Option<String> = None;
    for line in text.lines().map(str::trim) {
        match (line, body.as_mut()) {
            ("-----BEGIN CERTIFICATE-----", _) => body = Some(String::new()),
            ("-----END CERTIFICATE-----", Some(b64)) => {
                if let Ok(der) = base64::engine::general_purpose::STANDARD.decode(b64.as_bytes()) {
                    certs.push(der);
                }
                body = None;
            }
            (line, Some(b64)) => b64.push_str(line),
            _ => {}
        }
    }
    certs
}

/// The client configuration of `context` as kube-client builds it, minus
/// the proxy, which is decided by `ProxySettings::for_server` anyway.
/// kube-client parses NO_PROXY itself, and more strictly than kubectl (a
/// `*` within a list, an empty entry): where that parse fails, this one is
/// used instead.
pub fn config_without_proxy(
    kubeconfig: &kube::config::Kubeconfig,
    context: &str,
) -> Result<kube::Config, kube::config::KubeconfigError> {
    use kube::config::KubeconfigError as E;
    let named = kubeconfig
        .contexts
        .iter()
        .find(|c| c.name == context)
        .and_then(|c| c.context.clone())
        .ok_or_else(|| E::LoadContext(context.to_string()))?;
    let cluster = kubeconfig
        .clusters
        .iter()
        .find(|c| c.name == named.cluster)
        .and_then(|c| c.cluster.clone())
        .ok_or_else(|| E::LoadClusterOfContext(named.cluster.clone()))?;
    // The certificate authority, read (file or data) as kube-client reads it.
    let exec_cluster = kube::config::ExecAuthCluster::try_from(&cluster)?;
    let mut auth_info = named
        .user
        .as_ref()
        .and_then(|user| kubeconfig.auth_infos.iter().find(|a| &a.name == user))
        .and_then(|a| a.auth_info.clone())
        .unwrap_or_default();
    if let Some(exec) = auth_info.exec.as_mut().filter(|e| e.provide_cluster_info) {
        exec.cluster = Some(exec_cluster.clone());
    }
    let url = cluster
        .server
        .clone()
        .ok_or(E::MissingClusterUrl)?
        .parse::<http::Uri>()
        .map_err(E::ParseClusterUrl)?;
    let mut config = kube::Config::new(url);
    config.default_namespace = named.namespace.unwrap_or_else(|| "default".into());
    config.root_cert = exec_cluster
        .certificate_authority_data
        .as_deref()
        .map(pem_certificates);
    config.accept_invalid_certs = cluster.insecure_skip_tls_verify.unwrap_or(false);
    config.disable_compression = cluster.disable_compression.unwrap_or(false);
    config.tls_server_name = cluster.tls_server_name;
    config.auth_info = auth_info;
    Ok(config)
}

/// The first of `names` that is set and not empty, with its name.
fn first_set(
    env: &dyn Fn(&str) -> Option<String>,
    names: [&'static str; 2],
) -> Option<(&'static str, String)> {
    names.into_iter().find_map(|name| {
        env(name)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .map(|v| (name, v))
    })
}

/// A proxy URL; without a scheme it is `http://`, as curl and Go read it.
fn parse(value: &str, setting: &str) -> Result<http::Uri, ProxyError> {
    let invalid = |problem: String| ProxyError::Invalid {
        setting: setting.to_string(),
        problem,
    };
    let text = if value.contains("://") {
        value.to_string()
    } else {
        format!("http://{value}")
    };
    let uri: http::Uri = text
        .parse()
        .map_err(|e: http::uri::InvalidUri| invalid(e.to_string()))?;
    match uri.scheme_str() {
        Some("http" | "https") => {}
        Some(other) => {
            return Err(invalid(format!("the scheme `{other}` is not supported")));
        }
        None => return Err(invalid("it has no scheme".into())),
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err(invalid("it has no host".into()));
    }
    Ok(uri)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(
        proxy_url: Option<&str>,
        vars: &[(&str, &str)],
    ) -> Result<ProxySettings, ProxyError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        ProxySettings::read("dev", proxy_url, &|name| map.get(name).cloned())
    }

    fn uri(s: &str) -> http::Uri {
        s.parse().unwrap()
    }

    const SERVER: &str = "https://k8s.corp.internal:6443";

    #[test]
    fn nothing_set_connects_directly() {
        let s = settings(None, &[]).unwrap();
        assert_eq!(s.for_server(&uri(SERVER)), None);
    }

    #[test]
    fn https_proxy_is_used_for_an_https_server_and_http_proxy_for_http() {
        let s = settings(
            None,
            &[
                ("HTTPS_PROXY", "http://secure-proxy:3128"),
                ("HTTP_PROXY", "http://plain-proxy:3128"),
            ],
        )
        .unwrap();
        assert_eq!(
            s.for_server(&uri(SERVER)),
            Some(uri("http://secure-proxy:3128"))
        );
        assert_eq!(
            s.for_server(&uri("http://k8s:8080")),
            Some(uri("http://plain-proxy:3128"))
        );
    }

    #[test]
    fn lower_case_variables_count_and_upper_case_wins() {
        let s = settings(None, &[("https_proxy", "http://lower:1")]).unwrap();
        assert_eq!(s.for_server(&uri(SERVER)), Some(uri("http://lower:1")));
        let s = settings(
            None,
            &[
                ("https_proxy", "http://lower:1"),
                ("HTTPS_PROXY", "http://upper:2"),
            ],
        )
        .unwrap();
        assert_eq!(s.for_server(&uri(SERVER)), Some(uri("http://upper:2")));
    }

    #[test]
    fn no_proxy_is_matched_against_the_server_not_the_proxy() {
        let proxy = ("HTTPS_PROXY", "http://proxy.corp.example:3128");
        // The server's domain: direct.
        let s = settings(None, &[proxy, ("NO_PROXY", "localhost,.corp.internal")]).unwrap();
        assert_eq!(s.for_server(&uri(SERVER)), None);
        // The proxy's domain only (kube-client would bypass here): proxied.
        let s = settings(None, &[proxy, ("NO_PROXY", "corp.example")]).unwrap();
        assert_eq!(
            s.for_server(&uri(SERVER)),
            Some(uri("http://proxy.corp.example:3128"))
        );
        // IPs, CIDR ranges and `*`.
        for no in ["10.1.2.3", "10.0.0.0/8", "*", "foo, 10.1.2.3"] {
            let s = settings(None, &[proxy, ("no_proxy", no)]).unwrap();
            assert_eq!(s.for_server(&uri("https://10.1.2.3:443")), None, "{no}");
        }
        let s = settings(None, &[proxy, ("NO_PROXY", "10.0.0.0/24")]).unwrap();
        assert!(s.for_server(&uri("https://10.1.2.3:443")).is_some());
        // `*` anywhere in the list, and entries with the server's port.
        for no in ["*,localhost", "10.1.2.3:6443", "[10.1.2.3]:6443"] {
            let s = settings(None, &[proxy, ("NO_PROXY", no)]).unwrap();
            assert_eq!(s.for_server(&uri("https://10.1.2.3:6443")), None, "{no}");
        }
    }

    #[test]
    fn the_kubeconfig_proxy_url_wins_and_ignores_no_proxy() {
        let s = settings(
            Some("http://kc-proxy:8080"),
            &[("HTTPS_PROXY", "http://env:1"), ("NO_PROXY", "*")],
        )
        .unwrap();
        assert_eq!(
            s.for_server(&uri(SERVER)),
            Some(uri("http://kc-proxy:8080"))
        );
    }

    #[test]
    fn a_proxy_without_scheme_is_http_and_user_info_is_kept() {
        let s = settings(None, &[("HTTPS_PROXY", "u:p@proxy:3128")]).unwrap();
        assert_eq!(
            s.for_server(&uri(SERVER)),
            Some(uri("http://u:p@proxy:3128"))
        );
    }

    #[test]
    fn an_invalid_value_names_its_setting_and_never_the_value() {
        // (kubeconfig proxy-url, environment, how the error starts)
        type Case<'a> = (Option<&'a str>, &'a [(&'a str, &'a str)], &'a str);
        let cases: [Case; 4] = [
            (
                None,
                &[("HTTPS_PROXY", "http://us er:secret@proxy:1")],
                "HTTPS_PROXY is not",
            ),
            (
                None,
                &[("http_proxy", "socks5://secret@proxy:1")],
                "http_proxy is not",
            ),
            (None, &[("HTTP_PROXY", "http://:1")], "HTTP_PROXY is not"),
            (
                Some("ftp://secret@proxy"),
                &[],
                "the kubeconfig's `proxy-url` of cluster `dev` is not",
            ),
        ];
        for (proxy_url, vars, expected) in cases {
            let err = settings(proxy_url, vars).unwrap_err().to_string();
            assert!(err.starts_with(expected), "{err}");
            assert!(!err.contains("secret"), "{err}");
            assert!(err.contains("http://HOST:PORT"), "{err}");
        }
        let err = settings(None, &[("HTTP_PROXY", "socks5://p:1")]).unwrap_err();
        assert!(
            err.to_string().contains("`socks5` is not supported"),
            "{err}"
        );
    }

    #[test]
    fn the_config_without_proxy_is_kube_clients_own() {
        use base64::Engine;
        let pem = "-----BEGIN CERTIFICATE-----\nAAECAwQF\nBgcICQ==\n-----END CERTIFICATE-----\n";
        let data = base64::engine::general_purpose::STANDARD.encode(pem);
        let yaml = format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: other\nclusters:\n- name: c\n  cluster:\n    server: https://k8s.corp.internal:6443\n    certificate-authority-data: {data}\n    tls-server-name: api.internal\n    insecure-skip-tls-verify: true\n\
             contexts:\n- name: dev\n  context:\n    cluster: c\n    user: u\n    namespace: ai-pods\n- name: other\n  context:\n    cluster: c\n\
             users:\n- name: u\n  user:\n    token: t\n"
        );
        let kubeconfig = kube::config::Kubeconfig::from_yaml(&yaml).unwrap();
        let ours = config_without_proxy(&kubeconfig, "dev").unwrap();
        let options = kube::config::KubeConfigOptions {
            context: Some("dev".into()),
            ..Default::default()
        };
        let theirs = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(kube::Config::from_custom_kubeconfig(kubeconfig, &options))
            .unwrap();
        assert_eq!(ours.cluster_url, theirs.cluster_url);
        assert_eq!(ours.default_namespace, "ai-pods");
        assert_eq!(ours.default_namespace, theirs.default_namespace);
        assert_eq!(ours.root_cert, Some(vec![(0u8..10).collect::<Vec<u8>>()]));
        assert_eq!(ours.root_cert, theirs.root_cert);
        assert_eq!(ours.tls_server_name, theirs.tls_server_name);
        assert!(ours.accept_invalid_certs && theirs.accept_invalid_certs);
        assert_eq!(
            serde_json::to_value(&ours.auth_info).unwrap(),
            serde_json::to_value(&theirs.auth_info).unwrap()
        );
    }

    #[test]
    fn an_invalid_http_proxy_fails_even_for_an_https_server() {
        // The AWS side would ignore it silently; one clear error instead.
        assert!(settings(None, &[("HTTP_PROXY", "http://a b")]).is_err());
    }
}
