//! The Kubernetes side: the namespace and the annotated ServiceAccount,
//! written with server-side apply under our own field manager.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{ConfigMap, Namespace, ServiceAccount};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, Patch, PatchParams};
use kube::config::{KubeConfigOptions, Kubeconfig};

use crate::plan::{ObservedConfigMap, ObservedServiceAccount};
use crate::trust::FIELD_MANAGER;

pub mod credential;
pub mod proxy;

use credential::CredentialError;

// No variant keeps the kube::Error as its source: kube-client's exec auth
// errors print the plugin's whole environment and its stdout (credentials),
// and `--verbose` prints the source chain. Each variant holds text built by
// `describe`, which never includes either.
#[derive(Debug, thiserror::Error)]
pub enum KubeError {
    /// The kubeconfig's context could not make a client.
    #[error("could not set up the Kubernetes client for context `{context}`: {message}")]
    Config { context: String, message: String },
    /// The kubeconfig user's credentials could not be had (redacted).
    #[error(
        "could not get credentials for {action}: {problem}. This request was not sent to the cluster."
    )]
    Credentials { action: String, problem: String },
    /// The API server refused the request (401/403); `message` is its own
    /// words, and the fix names the RBAC that grants it.
    #[error("the cluster denied {action}: {}", denial_text(.message))]
    Forbidden { action: String, message: String },
    /// The namespace exists but is being deleted.
    #[error(
        "namespace `{namespace}` is being deleted (Terminating), so it takes no new ServiceAccount. Wait until it is gone and re-run with --create-namespace, or choose another --namespace."
    )]
    NamespaceTerminating { namespace: String },
    /// Any other answer of the API server.
    #[error("{action} failed: {message}")]
    Api {
        action: String,
        code: u16,
        message: String,
    },
    /// A create found the object there: someone made it after the plan was
    /// read. It is left as it is.
    #[error(
        "{kind} {namespace}/{name} was created by someone else after the plan was made (while the prompt waited?), so this tool will not write to it: it is left as it is. Nothing after this step was done. Re-run to see the plan against it (an existing {kind} is never taken over)."
    )]
    AppearedSincePlan {
        kind: &'static str,
        namespace: String,
        name: String,
    },
    /// The request never got an answer (no context known to name).
    #[error("could not reach the cluster API server for {action}: {message}")]
    Unreachable { action: String, message: String },
    /// The request never got an answer from the context's server.
    #[error(
        "The connection to the server {server} (context {context}) {reason} while {action} — is the cluster reachable from here? (`kubectl --context {context} get --raw /version` checks it.)"
    )]
    ServerUnreachable {
        server: String,
        context: String,
        action: String,
        reason: String,
    },
}

/// A refused TokenRequest (403) is the optional RBAC missing; anything
/// else is a failure. The text is the error's own.
impl From<KubeError> for crate::verify::NoToken {
    fn from(e: KubeError) -> Self {
        match e {
            KubeError::Forbidden { .. } => crate::verify::NoToken::Forbidden(e.to_string()),
            other => crate::verify::NoToken::Failed(other.to_string()),
        }
    }
}

/// The resourceVersion a create-only apply carries: the API server's
/// revisions start far above it once a cluster has booted, so no existing
/// object has it, and the precondition fails for any that exists.
const NOT_YET_CREATED: &str = "1";

/// The last words of a connection error chain, as kubectl says them:
/// "was refused", "timed out", "closed before the answer came", else what
/// the innermost cause says.
fn connection_reason(chain: &str) -> String {
    let lower = chain.to_ascii_lowercase();
    if lower.contains("refused") {
        "was refused".into()
    } else if [
        "closed before message completed",
        "connection reset",
        "broken pipe",
        "unexpected eof",
    ]
    .iter()
    .any(|dropped| lower.contains(dropped))
    {
        "closed before the answer came".into()
    } else if lower.contains("timed out") || lower.contains("timeout") {
        "timed out".into()
    } else {
        let innermost = chain.rsplit(": ").next().unwrap_or(chain).trim();
        format!("failed ({innermost})")
    }
}

/// What a 403 from the RBAC authorizer says was denied, parsed from its
/// message: `User "U" cannot VERB resource "R" in API group "G" in the
/// namespace "N"` (or `at the cluster scope`), or `cannot get path "P"`.
#[derive(Debug, Clone, PartialEq)]
pub struct Denial {
    pub user: String,
    pub verb: String,
    /// The resource (with its API group when not core), or the URL path.
    pub resource: String,
    pub namespace: Option<String>,
}

fn quoted_after<'a>(text: &'a str, marker: &str) -> Option<&'a str> {
    let rest = &text[text.find(marker)? + marker.len()..];
    let rest = rest.strip_prefix('"')?;
    rest.split('"').next()
}

pub fn parse_denial(message: &str) -> Option<Denial> {
    let user = quoted_after(message, "User ")?;
    let after = &message[message.find(" cannot ")? + " cannot ".len()..];
    let verb = after.split_whitespace().next()?.to_string();
    let resource = if let Some(path) = quoted_after(after, "path ") {
        path.to_string()
    } else {
        let resource = quoted_after(after, "resource ")?;
        match quoted_after(after, "in API group ") {
            Some(group) if !group.is_empty() => format!("{resource}.{group}"),
            _ => resource.to_string(),
        }
    };
    Some(Denial {
        user: user.to_string(),
        verb,
        resource,
        namespace: quoted_after(after, "in the namespace ").map(str::to_string),
    })
}

/// The user-facing sentence for a refusal: who may not do what, and the fix.
fn denial_text(message: &str) -> String {
    match parse_denial(message) {
        // Issuer discovery is granted by Kubernetes' own ClusterRole, bound by default
        // only to ServiceAccounts: name the binding that would allow this user.
        Some(d)
            if d.resource.starts_with("/.well-known/") || d.resource.starts_with("/openid/") =>
        {
            format!(
                "user `{user}` may not `{verb}` `{path}`. A cluster admin allows it with `kubectl create clusterrolebinding klanker-trust-issuer-discovery --clusterrole=system:service-account-issuer-discovery --user={user}` (or the RBAC `kubectl klanker-trust policy --for rbac` prints), or pass --issuer-url with the cluster's public service-account issuer.",
                user = d.user,
                verb = d.verb,
                path = d.resource,
            )
        }
        Some(d) => {
            let scope = d
                .namespace
                .as_deref()
                .map(|n| format!(" in namespace `{n}`"))
                .unwrap_or_default();
            let ns_flag = d
                .namespace
                .as_deref()
                .map(|n| format!(" --namespace {n}"))
                .unwrap_or_default();
            format!(
                "user `{user}` may not `{verb}` `{resource}`{scope}. A cluster admin grants exactly what this tool needs with `kubectl klanker-trust policy --for rbac{ns_flag} --user {user} -o yaml | kubectl apply -f -` (add --service-account NAME for each ServiceAccount; or use -o manifest to hand the ServiceAccount YAML to someone who may apply it).",
                user = d.user,
                verb = d.verb,
                resource = d.resource,
            )
        }
        None => format!(
            "{message}. Your kubeconfig user needs that permission (`kubectl klanker-trust policy --for rbac` prints it; or use -o manifest to hand the ServiceAccount YAML to someone who has it)."
        ),
    }
}

