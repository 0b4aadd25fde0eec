"""The benchmark harness behind scripts/bench (run with the bench venv's python).

Starts moto, then a real kube-apiserver with etcd (examples/kube_peer, the
test suite's control plane, signing ServiceAccount tokens with the EKS issuer
moto reports) on loopback, each behind a recording proxy (proxy.py), writes
throwaway AWS config and kubeconfig files, then measures:

1. a fresh onboarding: `kubectl klanker-trust add --dry-run=false` versus the
   manual AWS CLI + kubectl procedure (manual.sh), interleaved samples, fresh
   peer state for each;
2. an idempotent re-run of `add`, `list` with 10/100/1000 onboardings plus as
   many unrelated roles, and `rm`: wall time and requests at the peers;
3. the critical path: sequential depth of the add path, measured with a
   simulated round-trip delay on every request;
4. cold start (hyperfine) and the release binary size;
5. `audit` of 1,000 and 5,000 roles with a simulated delay (audit.py);
   `--only audit` measures that alone;
6. fleet runs: 20 EKS clusters over 2 cluster accounts onboarded by one
   `add --all-contexts`, against 20 single adds and the manual procedure
   x20, with a simulated delay (fleet.py, its own world of 20 API servers);
   `--only fleet` measures that alone.

Writes a markdown table to --out and prints it. Every process it starts is
stopped when it exits (the servers also exit when their stdin closes).
"""

import argparse
import json
import os
import platform
import shutil
import signal
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import boto3

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, str(Path(__file__).resolve().parent))
from proxy import Proxy  # noqa: E402
import audit  # noqa: E402
import fleet  # noqa: E402

CLUSTER = "dev-use1-0"
NAMESPACE = "ai-pods"
SERVICE_ACCOUNT = "km"
TOKEN = "bench-token"
CLUSTER_ACCOUNT = "222222222222"
KLANKER_ACCOUNT = "333333333333"
OPERATOR_POLICY = (
    '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:GetCallerIdentity","Resource":"*"}]}'
)
READ_PREFIXES = ("Get", "List", "Describe")
CREDENTIAL_ACTIONS = {"AssumeRole", "AssumeRoleWithWebIdentity", "GetSessionToken"}


