"""Fleet runs in the bench: onboarding 20 EKS clusters (over 2 cluster
accounts and 2 regions) at once, against the alternatives.

Its own world, apart from the single-cluster one (harness.World): moto with
one OIDC issuer per EKS cluster (moto_peer.py --issuer-per-cluster), one real
kube-apiserver per cluster, each signing ServiceAccount tokens for its own
cluster's issuer (so `add`'s post-apply verification can pass), all on one
etcd (examples/kube_peer with several issuers), each behind its own
recording proxy, and a kubeconfig with one context per cluster. Every
request is delayed at the proxies (50 ms by default). Per sample, fresh
peers state (moto reset and re-seeded, the ServiceAccounts deleted) and a
new HOME, then, in rotating order:

- `kubectl klanker-trust add --all-contexts --parallel 20 --yes`;
- the same with the default `--parallel` (8);
- 20 sequential `kubectl klanker-trust add --context CTX --yes`;
- `kubectl-klanker_trust add --all-contexts --parallel 20 --yes`, the
  binary run directly: its user+system CPU is our process alone (kubectl
  execs the plugin in its own process, so through kubectl the CPU would
  include kubectl's start-up).

The manual procedure (manual.sh) for the 20 clusters one after another is
measured `--fleet-manual-samples` times (default 1: about 80 s a time).
"""

import json
import os
import shutil
import ssl
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import boto3

from proxy import Proxy

CLUSTER_ACCOUNTS = ("222222222222", "444444444444")
PROFILES = ("cluster-admin", "cluster-admin-b")
KLANKER_ACCOUNT = "333333333333"
REGIONS = ("us-east-1", "eu-west-1")
NAMESPACE = "ai-pods"
SERVICE_ACCOUNT = "km"
TOKEN = "bench-token"
# moto's random source is seeded with this before every seeding, so the
# clusters get the same issuers after each reset: the API servers sign for
# the issuers they were started with.
RANDOM_SEED = 20261206
OPERATOR_POLICY = (
    '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:GetCallerIdentity","Resource":"*"}]}'
)
CREDENTIAL_ACTIONS = {"AssumeRole", "AssumeRoleWithWebIdentity", "GetSessionToken"}