impl KubeError {
    fn from_kube(action: String, err: kube::Error) -> Self {
        if let Some(failed) = plugin_error(&err) {
            return KubeError::Credentials {
                action,
                problem: failed.to_string(),
            };
        }
        if let Some(auth) = auth_error(&err) {
            return KubeError::Credentials {
                action,
                problem: credential_problem(auth, None),
            };
        }
        match err {
            kube::Error::Api(status) if status.code == 401 || status.code == 403 => {
                KubeError::Forbidden {
                    action,
                    message: status.message.clone(),
                }
            }
            kube::Error::Api(status) => KubeError::Api {
                action,
                code: status.code,
                message: status.message.clone(),
            },
            other => KubeError::Unreachable {
                action,
                message: error_chain(&other),
            },
        }
    }
}

/// The credential error inside a kube error: returned as is when building
/// the client (the exec plugin runs then), or boxed in a Service error when
/// a token is refreshed on a request.
fn auth_error(err: &kube::Error) -> Option<&kube::client::AuthError> {
    if let kube::Error::Auth(auth) = err {
        return Some(auth);
    }
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        if let Some(auth) = cause.downcast_ref::<kube::client::AuthError>() {
            return Some(auth);
        }
        source = cause.source();
    }
    None
}

/// A failed run of the exec plugin when a token was refreshed for a request
/// (see `credential::TokenService`), in the error's chain.
fn plugin_error(err: &kube::Error) -> Option<&CredentialError> {
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        if let Some(failed) = cause.downcast_ref::<CredentialError>() {
            return Some(failed);
        }
        source = cause.source();
    }
    None
}

/// How many lines of a failed exec plugin's stderr are shown, and how long each may be.
const STDERR_LINES: usize = 5;
const STDERR_LINE_CHARS: usize = 300;

/// What went wrong getting a credential, built from the error's fields, not
/// its Display: for a failed exec plugin, which command, its exit status and
/// the first lines of its stderr; never its environment or stdout.
/// `plugin` names the command (from the kubeconfig) where it is known.
fn credential_problem(auth: &kube::client::AuthError, plugin: Option<&str>) -> String {
    use kube::client::AuthError as A;
    let plugin = plugin
        .map(|p| format!("exec credential plugin `{p}`"))
        .unwrap_or_else(|| "the kubeconfig user's exec credential plugin".to_string());
    let withheld = WITHHELD;
    match auth {
        A::AuthExecRun { out, .. } => failed_plugin_text(&plugin, &out.status, &out.stderr),
        A::AuthExecStart(io) => format!(
            "{plugin} could not be started: {io}. Check that it is installed and on PATH"
        ),
        A::AuthExecParse(_) => format!(
            "{plugin} did not print a valid ExecCredential ({withheld})"
        ),
        A::ExecPluginFailed => format!("{plugin} printed an ExecCredential without a status"),
        A::MalformedTokenExpirationDate(_) => format!(
            "{plugin} printed an ExecCredential whose expirationTimestamp is not an RFC 3339 time"
        ),
        A::MissingCommand | A::ExecMissingClusterInfo | A::UnrefreshableTokenResponse => {
            format!("{plugin}: {auth}")
        }
        A::ReadTokenFile(io, path) => {
            format!("could not read the kubeconfig's token file {}: {io}", path.display())
        }
        // The rest (auth providers, bearer or basic values that are not valid
        // headers) can carry a credential in their text: say where, not what.
        _ => "the kubeconfig user's credentials could not be used (the details are not shown, since they can hold a credential). Check the user entry of this context with `kubectl config view`".to_string(),
    }
}

/// Why the plugin's own words are not all shown.
const WITHHELD: &str =
    "its environment and standard output are not shown, since they can hold credentials";

/// A plugin (`plugin` names it) that exited unsuccessfully: its exit status
/// and the first lines of its stderr.
fn failed_plugin_text(plugin: &str, status: &std::process::ExitStatus, stderr: &[u8]) -> String {
    let status = exit_status_text(status);
    let stderr = String::from_utf8_lossy(stderr);
    let lines: Vec<String> = stderr
        .lines()
        .map(str::trim_end)
        .filter(|l| !l.trim().is_empty())
        .take(STDERR_LINES)
        .map(|l| l.chars().take(STDERR_LINE_CHARS).collect())
        .collect();
    let stderr_text = if lines.is_empty() {
        "Its stderr was empty or not captured (unless its interactiveMode is Never, a plugin writes stderr straight to the terminal, above). ".to_string()
    } else {
        // On one line, as every error is: its lines cannot pass for ours.
        format!("Its stderr began: {} ", lines.join(" | "))
    };
    format!(
        "{plugin} failed with {status}. {stderr_text}({WITHHELD}). Run the command yourself to see why; if its AWS session expired, log in again (e.g. `aws sso login`) and re-run"
    )
}

fn exit_status_text(status: &std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit status {code}"),
        (None, Some(signal)) => format!("signal {signal}"),
        (None, None) => "an unknown exit status".to_string(),
    }
}

/// A kube error as one line for `--verbose` logs: never the text of a credential error.
fn describe(err: &kube::Error) -> String {
    if let Some(failed) = plugin_error(err) {
        return failed.to_string();
    }
    match auth_error(err) {
        Some(auth) => credential_problem(auth, None),
        None => error_chain(err),
    }
}

/// An error and its causes, in words. kube's wrappers ("ServiceError:",
/// "HyperError:") are labels of its enum, not news: their cause speaks.
fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let err: &(dyn std::error::Error + 'static) = match err.downcast_ref::<kube::Error>() {
        Some(kube::Error::Service(inner)) => inner.as_ref(),
        Some(kube::Error::HyperError(inner)) => inner as &(dyn std::error::Error + 'static),
        _ => err,
    };
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        // Wrappers such as kube's "ServiceError: {0}" already print their
        // source; repeating it would say everything twice.
        let next = s.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = s.source();
    }
    text
}

