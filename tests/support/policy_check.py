"""Judges an IAM policy with two tools that are not the code under test.

Usage: policy_check.py POLICY.json CASES.json

- parliament (IAM policy linter) lists its findings on the policy;
- principalmapper's local policy evaluation says, for each case
  {"name", "action", "resource", "conditions": {key: value}}, whether a
  principal holding only this policy is allowed the call.

Optional keys of the request, for chained mode's documents:
- "as": "boundary": POLICY.json is a permissions boundary; the principal's
  own policy is then Allow * on * (whatever inline policy its holder could
  put), capped by that boundary;
- "also_attached": [policy documents] the principal holds besides, to show
  that an explicit Deny in POLICY.json wins over them.

Prints one JSON object: {"findings": [{"severity", "issue", "detail"}],
"verdicts": [{"name", "action", "resource", "allowed"}]}. Asserting is the
caller's job (tests/e2e/policy.rs).
"""

import collections
import collections.abc
import json
import sys

# principalmapper 1.1.5 (its latest release) still imports these from
# `collections`, which Python 3.10 removed; the aliases are what it expects.
collections.Mapping = collections.abc.Mapping
collections.MutableMapping = collections.abc.MutableMapping

import parliament  # noqa: E402
from principalmapper.common import Node, Policy  # noqa: E402
from principalmapper.querying.query_interface import local_check_authorization_full  # noqa: E402


def findings(text):
    out = []
    for finding in parliament.analyze_policy_string(text).findings:
        finding = parliament.enhance_finding(finding)
        out.append({"severity": finding.severity, "issue": finding.issue, "detail": str(finding.detail)})
    return out


ALLOW_ALL = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


def principal(policy, arn, boundary=None, also_attached=()):
    attached = [Policy(arn, "operator", policy)]
    attached += [Policy(arn, "also-%d" % i, doc) for i, doc in enumerate(also_attached)]
    return Node(
        arn=arn,
        id_value="AROAKLANKERTESTOPERATOR",
        attached_policies=attached,
        group_memberships=[],
        # A role must have one; who may assume it is not what is judged here.
        trust_policy={"Version": "2012-10-17", "Statement": []} if ":role/" in arn else None,
        instance_profile=None,
        num_access_keys=0,
        active_password=False,
        is_admin=False,
        permissions_boundary=None if boundary is None else Policy(arn, "boundary", boundary),
        has_mfa=False,
        tags={},
    )


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        text = f.read()
    with open(sys.argv[2], encoding="utf-8") as f:
        request = json.load(f)
    policy = json.loads(text)
    also = request.get("also_attached", [])
    if request.get("as") == "boundary":
        node = principal(ALLOW_ALL, request["principal"], boundary=policy, also_attached=also)
    else:
        node = principal(policy, request["principal"], also_attached=also)
    verdicts = []
    for case in request["cases"]:
        allowed = local_check_authorization_full(
            node, case["action"], case["resource"], dict(case.get("conditions", {}))
        )
        verdicts.append({
            "name": case["name"],
            "action": case["action"],
            "resource": case["resource"],
            "allowed": bool(allowed),
        })
    json.dump({"findings": findings(text), "verdicts": verdicts}, sys.stdout)


if __name__ == "__main__":
    main()
