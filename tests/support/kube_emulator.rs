//! A small Kubernetes API server emulator for the end-to-end tests.
//!
//! It serves only what `kubectl-klanker_trust` touches — core/v1 Namespaces and ServiceAccounts —
//! plus the parts of server-side apply the tool relies on: per-manager ownership of
//! `metadata.labels` / `metadata.annotations`, conflicts and `force`, `managedFields`, and no-op
//! applies that leave `resourceVersion` alone. No maintained emulator covers those semantics.
//! Objects are plain `serde_json::Value`s, shaped as they go over the wire.
//!
//! Deliberate simplifications: apply bodies must be JSON (valid YAML, and what kube-rs sends);
//! only label/annotation ownership is tracked (other top-level fields of an applied object are
//! copied in, never removed); label selectors support `k=v`, `k==v`, `k!=v`, `k` and `!k`, not
//! set-based terms; deleting a namespace removes it and its ServiceAccounts at once.
#![allow(dead_code)] // each includer (the test binary, the example) uses a different subset

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::future::IntoFuture;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderName, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
use serde_json::{Map, Value, json};
use tokio::sync::oneshot;

/// The manager seeded objects belong to, as if written by client-side `kubectl apply`.
const SEED_MANAGER: &str = "kubectl-client-side-apply";

/// A fault the emulator injects into matching requests (see `KubeEmulator::inject`).
#[derive(Clone, Debug)]
pub enum KubeFault {
    /// Answer with this status (a Kubernetes `Status` body) instead of serving.
    Status(u16),
    /// Serve, but only after this long.
    Slow(std::time::Duration),
    /// Write `arrived`, then hold the request until `release` exists (tests crash the client meanwhile).
    Hang {
        arrived: std::path::PathBuf,
        release: std::path::PathBuf,
    },
}

struct FaultRule {
    method: String,
    path_contains: String,
    fault: KubeFault,
    remaining: usize,
}

#[derive(Clone, Debug, PartialEq)]
pub struct RecordedRequest {
    pub method: String,
    pub path: String,
    pub query: String,
}

pub struct KubeEmulator {
    addr: SocketAddr,
    state: Arc<Mutex<ApiState>>,
    shutdown: Mutex<Option<oneshot::Sender<()>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl KubeEmulator {
    /// Serves on a free 127.0.0.1 port from a thread with its own runtime, so tests can stay plain
    /// `#[test]` fns. The listener is bound before this returns: callers need no readiness wait.
    pub fn start(token: &str) -> KubeEmulator {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind kube emulator");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("listener address");
        let token = token.to_string();
        let rng = ring::rand::SystemRandom::new();
        let signing_key = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .expect("generate signing key")
            .as_ref()
            .to_vec();
        let state = Arc::new(Mutex::new(ApiState {
            token,
            issuer: "https://kubernetes.default.svc".to_string(),
            signing_key,
            ..ApiState::default()
        }));
        let app = Router::new().fallback(handle).with_state(state.clone());
        let (shutdown, stopped) = oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            runtime
                .expect("kube emulator runtime")
                .block_on(async move {
                    let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                    tokio::select! {
                        _ = axum::serve(listener, app).into_future() => {}
                        _ = stopped => {}
                    }
                });
            // Dropping the runtime here cancels the per-connection tasks and closes their sockets,
            // so idle keep-alive connections cannot keep the emulator reachable after `stop`.
        });
        let emulator = KubeEmulator {
            addr,
            state,
            shutdown: Mutex::new(Some(shutdown)),
            thread: Mutex::new(Some(thread)),
        };
        emulator.add_namespace("default");
        emulator
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn add_namespace(&self, name: &str) {
        let key = (Kind::Namespace, String::new(), name.to_string());
        let mut state = lock(&self.state);
        if !state.objects.contains_key(&key) {
            let empty = json!({});
            state
                .write(key, &Write::update(SEED_MANAGER, &empty))
                .expect("seed namespace");
        }
    }

    pub fn namespaces(&self) -> Vec<String> {
        let state = lock(&self.state);
        let keys = state.objects.keys();
        keys.filter(|key| key.0 == Kind::Namespace)
            .map(|key| key.2.clone())
            .collect()
    }