/// Runs the context's exec plugin once, when it has one: a client
/// certificate goes into the config for the whole run, a token into a layer
/// that refreshes it when it expires.
async fn exec_credential(
    config: &mut kube::Config,
    context: &str,
    request_timeout: std::time::Duration,
) -> Result<Option<credential::TokenLayer>, KubeError> {
    let Some(exec) = credential::take_exec(&mut config.auth_info) else {
        return Ok(None);
    };
    let plugin = credential::Plugin::new(exec, request_timeout);
    let credential = plugin
        .run()
        .await
        .map_err(|e: CredentialError| KubeError::Credentials {
            action: format!("context `{context}`"),
            problem: e.to_string(),
        })?;
    Ok(match credential {
        credential::Credential::Certificate { cert_pem, key_pem } => {
            // Used for the whole run: the TLS connector is built once.
            credential::with_certificate(&mut config.auth_info, &cert_pem, &key_pem);
            None
        }
        credential::Credential::Token { header, expires } => {
            Some(credential::TokenLayer::new(plugin, header, expires))
        }
    })
}

/// Builds the client for the selected context. Nothing is sent to the
/// cluster yet, but the kubeconfig's exec plugin (e.g. `aws eks get-token`)
/// runs now, once, bounded by `request_timeout`; its token is reused until
/// it is about to expire (see `credential`). kube-client would run it three
/// times here, synchronously and unbounded.
pub async fn client(
    kubeconfig: Kubeconfig,
    context: &str,
    request_timeout: std::time::Duration,
) -> Result<kube::Client, KubeError> {
    let options = KubeConfigOptions {
        context: Some(context.to_string()),
        ..KubeConfigOptions::default()
    };
    let config_error = |message: String| KubeError::Config {
        context: context.to_string(),
        message,
    };
    // Validated before kube-client reads the same settings, so a bad value
    // is reported with the variable or kubeconfig field it came from.
    let (cluster_name, cluster_proxy_url) = context_cluster_proxy_url(&kubeconfig, context);
    let proxy = proxy::ProxySettings::read(&cluster_name, cluster_proxy_url.as_deref(), &|name| {
        std::env::var(name).ok()
    })
    .map_err(|e| config_error(e.to_string()))?;
    let loaded = match kube::Config::from_custom_kubeconfig(kubeconfig.clone(), &options).await {
        // kube-client's own NO_PROXY reading is stricter than kubectl's
        // (`*` within a list); its result is replaced below anyway.
        Err(kube::config::KubeconfigError::ParseNoProxy(_)) => {
            proxy::config_without_proxy(&kubeconfig, context)
        }
        other => other,
    };
    let mut config = loaded.map_err(|e| {
        config_error(match e {
            kube::config::KubeconfigError::ParseProxyUrl(inner) => format!(
                "the kubeconfig's `proxy-url`, or HTTPS_PROXY (or https_proxy), is not a valid URL: {inner}"
            ),
            e => error_chain(&e),
        })
    })?;
    // Ours, not kube-client's: it applies NO_PROXY to the proxy's host.
    config.proxy_url = proxy.for_server(&config.cluster_url);
    // A hung API server gives a clear error, never a hang.
    config.connect_timeout = Some(std::time::Duration::from_secs(5).min(request_timeout));
    config.read_timeout = Some(request_timeout);
    config.write_timeout = Some(request_timeout);
    // One retry layer: `retry` below. kube-client's own (429/503/504, up to
    // 15 retries with a backoff growing toward 1,000 s) would run under it,
    // multiplying the attempts and unbounding the time.
    config.default_retry = false;
    let token = exec_credential(&mut config, context, request_timeout).await?;
    let builder =
        kube::client::ClientBuilder::try_from(config).map_err(|e| match auth_error(&e) {
            Some(auth) => KubeError::Credentials {
                action: format!("context `{context}`"),
                problem: credential_problem(auth, None),
            },
            None => KubeError::Config {
                context: context.to_string(),
                message: error_chain(&e),
            },
        })?;
    Ok(match token {
        Some(layer) => builder.with_layer(&layer).build(),
        None => builder.build(),
    })
}

/// The name of the cluster `context` uses and that cluster's `proxy-url`.
fn context_cluster_proxy_url(kubeconfig: &Kubeconfig, context: &str) -> (String, Option<String>) {
    let cluster = kubeconfig
        .contexts
        .iter()
        .find(|c| c.name == context)
        .and_then(|c| c.context.as_ref())
        .map(|c| c.cluster.clone())
        .unwrap_or_default();
    let proxy_url = kubeconfig
        .clusters
        .iter()
        .find(|c| c.name == cluster)
        .and_then(|c| c.cluster.as_ref())
        .and_then(|c| c.proxy_url.clone());
    (cluster, proxy_url)
}

/// The service-account issuer the API server announces at
/// `/.well-known/openid-configuration` (kOps, k3s, self-managed clusters).
pub async fn discover_issuer(client: &kube::Client) -> Result<String, KubeError> {
    let action = "reading the API server's /.well-known/openid-configuration".to_string();
    let text = retry(false, || {
        get_text(client, "/.well-known/openid-configuration")
    })
    .await
    .map_err(|e| KubeError::from_kube(action.clone(), e))?;
    serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| v["issuer"].as_str().map(str::to_string))
        .ok_or_else(|| KubeError::Api {
            action,
            code: 200,
            message: "the document has no `issuer`".into(),
        })
}

/// A GET of a non-resource path, as text (built anew for each attempt).
async fn get_text(client: &kube::Client, path: &str) -> Result<String, kube::Error> {
    let request = http::Request::get(path)
        .body(Vec::new())
        .map_err(kube::Error::HttpError)?;
    client.request_text(request).await
}

/// Logs each Kubernetes call for `--verbose` (verb and path only).
#[derive(Clone, Copy)]
pub struct Cluster<'a> {
    pub client: &'a kube::Client,
    pub verbose: bool,
    /// Writes are sent with `dryRun=All`: authorized and admitted like the
    /// real ones, persisted never (the executor's preflight).
    pub dry_run: bool,
    /// The context and server URL, named when the server cannot be reached.
    pub context: &'a str,
    pub server: &'a str,
}

impl<'a> Cluster<'a> {
    /// A client that writes for real (see `dry_run`).
    pub fn new(client: &'a kube::Client, verbose: bool) -> Self {
        Self {
            client,
            verbose,
            dry_run: false,
            context: "",
            server: "",
        }
    }

    /// The same client, naming its context and server in connection errors.
    pub fn at(self, context: &'a str, server: Option<&'a str>) -> Self {
        Self {
            context,
            server: server.unwrap_or("?"),
            ..self
        }
    }

    /// A kube error as ours; one that never reached the server names it,
    /// as kubectl does.
    fn fail(&self, action: String, err: kube::Error) -> KubeError {
        match KubeError::from_kube(action, err) {
            KubeError::Unreachable { action, message } if !self.context.is_empty() => {
                KubeError::ServerUnreachable {
                    server: self.server.to_string(),
                    context: self.context.to_string(),
                    action,
                    reason: connection_reason(&message),
                }
            }
            other => other,
        }
    }

