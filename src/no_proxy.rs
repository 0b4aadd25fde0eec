//! `NO_PROXY` as kubectl reads it (Go's `golang.org/x/net/http/httpproxy`),
//! for both sides: the API server (`k8s/proxy.rs`) and every AWS call
//! (`aws::http_client`). One reading, so a host is either direct for both
//! or proxied for both.
//!
//! The rules: entries are separated by commas, trimmed and compared without
//! case; `*` (anywhere in the list) matches every host; `10.0.0.0/8` a
//! range; `10.1.2.3` and `[::1]` an address; `corp.example` that domain and
//! its subdomains, `.corp.example` and `*.corp.example` its subdomains only;
//! any entry with `:PORT` only that port (80 and 443 when the URL names none).
//! Names never match IP addresses and addresses never match names.
//!
//! Go also never proxies `localhost` and loopback addresses, whatever the
//! variables say; here those follow `NO_PROXY` like any host, so a proxy
//! on loopback for loopback servers (an SSH tunnel, the tests' proxy) works.

use std::net::IpAddr;

/// One entry of the list.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Entry {
    /// An address range: the network's address and prefix length.
    Range {
        network: IpAddr,
        prefix: u8,
    },
    Address {
        ip: IpAddr,
        port: Option<String>,
    },
    /// `suffix` starts with a dot; `exact` also matches the name without it.
    Domain {
        suffix: String,
        exact: bool,
        port: Option<String>,
    },
}

/// A parsed `NO_PROXY` value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NoProxy {
    all: bool,
    entries: Vec<Entry>,
}

/// `addr/len`, as Go's `net.ParseCIDR` takes it.
fn range(text: &str) -> Option<Entry> {
    let (addr, len) = text.split_once('/')?;
    let network: IpAddr = addr.parse().ok()?;
    let prefix: u8 = len.parse().ok()?;
    let bits = if network.is_ipv4() { 32 } else { 128 };
    (prefix <= bits && len.chars().all(|c| c.is_ascii_digit()))
        .then_some(Entry::Range { network, prefix })
}

/// `host:port` or `[v6]:port` split as Go's `net.SplitHostPort` does;
/// `None` for a bare host (a bare IPv6 address has several colons).
fn split_port(text: &str) -> Option<(&str, &str)> {
    if let Some(rest) = text.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        return Some((host, after.strip_prefix(':')?));
    }
    let (host, port) = text.rsplit_once(':')?;
    (!host.contains(':')).then_some((host, port))
}

fn entry(text: &str) -> Option<Entry> {
    if let Some(found) = range(text) {
        return Some(found);
    }
    let (host, port) = match split_port(text) {
        // Malformed (":80"): ignored, as Go does.
        Some(("", _)) => return None,
        // An empty port (`host:`) restricts nothing, as in Go.
        Some((host, port)) => (host, Some(port.to_string()).filter(|p| !p.is_empty())),
        None => (text, None),
    };
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Some(Entry::Address { ip, port });
    }
    if host.is_empty() {
        return None;
    }
    let host = host
        .strip_prefix('*')
        .filter(|h| h.starts_with('.'))
        .unwrap_or(host);
    Some(match host.strip_prefix('.') {
        Some(_) => Entry::Domain {
            suffix: host.to_string(),
            exact: false,
            port,
        },
        None => Entry::Domain {
            suffix: format!(".{host}"),
            exact: true,
            port,
        },
    })
}

/// Whether `ip` lies in `network/prefix` (both of one family).
fn in_range(ip: IpAddr, network: IpAddr, prefix: u8) -> bool {
    let (ip, network, bits) = match (ip, network) {
        (IpAddr::V4(a), IpAddr::V4(n)) => (u128::from(a.to_bits()), u128::from(n.to_bits()), 32),
        (IpAddr::V6(a), IpAddr::V6(n)) => (a.to_bits(), n.to_bits(), 128),
        _ => return false,
    };
    let shift = bits - u32::from(prefix);
    // A /0 range matches every address of its family.
    shift >= bits || (ip >> shift) == (network >> shift)
}

impl NoProxy {
    /// Reads a `NO_PROXY` value; entries that mean nothing are skipped.
    pub fn parse(value: &str) -> NoProxy {
        let mut parsed = NoProxy::default();
        for text in value.split(',') {
            let text = text.trim().to_ascii_lowercase();
            if text == "*" {
                return NoProxy {
                    all: true,
                    entries: Vec::new(),
                };
            }
            if let Some(found) = entry(&text) {
                parsed.entries.push(found);
            }
        }
        parsed
    }

