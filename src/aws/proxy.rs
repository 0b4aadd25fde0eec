//! The AWS side's proxy choice, made per request: the SDK's connector
//! applies `NO_PROXY` by its own rules (curl's), so each request is handed
//! to a direct connector or to one that always uses the proxy, by
//! `crate::no_proxy`, the rules the API server's connection follows too.

use aws_smithy_http_client::proxy::ProxyConfig;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;

use crate::no_proxy::NoProxy;

/// One ring-based rustls client, through `proxy` (`disabled`: direct).
fn client(proxy: ProxyConfig) -> SharedHttpClient {
    aws_smithy_http_client::Builder::new().build_with_connector_fn(move |settings, components| {
        let mut builder = aws_smithy_http_client::Connector::builder().proxy_config(proxy.clone());
        builder.set_connector_settings(settings.cloned());
        if let Some(components) = components {
            builder.set_sleep_impl(components.sleep_impl());
        }
        builder
            .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
            .build()
    })
}

/// A proxy variable's value as a client through it; without a scheme it is
/// `http://`. A value that is no proxy URL is ignored, as the SDK did.
fn through(value: Option<String>) -> Option<SharedHttpClient> {
    let value = value
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())?;
    let url = if value.contains("://") {
        value
    } else {
        format!("http://{value}")
    };
    ProxyConfig::all(url.as_str()).ok().map(client)
}

/// The first of `names` that is set and not empty.
fn first(env: &dyn Fn(&str) -> Option<String>, names: &[&str]) -> Option<String> {
    names
        .iter()
        .find_map(|name| env(name).filter(|v| !v.trim().is_empty()))
}

/// Direct, or through the scheme's proxy, request by request.
#[derive(Debug, Clone)]
pub struct RoutedClient {
    direct: SharedHttpClient,
    https: Option<SharedHttpClient>,
    http: Option<SharedHttpClient>,
    no_proxy: NoProxy,
}

impl RoutedClient {
    /// From the variables the SDK reads: `HTTPS_PROXY`, `HTTP_PROXY`,
    /// `ALL_PROXY` for either, `NO_PROXY` (upper case first). None in a
    /// CGI environment (`REQUEST_METHOD`), where they come from the request.
    pub fn from_env(env: &dyn Fn(&str) -> Option<String>) -> RoutedClient {
        let cgi = env("REQUEST_METHOD").is_some();
        let all = first(env, &["ALL_PROXY", "all_proxy"]);
        let pick = |names: &[&str]| match cgi {
            true => None,
            false => through(first(env, names).or_else(|| all.clone())),
        };
        RoutedClient {
            direct: client(ProxyConfig::disabled()),
            https: pick(&["HTTPS_PROXY", "https_proxy"]),
            http: pick(&["HTTP_PROXY", "http_proxy"]),
            no_proxy: NoProxy::parse(&first(env, &["NO_PROXY", "no_proxy"]).unwrap_or_default()),
        }
    }

    /// The client for a request to `uri`.
    fn for_uri(&self, uri: &str) -> &SharedHttpClient {
        let Ok(uri) = uri.parse::<http::Uri>() else {
            return &self.direct;
        };
        let proxy = match uri.scheme_str() {
            Some("https") => self.https.as_ref(),
            Some("http") => self.http.as_ref(),
            _ => None,
        };
        match proxy {
            Some(proxy) if !self.no_proxy.bypasses_uri(&uri) => proxy,
            _ => &self.direct,
        }
    }
}

impl HttpClient for RoutedClient {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(RoutedConnector {
            client: self.clone(),
            settings: settings.clone(),
            components: components.clone(),
        })
    }
}

/// `RoutedClient` for one operation's settings.
#[derive(Debug)]
struct RoutedConnector {
    client: RoutedClient,
    settings: HttpConnectorSettings,
    components: RuntimeComponents,
}

impl HttpConnector for RoutedConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        // Each inner client keeps its connectors (and their pools) per settings.
        self.client
            .for_uri(request.uri())
            .http_connector(&self.settings, &self.components)
            .call(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn routed(vars: &[(&str, &str)]) -> RoutedClient {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        RoutedClient::from_env(&|name| map.get(name).cloned())
    }

    fn direct(client: &RoutedClient, uri: &str) -> bool {
        std::ptr::eq(client.for_uri(uri), &client.direct)
    }

    #[test]
    fn no_proxy_is_read_as_kubectl_reads_it() {
        let proxy = ("HTTPS_PROXY", "http://proxy.corp.example:3128");
        let plain = ("HTTP_PROXY", "proxy.corp.example:3128");
        let c = routed(&[proxy, plain]);
        assert!(!direct(&c, "https://iam.amazonaws.com/"));
        assert!(!direct(&c, "http://127.0.0.1:5000/"));
        // `*` covers addresses too, also within a list.
        for no in ["*", "localhost,*"] {
            let c = routed(&[proxy, plain, ("NO_PROXY", no)]);
            assert!(direct(&c, "http://127.0.0.1:5000/"), "{no}");
            assert!(direct(&c, "https://iam.amazonaws.com/"), "{no}");
        }
        // A port-specific entry.
        let c = routed(&[proxy, plain, ("no_proxy", "127.0.0.1:5000")]);
        assert!(direct(&c, "http://127.0.0.1:5000/"));
        assert!(!direct(&c, "http://127.0.0.1:5001/"));
        // ALL_PROXY serves either scheme; CGI turns proxies off.
        let c = routed(&[("ALL_PROXY", "http://p:1")]);
        assert!(!direct(&c, "https://sts.amazonaws.com/"));
        let c = routed(&[proxy, ("REQUEST_METHOD", "GET")]);
        assert!(direct(&c, "https://sts.amazonaws.com/"));
    }
}
