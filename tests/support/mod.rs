//! Test peers and the per-test world: a moto server, a real kube-apiserver
//! (behind a fault proxy), a real kubeconfig and AWS config for two accounts,
//! a stand-in `aws` for the kubeconfig's exec block, and `kubectl
//! klanker-trust` ready to run through the built kubectl.

#![allow(dead_code)]

// First, so the assertion macros are in scope in the modules below.
#[macro_use]
pub mod assert;
pub mod aws_peer;
pub mod awscli;
pub mod fleet;
pub mod kube;
pub mod moto;
pub mod proxy;
pub mod sso_portal;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use aws_peer::{Account, CLUSTER_ACCOUNT, KLANKER_ACCOUNT};
use kube::KubeCluster;
use moto::Moto;

pub const CLUSTER: &str = "dev-use1-0";
/// The token the stand-in `aws eks get-token` yields by default: the cluster admin's.
pub const KUBE_TOKEN: &str = "k8s-aws-v1.stand-in-token-DO-NOT-PRINT";
/// The token of the user with exactly the RBAC a test binds (`kube::RBAC_USER`).
pub const RBAC_TOKEN: &str = "k8s-aws-v1.rbac-user-token-DO-NOT-PRINT";
pub const ACCESS_KEY: &str = "AKIAKLANKERTESTKEY01";
pub const SECRET_KEY: &str = "test-secret-key/DO-NOT-PRINT";
pub const CONTEXT: &str = "arn:aws:eks:us-east-1:222222222222:cluster/dev-use1-0";
pub const OPERATOR_POLICY: &str = "arn:aws:iam::333333333333:policy/km-operator-policy";
/// The role `add --name CLUSTER` creates in the klanker account, and its ARN.
pub const ROLE: &str = "km-cluster-dev-use1-0";
pub const ROLE_ARN: &str = "arn:aws:iam::333333333333:role/km-cluster-dev-use1-0";
/// The ServiceAccount annotation IRSA reads the role ARN from.
pub const ROLE_ARN_ANNOTATION: &str = "eks.amazonaws.com/role-arn";

/// What a command printed and how it exited.
#[derive(Debug)]
pub struct Outcome {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Outcome {
    #[track_caller]
    pub fn assert_ok(&self) -> &Self {
        assert_eq!(
            self.code, 0,
            "expected success\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout, self.stderr
        );
        self
    }

    #[track_caller]
    pub fn assert_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code, code,
            "unexpected exit code\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout, self.stderr
        );
        self
    }

    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

/// The arguments of one `add`, in the order the calls give them:
/// `AddArgs::new()` is bare `add`, `AddArgs::cluster()` is `add --name
/// CLUSTER --namespace ai-pods` (what `World::add` runs), and each method
/// appends. It derefs to `[&str]`, so `world.run(&args)`, `world.spawn(&args)`
/// and helpers taking `&[&str]` take it as it is, and it is an iterator of
/// `&str` for `Command::args` and `Vec::extend`.
#[derive(Clone, Debug)]
pub struct AddArgs<'a>(Vec<&'a str>);

impl<'a> AddArgs<'a> {
    /// `add` alone: name and namespace come from the context.
    pub fn new() -> Self {
        AddArgs(vec!["add"])
    }

    /// `add --name CLUSTER --namespace ai-pods`.
    pub fn cluster() -> Self {
        Self::new().name(CLUSTER).namespace("ai-pods")
    }

    /// `--name NAME`.
    pub fn name(self, name: &'a str) -> Self {
        self.flag("--name", name)
    }

    /// `--namespace NAMESPACE`.
    pub fn namespace(self, namespace: &'a str) -> Self {
        self.flag("--namespace", namespace)
    }

    /// `--service-account SA`.
    pub fn service_account(self, sa: &'a str) -> Self {
        self.flag("--service-account", sa)
    }

    /// `--yes`.
    pub fn yes(self) -> Self {
        self.arg("--yes")
    }

    /// `--dry-run`.
    pub fn dry_run(self) -> Self {
        self.arg("--dry-run")
    }

    /// `--verbose`.
    pub fn verbose(self) -> Self {
        self.arg("--verbose")
    }

    /// `-o FORMAT`.
    pub fn output(self, format: &'a str) -> Self {
        self.flag("-o", format)
    }