    /// Server-side apply under our field manager, as a dry run when this
    /// client is one; `force` only where the caller was told to take over.
    fn apply_params(&self, force: bool) -> PatchParams {
        let params = PatchParams::apply(FIELD_MANAGER);
        PatchParams {
            dry_run: self.dry_run,
            ..if force { params.force() } else { params }
        }
    }

    fn log(&self, verb: &str, what: &str) {
        tracing::debug!("  [kubernetes] {verb} {what}");
    }

    async fn retrying<T, F, Fut>(&self, call: F) -> Result<T, kube::Error>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, kube::Error>>,
    {
        retry(self.verbose, call).await
    }

    /// The API server's public token-signing keys, as STS would fetch them
    /// from the issuer (`/openid/v1/jwks`).
    pub async fn read_jwks(&self) -> Result<String, KubeError> {
        self.log("GET", "/openid/v1/jwks");
        let action = "reading the API server's /openid/v1/jwks".to_string();
        self.retrying(|| get_text(self.client, "/openid/v1/jwks"))
            .await
            .map_err(|e| self.fail(action, e))
    }

    pub async fn namespace_exists(&self, name: &str) -> Result<bool, KubeError> {
        self.log("GET", &format!("namespaces/{name}"));
        let api: Api<Namespace> = Api::all(self.client.clone());
        let ns = self
            .retrying(|| api.get_opt(name))
            .await
            .map_err(|e| self.fail(format!("reading namespace {name}"), e))?;
        // A namespace being deleted takes no new objects (the API server
        // answers 403): say so now, before anything is written anywhere.
        let terminating = ns
            .as_ref()
            .and_then(|n| n.status.as_ref())
            .and_then(|s| s.phase.as_deref())
            == Some("Terminating");
        if terminating {
            return Err(KubeError::NamespaceTerminating {
                namespace: name.to_string(),
            });
        }
        Ok(ns.is_some())
    }

    pub async fn get_service_account(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<Option<ObservedServiceAccount>, KubeError> {
        self.log(
            "GET",
            &format!("namespaces/{namespace}/serviceaccounts/{name}"),
        );
        let api: Api<ServiceAccount> = Api::namespaced(self.client.clone(), namespace);
        let sa = self
            .retrying(|| api.get_opt(name))
            .await
            .map_err(|e| self.fail(format!("reading ServiceAccount {namespace}/{name}"), e))?;
        Ok(sa.as_ref().map(observe))
    }

    pub async fn create_namespace(&self, name: &str) -> Result<(), KubeError> {
        self.log("PATCH (apply)", &format!("namespaces/{name}"));
        let api: Api<Namespace> = Api::all(self.client.clone());
        let ns = Namespace {
            metadata: ObjectMeta {
                name: Some(name.to_string()),
                ..ObjectMeta::default()
            },
            ..Namespace::default()
        };
        let params = self.apply_params(false);
        let patch = Patch::Apply(&ns);
        self.retrying(|| api.patch(name, &params, &patch))
            .await
            .map(|_| ())
            .map_err(|e| self.fail(format!("creating namespace {name}"), e))
    }

    /// Server-side apply of an object the plan found missing, with a
    /// resourceVersion no existing object can have: the API server treats
    /// it as a precondition, so the apply creates the object, or answers
    /// 409 if someone made it after the plan was read; it is then never
    /// merged into and claimed. The create is authorized as before (RBAC
    /// `create` with the object's name) and owned by our Apply entry. An
    /// object that exists is ours to go on with only when
    /// `same_onboarding` says another run of this onboarding just made it.
    async fn apply_new<K>(
        &self,
        object: &K,
        kind: &'static str,
        same_onboarding: impl Fn(&K) -> bool,
    ) -> Result<(), KubeError>
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>
            + Clone
            + serde::Serialize
            + serde::de::DeserializeOwned
            + std::fmt::Debug,
        K::DynamicType: Default,
    {
        let namespace = object.meta().namespace.clone().unwrap_or_default();
        let name = object.meta().name.clone().unwrap_or_default();
        let path = kind.to_ascii_lowercase();
        // The same call as an update's apply; the precondition makes it a create.
        self.log(
            "PATCH (apply)",
            &format!("namespaces/{namespace}/{path}s/{name}"),
        );
        let mut new = object.clone();
        new.meta_mut().resource_version = Some(NOT_YET_CREATED.to_string());
        let api: Api<K> = Api::namespaced(self.client.clone(), &namespace);
        let params = self.apply_params(false);
        let action = || format!("creating {kind} {namespace}/{name}");
        let patch = Patch::Apply(&new);
        match self.retrying(|| api.patch(&name, &params, &patch)).await {
            Ok(_) => return Ok(()),
            Err(kube::Error::Api(status)) if status.code == 409 => {}
            Err(e) => return Err(self.fail(action(), e)),
        }
        let existing = self
            .retrying(|| api.get_opt(&name))
            .await
            .map_err(|e| self.fail(action(), e))?;
        if !existing.as_ref().is_some_and(same_onboarding) {
            return Err(KubeError::AppearedSincePlan {
                kind,
                namespace,
                name,
            });
        }
        let patch = Patch::Apply(object);
        self.retrying(|| api.patch(&name, &params, &patch))
            .await
            .map(|_| ())
            .map_err(|e| self.fail(action(), e))
    }

    /// A ServiceAccount the plan found missing (see `apply_new`).
    pub async fn create_service_account(&self, sa: &ServiceAccount) -> Result<(), KubeError> {
        let role = |s: &ServiceAccount| {
            s.metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get(crate::trust::ROLE_ARN_ANNOTATION))
                .cloned()
        };
        let same_onboarding = |existing: &ServiceAccount| {
            observe(existing).created_by_us() && role(existing).is_none_or(|r| Some(r) == role(sa))
        };
        self.apply_new(sa, "ServiceAccount", same_onboarding).await
    }

    /// A ConfigMap the plan found missing (see `apply_new`).
    pub async fn create_config_map(&self, config_map: &ConfigMap) -> Result<(), KubeError> {
        let onboarding = config_map
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(crate::trust::NAME_TAG))
            .cloned()
            .unwrap_or_default();
        let same_onboarding = |existing: &ConfigMap| observe_config_map(existing).of(&onboarding);
        self.apply_new(config_map, "ConfigMap", same_onboarding)
            .await
    }

    /// Server-side apply of exactly the fields we own. `force` (only with
    /// `--override-existing-serviceaccounts`) takes the IRSA annotations from
    /// another manager; without it a conflict is an error, never a takeover.
    pub async fn apply_service_account(
        &self,
        sa: &ServiceAccount,
        force: bool,
    ) -> Result<(), KubeError> {
        let namespace = sa.metadata.namespace.as_deref().unwrap_or("default");
        let name = sa.metadata.name.as_deref().unwrap_or_default();
        self.log(
            "PATCH (apply)",
            &format!("namespaces/{namespace}/serviceaccounts/{name}"),
        );
        let api: Api<ServiceAccount> = Api::namespaced(self.client.clone(), namespace);
        let params = self.apply_params(force);
        let patch = Patch::Apply(sa);
        self.retrying(|| api.patch(name, &params, &patch))
            .await
            .map(|_| ())
            .map_err(|e| self.fail(format!("applying ServiceAccount {namespace}/{name}"), e))
    }
}