    /// The object exactly as a GET would serve it.
    pub fn service_account(&self, ns: &str, name: &str) -> Option<Value> {
        let key = (Kind::ServiceAccount, ns.to_string(), name.to_string());
        lock(&self.state).objects.get(&key).map(Stored::render)
    }

    /// Seeds (or replaces) a ServiceAccount as if another client had created it, owned by
    /// `kubectl-client-side-apply`. Creates the namespace if needed; `metadata.name` is required.
    pub fn put_service_account(&self, ns: &str, obj: Value) {
        self.add_namespace(ns);
        let name = obj["metadata"]["name"]
            .as_str()
            .expect("put_service_account: metadata.name");
        let key = (Kind::ServiceAccount, ns.to_string(), name.to_string());
        let mut state = lock(&self.state);
        state.objects.remove(&key);
        let seed = Write::update(SEED_MANAGER, &obj);
        state.write(key, &seed).expect("seed service account");
    }

    /// Sets the `iss` of the tokens TokenRequest issues (the cluster's OIDC issuer).
    pub fn set_issuer(&self, issuer: &str) {
        lock(&self.state).issuer = issuer.to_string();
    }

    /// The next `times` requests with this method whose path contains
    /// `path_contains` get `fault`.
    pub fn inject(&self, method: &str, path_contains: &str, fault: KubeFault, times: usize) {
        lock(&self.state).faults.push(FaultRule {
            method: method.to_string(),
            path_contains: path_contains.to_string(),
            fault,
            remaining: times,
        });
    }

    pub fn clear_faults(&self) {
        lock(&self.state).faults.clear();
    }

    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.state).requests.clone()
    }

    /// Every recorded request except reads (GET/HEAD).
    pub fn write_requests(&self) -> Vec<RecordedRequest> {
        let mut requests = self.requests();
        requests.retain(|r| r.method != "GET" && r.method != "HEAD");
        requests
    }

    pub fn clear_requests(&self) {
        lock(&self.state).requests.clear();
    }

    /// Stops serving and waits for the server thread; connections are refused afterwards.
    pub fn stop(&self) {
        if let Some(shutdown) = lock(&self.shutdown).take() {
            let _ = shutdown.send(()); // Err only if the server already ended: nothing to stop.
        }
        if let Some(thread) = lock(&self.thread).take() {
            let _ = thread.join(); // A panic there has already failed the request it served.
        }
    }
}

impl Drop for KubeEmulator {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Ignores poisoning: one panicking handler must not turn every later assertion into a panic.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A status code and JSON body. Errors are `Status` objects, so both arms of a `Result` use it.
type Reply = (u16, Value);
/// (kind, namespace — empty for Namespaces, name)
type Key = (Kind, String, String);
/// A tracked field: ("labels" | "annotations", key).
type Field = (&'static str, String);

const APPLY: &str = "Apply";
const UPDATE: &str = "Update";

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Namespace,
    ServiceAccount,
}

impl Kind {
    /// The kind as written in objects, and the resource as written in URLs and Status details.
    fn names(self) -> (&'static str, &'static str) {
        match self {
            Kind::Namespace => ("Namespace", "namespaces"),
            Kind::ServiceAccount => ("ServiceAccount", "serviceaccounts"),
        }
    }
}

#[derive(Default)]
struct ApiState {
    token: String,
    /// `iss` of the ServiceAccount tokens this server issues.
    issuer: String,
    /// PKCS#8 of the P-256 key that signs those tokens (ES256), as a real
    /// API server signs with its service-account key.
    signing_key: Vec<u8>,
    faults: Vec<FaultRule>,
    requests: Vec<RecordedRequest>,
    objects: BTreeMap<Key, Stored>,
    resource_version: u64,
    uids: u64,
}

/// A stored object: `obj` is everything served but `managedFields`, which `managers` renders.
#[derive(Clone, PartialEq)]
struct Stored {
    obj: Value,
    managers: Vec<Manager>,
}

/// One field manager's entry, as in `metadata.managedFields`.
#[derive(Clone, PartialEq)]
struct Manager {
    name: String,
    operation: &'static str,
    time: String,
    fields: BTreeSet<Field>,
}

/// One write (apply, create or seed) by one manager.
struct Write<'a> {
    manager: &'a str,
    operation: &'static str,
    body: &'a Value,
    force: bool,
}

