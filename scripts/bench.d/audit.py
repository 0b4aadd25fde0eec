"""`audit` in the bench (issue 25): an account of 1,000 roles, 200 of them
web-identity roles, and 100 OIDC providers (10 trusted, 90 unused), then
the same account grown to 5,000 roles; `kubectl klanker-trust audit -o json`
with every request delayed at the proxy (50 ms by default). Counted at the
proxy: every AWS request, the credential ones apart. Seeding goes straight
to moto with boto3, not through the proxy, and is not measured.
"""

import json
import time

TRUSTED_PROVIDERS = 10
PROVIDERS = 100
WEB_IDENTITY = 200


def _issuer(i):
    return f"oidc.eks.us-east-1.amazonaws.com/id/AUDIT{i:06d}"


def _trust(account, i, n):
    """One of four shapes in turn: as `add` writes it, no sub, a namespace
    wildcard, a wildcard under StringEquals (the last three are findings)."""
    host = _issuer(i % TRUSTED_PROVIDERS)
    sub, aud = f"{host}:sub", f"{host}:aud"
    subject = f"system:serviceaccount:team-{n % 50}:app-{n}"
    condition = [
        {"StringEquals": {sub: subject, aud: "sts.amazonaws.com"}},
        {"StringEquals": {aud: "sts.amazonaws.com"}},
        {"StringEquals": {aud: "sts.amazonaws.com"}, "StringLike": {sub: f"system:serviceaccount:*:app-{n}"}},
        {"StringEquals": {sub: f"system:serviceaccount:*:app-{n}", aud: "sts.amazonaws.com"}},
    ][n % 4]
    return {
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Federated": f"arn:aws:iam::{account}:oidc-provider/{host}"},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": condition,
        }],
    }


EC2 = json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}],
})


def seed(world, account, have, roles):
    """Grows the account to `roles` roles; the first call also creates the
    providers and the web-identity roles."""
    iam = world.iam
    if have == 0:
        for i in range(PROVIDERS):
            iam.create_open_id_connect_provider(Url=f"https://{_issuer(i)}", ClientIDList=["sts.amazonaws.com"])
        for n in range(WEB_IDENTITY):
            iam.create_role(RoleName=f"irsa-{n:04d}", AssumeRolePolicyDocument=json.dumps(_trust(account, n, n)))
        have = WEB_IDENTITY
    for n in range(have, roles):
        iam.create_role(RoleName=f"app-{n:05d}", AssumeRolePolicyDocument=EC2, Description="an application role")
    return roles


def scenario(world, sizes, samples, delay, account, log):
    """Returns [(roles, runs)] for each size, with the delay set while measuring."""
    world.reset()
    results, have = [], 0
    for size in sizes:
        started = time.perf_counter()
        have = seed(world, account, have, size)
        log(f"audit: seeded {size} roles in {time.perf_counter() - started:.1f} s")
        world.set_delay(delay)
        try:
            runs = [world.ours("audit", "-o", "json") for _ in range(samples)]
        finally:
            world.set_delay(0.0)
        report = json.loads(runs[-1].stdout)
        if report["accounts"][0]["roles"] != size:
            raise SystemExit(f"bench: audit saw {report['accounts'][0]['roles']} roles, {size} seeded")
        results.append((size, report, runs))
    return results


def section(results, delay, depth, stats, ms, summarize, credential_actions):
    """The markdown section of the report."""
    out = [f"### 5. `audit` (every request delayed {int(delay * 1000)} ms at the proxy)", ""]
    out.append(f"{WEB_IDENTITY} web-identity roles (a quarter as `add` writes them, the rest weak in three ways) over"
               f" {TRUSTED_PROVIDERS} providers, {PROVIDERS - TRUSTED_PROVIDERS} providers no role trusts, and"
               " EC2 roles up to the total; `audit -o json` with the klanker profile.")
    out.append("")
    out.append("| roles | findings | min | median | max | AWS requests (credential) | sequential round trips | target |")
    out.append("|---:|---:|---:|---:|---:|---:|---:|---|")
    for size, report, runs in results:
        s = stats([r.wall for r in runs])
        last = runs[-1]
        creds = sum(1 for r in last.aws if r["action"] in credential_actions)
        calls = len(last.aws)
        met = calls <= 15 and s[1] < 2.0
        target = "≤ ~15 calls, < 2 s: " + ("met" if met else "**missed**") if size <= 1000 else ""
        out.append(f"| {size:,} | {len(report['findings'])} | {ms(s[0])} | **{ms(s[1])}** | {ms(s[2])} |"
                   f" {calls} ({creds}) | {depth(last.requests)[0]} | {target} |")
    out.append("")
    for size, _, runs in results:
        out.append(f"- {size:,} roles: {summarize(runs[-1].aws)}")
    return out
