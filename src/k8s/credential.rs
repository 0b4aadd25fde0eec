//! The kubeconfig's exec credential plugin (`aws eks get-token`, ...), run
//! by this tool instead of kube-client. kube-client runs it synchronously
//! while the client is built, once for each part that asks for a credential
//! (TLS identity, auth layer, client expiry: three runs), and without a time
//! bound. Here it runs once per command, asynchronously, bounded by
//! `--request-timeout`, and its token is reused until it is about to expire.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use http::{HeaderValue, Request};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::config::{AuthInfo, ExecConfig, ExecInteractiveMode};

/// A token this close to its expiry is replaced first, so it cannot expire
/// while a request is on its way (kube-client allows the same margin).
const REFRESH_MARGIN: Duration = Duration::from_secs(60);

/// Why the plugin gave no credential. The text names the command and, for a
/// failure, its exit status and the first lines of its stderr; never its
/// environment or its standard output, which can hold credentials.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CredentialError {
    /// The exec block names no command.
    #[error("the kubeconfig user's exec block has no `command`")]
    MissingCommand,
    /// `provideClusterInfo: true`, but the cluster entry could not be passed on.
    #[error(
        "exec credential plugin `{command}` asks for the cluster's details (provideClusterInfo), which the kubeconfig does not give"
    )]
    MissingClusterInfo { command: String },
    /// The program could not be started (not installed, not executable).
    #[error(
        "exec credential plugin `{command}` could not be started: {problem}. Check that it is installed and on PATH"
    )]
    Start { command: String, problem: String },
    /// It ran longer than `--request-timeout` and was stopped.
    #[error(
        "the kubeconfig's credential command `{command}` did not answer within {seconds} s (--request-timeout), so it was stopped. Run it yourself to see why (a login prompt, a network problem), or raise --request-timeout"
    )]
    TimedOut { command: String, seconds: u64 },
    /// It exited unsuccessfully; `text` is built by `super::failed_plugin_text`.
    #[error("{text}")]
    Failed { text: String },
    /// Its standard output is no ExecCredential with a token or certificate.
    #[error(
        "exec credential plugin `{command}` did not print a valid ExecCredential with a token or a client certificate ({})",
        super::WITHHELD
    )]
    BadOutput { command: String },
}

/// A credential the plugin printed. No Debug: it is a secret.
pub enum Credential {
    Token {
        header: HeaderValue,
        expires: Option<SystemTime>,
    },
    /// PEM certificate and key, for the TLS connection.
    Certificate { cert_pem: String, key_pem: String },
}

/// The plugin of a kubeconfig user and the bound on each of its runs.
#[derive(Clone)]
pub struct Plugin {
    exec: ExecConfig,
    timeout: Duration,
}

/// Takes the exec block out of the user entry when it is what kube-client
/// would use: kube-client prefers an auth provider, a username and password,
/// a token or a token file to it, and then never runs it either.
pub fn take_exec(auth: &mut AuthInfo) -> Option<ExecConfig> {
    let exec = auth.exec.take()?;
    let other = auth.auth_provider.is_some()
        || (auth.username.is_some() && auth.password.is_some())
        || auth.token.is_some()
        || auth.token_file.is_some();
    (!other).then_some(exec)
}

/// The command line as the kubeconfig gives it (command and arguments only:
/// its `env` can hold credentials).
pub fn command_line(exec: &ExecConfig) -> String {
    let mut words = vec![exec.command.clone().unwrap_or_default()];
    words.extend(exec.args.iter().flatten().cloned());
    words.join(" ")
}

impl Plugin {
    pub fn new(exec: ExecConfig, timeout: Duration) -> Self {
        Self { exec, timeout }
    }

    pub fn command_line(&self) -> String {
        command_line(&self.exec)
    }

    fn interactive(&self) -> bool {
        self.exec.interactive_mode != Some(ExecInteractiveMode::Never)
    }

    /// What the plugin is told in KUBERNETES_EXEC_INFO, as kube-client and
    /// client-go tell it.
    fn exec_info(&self) -> Result<String, CredentialError> {
        let mut spec = serde_json::json!({ "interactive": self.interactive() });
        if self.exec.provide_cluster_info {
            let cluster = self
                .exec
                .cluster
                .as_ref()
                .and_then(|c| serde_json::to_value(c).ok())
                .ok_or_else(|| CredentialError::MissingClusterInfo {
                    command: self.command_line(),
                })?;
            spec["cluster"] = cluster;
        }
        Ok(serde_json::json!({
            "apiVersion": self.exec.api_version,
            "kind": "ExecCredential",
            "spec": spec,
        })
        .to_string())
    }