    /// Any other flag and its value, as two arguments.
    pub fn flag(self, flag: &'a str, value: &'a str) -> Self {
        self.args(&[flag, value])
    }

    /// One argument as it is.
    pub fn arg(mut self, arg: &'a str) -> Self {
        self.0.push(arg);
        self
    }

    /// Arguments as they are, in order.
    pub fn args(mut self, args: &[&'a str]) -> Self {
        self.0.extend_from_slice(args);
        self
    }
}

impl Default for AddArgs<'_> {
    fn default() -> Self {
        Self::new()
    }
}

impl<'a> std::ops::Deref for AddArgs<'a> {
    type Target = [&'a str];

    fn deref(&self) -> &[&'a str] {
        &self.0
    }
}

impl<'a> IntoIterator for AddArgs<'a> {
    type Item = &'a str;
    type IntoIter = std::vec::IntoIter<&'a str>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'s, 'a> IntoIterator for &'s AddArgs<'a> {
    type Item = &'s &'a str;
    type IntoIter = std::slice::Iter<'s, &'a str>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl<'a> From<AddArgs<'a>> for Vec<&'a str> {
    fn from(args: AddArgs<'a>) -> Self {
        args.0
    }
}

pub struct World {
    pub dir: tempfile::TempDir,
    pub moto: Moto,
    pub kube: KubeCluster,
    pub rt: tokio::runtime::Runtime,
    pub klanker: Account,
    pub cluster: Account,
    /// Issuer of the EKS cluster `dev-use1-0` in the cluster account.
    pub issuer: String,
}

impl World {
    /// Peers up, EKS cluster `dev-use1-0` in the cluster account, the shared
    /// operator policy in the klanker account, namespace `ai-pods` in the cluster.
    pub fn new() -> World {
        let world = World::bare();
        world.block_on(world.klanker.create_policy("km-operator-policy"));
        world.clear_calls();
        world
    }

    /// Like `new`, without the operator policy.
    pub fn bare() -> World {
        let dir = tempfile::tempdir().expect("tempdir");
        let moto = Moto::start(dir.path());
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let (klanker, cluster) = rt.block_on(async {
            (
                aws_peer::account(&moto.url(), KLANKER_ACCOUNT).await,
                aws_peer::account(&moto.url(), CLUSTER_ACCOUNT).await,
            )
        });
        let issuer = rt.block_on(cluster.create_cluster(CLUSTER));
        // The API server signs ServiceAccount tokens for the EKS cluster's issuer, as on EKS.
        let users = kube::Users {
            admin_token: KUBE_TOKEN.into(),
            rbac_token: RBAC_TOKEN.into(),
        };
        let kube = KubeCluster::start(dir.path(), &issuer, &users);
        kube.add_namespace("ai-pods");
        let world = World {
            dir,
            moto,
            kube,
            rt,
            klanker,
            cluster,
            issuer,
        };
        world.write_files();
        world.moto.clear_calls();
        world
    }

    pub fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.rt.block_on(f)
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn kubeconfig(&self) -> PathBuf {
        self.path("kubeconfig")
    }

    pub fn km_config(&self) -> PathBuf {
        self.path("km-config.yaml")
    }

    /// The issuer without scheme, as IAM keys it.
    pub fn issuer_host_path(&self) -> String {
        self.issuer.trim_start_matches("https://").to_string()
    }

    fn write_files(&self) {
        let bin = self.path("bin");
        std::fs::create_dir_all(&bin).expect("bin dir");
        // Stand-in for `aws eks get-token`: prints an ExecCredential, as the real CLI does.
        let aws = bin.join("aws");
        std::fs::write(
            &aws,
            format!(
                "#!/bin/sh\necho \"$@\" >> \"{}\"\nprintf '{{\"kind\":\"ExecCredential\",\"apiVersion\":\"client.authentication.k8s.io/v1beta1\",\"spec\":{{}},\"status\":{{\"token\":\"%s\",\"expirationTimestamp\":\"2099-01-01T00:00:00Z\"}}}}\\n' \"$(cat '{}')\"\n",
                self.path("aws-args.log").display(),
                self.path("kube-token").display()
            ),
        )
        .expect("write aws stand-in");
        set_executable(&aws);
        self.use_kube_token(KUBE_TOKEN);

        std::fs::write(
            self.path("aws-config"),
            "[profile base]\nregion = us-east-1\n\n\
             [profile cluster-admin]\nrole_arn = arn:aws:iam::222222222222:role/cluster-admin\nsource_profile = base\nregion = us-east-1\n\n\
             [profile klanker-application]\nrole_arn = arn:aws:iam::333333333333:role/klanker-operator\nsource_profile = base\nregion = us-east-1\n",
        )
        .expect("aws config");
        std::fs::write(
            self.path("aws-credentials"),
            format!(
                "[base]\naws_access_key_id = {ACCESS_KEY}\naws_secret_access_key = {SECRET_KEY}\n"
            ),
        )
        .expect("aws credentials");
        self.write_kubeconfig(
            &self.kubeconfig(),
            CONTEXT,
            Some("ai-pods"),
            &self.eks_exec_user("--profile cluster-admin"),
        );
    }