def log(message):
    print(f"bench: {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- the world


class World:
    def __init__(self, args):
        self.args = args
        self.root = Path(args.root)
        self.work = Path(tempfile.mkdtemp(prefix="klanker-bench-"))
        self.children = []
        self.sample = 0

        try:
            moto = self.spawn([args.python, str(Path(__file__).parent / "moto_peer.py")])
            self.moto_url = f"http://127.0.0.1:{json.loads(moto.stdout.readline())['port']}"
            self.aws_proxy = Proxy("aws", ("127.0.0.1", int(self.moto_url.rsplit(":", 1)[1])))
            # The EKS cluster first: the API server signs tokens with its issuer.
            self.issuer = self.seed_aws()
            self.start_kube()
            self.write_files()
        except BaseException:
            self.close()
            raise

    def spawn(self, argv, env=None, stderr=subprocess.DEVNULL):
        child = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, text=True, env=env
        )
        self.children.append(child)
        return child

    def start_kube(self):
        """The real control plane, started once: kube-apiserver takes seconds
        to start, so samples get a fresh Kubernetes state by deleting what the
        flows create (see reset), not a new server."""
        log("starting kube-apiserver and etcd (examples/kube_peer)")
        started = time.perf_counter()
        # TMPDIR: kube_peer keeps etcd's data and its certificates under the
        # system temp dir and leaves them there; inside our work dir they go
        # when the bench ends.
        env = dict(os.environ, KLANKER_TRUST_PEER_BIN=self.args.peer_bin, TMPDIR=str(self.work))
        log_path = self.work / "kube_peer.log"
        with open(log_path, "w") as stderr:
            peer = self.spawn([self.args.kube_peer, self.issuer, TOKEN], env=env, stderr=stderr)
        line = peer.stdout.readline()
        if not line:
            raise SystemExit(f"bench: kube_peer exited before it was ready:\n{log_path.read_text()[-4000:]}")
        ready = json.loads(line)
        self.kube_start = time.perf_counter() - started
        log(f"kube-apiserver ready in {self.kube_start:.1f} s at {ready['url']}")
        self.kube_url, self.kube_ca = ready["url"], ready["ca"]
        self.kube_tls = ssl.create_default_context(cafile=self.kube_ca)
        # kube_peer's pki dir holds the CA and the serving certificate for
        # 127.0.0.1 it signed: the proxy serves that one, so the kubeconfig's
        # one certificate-authority trusts it, and checks the server with the CA.
        pki = Path(self.kube_ca).parent
        host, port = self.kube_url.removeprefix("https://").rstrip("/").rsplit(":", 1)
        self.kube_proxy = Proxy(
            "kube", (host, int(port)), tls=(str(pki / "server.crt"), str(pki / "server.key")), upstream_ca=self.kube_ca
        )
        status, _ = self.kube_admin(
            "POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}
        )
        if status not in (201, 409):
            raise SystemExit(f"bench: creating namespace {NAMESPACE} answered {status}")
        status, version = self.kube_admin("GET", "/version")
        self.kube_version = version.get("gitVersion", "?") if status == 200 else "?"

    def kube_admin(self, method, path, body=None):
        """One request as the cluster admin, straight to the API server (not
        through the proxy: setup is not measured). Returns (status, JSON)."""
        request = urllib.request.Request(
            self.kube_url + path,
            data=json.dumps(body).encode() if body is not None else None,
            method=method,
            headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, context=self.kube_tls) as answer:
                return answer.status, json.loads(answer.read() or b"{}")
        except urllib.error.HTTPError as err:
            return err.code, {}

    def close(self):
        for proxy in (getattr(self, "aws_proxy", None), getattr(self, "kube_proxy", None)):
            if proxy:
                proxy.stop()
        fleet.stop_children(self.children, timeout=30)
        shutil.rmtree(self.work, ignore_errors=True)

    def write_files(self):
        w = self.work
        (w / "stub").mkdir()
        stub = w / "stub" / "aws"
        # Stand-in for `aws eks get-token` in the kubeconfig's exec block: it
        # yields the bearer token kube-apiserver's token file accepts (as the
        # cluster admin). Both flows go through it.
        stub.write_text(
            "#!/bin/sh\n"
            "echo '{\"kind\":\"ExecCredential\",\"apiVersion\":\"client.authentication.k8s.io/v1beta1\","
            f"\"spec\":{{}},\"status\":{{\"token\":\"{TOKEN}\"}}}}'\n"
        )
        stub.chmod(0o755)
        (w / "aws-config").write_text(
            "[profile base]\nregion = us-east-1\n"
            f"[profile cluster-admin]\nregion = us-east-1\nrole_arn = arn:aws:iam::{CLUSTER_ACCOUNT}:role/cluster-admin\nsource_profile = base\n"
            f"[profile klanker-application]\nregion = us-east-1\nrole_arn = arn:aws:iam::{KLANKER_ACCOUNT}:role/klanker-operator\n"
            "source_profile = base\n"
        )
        (w / "aws-credentials").write_text("[base]\naws_access_key_id = AKIABENCH\naws_secret_access_key = bench-secret\n")
        ctx = f"arn:aws:eks:us-east-1:{CLUSTER_ACCOUNT}:cluster/{CLUSTER}"
        (w / "kubeconfig").write_text(
            f"""apiVersion: v1
kind: Config
current-context: "{ctx}"
clusters:
- name: "{ctx}"
  cluster: {{server: "{self.kube_proxy.url}", certificate-authority: "{self.kube_ca}"}}
contexts:
- name: "{ctx}"
  context: {{cluster: "{ctx}", user: "{ctx}", namespace: {NAMESPACE}}}
users:
- name: "{ctx}"
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: {stub}
      args: [--region, us-east-1, eks, get-token, --cluster-name, {CLUSTER}, --profile, cluster-admin]
      interactiveMode: Never
"""
        )

    def env(self):
        """A clean environment for one sample: its own HOME (so the AWS CLI's
        assume-role cache and kubectl's discovery cache start empty) and km-config."""
        home = self.work / f"home-{self.sample}"
        home.mkdir(exist_ok=True)
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("AWS_", "KUBE", "KM_")) and k not in ("HOME", "PATH")
        }
        # The built kubectl first: both flows run through it, the same
        # version as the API server.
        path = [self.args.peer_bin, str(self.args.bin_dir), str(Path(self.args.python).parent)]
        env.update(
            PATH=os.pathsep.join([*path, os.environ["PATH"]]),
            HOME=str(home),
            KUBECONFIG=str(self.work / "kubeconfig"),
            AWS_CONFIG_FILE=str(self.work / "aws-config"),
            AWS_SHARED_CREDENTIALS_FILE=str(self.work / "aws-credentials"),
            AWS_ENDPOINT_URL=self.aws_proxy.url,
            AWS_EC2_METADATA_DISABLED="true",
            KM_CONFIG=str(home / "km-config.yaml"),
            NO_COLOR="1",
        )
        return env

    # ------------------------------------------------------------ fresh state

    def seed_aws(self):
        """moto reset (forgets STS sessions too), then the seed: the EKS
        cluster and the operator policy. Returns the cluster's issuer."""
        urllib.request.urlopen(urllib.request.Request(self.moto_url + "/moto-api/reset", method="POST")).read()
        self.eks = self.client("eks", CLUSTER_ACCOUNT)
        self.iam = self.client("iam", KLANKER_ACCOUNT)
        cluster = self.eks.create_cluster(
            name=CLUSTER, roleArn=f"arn:aws:iam::{CLUSTER_ACCOUNT}:role/eks", resourcesVpcConfig={}
        )
        self.iam.create_policy(PolicyName="km-operator-policy", PolicyDocument=OPERATOR_POLICY)
        return cluster["cluster"]["identity"]["oidc"]["issuer"]

    def reset(self):
        """Fresh peers: the AWS seed again on a reset moto, the Kubernetes
        state back to the seed (namespace present, no ServiceAccount: the only
        object the flows create), a new HOME."""
        self.sample += 1
        issuer = self.seed_aws()
        # moto draws the issuer's ID once per process; the API server signs
        # for the first one, and add's verification needs them to agree.
        if issuer != self.issuer:
            raise SystemExit(f"bench: moto changed the EKS issuer after a reset ({self.issuer} -> {issuer})")
        path = f"/api/v1/namespaces/{NAMESPACE}/serviceaccounts/{SERVICE_ACCOUNT}"
        status, _ = self.kube_admin("DELETE", path)
        if status not in (200, 404):
            raise SystemExit(f"bench: deleting the ServiceAccount answered {status}")
        # ServiceAccounts have no finalizers: once the DELETE is answered it is gone.
        status, _ = self.kube_admin("GET", path)
        if status != 404:
            raise SystemExit(f"bench: the ServiceAccount is still there after DELETE (GET answered {status})")
        self.aws_proxy.recorder.take()
        self.kube_proxy.recorder.take()

    def client(self, service, account):
        """A boto3 client straight to moto (not through the proxy: seeding is not measured)."""
        sts = boto3.client(
            "sts",
            endpoint_url=self.moto_url,
            region_name="us-east-1",
            aws_access_key_id="AKIASEED",
            aws_secret_access_key="seed",
        )
        creds = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/bench-seed", RoleSessionName="seed")[
            "Credentials"
        ]
        return boto3.client(
            service,
            endpoint_url=self.moto_url,
            region_name="us-east-1",
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
        )

    # --------------------------------------------------------------- running

    def run(self, argv, extra_env=None, check=True, ok=(0,)):
        env = self.env()
        env.update(extra_env or {})
        self.aws_proxy.recorder.take()
        self.kube_proxy.recorder.take()
        start = time.perf_counter()
        done = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True)
        wall = time.perf_counter() - start
        requests = self.aws_proxy.recorder.take() + self.kube_proxy.recorder.take()
        if check and done.returncode not in ok:
            raise SystemExit(
                f"bench: `{' '.join(argv)}` exited {done.returncode}\n--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"
            )
        return Run(wall, done.returncode, done.stdout, done.stderr, requests)

    def ours(self, *args, check=True, ok=(0,)):
        return self.run(["kubectl", "klanker-trust", *args], check=check, ok=ok)

    def add(self, *extra):
        # Exit 0 only: the API server signs tokens with the EKS issuer, so the
        # post-apply verification must find the whole chain working.
        return self.ours(
            "add", "--name", CLUSTER, "--namespace", NAMESPACE, "--service-account", SERVICE_ACCOUNT,
            "--dry-run=false", *extra,
        )

    def manual(self):
        scratch = self.work / f"manual-{self.sample}"
        scratch.mkdir(exist_ok=True)
        return self.run(
            ["bash", str(Path(__file__).parent / "manual.sh")],
            extra_env=dict(
                CLUSTER=CLUSTER, CLUSTER_REGION="us-east-1", NAMESPACE=NAMESPACE, SERVICE_ACCOUNT=SERVICE_ACCOUNT,
                ROLE=f"km-cluster-{CLUSTER}", WORK=str(scratch),
            ),
        )

    def set_delay(self, seconds):
        self.aws_proxy.delay = seconds
        self.kube_proxy.delay = seconds