    /// Runs the plugin once, stopping it after the timeout.
    pub async fn run(&self) -> Result<Credential, CredentialError> {
        let program = self
            .exec
            .command
            .as_deref()
            .filter(|c| !c.is_empty())
            .ok_or(CredentialError::MissingCommand)?;
        let mut cmd = tokio::process::Command::new(program);
        cmd.args(self.exec.args.iter().flatten());
        for entry in self.exec.env.iter().flatten() {
            if let (Some(name), Some(value)) = (entry.get("name"), entry.get("value")) {
                cmd.env(name, value);
            }
        }
        cmd.env("KUBERNETES_EXEC_INFO", self.exec_info()?);
        for name in self.exec.drop_env.iter().flatten() {
            cmd.env_remove(name);
        }
        // An interactive plugin may prompt (MFA, SSO): it gets the terminal.
        // Its stdout is always captured: that is where the credential is.
        if self.interactive() {
            cmd.stdin(std::process::Stdio::inherit())
                .stderr(std::process::Stdio::inherit());
        } else {
            cmd.stdin(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped());
        }
        cmd.stdout(std::process::Stdio::piped()).kill_on_drop(true);
        let out = match tokio::time::timeout(self.timeout, cmd.output()).await {
            Err(_elapsed) => {
                return Err(CredentialError::TimedOut {
                    command: self.command_line(),
                    seconds: self.timeout.as_secs(),
                });
            }
            Ok(Err(io)) => {
                return Err(CredentialError::Start {
                    command: self.command_line(),
                    problem: io.to_string(),
                });
            }
            Ok(Ok(out)) => out,
        };
        if !out.status.success() {
            return Err(CredentialError::Failed {
                text: super::failed_plugin_text(
                    &format!("exec credential plugin `{}`", self.command_line()),
                    &out.status,
                    &out.stderr,
                ),
            });
        }
        parse(&out.stdout).ok_or_else(|| CredentialError::BadOutput {
            command: self.command_line(),
        })
    }
}

#[derive(serde::Deserialize)]
struct ExecCredential {
    status: Option<ExecCredentialStatus>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct ExecCredentialStatus {
    expiration_timestamp: Option<Time>,
    token: Option<String>,
    client_certificate_data: Option<String>,
    client_key_data: Option<String>,
}

/// The credential in a plugin's standard output. JSON, or YAML as client-go
/// also accepts; `None` for anything else (the output is never quoted).
pub fn parse(stdout: &[u8]) -> Option<Credential> {
    let parsed: ExecCredential = serde_yaml::from_slice(stdout).ok()?;
    let status = parsed.status?;
    if let (Some(cert_pem), Some(key_pem)) =
        (status.client_certificate_data, status.client_key_data)
    {
        return Some(Credential::Certificate { cert_pem, key_pem });
    }
    let token = status.token.filter(|t| !t.is_empty())?;
    let mut header = HeaderValue::try_from(format!("Bearer {token}")).ok()?;
    header.set_sensitive(true);
    Some(Credential::Token {
        header,
        expires: status.expiration_timestamp.map(|t| SystemTime::from(t.0)),
    })
}

/// When a token that expires at `expires`, received at `now`, is replaced:
/// a minute before it expires, or, if it lives shorter than that, when it
/// expires (rather than running the plugin for every request). `None`: it
/// has no expiry and is good for the whole run.
pub fn refresh_at(expires: Option<SystemTime>, now: SystemTime) -> Option<SystemTime> {
    let expires = expires?;
    Some(match expires.checked_sub(REFRESH_MARGIN) {
        Some(early) if early > now => early,
        _ => expires,
    })
}

/// Whether the token must be replaced before a request sent at `now`.
pub fn needs_refresh(refresh_at: Option<SystemTime>, now: SystemTime) -> bool {
    refresh_at.is_some_and(|at| now >= at)
}

/// The user entry with the plugin's certificate in place of the exec block,
/// as if the kubeconfig held it (base64 of the PEM).
pub fn with_certificate(auth: &mut AuthInfo, cert_pem: &str, key_pem: &str) {
    use base64::Engine;
    let encode = |pem: &str| {
        let mut pem = pem.to_string();
        if !pem.ends_with('\n') {
            pem.push('\n');
        }
        base64::engine::general_purpose::STANDARD.encode(pem)
    };
    // AuthInfo keeps the key as a secret type of kube's own: built through
    // its deserializer rather than by naming that type.
    if let Ok(parsed) = serde_json::from_value::<AuthInfo>(serde_json::json!({
        "client-certificate-data": encode(cert_pem),
        "client-key-data": encode(key_pem),
    })) {
        auth.client_certificate_data = parsed.client_certificate_data;
        auth.client_key_data = parsed.client_key_data;
    }
}

/// Adds the plugin's token to each request, running the plugin again when
/// the token is about to expire. The outermost layer of the client, so
/// retries reuse the token and never re-run the plugin.
pub struct TokenLayer {
    plugin: Plugin,
    header: HeaderValue,
    refresh_at: Option<SystemTime>,
}

impl TokenLayer {
    /// The plugin, and the token of its first run (received now).
    pub fn new(plugin: Plugin, header: HeaderValue, expires: Option<SystemTime>) -> Self {
        Self {
            plugin,
            header,
            refresh_at: refresh_at(expires, SystemTime::now()),
        }
    }
}

impl<S> tower::Layer<S> for TokenLayer {
    type Service = TokenService<S>;