    /// A kubeconfig user whose exec block runs `aws eks get-token` for the cluster.
    pub fn eks_exec_user(&self, extra_args: &str) -> String {
        eks_exec_user_for("us-east-1", CLUSTER, extra_args)
    }

    /// Which token the stand-in `aws eks get-token` yields from now on.
    pub fn use_kube_token(&self, token: &str) {
        std::fs::write(self.path("kube-token"), token).expect("write kube token");
    }

    /// Writes a one-context kubeconfig pointing at the cluster (through the fault proxy).
    pub fn write_kubeconfig(
        &self,
        path: &Path,
        context: &str,
        namespace: Option<&str>,
        user: &str,
    ) {
        let ns = namespace
            .map(|n| format!("\n    namespace: {n}"))
            .unwrap_or_default();
        let text = format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: \"{context}\"\nclusters:\n- name: \"{context}\"\n  cluster:\n    server: {server}\n    certificate-authority: {ca}\ncontexts:\n- name: \"{context}\"\n  context:\n    cluster: \"{context}\"\n    user: \"{context}\"{ns}\nusers:\n- name: \"{context}\"\n  user:\n    {user}\n",
            server = self.kube.url(),
            ca = kube::pki::Pki::get().ca_cert.display()
        );
        std::fs::write(path, text).expect("write kubeconfig");
    }

    /// `kubectl klanker-trust` with this world's environment, nothing inherited
    /// that could reach a real account.
    pub fn kubectl(&self) -> Command {
        let mut cmd = self.kubectl_bare();
        cmd.arg("klanker-trust");
        cmd
    }