impl<'a> Write<'a> {
    /// A non-apply write (POST, or a seed from the test): it takes every field it sets.
    fn update(manager: &'a str, body: &'a Value) -> Self {
        let (operation, force) = (UPDATE, true);
        Write {
            manager,
            operation,
            body,
            force,
        }
    }
}

/// The parts of a request the routes look at.
struct Request {
    method: Method,
    path: String,
    params: HashMap<String, String>,
    headers: HeaderMap,
    body: Bytes,
}

impl Request {
    fn param(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str)
    }

    fn header(&self, name: HeaderName) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }
}

async fn handle(
    State(state): State<Arc<Mutex<ApiState>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    // Faults first, without holding the state lock while a request waits.
    let fault = {
        let mut guard = lock(&state);
        guard.requests.push(RecordedRequest {
            method: method.to_string(),
            path: uri.path().to_string(),
            query: uri.query().unwrap_or("").to_string(),
        });
        let path = uri.path().to_string();
        let rule = guard.faults.iter_mut().find(|f| {
            f.remaining > 0 && f.method == method.as_str() && path.contains(&f.path_contains)
        });
        rule.map(|f| {
            f.remaining -= 1;
            f.fault.clone()
        })
    };
    match fault {
        Some(KubeFault::Status(code)) => {
            let (code, body) = failure(
                code,
                "InternalError",
                "fault injected by the test",
                Value::Null,
            );
            let code = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            return (code, axum::Json(body)).into_response();
        }
        Some(KubeFault::Slow(delay)) => tokio::time::sleep(delay).await,
        Some(KubeFault::Hang { arrived, release }) => {
            let _ = std::fs::write(&arrived, "arrived\n");
            let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(120);
            while !release.exists() && tokio::time::Instant::now() < deadline {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
        }
        None => {}
    }
    let mut state = lock(&state);
    // (Recorded above, before the fault check and the auth check, so tests can
    // count refused calls too.)
    let path = uri.path().to_string();
    let expected = format!("Bearer {}", state.token);
    let params = Query::<HashMap<String, String>>::try_from_uri(&uri);
    let request = Request {
        method,
        path,
        params: HashMap::new(),
        headers,
        body,
    };
    let (code, body) = if request.header(header::AUTHORIZATION) != Some(expected.as_str()) {
        failure(401, "Unauthorized", "Unauthorized", Value::Null)
    } else {
        match params {
            Err(err) => bad_request(&format!("invalid query: {err}")),
            // Refused loudly: silently ignoring it would let a dry run change state.
            Ok(Query(params)) if params.contains_key("dryRun") => {
                bad_request("dryRun is not supported by the kube emulator")
            }
            Ok(Query(params)) => state
                .route(&Request { params, ..request })
                .unwrap_or_else(|e| e),
        }
    };
    let code = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (code, axum::Json(body)).into_response()
}

impl ApiState {
    fn route(&mut self, req: &Request) -> Result<Reply, Reply> {
        let segments: Vec<&str> = req.path.trim_start_matches('/').split('/').collect();
        // HEAD is a GET without body; hyper drops the body for us.
        let method = if req.method == Method::HEAD {
            "GET"
        } else {
            req.method.as_str()
        };
        let (nss, sas) = (Kind::Namespace, Kind::ServiceAccount);
        match (method, segments.as_slice()) {
            ("GET", ["version"]) => Ok((200, version())),
            ("GET", [".well-known", "openid-configuration"]) => Ok((200, self.discovery())),
            ("GET", ["openid", "v1", "jwks"]) => Ok((200, self.jwks())),
            (
                "POST",
                [
                    "api",
                    "v1",
                    "namespaces",
                    ns,
                    "serviceaccounts",
                    name,
                    "token",
                ],
            ) => self.token_request(ns, name, req),
            ("GET", ["api", "v1", "namespaces"]) => self.list(nss, None, req),
            ("POST", ["api", "v1", "namespaces"]) => self.create(nss, "", req),
            ("GET", ["api", "v1", "serviceaccounts"]) => self.list(sas, None, req),
            ("GET", ["api", "v1", "namespaces", ns, "serviceaccounts"]) => {
                self.list(sas, Some(ns), req)
            }
            ("POST", ["api", "v1", "namespaces", ns, "serviceaccounts"]) => {
                self.create(sas, ns, req)
            }
            (_, ["api", "v1", "namespaces", name]) => {
                self.item(method, (nss, String::new(), name.to_string()), req)
            }
            (_, ["api", "v1", "namespaces", ns, "serviceaccounts", name]) => {
                self.item(method, (sas, ns.to_string(), name.to_string()), req)
            }
            _ => {
                let message = "the server could not find the requested resource";
                Err(failure(404, "NotFound", message, Value::Null))
            }
        }
    }

    /// TokenRequest: a signed JWT for the ServiceAccount with the requested
    /// audiences and lifetime, claims shaped as kube-apiserver issues them.
    fn token_request(&mut self, ns: &str, name: &str, req: &Request) -> Result<Reply, Reply> {
        let key = (Kind::ServiceAccount, ns.to_string(), name.to_string());
        let Some(sa) = self.objects.get(&key) else {
            return Err(not_found("serviceaccounts", name));
        };
        let uid = sa.obj["metadata"]["uid"].clone();
        let body = parse_body(&req.body)?;
        let audiences = match body["spec"]["audiences"].as_array() {
            Some(list) if !list.is_empty() => Value::Array(list.clone()),
            _ => json!([self.issuer]),
        };
        let seconds = body["spec"]["expirationSeconds"].as_i64().unwrap_or(3600);
        if seconds < 600 {
            return Err(bad_request(
                "spec.expirationSeconds: Invalid value: may not specify a duration less than 10 minutes",
            ));
        }
        let now = k8s_openapi::jiff::Timestamp::now();
        let claims = json!({
            "aud": audiences,
            "exp": now.as_second() + seconds,
            "iat": now.as_second(),
            "nbf": now.as_second(),
            "iss": self.issuer,
            "kubernetes.io": {"namespace": ns, "serviceaccount": {"name": name, "uid": uid}},
            "sub": format!("system:serviceaccount:{ns}:{name}"),
        });
        let token = self
            .sign(&claims)
            .map_err(|e| failure(500, "InternalError", &e, Value::Null))?;
        let expires = k8s_openapi::jiff::Timestamp::from_second(now.as_second() + seconds)
            .map(|t| t.to_string())
            .unwrap_or_default();
        Ok((
            201,
            json!({
                "kind": "TokenRequest",
                "apiVersion": "authentication.k8s.io/v1",
                "metadata": {"name": name, "namespace": ns, "creationTimestamp": null},
                "spec": {"audiences": audiences, "expirationSeconds": seconds, "boundObjectRef": null},
                "status": {"token": token, "expirationTimestamp": expires},
            }),
        ))
    }

    fn key_pair(&self) -> Result<EcdsaKeyPair, String> {
        let rng = ring::rand::SystemRandom::new();
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &self.signing_key, &rng)
            .map_err(|e| e.to_string())
    }

    fn sign(&self, claims: &Value) -> Result<String, String> {
        let b64 = |bytes: &[u8]| URL_SAFE_NO_PAD.encode(bytes);
        let header = json!({"alg": "ES256", "kid": "emulator"});
        let input = format!(
            "{}.{}",
            b64(header.to_string().as_bytes()),
            b64(claims.to_string().as_bytes())
        );
        let rng = ring::rand::SystemRandom::new();
        let signature = self
            .key_pair()?
            .sign(&rng, input.as_bytes())
            .map_err(|e| e.to_string())?;
        Ok(format!("{input}.{}", b64(signature.as_ref())))
    }

    /// `/.well-known/openid-configuration`, as the ServiceAccountIssuerDiscovery feature serves it.
    fn discovery(&self) -> Value {
        json!({
            "issuer": self.issuer,
            "jwks_uri": format!("{}/openid/v1/jwks", self.issuer),
            "response_types_supported": ["id_token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["ES256"],
        })
    }

    fn jwks(&self) -> Value {
        let public = self
            .key_pair()
            .map(|k| ring::signature::KeyPair::public_key(&k).as_ref().to_vec())
            .unwrap_or_default();
        // Uncompressed P-256 point: 0x04 || x (32 bytes) || y (32 bytes).
        let (x, y) = if public.len() == 65 {
            (&public[1..33], &public[33..])
        } else {
            (&[][..], &[][..])
        };
        json!({"keys": [{"kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "kid": "emulator",
            "x": URL_SAFE_NO_PAD.encode(x), "y": URL_SAFE_NO_PAD.encode(y)}]})
    }

    /// GET, PATCH (server-side apply) or DELETE of one object.
    fn item(&mut self, method: &str, key: Key, req: &Request) -> Result<Reply, Reply> {
        if !matches!(method, "GET" | "PATCH" | "DELETE") {
            let message = "the server does not allow this method on the requested resource";
            return Err(failure(405, "MethodNotAllowed", message, Value::Null));
        }
        if method == "PATCH" {
            let content_type = req.header(header::CONTENT_TYPE).unwrap_or("");
            if !content_type.starts_with("application/apply-patch+yaml") {
                let message = "the body of the request was in an unknown format - \
                    accepted media types include: application/apply-patch+yaml";
                return Err(failure(415, "UnsupportedMediaType", message, Value::Null));
            }
            let Some(manager) = req.param("fieldManager").filter(|m| !m.is_empty()) else {
                return Err(bad_request(
                    "PatchOptions.meta.k8s.io \"\" is invalid: \
                    fieldManager: Required value: is required for apply patch",
                ));
            };
            let body = parse_body(&req.body)?;
            check_identity(&body, &key)?;
            let force = req.param("force") == Some("true");
            let operation = APPLY;
            return self.write(
                key,
                &Write {
                    manager,
                    operation,
                    body: &body,
                    force,
                },
            );
        }
        let Some(stored) = self.objects.get(&key) else {
            return Err(not_found(key.0.names().1, &key.2));
        };
        let mut served = stored.render();
        if method == "DELETE" {
            self.objects.remove(&key);
            if key.0 == Kind::Namespace {
                self.objects
                    .retain(|(kind, ns, _), _| *kind == Kind::Namespace || *ns != key.2);
                served["status"]["phase"] = json!("Terminating");
            }
            self.resource_version += 1;
        }
        Ok((200, served))
    }

    /// POST: creates the object, owned by the request's field manager through an `Update` entry.
    fn create(&mut self, kind: Kind, ns: &str, req: &Request) -> Result<Reply, Reply> {
        let (kind_name, resource) = kind.names();
        let body = parse_body(&req.body)?;
        let Some(name) = body["metadata"]["name"].as_str().filter(|n| !n.is_empty()) else {
            let message = format!("{kind_name} \"\" is invalid: metadata.name: Required value");
            return Err(failure(422, "Invalid", &message, json!({"kind": resource})));
        };
        let key = (kind, ns.to_string(), name.to_string());
        check_identity(&body, &key)?;
        if self.objects.contains_key(&key) {
            let message = format!("{resource} \"{name}\" already exists");
            let details = json!({"name": name, "kind": resource});
            return Err(failure(409, "AlreadyExists", &message, details));
        }
        // As on the real server, a missing fieldManager defaults to the User-Agent's product name.
        let user_agent = req.header(header::USER_AGENT).unwrap_or("unknown");
        let default_manager = user_agent.split('/').next().unwrap_or(user_agent);
        let manager = req.param("fieldManager").unwrap_or(default_manager);
        self.write(key, &Write::update(manager, &body))
    }

    /// Creates or updates one object; answers 201 on create (apply too), 200 otherwise.
    fn write(&mut self, key: Key, write: &Write) -> Result<Reply, Reply> {
        let (kind, ns, name) = &key;
        let namespace_key = (Kind::Namespace, String::new(), ns.clone());
        if *kind == Kind::ServiceAccount && !self.objects.contains_key(&namespace_key) {
            return Err(not_found("namespaces", ns));
        }
        let existing = self.objects.get(&key).cloned();
        let created = existing.is_none();
        let before = existing.unwrap_or_else(|| self.new_object(*kind, ns, name));
        let mut next = before.clone();
        next.merge(write)?;
        if !created && next == before {
            // The real server skips no-op writes: same object, same resourceVersion.
            return Ok((200, before.render()));
        }
        let writer = next.managers.iter_mut().find(|m| m.is(write));
        if let Some(writer) = writer {
            writer.time = timestamp();
        }
        self.resource_version += 1;
        next.obj["metadata"]["resourceVersion"] = json!(self.resource_version.to_string());
        let served = next.render();
        self.objects.insert(key, next);
        Ok((if created { 201 } else { 200 }, served))
    }

    fn new_object(&mut self, kind: Kind, ns: &str, name: &str) -> Stored {
        self.uids += 1;
        let uid = format!("00000000-0000-4000-8000-{:012x}", self.uids);
        let metadata = json!({"name": name, "uid": uid, "creationTimestamp": timestamp()});
        let mut obj = json!({"apiVersion": "v1", "kind": kind.names().0, "metadata": metadata});
        match kind {
            Kind::Namespace => {
                obj["spec"] = json!({"finalizers": ["kubernetes"]});
                obj["status"] = json!({"phase": "Active"});
            }
            Kind::ServiceAccount => obj["metadata"]["namespace"] = json!(ns),
        }
        Stored {
            obj,
            managers: Vec::new(),
        }
    }

    fn list(&self, kind: Kind, ns: Option<&str>, req: &Request) -> Result<Reply, Reply> {
        let selector = parse_selector(req.param("labelSelector").unwrap_or(""))?;
        let mut items = Vec::new();
        for ((item_kind, item_ns, _), stored) in &self.objects {
            let mut obj = stored.render();
            let labels = &obj["metadata"]["labels"];
            if *item_kind != kind
                || ns.is_some_and(|ns| ns != item_ns)
                || !selector.iter().all(|term| term.matches(labels))
            {
                continue;
            }
            // The real server leaves apiVersion/kind off list items; clients must cope.
            if let Some(map) = obj.as_object_mut() {
                map.remove("apiVersion");
                map.remove("kind");
            }
            items.push(obj);
        }
        let metadata = json!({"resourceVersion": self.resource_version.to_string()});
        let kind = format!("{}List", kind.names().0);
        let list = json!({"kind": kind, "apiVersion": "v1", "metadata": metadata, "items": items});
        Ok((200, list))
    }
}

impl Stored {
    /// Applies `write` to the labels/annotations it carries, following server-side apply rules.
    fn merge(&mut self, write: &Write) -> Result<(), Reply> {
        let applied = fields_of(write.body)?;
        let current = fields_of(&self.obj)?;

        // Changing a field another manager owns needs force, which takes the field from them.
        // Setting a field to the value it already has just makes the writer a co-owner.
        let mut conflicts = Vec::new();
        for (field, value) in &applied {
            if current.get(field) == Some(value) {
                continue;
            }
            for other in self.managers.iter_mut().filter(|m| !m.is(write)) {
                if !other.fields.contains(field) {
                    continue;
                }
                if write.force {
                    other.fields.remove(field);
                } else {
                    conflicts.push((other.describe(), field_path(field)));
                }
            }
        }
        if !conflicts.is_empty() {
            return Err(conflict(&conflicts));
        }

        // Fields the writer owned but no longer sends go, unless someone else still owns them.
        let writer = self.managers.iter().position(|m| m.is(write));
        let previous = writer
            .map(|i| self.managers[i].fields.clone())
            .unwrap_or_default();
        for field in previous.iter().filter(|f| !applied.contains_key(*f)) {
            if !self
                .managers
                .iter()
                .any(|m| !m.is(write) && m.fields.contains(field))
            {
                set_field(&mut self.obj, field, None);
            }
        }
        for (field, value) in &applied {
            set_field(&mut self.obj, field, Some(value));
        }
        for (key, value) in write.body.as_object().into_iter().flatten() {
            if !matches!(key.as_str(), "apiVersion" | "kind" | "metadata" | "status") {
                self.obj[key] = value.clone();
            }
        }

        let fields: BTreeSet<Field> = applied.into_keys().collect();
        match writer {
            Some(i) => self.managers[i].fields = fields,
            None => self.managers.push(Manager {
                name: write.manager.to_string(),
                operation: write.operation,
                time: String::new(), // `ApiState::write` stamps it once the write changes something
                fields,
            }),
        }
        self.managers.retain(|m| !m.fields.is_empty());
        Ok(())
    }

    /// The object as served, with `metadata.managedFields` rendered from the ownership records.
    fn render(&self) -> Value {
        let mut obj = self.obj.clone();
        let entries: Vec<Value> = self.managers.iter().map(Manager::render).collect();
        if !entries.is_empty() {
            obj["metadata"]["managedFields"] = Value::Array(entries);
        }
        obj
    }
}

impl Manager {
    fn is(&self, write: &Write) -> bool {
        self.name == write.manager && self.operation == write.operation
    }

    /// How the real server names a manager in conflicts: Update entries carry their API version.
    fn describe(&self) -> String {
        let using = if self.operation == UPDATE {
            " using v1"
        } else {
            ""
        };
        format!("{:?}{using}", self.name)
    }

    fn render(&self) -> Value {
        let mut metadata = Map::new();
        for (section, key) in &self.fields {
            let set = metadata
                .entry(format!("f:{section}"))
                .or_insert_with(|| json!({}));
            set[format!("f:{key}")] = json!({});
        }
        json!({
            "manager": self.name, "operation": self.operation, "apiVersion": "v1",
            "time": self.time, "fieldsType": "FieldsV1", "fieldsV1": {"f:metadata": metadata},
        })
    }
}

/// The labels and annotations an object carries; values must be strings.
fn fields_of(obj: &Value) -> Result<BTreeMap<Field, String>, Reply> {
    let mut fields = BTreeMap::new();
    for section in ["labels", "annotations"] {
        let map = match &obj["metadata"][section] {
            Value::Null => continue,
            Value::Object(map) => map,
            _ => return Err(bad_request(&format!("metadata.{section} must be a map"))),
        };
        for (key, value) in map {
            let Some(value) = value.as_str() else {
                return Err(bad_request(&format!(
                    "metadata.{section}.{key} must be a string"
                )));
            };
            fields.insert((section, key.clone()), value.to_string());
        }
    }
    Ok(fields)
}

/// Sets or removes one label/annotation; an emptied map goes too (the real server omits them).
fn set_field(obj: &mut Value, (section, key): &Field, value: Option<&String>) {
    let metadata = &mut obj["metadata"];
    match value {
        Some(value) => metadata[*section][key.as_str()] = json!(value),
        None => {
            if let Some(map) = metadata[*section].as_object_mut() {
                map.remove(key);
                if map.is_empty() {
                    metadata.as_object_mut().map(|m| m.remove(*section));
                }
            }
        }
    }
}

fn field_path((section, key): &Field) -> String {
    format!(".metadata.{section}.{key}")
}

/// The real server's 409 for apply conflicts, message included: tools and people match on it.
fn conflict(conflicts: &[(String, String)]) -> Reply {
    let causes: Vec<Value> = conflicts
        .iter()
        .map(|(manager, path)| {
            let message = format!("conflict with {manager}");
            json!({"reason": "FieldManagerConflict", "message": message, "field": path})
        })
        .collect();
    let message = if let [(manager, path)] = conflicts {
        format!("Apply failed with 1 conflict: conflict with {manager}: {path}")
    } else {
        let mut by_manager: BTreeMap<&str, String> = BTreeMap::new();
        for (manager, path) in conflicts {
            by_manager
                .entry(manager)
                .or_default()
                .push_str(&format!("\n- {path}"));
        }
        let parts: Vec<String> = by_manager
            .iter()
            .map(|(m, paths)| format!("conflicts with {m}:{paths}"))
            .collect();
        let count = conflicts.len();
        format!("Apply failed with {count} conflicts: {}", parts.join("\n"))
    };
    failure(409, "Conflict", &message, json!({"causes": causes}))
}

/// Rejects a body whose name or namespace disagrees with the URL, as the real server does.
fn check_identity(body: &Value, (kind, ns, name): &Key) -> Result<(), Reply> {
    if let Some(body_name) = body["metadata"]["name"].as_str().filter(|n| n != name) {
        return Err(bad_request(&format!(
            "the name of the object ({body_name}) does not match the name on the URL ({name})"
        )));
    }
    let body_ns = body["metadata"]["namespace"].as_str();
    if *kind == Kind::ServiceAccount && body_ns.is_some_and(|n| n != ns) {
        return Err(bad_request(
            "the namespace of the provided object does not match the namespace sent on the request",
        ));
    }
    Ok(())
}

/// Request bodies are JSON objects; for apply, that is the subset of YAML that kube-rs sends.
fn parse_body(body: &[u8]) -> Result<Value, Reply> {
    match serde_json::from_slice::<Value>(body) {
        Ok(value @ Value::Object(_)) => Ok(value),
        Ok(_) => Err(bad_request("the request body must be a JSON object")),
        Err(err) => Err(bad_request(&format!(
            "error decoding request body as JSON: {err}"
        ))),
    }
}

/// One equality-based label selector term.
enum Term {
    Exists(String),
    Absent(String),
    Equals(String, String),
    NotEquals(String, String),
}

impl Term {
    fn matches(&self, labels: &Value) -> bool {
        let get = |key: &str| labels.get(key).and_then(Value::as_str);
        match self {
            Term::Exists(key) => get(key).is_some(),
            Term::Absent(key) => get(key).is_none(),
            Term::Equals(key, value) => get(key) == Some(value.as_str()),
            Term::NotEquals(key, value) => get(key) != Some(value.as_str()),
        }
    }
}

fn parse_selector(selector: &str) -> Result<Vec<Term>, Reply> {
    let mut terms = Vec::new();
    for term in selector.split(',').map(str::trim).filter(|t| !t.is_empty()) {
        let pair = |(k, v): (&str, &str)| (k.trim().to_string(), v.trim().to_string());
        terms.push(
            if let Some((key, value)) = term.split_once("!=").map(pair) {
                Term::NotEquals(key, value)
            } else if let Some((key, value)) = term.split_once('=').map(pair) {
                Term::Equals(key, value.trim_start_matches('=').to_string()) // `k=v` or `k==v`
            } else if let Some(key) = term.strip_prefix('!') {
                Term::Absent(key.trim().to_string())
            } else if term.contains([' ', '(', ')']) {
                let message =
                    format!("unable to parse requirement: {term:?} (set-based: not emulated)");
                return Err(bad_request(&message));
            } else {
                Term::Exists(term.to_string())
            },
        );
    }
    Ok(terms)
}

fn version() -> Value {
    json!({
        "major": "1", "minor": "32", "gitVersion": "v1.32.0",
        "gitCommit": "70d3cc986aa8221cd1dfb1121852688902d3bf53", "gitTreeState": "clean",
        "buildDate": "2024-12-11T17:59:15Z", "goVersion": "go1.23.3", "compiler": "gc",
        "platform": "linux/amd64",
    })
}

/// RFC 3339 in whole seconds, as the real server writes timestamps.
fn timestamp() -> String {
    let now = k8s_openapi::jiff::Timestamp::now();
    now.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn bad_request(message: &str) -> Reply {
    failure(400, "BadRequest", message, Value::Null)
}

fn not_found(resource: &str, name: &str) -> Reply {
    let message = format!("{resource} \"{name}\" not found");
    failure(
        404,
        "NotFound",
        &message,
        json!({"name": name, "kind": resource}),
    )
}

/// A `Status` object, the body of every error the real server sends.
fn failure(code: u16, reason: &str, message: &str, details: Value) -> Reply {
    let mut status = json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": message, "reason": reason, "code": code,
    });
    if !details.is_null() {
        status["details"] = details;
    }
    (code, status)
}