class Run:
    def __init__(self, wall, code, stdout, stderr, requests):
        self.wall, self.code, self.stdout, self.stderr = wall, code, stdout, stderr
        self.requests = sorted(requests, key=lambda r: r["start"])

    @property
    def aws(self):
        return [r for r in self.requests if r["peer"] == "aws"]

    @property
    def kube(self):
        return [r for r in self.requests if r["peer"] == "kube"]

    def counts(self):
        creds = [r for r in self.aws if r["action"] in CREDENTIAL_ACTIONS]
        aws_reads = [r for r in self.aws if r not in creds and r["action"].startswith(READ_PREFIXES + ("GET ",))]
        aws_writes = [r for r in self.aws if r not in creds and r not in aws_reads]
        kube_reads = [r for r in self.kube if r["method"] in ("GET", "HEAD")]
        kube_writes = [r for r in self.kube if r not in kube_reads]
        return {
            "aws": len(self.aws), "creds": len(creds), "aws_reads": len(aws_reads), "aws_writes": len(aws_writes),
            "kube": len(self.kube), "kube_reads": len(kube_reads), "kube_writes": len(kube_writes),
            "writes": [r["call"] for r in aws_writes + kube_writes],
        }


# --------------------------------------------------------------- analysis


def depth(requests):
    """Longest chain of requests each starting after the previous one ended:
    the number of sequential round trips. Returns (length, chain, levels)."""
    reqs = sorted(requests, key=lambda r: (r["end"], r["start"]))
    best, prev = [], []
    for i, r in enumerate(reqs):
        b, p = 1, None
        for j in range(i):
            # Ties go to the request answered last before this one started: the likely cause.
            if reqs[j]["end"] <= r["start"] and (best[j] + 1 > b or (best[j] + 1 == b and p is not None)):
                b, p = best[j] + 1, j
        best.append(b)
        prev.append(p)
    if not reqs:
        return 0, [], []
    i = max(range(len(reqs)), key=lambda k: best[k])
    chain = []
    while i is not None:
        chain.append(reqs[i])
        i = prev[i]
    chain.reverse()
    # Level of each request: 1 + the deepest request that ended before it started.
    levels = {}
    for k, r in enumerate(reqs):
        levels.setdefault(best[k], []).append(r)
    return max(best), chain, [levels[k] for k in sorted(levels)]