impl Cluster<'_> {
    /// Gives up every field our manager owns on the object: an apply of no
    /// fields. Fields another manager co-owns keep their value; the rest of
    /// the object (others' labels, imagePullSecrets, ...) is not touched.
    pub async fn release_service_account(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<(), KubeError> {
        self.log(
            "PATCH (apply, release)",
            &format!("namespaces/{namespace}/serviceaccounts/{name}"),
        );
        let api: Api<ServiceAccount> = Api::namespaced(self.client.clone(), namespace);
        // An apply creates what does not exist: read first, and send the
        // resourceVersion read, which makes the apply fail rather than
        // create an empty object if it was deleted meanwhile.
        let Some(current) = self.read_fresh(&api, namespace, name).await? else {
            return Ok(());
        };
        let empty = ServiceAccount {
            metadata: ObjectMeta {
                name: Some(name.to_string()),
                namespace: Some(namespace.to_string()),
                resource_version: current.metadata.resource_version,
                ..ObjectMeta::default()
            },
            ..ServiceAccount::default()
        };
        let params = self.apply_params(false);
        let patch = Patch::Apply(&empty);
        match self.retrying(|| api.patch(name, &params, &patch)).await {
            Ok(_) => Ok(()),
            // Gone meanwhile: nothing of ours is left on it.
            Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
            Err(e) => Err(self.fail(format!("releasing ServiceAccount {namespace}/{name}"), e)),
        }
    }

    /// The ServiceAccount as it is now, read right before a destructive call.
    async fn read_fresh(
        &self,
        api: &Api<ServiceAccount>,
        namespace: &str,
        name: &str,
    ) -> Result<Option<ServiceAccount>, KubeError> {
        self.retrying(|| api.get_opt(name))
            .await
            .map_err(|e| self.fail(format!("reading ServiceAccount {namespace}/{name}"), e))
    }

    /// Re-reads the object right before deleting: only one this tool created
    /// and still annotated with `role_arn` is deleted (with a resourceVersion
    /// precondition, so a change in between stops the delete); anything else
    /// is released instead. Returns a note when it did not delete.
    pub async fn delete_service_account_if_ours(
        &self,
        namespace: &str,
        name: &str,
        role_arn: &str,
    ) -> Result<Option<String>, KubeError> {
        self.log(
            "GET",
            &format!("namespaces/{namespace}/serviceaccounts/{name}"),
        );
        let api: Api<ServiceAccount> = Api::namespaced(self.client.clone(), namespace);
        let Some(fresh) = self.read_fresh(&api, namespace, name).await? else {
            return Ok(None);
        };
        let observed = observe(&fresh);
        let annotated = observed
            .annotations
            .get(crate::trust::ROLE_ARN_ANNOTATION)
            .map(String::as_str);
        // An empty `role_arn`: the object carries no role annotation (EKS
        // Pod Identity associations serve it).
        if !observed.created_by_us() || annotated.unwrap_or_default() != role_arn {
            if annotated == Some(role_arn) {
                self.release_service_account(namespace, name).await?;
            }
            return Ok(Some(format!(
                "ServiceAccount {namespace}/{name} changed since the plan (not created by this tool, or annotated with another role now): it was not deleted"
            )));
        }
        self.delete_service_account(namespace, name, fresh.metadata.resource_version)
            .await?;
        Ok(None)
    }

    /// ServiceAccounts in all namespaces carrying our managed-by label.
    pub async fn managed_service_accounts(&self) -> Result<Vec<FoundAccount>, KubeError> {
        let selector = format!(
            "{}={}",
            crate::trust::MANAGED_BY_LABEL,
            crate::trust::MANAGED_BY_VALUE
        );
        self.log("LIST", &format!("serviceaccounts?labelSelector={selector}"));
        self.list_service_accounts(kube::api::ListParams::default().labels(&selector))
            .await
    }

    /// Every ServiceAccount in all namespaces (`audit --context`): one list call.
    pub async fn all_service_accounts(&self) -> Result<Vec<FoundAccount>, KubeError> {
        self.log("LIST", "serviceaccounts (all namespaces)");
        self.list_service_accounts(kube::api::ListParams::default())
            .await
    }

    async fn list_service_accounts(
        &self,
        params: kube::api::ListParams,
    ) -> Result<Vec<FoundAccount>, KubeError> {
        let api: Api<ServiceAccount> = Api::all(self.client.clone());
        let list = self
            .retrying(|| api.list(&params))
            .await
            .map_err(|e| self.fail("listing ServiceAccounts".into(), e))?;
        Ok(list
            .items
            .iter()
            .map(|sa| FoundAccount {
                namespace: sa.metadata.namespace.clone().unwrap_or_default(),
                name: sa.metadata.name.clone().unwrap_or_default(),
                observed: observe(sa),
            })
            .collect())
    }

    /// A TokenRequest for the ServiceAccount (never logged: it is a credential).
    pub async fn request_token(
        &self,
        namespace: &str,
        name: &str,
        audience: &str,
        seconds: i64,
    ) -> Result<String, KubeError> {
        use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
        self.log(
            "POST",
            &format!("namespaces/{namespace}/serviceaccounts/{name}/token"),
        );
        let api: Api<ServiceAccount> = Api::namespaced(self.client.clone(), namespace);
        let request = TokenRequest {
            spec: Some(TokenRequestSpec {
                audiences: Some(vec![audience.to_string()]),
                expiration_seconds: Some(seconds),
                ..TokenRequestSpec::default()
            }),
            ..TokenRequest::default()
        };
        let params = kube::api::PostParams::default();
        let response = self
            .retrying(|| api.create_token_request(name, &params, &request))
            .await
            .map_err(|e| {
                self.fail(
                    format!("requesting a token for ServiceAccount {namespace}/{name}"),
                    e,
                )
            })?;
        response
            .status
            .and_then(|s| s.token)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| KubeError::Api {
                action: format!("requesting a token for ServiceAccount {namespace}/{name}"),
                code: 200,
                message: "the response carried no token".into(),
            })
    }

    async fn delete_service_account(
        &self,
        namespace: &str,
        name: &str,
        resource_version: Option<String>,
    ) -> Result<(), KubeError> {
        self.log(
            "DELETE",
            &format!("namespaces/{namespace}/serviceaccounts/{name}"),
        );
        let api: Api<ServiceAccount> = Api::namespaced(self.client.clone(), namespace);
        let params = kube::api::DeleteParams {
            preconditions: resource_version.map(|rv| kube::api::Preconditions {
                resource_version: Some(rv),
                uid: None,
            }),
            dry_run: self.dry_run,
            ..kube::api::DeleteParams::default()
        };
        match self.retrying(|| api.delete(name, &params)).await {
            Ok(_) => Ok(()),
            // Gone already: the goal is reached.
            Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
            Err(e) => Err(self.fail(format!("deleting ServiceAccount {namespace}/{name}"), e)),
        }
    }
}

