"""Judges a role's TRUST policy (a resource policy) with principalmapper's
local evaluation, which is not the code under test.

Usage: trust_check.py TRUST.json CASES.json

CASES.json: {"resource": ROLE_ARN, "cases": [{"name", "action",
"principal": {"federated": PROVIDER_ARN} | {"aws": CALLER_ARN} |
{"service": SERVICE_PRINCIPAL},
"conditions": {key: value}}]}

- an "aws" principal (sts:AssumeRole, e.g. with aws:PrincipalArn) is
  evaluated as an IAM principal of that ARN, as principalmapper does for
  resource policies;
- a "federated" principal (sts:AssumeRoleWithWebIdentity with
  <issuer>:sub and <issuer>:aud): principalmapper's resource-policy
  evaluation matches only AWS and Service principals, so the policy's
  `Principal.Federated` is handed to it as `Principal.Service` and the case's
  provider ARN as the calling service; statements, actions, resources and
  every condition operator are still principalmapper's to judge;
- a "service" principal (sts:AssumeRole by an AWS service, e.g.
  pods.eks.amazonaws.com with aws:SourceAccount and aws:SourceArn) is
  handed to principalmapper as the calling service, the policy as it is:
  its resource-policy evaluation matches Service principals natively. It is
  here for pod-identity mode's association role, whose trust names EKS's
  Pod Identity service and nothing else.

Prints one JSON object: {"verdicts": [{"name", "action", "result",
"allowed"}]}, where result is principalmapper's ResourcePolicyEvalResult
name and allowed says whether the trust policy admits the caller (a match
that is not a Deny). Asserting is the caller's job.
"""

import collections
import collections.abc
import copy
import json
import sys

# principalmapper 1.1.5 (its latest release) still imports these from
# `collections`, which Python 3.10 removed; the aliases are what it expects.
collections.Mapping = collections.abc.Mapping
collections.MutableMapping = collections.abc.MutableMapping

from principalmapper.common import Node  # noqa: E402
from principalmapper.querying.local_policy_simulation import (  # noqa: E402
    ResourcePolicyEvalResult,
    resource_policy_authorization,
)
from principalmapper.util import arns  # noqa: E402

ADMITS = {
    ResourcePolicyEvalResult.NODE_MATCH,
    ResourcePolicyEvalResult.ROOT_MATCH,
    ResourcePolicyEvalResult.DIFF_ACCOUNT_MATCH,
    ResourcePolicyEvalResult.SERVICE_MATCH,
}


def caller(arn):
    return Node(
        arn=arn,
        id_value="AROAKLANKERTESTCALLER",
        attached_policies=[],
        group_memberships=[],
        # A role caller needs some trust policy of its own; it plays no part here.
        trust_policy={"Version": "2012-10-17", "Statement": []} if ":role/" in arn else None,
        instance_profile=None,
        num_access_keys=0,
        active_password=False,
        is_admin=False,
        permissions_boundary=None,
        has_mfa=False,
        tags={},
    )


def as_service_principals(policy):
    """The same policy with each Federated principal spelled as a Service one."""
    out = copy.deepcopy(policy)
    statements = out["Statement"] if isinstance(out["Statement"], list) else [out["Statement"]]
    for statement in statements:
        principal = statement.get("Principal")
        if isinstance(principal, dict) and "Federated" in principal:
            principal["Service"] = principal.pop("Federated")
    return out


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        policy = json.load(f)
    with open(sys.argv[2], encoding="utf-8") as f:
        request = json.load(f)
    resource = request["resource"]
    owner = arns.get_account_id(resource)
    verdicts = []
    for case in request["cases"]:
        principal = case["principal"]
        if "federated" in principal:
            who, doc = principal["federated"], as_service_principals(policy)
        elif "service" in principal:
            who, doc = principal["service"], policy
        else:
            who, doc = caller(principal["aws"]), policy
        result = resource_policy_authorization(
            who, owner, doc, case["action"], resource, dict(case.get("conditions", {}))
        )
        verdicts.append({
            "name": case["name"],
            "action": case["action"],
            "result": result.name,
            "allowed": result in ADMITS,
        })
    json.dump({"verdicts": verdicts}, sys.stdout)


if __name__ == "__main__":
    main()