def stats(values):
    return min(values), statistics.median(values), max(values)


def ms(seconds):
    return f"{seconds * 1000:.0f} ms" if seconds < 10 else f"{seconds:.1f} s"


def fmt_counts(c):
    return (
        f"{c['aws']} ({c['aws_reads']} r / {c['aws_writes']} w / {c['creds']} cred)",
        f"{c['kube']} ({c['kube_reads']} r / {c['kube_writes']} w)",
    )


def summarize_calls(requests):
    """`a, b ×2, c` in first-seen order."""
    seen = {}
    for r in requests:
        seen[r["call"]] = seen.get(r["call"], 0) + 1
    return ", ".join(f"{k} ×{n}" if n > 1 else k for k, n in seen.items())


# ------------------------------------------------------------- scenarios


def scenario_fresh(world, samples):
    flows = {"ours": [], "ours-no-verify": [], "manual": []}
    names = list(flows)
    for i in range(samples):
        # Interleaved, rotating who goes first, so drift hits every flow alike.
        for who in names[i % 3:] + names[: i % 3]:
            world.reset()
            if who == "ours":
                flows[who].append(world.add())
            elif who == "ours-no-verify":
                flows[who].append(world.add("--no-verify"))
            else:
                flows[who].append(world.manual())
        log(f"fresh add sample {i + 1}/{samples}: " + ", ".join(f"{k} {ms(v[-1].wall)}" for k, v in flows.items()))
    return flows


def scenario_rerun(world, samples):
    world.reset()
    world.add()
    runs = [world.add() for _ in range(samples)]
    log(f"re-run: median {ms(stats([r.wall for r in runs])[1])}")
    return runs