/// The ConfigMap beside a cluster role: read, written, deleted (only one this tool created).
impl Cluster<'_> {
    pub async fn get_config_map(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<Option<ObservedConfigMap>, KubeError> {
        self.log("GET", &format!("namespaces/{namespace}/configmaps/{name}"));
        let api: Api<ConfigMap> = Api::namespaced(self.client.clone(), namespace);
        let found = self
            .retrying(|| api.get_opt(name))
            .await
            .map_err(|e| self.fail(format!("reading ConfigMap {namespace}/{name}"), e))?;
        Ok(found.as_ref().map(observe_config_map))
    }

    pub async fn apply_config_map(&self, config_map: &ConfigMap) -> Result<(), KubeError> {
        let namespace = config_map
            .metadata
            .namespace
            .as_deref()
            .unwrap_or("default");
        let name = config_map.metadata.name.as_deref().unwrap_or_default();
        self.log(
            "PATCH (apply)",
            &format!("namespaces/{namespace}/configmaps/{name}"),
        );
        let api: Api<ConfigMap> = Api::namespaced(self.client.clone(), namespace);
        let params = self.apply_params(false);
        let patch = Patch::Apply(config_map);
        self.retrying(|| api.patch(name, &params, &patch))
            .await
            .map(|_| ())
            .map_err(|e| self.fail(format!("applying ConfigMap {namespace}/{name}"), e))
    }

    /// Re-reads the ConfigMap right before deleting: only one this tool
    /// created is deleted, with a resourceVersion precondition.
    pub async fn delete_config_map_if_ours(
        &self,
        namespace: &str,
        name: &str,
        onboarding: &str,
    ) -> Result<Option<String>, KubeError> {
        let api: Api<ConfigMap> = Api::namespaced(self.client.clone(), namespace);
        let action = format!("deleting ConfigMap {namespace}/{name}");
        let fresh = self
            .retrying(|| api.get_opt(name))
            .await
            .map_err(|e| self.fail(action.clone(), e))?;
        let Some(fresh) = fresh else {
            return Ok(None);
        };
        if !observe_config_map(&fresh).of(onboarding) {
            return Ok(Some(format!(
                "ConfigMap {namespace}/{name} is no longer one this tool created for `{onboarding}`: it was not deleted"
            )));
        }
        self.log(
            "DELETE",
            &format!("namespaces/{namespace}/configmaps/{name}"),
        );
        let params = kube::api::DeleteParams {
            dry_run: self.dry_run,
            preconditions: Some(kube::api::Preconditions {
                resource_version: fresh.metadata.resource_version.clone(),
                uid: None,
            }),
            ..kube::api::DeleteParams::default()
        };
        match self.retrying(|| api.delete(name, &params)).await {
            Ok(_) => Ok(None),
            Err(kube::Error::Api(status)) if status.code == 404 => Ok(None),
            Err(e) => Err(self.fail(action, e)),
        }
    }
}

fn observe_config_map(cm: &ConfigMap) -> ObservedConfigMap {
    // The same record as a ServiceAccount's: our manager owns the created-by annotation.
    let meta = ServiceAccount {
        metadata: cm.metadata.clone(),
        ..ServiceAccount::default()
    };
    ObservedConfigMap {
        namespace: cm.metadata.namespace.clone().unwrap_or_default(),
        name: cm.metadata.name.clone().unwrap_or_default(),
        data: cm.data.clone().unwrap_or_default(),
        created_by_us: observe(&meta).created_by_us(),
        onboarding: cm
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(crate::trust::NAME_TAG))
            .cloned(),
    }
}

/// The ConfigMap the tool applies (and prints for `-o manifest`): our
/// label, the onboarding's name, and the created-by record (only a
/// ConfigMap this tool creates is ever applied).
pub fn config_map(
    namespace: &str,
    name: &str,
    onboarding: &str,
    data: &BTreeMap<String, String>,
) -> ConfigMap {
    let annotations = BTreeMap::from([
        (crate::trust::NAME_TAG.to_string(), onboarding.to_string()),
        (
            crate::trust::CREATED_BY_ANNOTATION.to_string(),
            crate::trust::MANAGED_BY_VALUE.to_string(),
        ),
    ]);
    ConfigMap {
        metadata: ObjectMeta {
            name: Some(name.to_string()),
            namespace: Some(namespace.to_string()),
            annotations: Some(annotations),
            labels: Some(BTreeMap::from([(
                crate::trust::MANAGED_BY_LABEL.to_string(),
                crate::trust::MANAGED_BY_VALUE.to_string(),
            )])),
            ..ObjectMeta::default()
        },
        data: Some(data.clone()),
        ..ConfigMap::default()
    }
}

/// A ServiceAccount found by listing.
#[derive(Debug, Clone)]
pub struct FoundAccount {
    pub namespace: String,
    pub name: String,
    pub observed: ObservedServiceAccount,
}

/// Labels, annotations and who owns which, from `metadata.managedFields`:
/// our manager's Apply entry is ours, every other entry someone else's.
pub fn observe(sa: &ServiceAccount) -> ObservedServiceAccount {
    let mut observed = ObservedServiceAccount {
        annotations: sa.metadata.annotations.clone().unwrap_or_default(),
        labels: sa.metadata.labels.clone().unwrap_or_default(),
        ..ObservedServiceAccount::default()
    };
    for entry in sa.metadata.managed_fields.iter().flatten() {
        let ours = entry.manager.as_deref() == Some(FIELD_MANAGER)
            && entry.operation.as_deref() == Some("Apply");
        let manager = entry.manager.clone().unwrap_or_else(|| "unknown".into());
        let Some(fields) = entry.fields_v1.as_ref() else {
            continue;
        };
        for field in owned_fields(&fields.0) {
            if ours {
                observed.ours.insert(field);
            } else {
                observed
                    .others
                    .entry(field)
                    .or_default()
                    .push(manager.clone());
            }
        }
    }
    observed
}

/// The labels/annotations a FieldsV1 document names (`f:metadata.f:labels.f:KEY`).
fn owned_fields(fields: &serde_json::Value) -> Vec<crate::plan::Field> {
    let mut out = Vec::new();
    for section in ["labels", "annotations"] {
        if let Some(keys) = fields["f:metadata"][format!("f:{section}")].as_object() {
            out.extend(
                keys.keys()
                    .filter_map(|k| k.strip_prefix("f:"))
                    .map(|k| (section.to_string(), k.to_string())),
            );
        }
    }
    out
}

