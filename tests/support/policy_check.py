"""Judges an IAM policy with two tools that are not the code under test.

Usage: policy_check.py POLICY.json CASES.json

- parliament (IAM policy linter) lists its findings on the policy;
- principalmapper's local policy evaluation says, for each case
  {"name", "action", "resource", "conditions": {key: value}}, whether a
  principal holding only this policy is allowed the call.

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


def principal(policy, arn):
    return Node(
        arn=arn,
        id_value="AROAKLANKERTESTOPERATOR",
        attached_policies=[Policy(arn, "operator", policy)],
        group_memberships=[],
        trust_policy=None,
        instance_profile=None,
        num_access_keys=0,
        active_password=False,
        is_admin=False,
        permissions_boundary=None,
        has_mfa=False,
        tags={},
    )


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        text = f.read()
    with open(sys.argv[2], encoding="utf-8") as f:
        request = json.load(f)
    policy = json.loads(text)
    node = principal(policy, request["principal"])
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