def seed_list(world, template, start, stop):
    """Onboardings shaped exactly like the template `add` made (role with tags,
    description and trust policy, its own tagged provider, policy attached),
    plus one unrelated role per onboarding."""
    iam = world.iam
    host = template["issuer_host"]
    for i in range(start, stop):
        name = f"bench-{i:04d}"
        issuer_host = f"oidc.eks.us-east-1.amazonaws.com/id/BENCH{i:06d}"
        iam.create_open_id_connect_provider(
            Url=f"https://{issuer_host}", ClientIDList=["sts.amazonaws.com"], Tags=template["provider_tags"]
        )
        doc = template["trust"].replace(host, issuer_host)
        role = template["role_name"].replace(CLUSTER, name)
        iam.create_role(
            RoleName=role,
            AssumeRolePolicyDocument=doc,
            Description=template["description"].replace(CLUSTER, name),
            MaxSessionDuration=template["max_session"],
            Tags=[
                {"Key": t["Key"], "Value": t["Value"].replace(CLUSTER, name)} for t in template["role_tags"]
            ],
        )
        for policy in template["policies"]:
            iam.attach_role_policy(RoleName=role, PolicyArn=policy)
        iam.create_role(
            RoleName=f"unrelated-{i:04d}",
            AssumeRolePolicyDocument=json.dumps(
                {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
            ),
            Description="an application role",
        )


def scenario_list(world, sizes, samples):
    world.reset()
    world.add()  # a real onboarding, to copy its exact shape
    role_name = f"km-cluster-{CLUSTER}"
    role = world.iam.get_role(RoleName=role_name)["Role"]
    providers = world.iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]
    provider = world.iam.get_open_id_connect_provider(OpenIDConnectProviderArn=providers[0]["Arn"])
    trust = role["AssumeRolePolicyDocument"]
    template = {
        "issuer_host": world.issuer.removeprefix("https://"),
        "trust": trust if isinstance(trust, str) else json.dumps(trust),
        "role_name": role_name,
        "description": role.get("Description", ""),
        "max_session": role.get("MaxSessionDuration", 3600),
        "role_tags": world.iam.list_role_tags(RoleName=role_name)["Tags"],
        "provider_tags": provider.get("Tags", []),
        "policies": [p["PolicyArn"] for p in world.iam.list_attached_role_policies(RoleName=role_name)["AttachedPolicies"]],
    }
    # Start from a clean account holding only the seed, then grow 10 -> 100 -> 1000.
    world.reset()
    results, have = [], 0
    for size in sizes:
        seed_start = time.perf_counter()
        seed_list(world, template, have, size)
        have = size
        log(f"list: seeded {size} onboardings + {size} unrelated roles in {time.perf_counter() - seed_start:.1f} s")
        runs = [world.ours("list", "-o", "json") for _ in range(samples)]
        listed = len(json.loads(runs[-1].stdout).get("clusters", []))
        results.append((size, listed, runs))
    return results


def scenario_rm(world, samples):
    runs = []
    for _ in range(samples):
        world.reset()
        world.add()
        runs.append(world.ours("rm", CLUSTER, "--yes"))
    log(f"rm: median {ms(stats([r.wall for r in runs])[1])}")
    return runs


def scenario_critical(world, delay):
    world.set_delay(delay)
    try:
        world.reset()
        fresh = world.add()
        rerun = world.add()
        world.reset()
        fresh_nv = world.add("--no-verify")
        world.reset()
        manual = world.manual()
        world.reset()
        world.add("--no-verify")
        rm = world.ours("rm", CLUSTER, "--yes")
    finally:
        world.set_delay(0.0)
    return fresh, rerun, fresh_nv, manual, rm


def critical_lines(critical):
    """The round-trip depth of each flow, and the default fresh add's levels."""
    names = ("fresh add", "re-run add", "fresh add --no-verify", "manual", "rm")
    lines = [f"{name}: {depth(run.requests)[0]} sequential round trips, {len(run.requests)} requests"
             for name, run in zip(names, critical)]
    for name, run in ((names[0], critical[0]), (names[4], critical[4])):
        _, chain, levels = depth(run.requests)
        lines.append(f"{name}, level by level:")
        lines += [f"  level {n}: {summarize_calls(level)}" for n, level in enumerate(levels, 1)]
        lines.append("  longest chain: " + " -> ".join(r["call"] for r in chain))
    return lines