    /// `kubectl` with this world's environment and no arguments; the plugin and
    /// its completion helper (completions/) are on PATH.
    pub fn kubectl_bare(&self) -> Command {
        let plugin_dir = Path::new(env!("CARGO_BIN_EXE_kubectl-klanker_trust"))
            .parent()
            .expect("bin dir")
            .to_path_buf();
        let completions = Path::new(env!("CARGO_MANIFEST_DIR")).join("completions");
        let path = std::env::join_paths([
            self.path("bin"),
            plugin_dir,
            kube::peer_bin(),
            completions,
            PathBuf::from("/usr/local/bin"),
            PathBuf::from("/usr/bin"),
            PathBuf::from("/bin"),
        ])
        .expect("PATH");
        let mut cmd = Command::new(kube::peer("kubectl"));
        cmd.env_clear()
            .env("PATH", path)
            .env("HOME", self.dir.path())
            .env("KUBECONFIG", self.kubeconfig())
            .env("AWS_CONFIG_FILE", self.path("aws-config"))
            .env("AWS_SHARED_CREDENTIALS_FILE", self.path("aws-credentials"))
            .env("AWS_ENDPOINT_URL", self.moto.url())
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("KM_CONFIG", self.km_config())
            .stdin(Stdio::null());
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Outcome {
        self.run_cmd(self.kubectl().args(args))
    }

    /// `add --name CLUSTER --namespace ai-pods` plus `extra`: `AddArgs::cluster()`, run.
    pub fn add(&self, extra: &[&str]) -> Outcome {
        self.run(&AddArgs::cluster().args(extra))
    }

    /// `kubectl klanker-trust ARGS` started in the background, its output
    /// piped, for tests that act while it runs (held calls, races).
    pub fn spawn<S: AsRef<std::ffi::OsStr>>(&self, args: &[S]) -> Child {
        self.kubectl()
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn plugin")
    }

    pub fn run_cmd(&self, cmd: &mut Command) -> Outcome {
        let out = cmd.output().expect("run kubectl");
        Outcome {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Sets the value Service Quotas reports as applied for IAM quota
    /// `quota_code` in `account` (tests/support/service_quotas.py's hook).
    pub fn set_applied_quota(&self, account: &str, quota_code: &str, value: u32) {
        let body = serde_json::json!({"account": account, "quotaCode": quota_code, "value": value});
        self.peer_hook("service-quotas/applied", &body);
    }

    /// POSTs `body` to a test-only hook of the AWS peer
    /// (`/moto-api/HOOK`), which must succeed; its answer's bytes.
    pub fn peer_hook(&self, hook: &str, body: &serde_json::Value) -> Vec<u8> {
        use http_body_util::{BodyExt, Full};
        let client =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build_http::<Full<bytes::Bytes>>();
        let request = hyper::Request::post(format!("{}/moto-api/{hook}", self.moto.url()))
            .header("content-type", "application/json")
            .body(Full::new(bytes::Bytes::from(body.to_string())))
            .expect("hook request");
        self.block_on(async {
            let answer = client.request(request).await.expect("call the hook");
            let status = answer.status();
            let bytes = answer
                .into_body()
                .collect()
                .await
                .expect("hook answer")
                .to_bytes();
            assert!(
                status.is_success(),
                "hook {hook}: {status} {}",
                String::from_utf8_lossy(&bytes)
            );
            bytes.to_vec()
        })
    }

    /// Everything written to either peer so far.
    pub fn writes(&self) -> Vec<String> {
        let mut writes = self.moto.writes();
        writes.extend(
            self.kube
                .write_requests()
                .into_iter()
                .map(|r| format!("kube:{} {}", r.method, r.path)),
        );
        writes
    }

    /// What an IAM evaluator that is not the code under test (principalmapper,
    /// through tests/support/trust_check.py or policy_check.py) answers for
    /// `document` and `request`: each case's name and whether it is allowed.
    pub fn evaluate(
        &self,
        script: &str,
        document: &serde_json::Value,
        request: &serde_json::Value,
    ) -> Vec<(String, bool)> {
        let doc_path = self.path(&format!("{script}-document.json"));
        let req_path = self.path(&format!("{script}-request.json"));
        std::fs::write(&doc_path, document.to_string()).expect("write document");
        std::fs::write(&req_path, request.to_string()).expect("write request");
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/support")
            .join(script);
        let out = Command::new(moto::python())
            .arg(path)
            .arg(&doc_path)
            .arg(&req_path)
            .output()
            .expect("run the evaluator");
        assert!(
            out.status.success(),
            "{script} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let answer: serde_json::Value = serde_json::from_slice(&out.stdout).expect("verdicts JSON");
        answer["verdicts"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|v| {
                (
                    v["name"].as_str().unwrap_or_default().to_string(),
                    v["allowed"] == true,
                )
            })
            .collect()
    }

    pub fn clear_calls(&self) {
        self.moto.clear_calls();
        self.kube.clear_requests();
    }

    pub fn km_config_yaml(&self) -> serde_yaml::Value {
        let text = std::fs::read_to_string(self.km_config()).unwrap_or_default();
        serde_yaml::from_str(&text).expect("km-config YAML")
    }
}

/// A kubeconfig user whose exec block runs `aws eks get-token` for EKS
/// cluster `cluster` in `region` (the fleet's contexts each name their own).
pub(crate) fn eks_exec_user_for(region: &str, cluster: &str, extra_args: &str) -> String {
    let mut args = vec![
        "--region",
        region,
        "eks",
        "get-token",
        "--cluster-name",
        cluster,
        "--output",
        "json",
    ];
    args.extend(extra_args.split_whitespace());
    format!(
        "exec:\n      apiVersion: client.authentication.k8s.io/v1beta1\n      command: aws\n      interactiveMode: Never\n      args: [{}]",
        args.iter()
            .map(|a| format!("\"{a}\""))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

fn set_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let mut perms = std::fs::metadata(path).expect("stat").permissions();
    perms.set_mode(0o755);
    std::fs::set_permissions(path, perms).expect("chmod");
}