    fn layer(&self, inner: S) -> TokenService<S> {
        TokenService {
            inner,
            plugin: self.plugin.clone(),
            header: self.header.clone(),
            refresh_at: self.refresh_at,
            refreshing: None,
            failed: None,
        }
    }
}

type Refresh = Pin<Box<dyn Future<Output = Result<Credential, CredentialError>> + Send>>;

/// See `TokenLayer`. The refresh runs in `poll_ready`, so the inner service
/// (kube-client's stack, which is not `Clone`) is only called once the token
/// is there; a failed refresh is handed to the next call as its error, and
/// the call after it tries the plugin again.
pub struct TokenService<S> {
    inner: S,
    plugin: Plugin,
    header: HeaderValue,
    refresh_at: Option<SystemTime>,
    refreshing: Option<Refresh>,
    failed: Option<CredentialError>,
}

impl<S, B> tower::Service<Request<B>> for TokenService<S>
where
    S: tower::Service<Request<B>>,
    S::Response: Send + 'static,
    S::Error: Into<tower::BoxError>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = tower::BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, tower::BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        if self.failed.is_some() {
            return Poll::Ready(Ok(()));
        }
        if self.refreshing.is_none() && needs_refresh(self.refresh_at, SystemTime::now()) {
            let plugin = self.plugin.clone();
            self.refreshing = Some(Box::pin(async move { plugin.run().await }));
        }
        if let Some(refresh) = self.refreshing.as_mut() {
            let result = match refresh.as_mut().poll(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(result) => result,
            };
            self.refreshing = None;
            match result {
                Ok(Credential::Token { header, expires }) => {
                    self.header = header;
                    self.refresh_at = refresh_at(expires, SystemTime::now());
                }
                Ok(Credential::Certificate { .. }) => {
                    self.failed = Some(CredentialError::BadOutput {
                        command: self.plugin.command_line(),
                    });
                    return Poll::Ready(Ok(()));
                }
                Err(e) => {
                    self.failed = Some(e);
                    return Poll::Ready(Ok(()));
                }
            }
        }
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        if let Some(e) = self.failed.take() {
            return Box::pin(std::future::ready(Err(e.into())));
        }
        request
            .headers_mut()
            .insert(http::header::AUTHORIZATION, self.header.clone());
        let call = self.inner.call(request);
        Box::pin(async move { call.await.map_err(Into::into) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_reused_until_a_minute_before_they_expire() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let secs = Duration::from_secs;
        assert_eq!(refresh_at(None, now), None);
        assert!(!needs_refresh(None, now + secs(1_000_000)));
        // A 15-minute token: replaced after 14 minutes.
        let at = refresh_at(Some(now + secs(900)), now);
        assert_eq!(at, Some(now + secs(840)));
        assert!(!needs_refresh(at, now + secs(839)));
        assert!(needs_refresh(at, now + secs(840)));
        // A 30-second token is used until it expires, not re-fetched per request.
        let at = refresh_at(Some(now + secs(30)), now);
        assert!(!needs_refresh(at, now + secs(29)));
        assert!(needs_refresh(at, now + secs(30)));
        // An expired one at once.
        assert!(needs_refresh(refresh_at(Some(now - secs(1)), now), now));
    }

    #[test]
    fn parses_token_and_expiry_in_json_or_yaml() {
        let json = br#"{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1beta1","spec":{},"status":{"token":"k8s-aws-v1.abc","expirationTimestamp":"2099-01-01T00:00:00Z"}}"#;
        let Some(Credential::Token { header, expires }) = parse(json) else {
            panic!("no token");
        };
        assert_eq!(header.to_str().unwrap(), "Bearer k8s-aws-v1.abc");
        assert!(header.is_sensitive());
        assert_eq!(
            expires,
            Some(SystemTime::UNIX_EPOCH + Duration::from_secs(4_070_908_800))
        );
        let yaml = b"kind: ExecCredential\nstatus:\n  token: t\n";
        assert!(matches!(
            parse(yaml),
            Some(Credential::Token { expires: None, .. })
        ));
    }

    #[test]
    fn a_certificate_wins_over_a_token() {
        let out =
            br#"{"status":{"token":"t","clientCertificateData":"CERT","clientKeyData":"KEY"}}"#;
        let Some(Credential::Certificate { cert_pem, key_pem }) = parse(out) else {
            panic!("no certificate");
        };
        assert_eq!((cert_pem.as_str(), key_pem.as_str()), ("CERT", "KEY"));
        let mut auth = AuthInfo::default();
        with_certificate(&mut auth, &cert_pem, &key_pem);
        assert_eq!(auth.client_certificate_data.as_deref(), Some("Q0VSVAo="));
        assert!(auth.client_key_data.is_some());
    }

    #[test]
    fn output_without_a_credential_is_refused() {
        for out in [
            &b"not json {"[..],
            br#"{"kind":"ExecCredential"}"#,
            br#"{"status":{}}"#,
            br#"{"status":{"token":""}}"#,
            br#"{"status":{"token":"t","expirationTimestamp":"tomorrow"}}"#,
            br#"{"status":{"token":"bad\nheader"}}"#,
        ] {
            assert!(parse(out).is_none(), "{}", String::from_utf8_lossy(out));
        }
    }

    fn exec(yaml: &str) -> ExecConfig {
        serde_yaml::from_str(yaml).unwrap()
    }

    #[test]
    fn only_an_exec_block_kube_client_would_use_is_taken() {
        let block = exec("command: aws\nargs: [eks, get-token]\napiVersion: v1");
        let mut auth = AuthInfo {
            exec: Some(block.clone()),
            ..AuthInfo::default()
        };
        assert!(take_exec(&mut auth).is_some());
        assert!(auth.exec.is_none());
        let mut auth: AuthInfo =
            serde_json::from_value(serde_json::json!({"token": "abc"})).unwrap();
        auth.exec = Some(block);
        assert!(take_exec(&mut auth).is_none(), "the token is used instead");
        assert!(auth.exec.is_none(), "and kube-client must not run it");
    }

    #[test]
    fn exec_info_tells_interactivity_and_cluster_only_when_asked() {
        let plugin = Plugin::new(
            exec(
                "command: aws\napiVersion: client.authentication.k8s.io/v1\ninteractiveMode: Never",
            ),
            Duration::from_secs(1),
        );
        let info: serde_json::Value = serde_json::from_str(&plugin.exec_info().unwrap()).unwrap();
        assert_eq!(info["spec"], serde_json::json!({"interactive": false}));
        assert_eq!(info["apiVersion"], "client.authentication.k8s.io/v1");
        let asks = Plugin::new(
            exec("command: aws\nprovideClusterInfo: true"),
            Duration::from_secs(1),
        );
        assert!(matches!(
            asks.exec_info(),
            Err(CredentialError::MissingClusterInfo { .. })
        ));
    }

    fn script(dir: &std::path::Path, body: &str) -> String {
        use std::os::unix::fs::PermissionsExt;
        let path = dir.join("plugin");
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path.display().to_string()
    }

    fn plugin(command: &str, timeout: Duration) -> Plugin {
        Plugin::new(
            exec(&format!(
                "command: {command}\nargs: [eks, get-token]\ninteractiveMode: Never\nenv: [{{name: SECRET, value: env-secret-DO-NOT-PRINT}}]"
            )),
            timeout,
        )
    }

    #[tokio::test]
    async fn a_hanging_plugin_is_stopped_at_the_timeout() {
        let dir = tempfile::tempdir().unwrap();
        let command = script(dir.path(), "exec sleep 30");
        let started = std::time::Instant::now();
        let err = plugin(&command, Duration::from_secs(1))
            .run()
            .await
            .err()
            .expect("timed out");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
        let text = err.to_string();
        assert!(
            text.contains(&format!(
                "the kubeconfig's credential command `{command} eks get-token` did not answer within 1 s"
            )),
            "{text}"
        );
    }

    #[tokio::test]
    async fn a_failed_plugin_names_status_and_stderr_never_env_or_stdout() {
        let dir = tempfile::tempdir().unwrap();
        let command = script(
            dir.path(),
            "echo \"{\\\"status\\\":{\\\"token\\\":\\\"stdout-DO-NOT-PRINT $SECRET\\\"}}\"\necho 'denied by SSO' >&2\nexit 3",
        );
        let err = plugin(&command, Duration::from_secs(5))
            .run()
            .await
            .err()
            .expect("failed");
        let text = err.to_string();
        assert!(text.contains("exit status 3"), "{text}");
        assert!(text.contains("denied by SSO"), "{text}");
        assert!(!text.contains("DO-NOT-PRINT"), "{text}");
        assert!(!format!("{err:?}").contains("DO-NOT-PRINT"), "{err:?}");
        // The env did reach the plugin.
        let command = script(
            dir.path(),
            "printf '{\"status\":{\"token\":\"%s\"}}' \"$SECRET\"",
        );
        let Ok(Credential::Token { header, .. }) =
            plugin(&command, Duration::from_secs(5)).run().await
        else {
            panic!("no token");
        };
        assert_eq!(header.to_str().unwrap(), "Bearer env-secret-DO-NOT-PRINT");
    }

    /// Answers with the Authorization header it was sent.
    struct Echo;

    impl tower::Service<Request<()>> for Echo {
        type Response = String;
        type Error = tower::BoxError;
        type Future = std::future::Ready<Result<String, tower::BoxError>>;

        fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
            Poll::Ready(Ok(()))
        }

        fn call(&mut self, request: Request<()>) -> Self::Future {
            let auth = request.headers()[http::header::AUTHORIZATION].to_str();
            std::future::ready(Ok(auth.unwrap_or_default().to_string()))
        }
    }