/// Attempts of one Kubernetes call, and the pause before the first retry
/// (doubled for each next one: 0.2 + 0.4 + 0.8 = 1.4 s in all).
pub const ATTEMPTS: u32 = 4;
const FIRST_BACKOFF: std::time::Duration = std::time::Duration::from_millis(200);

/// The one retry layer for Kubernetes (kube-client's own is turned off in
/// `client`): calls that are safe to repeat (reads, server-side apply,
/// delete, TokenRequest) are retried on throttling, 5xx and connection
/// faults, `ATTEMPTS` attempts in all. Each attempt is bounded by the
/// client's connect and read timeouts (`--request-timeout`), so one call
/// takes at most `ATTEMPTS` × the timeout + 1.4 s.
async fn retry<T, F, Fut>(verbose: bool, mut call: F) -> Result<T, kube::Error>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, kube::Error>>,
{
    let mut delay = FIRST_BACKOFF;
    let mut attempt = 1;
    loop {
        match call().await {
            Err(err) if attempt < ATTEMPTS && is_transient(&err) => {
                if verbose {
                    tracing::debug!(
                        "  [kubernetes] retrying in {}ms after: {}",
                        delay.as_millis(),
                        describe(&err)
                    );
                }
                tokio::time::sleep(delay).await;
                delay *= 2;
                attempt += 1;
            }
            other => return other,
        }
    }
}

/// Worth another attempt: throttling, server errors, and failures to get an
/// answer at all (refused, reset, timed out).
fn is_transient(err: &kube::Error) -> bool {
    match err {
        kube::Error::Api(status) => matches!(status.code, 429 | 500 | 502 | 503 | 504),
        // A failed credential plugin fails the same way again; running it
        // four times only repeats its prompt or its error.
        kube::Error::Service(_) if auth_error(err).is_some() || plugin_error(err).is_some() => {
            false
        }
        kube::Error::HyperError(_) | kube::Error::Service(_) => true,
        _ => false,
    }
}

/// The ServiceAccount object we apply (and print for `-o manifest`).
pub fn service_account(
    namespace: &str,
    name: &str,
    annotations: &BTreeMap<String, String>,
    labels: &BTreeMap<String, String>,
) -> ServiceAccount {
    ServiceAccount {
        metadata: ObjectMeta {
            name: Some(name.to_string()),
            namespace: Some(namespace.to_string()),
            // An empty map is left out: under server-side apply it would be a
            // field of its own, and we claim only the keys we set.
            annotations: (!annotations.is_empty()).then(|| annotations.clone()),
            labels: (!labels.is_empty()).then(|| labels.clone()),
            ..ObjectMeta::default()
        },
        ..ServiceAccount::default()
    }
}

#[cfg(test)]
mod denial_tests {
    use super::*;

