//! The Kubernetes side: the namespace and the annotated ServiceAccount,
//! written with server-side apply under our own field manager.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Namespace, ServiceAccount};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, Patch, PatchParams};
use kube::config::{KubeConfigOptions, Kubeconfig};

use crate::plan::ObservedServiceAccount;
use crate::trust::FIELD_MANAGER;

#[derive(Debug, thiserror::Error)]
pub enum KubeError {
    #[error("could not set up the Kubernetes client for context `{context}`: {message}")]
    Config { context: String, message: String },
    #[error(
        "the cluster denied {action}: {message}. Your kubeconfig user needs that permission (or use -o manifest to hand the ServiceAccount YAML to someone who has it)."
    )]
    Forbidden { action: String, message: String },
    #[error("{action} failed: {message}")]
    Api {
        action: String,
        code: u16,
        message: String,
    },
    #[error("could not reach the cluster API server for {action}: {message}")]
    Unreachable { action: String, message: String },
}

impl KubeError {
    fn from_kube(action: String, err: kube::Error) -> Self {
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

fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// Builds the client for the selected context. Nothing is sent yet; the
/// exec plugin (e.g. `aws eks get-token`) runs on the first request.
pub async fn client(
    kubeconfig: Kubeconfig,
    context: &str,
    request_timeout: std::time::Duration,
) -> Result<kube::Client, KubeError> {
    let options = KubeConfigOptions {
        context: Some(context.to_string()),
        ..KubeConfigOptions::default()
    };
    let mut config = kube::Config::from_custom_kubeconfig(kubeconfig, &options)
        .await
        .map_err(|e| KubeError::Config {
            context: context.to_string(),
            message: error_chain(&e),
        })?;
    // A hung API server gives a clear error, never a hang.
    config.connect_timeout = Some(std::time::Duration::from_secs(5).min(request_timeout));
    config.read_timeout = Some(request_timeout);
    config.write_timeout = Some(request_timeout);
    kube::Client::try_from(config).map_err(|e| KubeError::Config {
        context: context.to_string(),
        message: error_chain(&e),
    })
}

/// The service-account issuer the API server announces at
/// `/.well-known/openid-configuration` (kOps, k3s, self-managed clusters).
pub async fn discover_issuer(client: &kube::Client) -> Result<String, KubeError> {
    let action = "reading the API server's /.well-known/openid-configuration".to_string();
    let request = http::Request::get("/.well-known/openid-configuration")
        .body(Vec::new())
        .map_err(|e| KubeError::Api {
            action: action.clone(),
            code: 0,
            message: e.to_string(),
        })?;
    let text = client
        .request_text(request)
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

/// Logs each Kubernetes call for `--verbose` (verb and path only).
#[derive(Clone, Copy)]
pub struct Cluster<'a> {
    pub client: &'a kube::Client,
    pub verbose: bool,
}

impl Cluster<'_> {
    fn log(&self, verb: &str, what: &str) {
        if self.verbose {
            eprintln!("  [kubernetes] {verb} {what}");
        }
    }

    /// Retries calls that are safe to repeat (reads, server-side apply,
    /// delete, TokenRequest) on throttling, 5xx and connection faults, with
    /// backoff; kube-rs itself does not retry. Four attempts in all.
    async fn retrying<T, F, Fut>(&self, mut call: F) -> Result<T, kube::Error>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, kube::Error>>,
    {
        let mut delay = std::time::Duration::from_millis(200);
        let mut attempt = 1;
        loop {
            match call().await {
                Err(err) if attempt < 4 && is_transient(&err) => {
                    if self.verbose {
                        eprintln!(
                            "  [kubernetes] retrying in {}ms after: {err}",
                            delay.as_millis()
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

    pub async fn namespace_exists(&self, name: &str) -> Result<bool, KubeError> {
        self.log("GET", &format!("namespaces/{name}"));
        let api: Api<Namespace> = Api::all(self.client.clone());
        self.retrying(|| api.get_opt(name))
            .await
            .map(|ns| ns.is_some())
            .map_err(|e| KubeError::from_kube(format!("reading namespace {name}"), e))
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
        let sa = self.retrying(|| api.get_opt(name)).await.map_err(|e| {
            KubeError::from_kube(format!("reading ServiceAccount {namespace}/{name}"), e)
        })?;
        Ok(sa.map(|sa| ObservedServiceAccount {
            annotations: sa.metadata.annotations.unwrap_or_default(),
            labels: sa.metadata.labels.unwrap_or_default(),
        }))
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
        let params = PatchParams::apply(FIELD_MANAGER);
        let patch = Patch::Apply(&ns);
        self.retrying(|| api.patch(name, &params, &patch))
            .await
            .map(|_| ())
            .map_err(|e| KubeError::from_kube(format!("creating namespace {name}"), e))
    }

    /// Server-side apply, forcing ownership of our own fields only: another
    /// manager's stale role annotation must not block convergence.
    pub async fn apply_service_account(&self, sa: &ServiceAccount) -> Result<(), KubeError> {
        let namespace = sa.metadata.namespace.as_deref().unwrap_or("default");
        let name = sa.metadata.name.as_deref().unwrap_or_default();
        self.log(
            "PATCH (apply)",
            &format!("namespaces/{namespace}/serviceaccounts/{name}"),
        );
        let api: Api<ServiceAccount> = Api::namespaced(self.client.clone(), namespace);
        let params = PatchParams::apply(FIELD_MANAGER).force();
        let patch = Patch::Apply(sa);
        self.retrying(|| api.patch(name, &params, &patch))
            .await
            .map(|_| ())
            .map_err(|e| {
                KubeError::from_kube(format!("applying ServiceAccount {namespace}/{name}"), e)
            })
    }
}

impl Cluster<'_> {
    /// ServiceAccounts in all namespaces carrying our managed-by label:
    /// `(namespace, name, role-arn annotation)`.
    pub async fn managed_service_accounts(
        &self,
    ) -> Result<Vec<(String, String, Option<String>)>, KubeError> {
        let selector = format!(
            "{}={}",
            crate::trust::MANAGED_BY_LABEL,
            crate::trust::MANAGED_BY_VALUE
        );
        self.log("LIST", &format!("serviceaccounts?labelSelector={selector}"));
        let api: Api<ServiceAccount> = Api::all(self.client.clone());
        let params = kube::api::ListParams::default().labels(&selector);
        let list = self
            .retrying(|| api.list(&params))
            .await
            .map_err(|e| KubeError::from_kube("listing ServiceAccounts".into(), e))?;
        Ok(list
            .items
            .into_iter()
            .map(|sa| {
                let role = sa
                    .metadata
                    .annotations
                    .as_ref()
                    .and_then(|a| a.get(crate::trust::ROLE_ARN_ANNOTATION).cloned());
                (
                    sa.metadata.namespace.unwrap_or_default(),
                    sa.metadata.name.unwrap_or_default(),
                    role,
                )
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
                KubeError::from_kube(
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

    pub async fn delete_service_account(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<(), KubeError> {
        self.log(
            "DELETE",
            &format!("namespaces/{namespace}/serviceaccounts/{name}"),
        );
        let api: Api<ServiceAccount> = Api::namespaced(self.client.clone(), namespace);
        let params = kube::api::DeleteParams::default();
        match self.retrying(|| api.delete(name, &params)).await {
            Ok(_) => Ok(()),
            // Gone already: the goal is reached.
            Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
            Err(e) => Err(KubeError::from_kube(
                format!("deleting ServiceAccount {namespace}/{name}"),
                e,
            )),
        }
    }
}

/// Worth another attempt: throttling, server errors, and failures to get an
/// answer at all (refused, reset, timed out).
fn is_transient(err: &kube::Error) -> bool {
    match err {
        kube::Error::Api(status) => matches!(status.code, 429 | 500 | 502 | 503 | 504),
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
            annotations: Some(annotations.clone()),
            labels: Some(labels.clone()),
            ..ObjectMeta::default()
        },
        ..ServiceAccount::default()
    }
}

/// YAML manifest with apiVersion and kind, ready for `kubectl apply -f -`.
pub fn manifest_yaml(sa: &ServiceAccount) -> String {
    let mut value = serde_json::to_value(sa).unwrap_or_default();
    if let Some(map) = value.as_object_mut() {
        map.insert("apiVersion".into(), "v1".into());
        map.insert("kind".into(), "ServiceAccount".into());
    }
    serde_yaml::to_string(&value).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let yaml = manifest_yaml(&sa);
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