class Cluster:
    """One EKS cluster of the fleet; placed as the tests' fleet places them
    (tests/support/fleet.rs): the account alternates, the region every other
    cluster."""

    def __init__(self, i):
        account = i % 2
        self.name = f"fleet-{i:02d}"
        self.account = CLUSTER_ACCOUNTS[account]
        self.profile = PROFILES[account]
        self.region = REGIONS[(i + 1) // 2 % 2]
        self.context = f"arn:aws:eks:{self.region}:{self.account}:cluster/{self.name}"
        self.issuer = None
        self.url = None  # the API server itself (for setup)
        self.proxy = None  # what the kubeconfig points at


class Run:
    """One process: wall time, exit, output, its CPU (its own, and its
    waited-for children's: the exec block's stand-in, the AWS CLI), and the
    requests the proxies saw meanwhile."""

    def __init__(self, wall, code, stdout, stderr, cpu_self, cpu_children, requests):
        self.wall, self.code, self.stdout, self.stderr = wall, code, stdout, stderr
        self.cpu_self, self.cpu_children = cpu_self, cpu_children
        self.requests = requests

    @property
    def cpu(self):
        return self.cpu_self + self.cpu_children


def stop_children(children, timeout):
    """Closes each peer's stdin (moto and kube_peer exit on EOF; kube_peer
    stops kube-apiserver, and etcd dies with it), then waits, killing what
    outlives `timeout`."""
    for child in children:
        try:
            child.stdin.close()
        except OSError:
            pass
    for child in children:
        try:
            child.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def combine(runs):
    """Processes run one after another, as one flow."""
    return Run(
        sum(r.wall for r in runs), max(r.code for r in runs), "", "",
        sum(r.cpu_self for r in runs), sum(r.cpu_children for r in runs),
        [q for r in runs for q in r.requests],
    )


def cpu_of_zombie(pid):
    """(own, children's) user+system seconds of an exited, not yet reaped
    process, from /proc/PID/stat (fields 14-17: utime, stime, cutime, cstime)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    utime, stime, cutime, cstime = (int(f) / tick for f in fields[11:15])
    return utime + stime, cutime + cstime


class FleetWorld:
    def __init__(self, args, size, log):
        self.args, self.log = args, log
        self.work = Path(tempfile.mkdtemp(prefix="klanker-fleet-"))
        self.children, self.kube_proxies = [], []
        self.clusters = [Cluster(i) for i in range(size)]
        self.sample = 0
        try:
            self.start_moto()
            issuers = self.seed_aws()
            for cluster, issuer in zip(self.clusters, issuers):
                cluster.issuer = issuer
            self.start_kube()
            self.write_files()
        except BaseException:
            self.close()
            raise

    # ---------------------------------------------------------- the peers

    def spawn(self, argv, env=None, stderr=subprocess.DEVNULL):
        child = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, text=True, env=env
        )
        self.children.append(child)
        return child

    def start_moto(self):
        here = Path(__file__).parent
        moto = self.spawn([self.args.python, str(here / "moto_peer.py"), "--issuer-per-cluster"])
        port = json.loads(moto.stdout.readline())["port"]
        self.moto_url = f"http://127.0.0.1:{port}"
        self.aws_proxy = Proxy("aws", ("127.0.0.1", port))

    def start_kube(self):
        """One kube-apiserver per cluster, on one etcd (kube_peer with every
        issuer): 20 etcds would only add load. Started once; samples delete
        what the flows create instead."""
        self.log(f"fleet: starting {len(self.clusters)} kube-apiservers on one etcd (examples/kube_peer)")
        started = time.perf_counter()
        env = dict(os.environ, KLANKER_TRUST_PEER_BIN=self.args.peer_bin, TMPDIR=str(self.work))
        log_path = self.work / "kube_peer.log"
        issuers = [c.issuer for c in self.clusters]
        with open(log_path, "w") as stderr:
            peer = self.spawn([self.args.kube_peer, issuers[0], TOKEN, *issuers[1:]], env=env, stderr=stderr)
        for cluster in self.clusters:
            line = peer.stdout.readline()
            if not line:
                raise SystemExit(f"bench: kube_peer exited before it was ready:\n{log_path.read_text()[-4000:]}")
            ready = json.loads(line)
            cluster.url, self.kube_ca = ready["url"], ready["ca"]
            self.add_kube_proxy(cluster)
        self.kube_tls = ssl.create_default_context(cafile=self.kube_ca)
        self.kube_start = time.perf_counter() - started
        self.log(f"fleet: {len(self.clusters)} kube-apiservers ready in {self.kube_start:.1f} s")
        for cluster in self.clusters:
            body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}
            status = self.kube_admin(cluster, "POST", "/api/v1/namespaces", body)
            if status not in (201, 409):
                raise SystemExit(f"bench: creating namespace {NAMESPACE} in {cluster.name} answered {status}")

    def add_kube_proxy(self, cluster):
        # As in harness.World: the proxy serves kube_peer's certificate for
        # 127.0.0.1 and checks the API server against its CA.
        pki = Path(self.kube_ca).parent
        host, port = cluster.url.removeprefix("https://").rstrip("/").rsplit(":", 1)
        cluster.proxy = Proxy(
            "kube", (host, int(port)), tls=(str(pki / "server.crt"), str(pki / "server.key")),
            upstream_ca=self.kube_ca,
        )
        self.kube_proxies.append(cluster.proxy)

    def kube_admin(self, cluster, method, path, body=None):
        """One request as the cluster admin, straight to the API server (setup
        is not measured). Returns the status."""
        request = urllib.request.Request(
            cluster.url.rstrip("/") + path,
            data=json.dumps(body).encode() if body is not None else None,
            method=method,
            headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, context=self.kube_tls) as answer:
                answer.read()
                return answer.status
        except urllib.error.HTTPError as err:
            return err.code

    def close(self):
        for proxy in [getattr(self, "aws_proxy", None), *self.kube_proxies]:
            if proxy:
                proxy.stop()
        stop_children(self.children, timeout=60)
        shutil.rmtree(self.work, ignore_errors=True)

    # -------------------------------------------------------- fresh state

    def seed_aws(self):
        """moto reset, its random source seeded, then the EKS clusters and the
        operator policy, straight to moto (not counted). Returns the issuers."""
        for path in ("/moto-api/reset", f"/moto-api/seed?a={RANDOM_SEED}"):
            urllib.request.urlopen(urllib.request.Request(self.moto_url + path, method="POST")).read()
        eks = {}
        for account in CLUSTER_ACCOUNTS:
            for region in REGIONS:
                eks[account, region] = self.client("eks", account, region)
        issuers = []
        for c in self.clusters:
            made = eks[c.account, c.region].create_cluster(
                name=c.name, roleArn=f"arn:aws:iam::{c.account}:role/eks", resourcesVpcConfig={}
            )
            issuers.append(made["cluster"]["identity"]["oidc"]["issuer"])
        self.client("iam", KLANKER_ACCOUNT).create_policy(
            PolicyName="km-operator-policy", PolicyDocument=OPERATOR_POLICY
        )
        if len(set(issuers)) != len(issuers):
            raise SystemExit("bench: EKS clusters share an issuer: is moto_peer.py's --issuer-per-cluster in effect?")
        return issuers

    def reset(self):
        """Every sample a fresh onboarding of every cluster: AWS back to the
        seed, no ServiceAccount `km` (the only object `add` creates in a
        cluster; the namespace stays), a new HOME."""
        self.sample += 1
        issuers = self.seed_aws()
        if issuers != [c.issuer for c in self.clusters]:
            raise SystemExit("bench: the EKS issuers changed after a reset; the API servers sign for the first ones")
        path = f"/api/v1/namespaces/{NAMESPACE}/serviceaccounts/{SERVICE_ACCOUNT}"
        for cluster in self.clusters:
            status = self.kube_admin(cluster, "DELETE", path)
            if status not in (200, 404):
                raise SystemExit(f"bench: deleting {cluster.name}'s ServiceAccount answered {status}")

    def client(self, service, account, region="us-east-1"):
        """A boto3 client in `account`, through an assumed role (moto puts a
        session's calls in the role's account)."""
        keys = dict(aws_access_key_id="AKIASEED", aws_secret_access_key="seed")
        sts = boto3.client("sts", endpoint_url=self.moto_url, region_name="us-east-1", **keys)
        creds = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/bench-seed", RoleSessionName="seed")
        creds = creds["Credentials"]
        return boto3.client(
            service, endpoint_url=self.moto_url, region_name=region,
            aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
        )

    # -------------------------------------------------------------- files

    def write_files(self):
        w = self.work
        (w / "stub").mkdir()
        stub = w / "stub" / "aws"
        # Stand-in for `aws eks get-token` in each context's exec block (as in
        # harness.World): the token the API servers' token files accept.
        stub.write_text(
            "#!/bin/sh\n"
            "echo '{\"kind\":\"ExecCredential\",\"apiVersion\":\"client.authentication.k8s.io/v1beta1\","
            f"\"spec\":{{}},\"status\":{{\"token\":\"{TOKEN}\"}}}}'\n"
        )
        stub.chmod(0o755)
        profiles = "".join(
            f"[profile {p}]\nregion = us-east-1\nrole_arn = arn:aws:iam::{a}:role/cluster-admin\nsource_profile = base\n"
            for a, p in zip(CLUSTER_ACCOUNTS, PROFILES)
        )
        (w / "aws-config").write_text(
            "[profile base]\nregion = us-east-1\n" + profiles
            + f"[profile klanker-application]\nregion = us-east-1\nrole_arn = arn:aws:iam::{KLANKER_ACCOUNT}:role/klanker-operator\n"
            "source_profile = base\n"
        )
        (w / "aws-credentials").write_text("[base]\naws_access_key_id = AKIABENCH\naws_secret_access_key = bench-secret\n")
        (w / "kubeconfig").write_text(self.kubeconfig(stub))

    def kubeconfig(self, stub):
        """One cluster, user and context per cluster, each named by its
        context, as `aws eks update-kubeconfig` writes them."""
        clusters, contexts, users = [], [], []
        for c in self.clusters:
            ctx = c.context
            clusters.append(f'- name: "{ctx}"\n  cluster: {{server: "{c.proxy.url}", certificate-authority: "{self.kube_ca}"}}\n')
            contexts.append(f'- name: "{ctx}"\n  context: {{cluster: "{ctx}", user: "{ctx}", namespace: {NAMESPACE}}}\n')
            users.append(
                f'- name: "{ctx}"\n  user:\n    exec:\n'
                "      apiVersion: client.authentication.k8s.io/v1beta1\n"
                f"      command: {stub}\n"
                f"      args: [--region, {c.region}, eks, get-token, --cluster-name, {c.name}, --profile, {c.profile}]\n"
                "      interactiveMode: Never\n"
            )
        return (
            f'apiVersion: v1\nkind: Config\ncurrent-context: "{self.clusters[0].context}"\n'
            f"clusters:\n{''.join(clusters)}contexts:\n{''.join(contexts)}users:\n{''.join(users)}"
        )

    def env(self):
        """The sample's HOME (one per sample, shared by the runs of a flow, as
        one operator's would be) and km-config, the peers, no host AWS/kube settings."""
        home = self.work / f"home-{self.sample}"
        home.mkdir(exist_ok=True)
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("AWS_", "KUBE", "KM_")) and k not in ("HOME", "PATH")}
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

    # ------------------------------------------------------------ running

    def proxies(self):
        return [self.aws_proxy, *self.kube_proxies]

    def set_delay(self, seconds):
        for proxy in self.proxies():
            proxy.delay = seconds

    def run(self, argv, extra_env=None):
        """Runs one process to its end; exit 0 or the bench stops."""
        env = self.env()
        env.update(extra_env or {})
        for proxy in self.proxies():
            proxy.recorder.take()
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            start = time.perf_counter()
            child = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
            # Wait without reaping, so /proc still has the process's CPU times.
            os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)
            wall = time.perf_counter() - start
            cpu_self, cpu_children = cpu_of_zombie(child.pid)
            code = child.wait()
            out.seek(0)
            err.seek(0)
            stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
        requests = [r for p in self.proxies() for r in p.recorder.take()]
        if code != 0:
            raise SystemExit(f"bench: `{' '.join(argv)}` exited {code}\n--- stdout\n{stdout}\n--- stderr\n{stderr[-6000:]}")
        return Run(wall, code, stdout, stderr, cpu_self, cpu_children, sorted(requests, key=lambda r: r["start"]))

    def fleet_add(self, parallel=None, direct=False):
        command = ["kubectl-klanker_trust"] if direct else ["kubectl", "klanker-trust"]
        extra = ["--parallel", str(parallel)] if parallel else []
        return self.run([*command, "add", "--all-contexts", *extra, "--yes"])

    def single_adds(self):
        return combine([self.run(["kubectl", "klanker-trust", "add", "--context", c.context, "--yes"])
                        for c in self.clusters])

    def manual(self):
        scratch = self.work / f"manual-{self.sample}"
        scratch.mkdir(exist_ok=True)
        script = str(Path(__file__).parent / "manual.sh")
        return combine([
            self.run(["bash", script], extra_env=dict(
                CLUSTER=c.name, CLUSTER_REGION=c.region, CLUSTER_PROFILE=c.profile, KUBE_CONTEXT=c.context,
                NAMESPACE=NAMESPACE, SERVICE_ACCOUNT=SERVICE_ACCOUNT, ROLE=f"km-cluster-{c.name}",
                WORK=str(scratch),
            ))
            for c in self.clusters
        ])