    /// Whether a request to `host` (a URL's host, IPv6 in brackets or not)
    /// and `port` goes direct.
    pub fn bypasses(&self, host: &str, port: u16) -> bool {
        if self.all {
            return true;
        }
        let host = host.trim().trim_start_matches('[').trim_end_matches(']');
        let host = host.to_ascii_lowercase();
        let port = port.to_string();
        let port_ok = |wanted: &Option<String>| wanted.as_ref().is_none_or(|p| *p == port);
        let ip = host.parse::<IpAddr>().ok();
        self.entries.iter().any(|entry| match (entry, ip) {
            (Entry::Range { network, prefix }, Some(ip)) => in_range(ip, *network, *prefix),
            (
                Entry::Address {
                    ip: wanted,
                    port: p,
                },
                Some(ip),
            ) => *wanted == ip && port_ok(p),
            (
                Entry::Domain {
                    suffix,
                    exact,
                    port: p,
                },
                None,
            ) => (host.ends_with(suffix.as_str()) || (*exact && host == suffix[1..])) && port_ok(p),
            _ => false,
        })
    }

    /// The same for a URL: its host, and its port or the scheme's.
    pub fn bypasses_uri(&self, uri: &http::Uri) -> bool {
        let Some(host) = uri.host() else {
            return false;
        };
        let port = uri.port_u16().unwrap_or(match uri.scheme_str() {
            Some("http") => 80,
            _ => 443,
        });
        self.bypasses(host, port)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What kubectl (Go's httpproxy) decides: (NO_PROXY, URL, direct?).
    /// Loopback servers are left out: Go never proxies them (see above).
    const CASES: &[(&str, &str, bool)] = &[
        ("", "https://api.corp.example", false),
        ("*", "https://api.corp.example", true),
        ("*", "https://10.1.2.3", true),
        ("*, localhost", "https://10.1.2.3:6443", true),
        ("localhost,*", "http://iam.amazonaws.com", true),
        ("corp.example", "https://corp.example", true),
        ("corp.example", "https://api.corp.example", true),
        ("corp.example", "https://notcorp.example", false),
        (".corp.example", "https://api.corp.example", true),
        (".corp.example", "https://corp.example", false),
        ("*.corp.example", "https://api.corp.example", true),
        ("*.corp.example", "https://corp.example", false),
        ("  CORP.Example  ,other", "https://API.corp.example", true),
        ("corp.example:6443", "https://api.corp.example:6443", true),
        ("corp.example:6443", "https://api.corp.example", false),
        ("corp.example:443", "https://api.corp.example", true),
        ("corp.example:80", "http://api.corp.example", true),
        ("10.1.2.3", "https://10.1.2.3:6443", true),
        ("10.1.2.3:6443", "https://10.1.2.3:6443", true),
        ("10.1.2.3:443", "https://10.1.2.3:6443", false),
        ("10.0.0.0/8", "https://10.1.2.3", true),
        ("10.0.0.0/24", "https://10.1.2.3", false),
        ("0.0.0.0/0", "http://192.0.2.1:5000", true),
        ("fd00::/8", "https://[fd00::1]:6443", true),
        ("fd00::1", "https://[fd00::1]", true),
        ("[fd00::1]:6443", "https://[fd00::1]:6443", true),
        ("[fd00::1]:6443", "https://[fd00::1]:443", false),
        // Names never match addresses, nor addresses names.
        ("10.1.2.3", "https://ten.corp.example", false),
        ("1.2.3", "https://10.1.2.3", false),
        ("10.0.0.0/8", "https://corp.example", false),
        // Malformed and empty entries are skipped.
        (":443,,", "https://corp.example", false),
        ("*.", "https://corp.example", false),
        ("corp.example:", "https://corp.example:6443", true),
    ];

    #[test]
    fn the_rules_are_kubectls() {
        for (no_proxy, url, direct) in CASES {
            let uri: http::Uri = url.parse().unwrap();
            assert_eq!(
                NoProxy::parse(no_proxy).bypasses_uri(&uri),
                *direct,
                "NO_PROXY={no_proxy:?} {url}"
            );
        }
    }
}