    #[test]
    fn parses_what_the_rbac_authorizer_says() {
        let d = parse_denial(r#"serviceaccounts "km" is forbidden: User "klanker-admin" cannot patch resource "serviceaccounts" in API group "" in the namespace "ai-pods""#).unwrap();
        assert_eq!(
            d,
            Denial {
                user: "klanker-admin".into(),
                verb: "patch".into(),
                resource: "serviceaccounts".into(),
                namespace: Some("ai-pods".into()),
            }
        );
        let d = parse_denial(r#"namespaces "x" is forbidden: User "u" cannot get resource "namespaces" in API group "" at the cluster scope"#).unwrap();
        assert_eq!((d.verb.as_str(), d.namespace), ("get", None));
        let d = parse_denial(
            r#"forbidden: User "u" cannot get path "/.well-known/openid-configuration""#,
        )
        .unwrap();
        assert_eq!(d.resource, "/.well-known/openid-configuration");
        let d = parse_denial(r#"x is forbidden: User "u" cannot list resource "roles" in API group "rbac.authorization.k8s.io" at the cluster scope"#).unwrap();
        assert_eq!(d.resource, "roles.rbac.authorization.k8s.io");
        assert_eq!(parse_denial("Unauthorized"), None);
    }

    #[test]
    fn the_refusal_names_verb_resource_and_the_fix() {
        let text = denial_text(
            r#"serviceaccounts "km" is forbidden: User "klanker-admin" cannot create resource "serviceaccounts/token" in API group "" in the namespace "ai-pods""#,
        );
        assert!(
            text.contains("`create` `serviceaccounts/token` in namespace `ai-pods`"),
            "{text}"
        );
        assert!(
            text.contains("policy --for rbac --namespace ai-pods --user klanker-admin"),
            "{text}"
        );
        assert!(denial_text("Unauthorized").contains("policy --for rbac"));
        let text = denial_text(
            r#"forbidden: User "u" cannot get path "/.well-known/openid-configuration""#,
        );
        assert!(
            text.contains("--clusterrole=system:service-account-issuer-discovery --user=u"),
            "{text}"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::ExitStatusExt;

    #[test]
    fn connection_reasons_in_words() {
        let cases = [
            (
                "client error (Connect): tcp connect error: Connection refused (os error 111)",
                "was refused",
            ),
            (
                "client error (SendRequest): connection closed before message completed",
                "closed before the answer came",
            ),
            (
                "client error (Connect): Connection reset by peer (os error 104)",
                "closed before the answer came",
            ),
            ("operation timed out", "timed out"),
        ];
        for (chain, reason) in cases {
            assert_eq!(connection_reason(chain), reason, "{chain}");
        }
    }

    const SECRET_ENV: &str = "env-secret-DO-NOT-PRINT";
    const SECRET_STDOUT: &str = "stdout-token-DO-NOT-PRINT";

    /// The error kube-client builds for a failed exec plugin: its `cmd` is the
    /// Debug text of the Command, environment included.
    fn failed_exec(stderr: &str) -> kube::client::AuthError {
        kube::client::AuthError::AuthExecRun {
            cmd: format!("AWS_SECRET_ACCESS_KEY=\"{SECRET_ENV}\" \"aws\" \"eks\" \"get-token\""),
            out: Box::new(std::process::Output {
                status: std::process::ExitStatus::from_raw(255 << 8),
                stdout: format!("{{\"token\":\"{SECRET_STDOUT}\"}}").into_bytes(),
                stderr: stderr.as_bytes().to_vec(),
            }),
        }
    }

    #[test]
    fn failed_exec_plugin_names_command_status_and_stderr_only() {
        let auth =
            failed_exec("\nAn error occurred (ExpiredToken): the SSO session expired\nline 2\n");
        let text = credential_problem(&auth, Some("aws eks get-token --cluster-name dev"));
        assert!(
            text.contains("`aws eks get-token --cluster-name dev`"),
            "{text}"
        );
        assert!(text.contains("exit status 255"), "{text}");
        assert!(
            text.contains("ExpiredToken): the SSO session expired | line 2"),
            "{text}"
        );
        for secret in [SECRET_ENV, SECRET_STDOUT] {
            assert!(!text.contains(secret), "{text}");
        }
        // kube-client's own text carries both: what this guards against.
        assert!(auth.to_string().contains(SECRET_ENV));
    }

    #[test]
    fn failed_exec_plugin_stderr_is_cut_short() {
        let long = format!("{}\n", "x".repeat(1000)).repeat(20);
        let text = credential_problem(&failed_exec(&long), None);
        assert!(
            text.contains("the kubeconfig user's exec credential plugin"),
            "{text}"
        );
        assert_eq!(
            text.matches(&"x".repeat(STDERR_LINE_CHARS)).count(),
            STDERR_LINES
        );
        assert!(!text.contains(&"x".repeat(STDERR_LINE_CHARS + 1)), "{text}");
        let silent = credential_problem(&failed_exec(""), None);
        assert!(
            silent.contains("stderr was empty or not captured"),
            "{silent}"
        );
    }

    #[test]
    fn every_path_of_a_credential_error_is_redacted() {
        // At client construction (kube::Error::Auth) and at a token refresh
        // during a request (boxed in kube::Error::Service).
        for err in [
            kube::Error::Auth(failed_exec("denied")),
            kube::Error::Service(Box::new(failed_exec("denied"))),
        ] {
            let verbose_line = describe(&err);
            assert!(!is_transient(&err), "a failed plugin is not retried");
            let e = KubeError::from_kube("reading namespace ai-pods".into(), err);
            assert!(matches!(e, KubeError::Credentials { .. }), "{e}");
            for text in [e.to_string(), verbose_line] {
                assert!(text.contains("exit status 255"), "{text}");
                for secret in [SECRET_ENV, SECRET_STDOUT] {
                    assert!(!text.contains(secret), "{text}");
                }
            }
            assert!(
                std::error::Error::source(&e).is_none(),
                "no chain for --verbose to print"
            );
        }
    }

    #[test]
    fn unparsable_plugin_output_is_not_quoted() {
        let bad = serde_json::from_str::<serde_json::Value>("x")
            .map(|_| ())
            .unwrap_err();
        let auth = kube::client::AuthError::ParseTokenKey(bad);
        let text = credential_problem(&auth, Some("gcloud"));
        assert!(text.contains("not shown"), "{text}");
        assert!(text.contains("kubectl config view"), "{text}");
    }

    #[tokio::test]
    async fn one_call_is_tried_four_times_with_a_bounded_backoff() {
        let status = |code: u16| {
            kube::Error::Api(
                kube::core::Status::failure("injected", "Fault")
                    .with_code(code)
                    .boxed(),
            )
        };
        let calls = std::cell::Cell::new(0);
        let started = std::time::Instant::now();
        let result: Result<(), _> = retry(false, || {
            calls.set(calls.get() + 1);
            std::future::ready(Err(status(503)))
        })
        .await;
        assert!(matches!(result, Err(kube::Error::Api(s)) if s.code == 503));
        assert_eq!(calls.get(), ATTEMPTS);
        let took = started.elapsed();
        assert!(
            took >= std::time::Duration::from_millis(1400)
                && took < std::time::Duration::from_secs(3),
            "{took:?}"
        );
        calls.set(0);
        let _: Result<(), _> = retry(false, || {
            calls.set(calls.get() + 1);
            std::future::ready(Err(status(404)))
        })
        .await;
        assert_eq!(calls.get(), 1, "a 404 is an answer, not a fault");
    }

    #[test]
    fn error_chain_does_not_repeat_a_wrapped_source() {
        let err = kube::Error::Service(Box::new(std::io::Error::other("connection reset")));
        assert_eq!(error_chain(&err), "connection reset");
    }

    #[test]
    fn managed_fields_tell_ours_from_others() {
        let sa: ServiceAccount = serde_json::from_value(serde_json::json!({
            "metadata": {
                "name": "km",
                "annotations": {"eks.amazonaws.com/role-arn": "arn:r", "klanker-trust/created-by": "kubectl-klanker-trust"},
                "labels": {"app.kubernetes.io/managed-by": "Helm"},
                "managedFields": [
                    {"manager": "helm", "operation": "Update", "fieldsType": "FieldsV1",
                     "fieldsV1": {"f:metadata": {"f:labels": {"f:app.kubernetes.io/managed-by": {}}}}},
                    {"manager": FIELD_MANAGER, "operation": "Apply", "fieldsType": "FieldsV1",
                     "fieldsV1": {"f:metadata": {"f:annotations": {"f:eks.amazonaws.com/role-arn": {}, "f:klanker-trust/created-by": {}}}}},
                    {"manager": FIELD_MANAGER, "operation": "Update", "fieldsType": "FieldsV1",
                     "fieldsV1": {"f:metadata": {"f:annotations": {"f:x": {}}}}}
                ]
            }
        }))
        .unwrap();
        let o = observe(&sa);
        assert!(o.created_by_us());
        assert!(
            o.ours
                .contains(&("annotations".into(), "eks.amazonaws.com/role-arn".into()))
        );
        assert_eq!(
            o.others[&(
                "labels".to_string(),
                "app.kubernetes.io/managed-by".to_string()
            )],
            ["helm"]
        );
        // An Update by a manager of our name is not our apply.
        assert_eq!(
            o.others[&("annotations".to_string(), "x".to_string())],
            [FIELD_MANAGER]
        );
        let mut copied = sa.clone();
        copied.metadata.managed_fields = None;
        assert!(
            !observe(&copied).created_by_us(),
            "the annotation alone is no proof"
        );
    }

    #[test]
    fn manifest_has_kind_and_annotations() {
        let sa = service_account(
            "ai-pods",
            "km",
            &BTreeMap::from([(
                "eks.amazonaws.com/role-arn".to_string(),
                "arn:x".to_string(),
            )]),
            &BTreeMap::from([(
                "app.kubernetes.io/managed-by".to_string(),
                "kubectl-klanker-trust".to_string(),
            )]),
        );
        // k8s-openapi writes apiVersion and kind itself (output::add prints this).
        let yaml = serde_yaml::to_string(&sa).unwrap();
        let v: serde_yaml::Value = serde_yaml::from_str(&yaml).unwrap();
        assert_eq!(v["apiVersion"], serde_yaml::Value::from("v1"));
        assert_eq!(v["kind"], serde_yaml::Value::from("ServiceAccount"));
        assert_eq!(
            v["metadata"]["namespace"],
            serde_yaml::Value::from("ai-pods")
        );
        assert_eq!(
            v["metadata"]["annotations"]["eks.amazonaws.com/role-arn"],
            serde_yaml::Value::from("arn:x")
        );
    }
}