# ------------------------------------------------------------- scenario

FLOWS = ("parallel-20", "parallel-default", "sequential", "direct")


def check_fresh(run, size, label):
    """Every cluster onboarded from nothing: one role created per cluster."""
    created = sum(1 for r in run.requests if r.get("action") == "CreateRole")
    if created != size:
        raise SystemExit(f"bench: {label} created {created} roles for {size} clusters: not a fresh onboarding")
    return run


def scenario(args, log):
    """Returns {flow: [Run]} with the delay set while measuring, plus the world's facts."""
    world = FleetWorld(args, args.fleet_size, log)
    size = args.fleet_size
    flows = {name: [] for name in (*FLOWS, "manual")}
    try:
        world.set_delay(args.delay)
        # The machine may be shared: its load is part of what the numbers mean.
        load = [os.getloadavg()[0]]
        for i in range(args.samples):
            # Interleaved, rotating who goes first, so drift hits every flow alike.
            for name in FLOWS[i % len(FLOWS):] + FLOWS[: i % len(FLOWS)]:
                world.reset()
                flows[name].append(check_fresh(run_flow(world, name, size), size, name))
            log(f"fleet sample {i + 1}/{args.samples}: "
                + ", ".join(f"{k} {v[-1].wall * 1000:.0f} ms" for k, v in flows.items() if v))
        for i in range(args.fleet_manual_samples):
            world.reset()
            flows["manual"].append(check_fresh(world.manual(), size, "manual"))
            log(f"fleet manual x{size} {i + 1}/{args.fleet_manual_samples}: {flows['manual'][-1].wall:.1f} s")
        load.append(os.getloadavg()[0])
        facts = {"kube_start": world.kube_start, "size": size, "load": load}
    finally:
        world.close()
    return flows, facts