    async fn send(service: &mut TokenService<Echo>) -> Result<String, tower::BoxError> {
        use tower::Service;
        std::future::poll_fn(|cx| service.poll_ready(cx)).await?;
        service.call(Request::new(())).await
    }

    #[tokio::test]
    async fn an_expiring_token_is_refreshed_once_and_a_failed_refresh_is_a_credential_error() {
        use tower::Layer;
        let dir = tempfile::tempdir().unwrap();
        let runs = dir.path().join("runs");
        let command = script(
            dir.path(),
            &format!(
                "echo run >> '{}'\n[ -e '{}' ] && exit 7\nprintf '{{\"status\":{{\"token\":\"fresh\"}}}}'",
                runs.display(),
                dir.path().join("fail").display()
            ),
        );
        let count = || {
            std::fs::read_to_string(&runs)
                .unwrap_or_default()
                .lines()
                .count()
        };
        let header = HeaderValue::from_static("Bearer first");
        let expired = Some(SystemTime::now() - Duration::from_secs(1));
        let layer = TokenLayer::new(
            plugin(&command, Duration::from_secs(5)),
            header.clone(),
            expired,
        );
        let mut service = layer.layer(Echo);
        assert_eq!(send(&mut service).await.unwrap(), "Bearer fresh");
        assert_eq!(send(&mut service).await.unwrap(), "Bearer fresh");
        assert_eq!(count(), 1, "refreshed once, then reused");
        let fresh = TokenLayer::new(
            plugin(&command, Duration::from_secs(5)),
            header.clone(),
            None,
        );
        assert_eq!(send(&mut fresh.layer(Echo)).await.unwrap(), "Bearer first");
        assert_eq!(count(), 1, "a token without expiry is never refreshed");

        std::fs::write(dir.path().join("fail"), "").unwrap();
        let layer = TokenLayer::new(plugin(&command, Duration::from_secs(5)), header, expired);
        let mut service = layer.layer(Echo);
        let err = kube::Error::Service(send(&mut service).await.unwrap_err());
        assert!(!super::super::is_transient(&err), "not retried");
        let e = super::super::KubeError::from_kube("reading namespace a".into(), err);
        let text = e.to_string();
        assert!(
            matches!(e, super::super::KubeError::Credentials { .. }),
            "{text}"
        );
        assert!(text.contains("exit status 7"), "{text}");
        // The next request tries the plugin again.
        assert!(send(&mut service).await.is_err());
        assert_eq!(count(), 3);
    }
}