def cold_start(world, runs):
    out = {}
    env = world.env()
    binary = world.root / "target/release/kubectl-klanker_trust"
    commands = [
        ("kubectl klanker-trust --help", "kubectl klanker-trust --help"),
        ("kubectl klanker-trust --version", "kubectl klanker-trust --version"),
        ("kubectl-klanker_trust --help (binary alone)", f"{binary} --help"),
        ("kubectl-klanker_trust --version (binary alone)", f"{binary} --version"),
        ("kubectl version --client (kubectl alone, for reference)", "kubectl version --client"),
        ("aws --version (AWS CLI v1 start-up, paid once per manual step)", "aws --version"),
    ]
    for label, command in commands:
        n = runs if not command.startswith("aws ") else max(10, runs // 5)
        export = world.work / "hyperfine.json"
        subprocess.run(
            ["hyperfine", "--warmup", "5", "--runs", str(n), "-N", "--export-json", str(export), command],
            env=env, check=True, capture_output=True, text=True,
        )
        result = json.loads(export.read_text())["results"][0]
        out[label] = (result["median"], result["min"], result["max"], len(result["times"]))
    log("cold start measured")
    return out


# ----------------------------------------------------------------- report


def machine():
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "unknown"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return f"{os.cpu_count()} CPUs ({cpu}), {mem} RAM, {platform.system()} {platform.release()}"


def versions(world):
    env = world.env()

    def first_line(argv):
        try:
            done = subprocess.run(argv, env=env, capture_output=True, text=True)
            return (done.stdout.strip() or done.stderr.strip()).splitlines()[0]
        except (OSError, IndexError):
            return "?"

    import moto

    return {
        "plugin": first_line(["kubectl", "klanker-trust", "--version"]),
        "aws": first_line(["aws", "--version"]).split(" ")[0],
        "kubectl": first_line(["kubectl", "version", "--client"]),
        "moto": f"moto {moto.__version__}",
        "hyperfine": first_line(["hyperfine", "--version"]),
    }


def source_state(root):
    """The commit the binary was built from, and whether its sources had uncommitted changes."""
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "--short=12", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--", "src", "Cargo.toml", "Cargo.lock", "build.rs"],
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return f"commit {head}" + (" with uncommitted changes under src/ or Cargo.*" if dirty else "")


def report(args, world, fresh, rerun, lists, rms, critical, cold, size):
    ours, ours_nv, manual = fresh["ours"], fresh["ours-no-verify"], fresh["manual"]
    o, onv, m = (stats([r.wall for r in runs]) for runs in (ours, ours_nv, manual))
    out = []
    out.append(f"Machine: {machine()}")
    v = versions(world)
    out.append(f"Versions: {v['plugin']}; {v['aws']}; {v['kubectl']}; kube-apiserver {world.kube_version}"
               f" (started in {world.kube_start:.1f} s, once); {v['moto']}; {v['hyperfine']}")
    out.append(f"Source measured: {source_state(world.root)}")
    out.append(f"Started {time.strftime('%Y-%m-%d %H:%M:%S %Z', time.localtime(args.started))}, ran for {time.time() - args.started:.0f} s.")
    out.append("")
    out.append(f"### 1. Onboarding one cluster, fresh ({args.samples} samples each, loopback, fresh peer state per sample)")
    out.append("")
    out.append("| flow | min | median | max | manual / this (medians) | AWS requests (reads / writes / credential) | Kubernetes requests |")
    out.append("|---|---:|---:|---:|---:|---|---|")
    for label, runs, st in (
        ("`kubectl klanker-trust add --dry-run=false` (default: verifies after applying)", ours, o),
        ("`kubectl klanker-trust add --dry-run=false --no-verify`", ours_nv, onv),
        ("manual: 5 `aws` CLI commands + `kubectl apply --server-side`", manual, m),
    ):
        c = fmt_counts(runs[-1].counts())
        ratio = "—" if runs is manual else f"**{m[1] / st[1]:.1f}×**"
        out.append(f"| {label} | {ms(st[0])} | **{ms(st[1])}** | {ms(st[2])} | {ratio} | {c[0]} | {c[1]} |")
    out.append("")
    fresh_d, rerun_r, nv, man, rm_d = critical
    delay_ms = int(args.delay * 1000)
    out.append(f"### 2. Critical path (every request delayed {delay_ms} ms at the proxy: a simulated round trip)")
    out.append("")
    out.append("Sequential round trips = the longest chain of requests (AWS and Kubernetes) each of which started"
               " after the previous one had been answered. The SDK's credential calls (`sts:AssumeRole` for the"
               " assume-role profiles) are remote round trips too; the second count leaves them out.")
    out.append("")
    out.append("| flow | wall | requests (credential) | sequential round trips | without credential calls | target |")
    out.append("|---|---:|---:|---:|---:|---|")

    def nocred(run):
        return [r for r in run.requests if r.get("action") not in CREDENTIAL_ACTIONS]

    def row(label, run, target):
        d, dn = depth(run.requests)[0], depth(nocred(run))[0]
        creds = run.counts()["creds"]
        return f"| {label} | {ms(run.wall)} | {len(run.requests)} ({creds}) | **{d}** | {dn} | {target} |"

    def target(run):
        d = depth(run.requests)[0]
        return f"≤ 5: {'met' if d <= 5 else f'**missed** by {d - 5}'}"

    rc = rerun_r.counts()
    out.append(row("`add --dry-run=false`, fresh (default: verifies after applying)", fresh_d, target(fresh_d)))
    out.append(row("`add --dry-run=false --no-verify`, fresh", nv, target(nv)))
    out.append(row("`add --dry-run=false`, re-run (no change)", rerun_r,
                   f"0 writes: {'met' if not rc['writes'] else '**missed** (' + ', '.join(rc['writes']) + ')'}"))
    out.append(row("manual procedure, fresh", man, ""))
    out.append(row("`rm NAME --yes`", rm_d, ""))
    out.append("")
    out.append("Requests in flight together, level by level (level n = requests that started after a request of"
               " level n-1 was answered):")
    out.append("")
    _, _, lv_nv = depth(nv.requests)
    _, chain, lv_default = depth(fresh_d.requests)
    _, _, lv_rerun = depth(rerun_r.requests)
    _, _, lv_rm = depth(rm_d.requests)
    columns = (lv_nv, lv_default, lv_rerun, lv_rm)
    out.append("| level | fresh `add --no-verify` | fresh `add` (default) | re-run `add` | `rm` |")
    out.append("|---:|---|---|---|---|")
    for n in range(max(len(lv) for lv in columns)):
        cells = [summarize_calls(lv[n]) if n < len(lv) else "" for lv in columns]
        out.append(f"| {n + 1} | " + " | ".join(cells) + " |")
    out.append("")
    out.append("One longest chain of the default fresh `add`: " + " → ".join(r["call"] for r in chain) + ".")
    out.append("")
    out.append("### 3. Re-run, list, rm (loopback, no added delay)")
    out.append("")
    out.append("| operation | min | median | max | AWS requests (reads / writes / credential) | Kubernetes requests |")
    out.append("|---|---:|---:|---:|---|---|")
    s = stats([r.wall for r in rerun])
    c = fmt_counts(rerun[-1].counts())
    out.append(f"| `add` re-run, nothing to change | {ms(s[0])} | {ms(s[1])} | {ms(s[2])} | {c[0]} | {c[1]} |")
    for n, listed, runs in lists:
        s = stats([r.wall for r in runs])
        c = fmt_counts(runs[-1].counts())
        out.append(f"| `list -o json`, {n} onboarded + {n} unrelated roles ({listed} listed) | {ms(s[0])} | {ms(s[1])} | {ms(s[2])} | {c[0]} | {c[1]} |")
    s = stats([r.wall for r in rms])
    c = fmt_counts(rms[-1].counts())
    out.append(f"| `rm NAME --yes` (role, owned provider, ServiceAccount, km-config entry) | {ms(s[0])} | {ms(s[1])} | {ms(s[2])} | {c[0]} | {c[1]} |")
    out.append("")
    out.append("AWS calls per operation (last sample):")
    out.append("")
    out.append(f"- fresh `add`: {summarize_calls(ours[-1].aws)}; Kubernetes: {summarize_calls(ours[-1].kube)}")
    out.append(f"- manual: {summarize_calls(manual[-1].aws)}; Kubernetes: {summarize_calls(manual[-1].kube)}")
    out.append(f"- `add` re-run: {summarize_calls(rerun[-1].aws)}; Kubernetes: {summarize_calls(rerun[-1].kube)}")
    n, _, runs = lists[-1]
    out.append(f"- `list` ({n}): {summarize_calls(runs[-1].aws)}; Kubernetes: {summarize_calls(runs[-1].kube) or 'none'}")
    out.append(f"- `rm`: {summarize_calls(rms[-1].aws)}; Kubernetes: {summarize_calls(rms[-1].kube)}")
    out.append("")
    out.append("### 4. Cold start (hyperfine `-N`: no shell, 5 warm-ups)")
    out.append("")
    out.append("| command | runs | median | min | max |")
    out.append("|---|---:|---:|---:|---:|")
    for label, (med, lo, hi, n) in cold.items():
        command, _, note = label.partition(" (")
        note = f" ({note}" if note else ""
        out.append(f"| `{command}`{note} | {n} | {med * 1000:.1f} ms | {lo * 1000:.1f} ms | {hi * 1000:.1f} ms |")
    out.append("")
    out.append(f"Release binary `target/release/kubectl-klanker_trust`: {size:,} bytes ({size / 1024 / 1024:.1f} MiB).")
    return "\n".join(out) + "\n"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--root", required=True)
    parser.add_argument("--python", required=True, help="the bench venv's python (runs moto)")
    parser.add_argument("--peer-bin", required=True, help="scripts/test-env --peer-bin: kube-apiserver, etcd, kubectl")
    parser.add_argument("--kube-peer", required=True, help="the built examples/kube_peer")
    parser.add_argument("--out", required=True)
    parser.add_argument("--samples", type=int, default=5)
    parser.add_argument("--list-sizes", default="10,100,1000")
    parser.add_argument("--delay", type=float, default=0.05)
    parser.add_argument("--cold-runs", type=int, default=50)
    parser.add_argument("--bin-dir", help="where the plugin binary is (default: target/release)")
    parser.add_argument("--audit-sizes", default="1000,5000")
    parser.add_argument("--fleet-size", type=int, default=20, help="EKS clusters in the fleet scenario (even)")
    parser.add_argument("--fleet-manual-samples", type=int, default=1,
                        help="how many times the manual procedure runs for the whole fleet (about 80 s each)")
    parser.add_argument("--only", choices=["all", "critical", "audit", "fleet"], default="all",
                        help="critical: only the sequential round trips, printed (for quick iteration);"
                             " audit: only the audit scenario; fleet: only the fleet scenario")
    args = parser.parse_args()
    args.bin_dir = Path(args.bin_dir or Path(args.root) / "target/release")
    args.started = time.time()
    # scripts/bench stops an interrupted run with SIGTERM: unwind so `finally` stops the peers.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    sizes = [int(s) for s in args.list_sizes.split(",") if s]
    fleet_section = (args.delay, depth, stats, ms, summarize_calls)
    if args.only == "fleet":
        # Its own world: the single-cluster one is not started at all.
        text = "\n".join([f"Machine: {machine()}", f"Source measured: {source_state(args.root)}",
                          f"Started {time.strftime('%Y-%m-%d %H:%M:%S %Z', time.localtime(args.started))}.", "",
                          *fleet.section(*fleet.scenario(args, log), *fleet_section)]) + "\n"
        write_out(args, text)
        return

    world = World(args)
    if args.only == "critical":
        try:
            print("\n".join(critical_lines(scenario_critical(world, args.delay))))
        finally:
            world.close()
        return
    audit_sizes = [int(s) for s in args.audit_sizes.split(",") if s]
    audit_args = (audit_sizes, args.samples, args.delay, KLANKER_ACCOUNT, log)
    audit_section = (args.delay, depth, stats, ms, summarize_calls, CREDENTIAL_ACTIONS)
    if args.only == "audit":
        try:
            audited = audit.scenario(world, *audit_args)
            text = "\n".join([f"Machine: {machine()}", f"Source measured: {source_state(world.root)}", "",
                              *audit.section(audited, *audit_section)]) + "\n"
        finally:
            world.close()
        write_out(args, text)
        return
    try:
        fresh = scenario_fresh(world, args.samples)
        rerun = scenario_rerun(world, args.samples)
        critical = scenario_critical(world, args.delay)
        log("critical path measured")
        lists = scenario_list(world, sizes, args.samples)
        rms = scenario_rm(world, args.samples)
        cold = cold_start(world, args.cold_runs)
        size = (world.root / "target/release/kubectl-klanker_trust").stat().st_size
        audited = audit.scenario(world, *audit_args)
        text = report(args, world, fresh, rerun, lists, rms, critical, cold, size)
        text += "\n" + "\n".join(audit.section(audited, *audit_section)) + "\n"
    finally:
        world.close()
    # After the single-cluster world has stopped: the fleet's 20 API servers
    # would otherwise load the machine while the other sections are measured.
    text += "\n" + "\n".join(fleet.section(*fleet.scenario(args, log), *fleet_section)) + "\n"
    write_out(args, text)


def write_out(args, text):
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