def run_flow(world, name, size):
    if name == "parallel-20":
        return world.fleet_add(parallel=size)
    if name == "parallel-default":
        return world.fleet_add()
    if name == "sequential":
        return world.single_adds()
    return world.fleet_add(parallel=size, direct=True)


# --------------------------------------------------------------- report


def in_flight(run):
    """Seconds during which at least one request was at the peers (the union
    of the requests' intervals)."""
    total, until = 0.0, None
    for r in sorted(run.requests, key=lambda r: r["start"]):
        if until is None or r["start"] > until:
            total += r["end"] - r["start"]
            until = r["end"]
        elif r["end"] > until:
            total += r["end"] - until
            until = r["end"]
    return total


def answer_times(run, peer, delay):
    """(min, median, max) seconds the peer side took per request, beyond the simulated delay."""
    times = sorted(r["end"] - r["start"] - delay for r in run.requests if r["peer"] == peer)
    return times[0], times[len(times) // 2], times[-1]


def fine(seconds):
    """Milliseconds with a decimal: per-cluster CPU is a few ms."""
    return f"{seconds * 1000:.1f} ms"


def counts(run):
    aws = [r for r in run.requests if r["peer"] == "aws"]
    creds = sum(1 for r in aws if r.get("action") in CREDENTIAL_ACTIONS)
    kube = len(run.requests) - len(aws)
    return f"{len(aws)} ({creds} cred) + {kube}"


def section(flows, facts, delay, depth, stats, ms, summarize_calls):
    """The markdown section: one table, the targets, where the time goes."""
    size = facts["size"]
    delay_ms = int(delay * 1000)
    out = [f"### 6. Fleet: {size} EKS clusters over 2 cluster accounts (every request delayed {delay_ms} ms at the proxies)", ""]
    out.append(f"{size} clusters, {size // 2} per cluster account (222222222222, 444444444444), half in us-east-1 and half"
               f" in eu-west-1, each its own EKS issuer and its own kube-apiserver signing for it ({size} API servers on one"
               f" etcd, started in {facts['kube_start']:.0f} s, once); fresh peer state before every sample (moto reset and"
               f" re-seeded, the ServiceAccounts deleted, a new HOME); {len(flows['direct'])} sample(s) of each flow, interleaved; the"
               f" manual procedure {len(flows['manual'])} time(s). Wall and CPU are of the whole flow (all {size} clusters)."
               f" Load average (1 min) {facts['load'][0]:.1f} when measuring began, {facts['load'][1]:.1f} at the end.")
    out.append("")
    out.append("| flow | min | median | max | per cluster (median) | CPU user+sys (median) | requests AWS (credential) + Kubernetes | sequential round trips |")
    out.append("|---|---:|---:|---:|---:|---:|---|---:|")
    p20 = flows["parallel-20"]
    rows = [
        (f"`kubectl klanker-trust add --all-contexts --parallel {size} --yes`", p20, True),
        ("`kubectl klanker-trust add --all-contexts --yes` (default `--parallel 8`)", flows["parallel-default"], True),
        (f"`kubectl-klanker_trust add --all-contexts --parallel {size} --yes`, the binary alone (its CPU: our"
         " process only, ¹)", flows["direct"], True),
        (f"{size} × `kubectl klanker-trust add --context CTX --yes`, one after another", flows["sequential"], False),
        (f"manual procedure (manual.sh) × {size}, one after another", flows["manual"], False),
    ]
    for label, runs, one_process in rows:
        lo, med, hi = stats([r.wall for r in runs])
        # The binary alone: its own CPU; otherwise the process tree's (kubectl, the AWS CLI, the exec stand-in).
        cpu = stats([r.cpu_self if runs is flows["direct"] else r.cpu for r in runs])[1]
        rounds = str(depth(runs[-1].requests)[0]) if one_process else "—"
        out.append(f"| {label} | {ms(lo)} | **{ms(med)}** | {ms(hi)} | {ms(med / size)} | {ms(cpu)} | {counts(runs[-1])} | {rounds} |")
    out.append("")
    out.append("CPU is user+system time of the flow's processes and the children they waited for (kubectl, which execs"
               " the plugin in its own process, the AWS CLI, the exec block's stand-in), never the peers'. ¹ The binary"
               " run directly, without kubectl's start-up, and its own process only.")
    out.append("")
    out += targets(flows, size, delay, depth, stats, ms)
    out.append("")
    out.append(f"Calls of one `--parallel {size}` run (last sample): {summarize_calls(p20[-1].requests)}.")
    out.append("")
    out += level_table(p20[-1], size, depth, summarize_calls)
    return out


def level_table(run, size, depth, summarize_calls):
    """When each level of requests was at the peers: shows the plan phase
    (reads) and the apply phase (writes) of the fleet, and how far the
    clusters drift apart within each."""
    _, _, levels = depth(run.requests)
    t0 = min(r["start"] for r in run.requests)
    out = [f"Levels of that `--parallel {size}` run (level n = requests that started after a request of level n-1"
           " was answered; times from its first request):", "",
           "| level | from | to | requests |", "|---:|---:|---:|---|"]
    for n, level in enumerate(levels, 1):
        start = min(r["start"] for r in level) - t0
        end = max(r["end"] for r in level) - t0
        out.append(f"| {n} | {start * 1000:.0f} ms | {end * 1000:.0f} ms | {summarize_calls(level)} |")
    return out


def targets(flows, size, delay, depth, stats, ms):
    p20, seq, direct = flows["parallel-20"], flows["sequential"], flows["direct"]
    wall20 = stats([r.wall for r in p20])[1]
    one_add = stats([r.wall / size for r in seq])[1]
    own = [r.cpu_self / size for r in direct]
    own_med = stats(own)[1]
    d = stats([r.wall for r in direct])[1]
    busy = stats([in_flight(r) for r in direct])[1]
    rounds = depth(direct[-1].requests)[0]
    aws_wait, kube_wait = (answer_times(direct[-1], peer, delay) for peer in ("aws", "kube"))
    out = [
        f"- **{size} clusters in under 1 s** with `--parallel {size}`: median {ms(wall20)}, "
        + ("**met**" if wall20 < 1 else "**not met**")
        + f"; one sequential add averages {ms(one_add)}, so the fleet run is {wall20 / one_add:.1f}× one add's time"
        f" and {stats([r.wall for r in seq])[1] / wall20:.1f}× faster than {size} single adds in a row.",
        f"- **Our CPU per add under 20 ms**: the binary run directly (`kubectl-klanker_trust add --all-contexts"
        f" --parallel {size} --yes`, user+system of its own process, not the exec block's stand-in nor the peers),"
        f" divided by {size}: min {fine(min(own))}, median {fine(own_med)}, max {fine(max(own))} per cluster, "
        + ("**met**" if own_med < 0.020 else "**not met**") + ".",
        f"- **Where the rest of the wall time goes** (that direct run, median {ms(d)}): at least one request was at"
        f" the peers for {ms(busy)} of it ({busy / d:.0%}); its longest chain of dependent requests is {rounds} round"
        f" trips, {ms(rounds * delay)} of simulated delay alone. Our process's CPU, {ms(stats([r.cpu_self for r in direct])[1])}"
        f" over all {size} clusters, overlaps that waiting. Beyond the simulated delay, a request took the peers"
        f" (proxy, then moto or kube-apiserver) a median {fine(aws_wait[1])} (max {ms(aws_wait[2])}) on the AWS side"
        f" and {fine(kube_wait[1])} (max {ms(kube_wait[2])}) on the Kubernetes side: moto and the recording proxies"
        " are Python, one process each, so the fleet's concurrent requests queue there. The rest is process start,"
        " planning between rounds, and exit.",
    ]
    return out
