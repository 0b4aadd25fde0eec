"""Checks the test AWS peer's EKS Pod Identity and add-on API
(eks_pod_identity.py) with boto3, whose EKS model is the reference.

Starts the peer as the tests do (moto_server.py on 127.0.0.1, an ephemeral
port, call log and fault file in a temporary directory), seeds a cluster and
roles in moto, and exercises every operation and error the peer serves. On
top of boto3's own parsing, each raw answer is held against the model: every
member the model knows, of the model's type, the status code and error shape
the model gives the operation. It also checks that the recorder logs these
calls by operation name and that faults hit them. The peer is stopped at the
end, whatever happens.

    <test venv>/bin/python tests/support/check_pod_identity_peer.py   # exit 0: all good

An e2e test can run it the way it starts the peer: the venv's python
(support::moto::python()) on CARGO_MANIFEST_DIR/tests/support/check_pod_identity_peer.py,
asserting a zero exit.
"""

import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request

import boto3
import botocore.config
import botocore.exceptions

CLUSTER_ACCOUNT = "222222222222"
TARGET_ACCOUNT = "333333333333"
CLUSTER = "dev-use1-0"
REGION = "us-east-1"
AGENT = "eks-pod-identity-agent"
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True  # no __pycache__ left in the source tree
from eks_pod_identity import ROUTES  # noqa: E402  (next to this file)

SERVED = {operation for _, _, operation in ROUTES}

checked = []


def check(condition, what):
    if not condition:
        raise AssertionError(what)
    checked.append(what)


# -- the raw answer against the model -------------------------------------------


def conforms(value, shape, where):
    """Problems of a raw JSON value against a botocore shape."""
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            return [f"{where}: not an object"]
        problems = [f"{where}.{k}: not in the model" for k in value if k not in shape.members]
        for name, member in shape.members.items():
            if name in value:
                problems += conforms(value[name], member, f"{where}.{name}")
        return problems
    if kind == "list":
        if not isinstance(value, list):
            return [f"{where}: not a list"]
        return [p for i, v in enumerate(value) for p in conforms(v, shape.member, f"{where}[{i}]")]
    if kind == "map":
        if not isinstance(value, dict):
            return [f"{where}: not a map"]
        return [p for k, v in value.items() for p in conforms(v, shape.value, f"{where}.{k}")]
    expected = {
        "string": str,
        "boolean": bool,
        "integer": int,
        "long": int,
        "timestamp": (int, float),  # rest-json: epoch seconds
    }.get(kind)
    if expected and (not isinstance(value, expected) or (kind != "boolean" and isinstance(value, bool))):
        return [f"{where}: {value!r} is not a {kind}"]
    if kind == "string" and shape.enum and value not in shape.enum:
        return [f"{where}: {value!r} not one of {shape.enum}"]
    return []


def hold_to_model(operation_model, response_dict, **_):
    if operation_model.name not in SERVED:
        return  # moto's own answers are moto's business
    status = response_dict["status_code"]
    body = json.loads(response_dict["body"] or b"{}")
    if status == 200:
        problems = conforms(body, operation_model.output_shape, operation_model.name)
        check(not problems, f"{operation_model.name}: answer matches the model {problems}")
        return
    code = response_dict["headers"].get("x-amzn-ErrorType", "")
    modeled = {e.name: e for e in operation_model.error_shapes}
    if code in modeled:
        error = modeled[code]
        check(error.metadata["error"]["httpStatusCode"] == status,
              f"{operation_model.name}: {code} has the model's status {status}")
        problems = conforms(body, error, code)
        check(not problems, f"{operation_model.name}: {code} body matches the model {problems}")
    check(isinstance(body.get("message"), str), f"{operation_model.name}: error {code} has a message")


# -- the peer ------------------------------------------------------------------------


def start_peer(tmp):
    calls, faults = os.path.join(tmp, "calls.jsonl"), os.path.join(tmp, "faults.json")
    child = subprocess.Popen(
        [sys.executable, os.path.join(HERE, "moto_server.py"), "--calls", calls, "--faults", faults],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )
    port = json.loads(child.stdout.readline())["port"]
    return child, f"http://127.0.0.1:{port}", calls, faults


def stop_peer(child):
    child.stdin.close()  # the peer leaves when its stdin closes
    try:
        child.wait(timeout=10)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()


def clients(url, account):
    """EKS and IAM clients acting in `account`, as tests/support/aws_peer.rs seeds."""
    config = botocore.config.Config(retries={"total_max_attempts": 1})
    base = dict(region_name=REGION, endpoint_url=url, config=config)
    sts = boto3.client("sts", aws_access_key_id="AKIDSEED", aws_secret_access_key="seed-secret", **base)
    creds = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/test-seed", RoleSessionName="seed")["Credentials"]
    session = boto3.session.Session(
        aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )
    eks = session.client("eks", **base)
    eks.meta.events.register("before-parse.eks", hold_to_model)
    return eks, session.client("iam", **base)


def error_of(call, **kwargs):
    try:
        call(**kwargs)
    except botocore.exceptions.ClientError as e:
        return e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"]
    raise AssertionError(f"{call.__name__} {kwargs} did not fail")


def hook(url, name, **body):
    request = urllib.request.Request(f"{url}/moto-api/eks-pod-identity/{name}", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request) as answer:
        return json.loads(answer.read())


def set_faults(path, rules):
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        json.dump(rules, f)
    os.replace(path + ".tmp", path)
    time.sleep(0.01)  # a fresh mtime, so the peer re-reads the rules


def role(iam, name):
    trust = {"Version": "2012-10-17", "Statement": []}
    return iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]


# -- the checks ---------------------------------------------------------------------------


def check_create(eks, roles):
    pod_role, target, other_target = roles["pod"], roles["target"], roles["other_target"]
    first = eks.create_pod_identity_association(
        clusterName=CLUSTER, namespace="apps", serviceAccount="api", roleArn=pod_role,
        targetRoleArn=target, tags={"klanker/owner": "klanker-trust"},
    )["association"]
    check(re.fullmatch(r"a-[0-9a-z]{17}", first["associationId"]), "association IDs look like EKS's")
    check(first["associationArn"] == f"arn:aws:eks:{REGION}:{CLUSTER_ACCOUNT}:podidentityassociation/"
          f"{CLUSTER}/{first['associationId']}", "the association ARN is EKS's form")
    check((first["clusterName"], first["namespace"], first["serviceAccount"], first["roleArn"],
           first["targetRoleArn"]) == (CLUSTER, "apps", "api", pod_role, target), "create echoes its input")
    check(UUID_RE.match(first["externalId"]), "a target role brings a UUID-like externalId")
    check(first["disableSessionTags"] is False and first["tags"] == {"klanker/owner": "klanker-trust"},
          "session tags on by default; tags kept")
    check(first["createdAt"] == first["modifiedAt"], "createdAt and modifiedAt are set")
    plain = eks.create_pod_identity_association(
        clusterName=CLUSTER, namespace="apps", serviceAccount="plain", roleArn=pod_role)["association"]
    check("externalId" not in plain and "targetRoleArn" not in plain, "no target role, no externalId")
    tagless = eks.create_pod_identity_association(
        clusterName=CLUSTER, namespace="apps", serviceAccount="other", roleArn=pod_role,
        targetRoleArn=other_target, disableSessionTags=True,
        policy=json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}))["association"]
    check(tagless["disableSessionTags"] is True and "s3:GetObject" in tagless["policy"],
          "disableSessionTags and policy kept")
    check(tagless["externalId"] != first["externalId"], "each association has its own externalId")
    create = eks.create_pod_identity_association
    args = dict(clusterName=CLUSTER, namespace="apps", serviceAccount="retried", roleArn=pod_role)
    once = create(**args, clientRequestToken="token-1")["association"]
    check(create(**args, clientRequestToken="token-1")["association"] == once,
          "a create retried with its clientRequestToken answers the same association")
    check(error_of(create, **args, clientRequestToken="token-2") == ("ResourceInUseException", 409),
          "a second association for one ServiceAccount: 409 in use")
    check(error_of(create, **{**args, "roleArn": roles["pod2"]}, clientRequestToken="token-1")
          == ("InvalidRequestException", 400), "a clientRequestToken reused with other parameters: 400")
    eks.delete_pod_identity_association(clusterName=CLUSTER, associationId=once["associationId"])
    check(error_of(create, clusterName="nope", namespace="apps", serviceAccount="x", roleArn=pod_role)
          == ("ResourceNotFoundException", 404), "an unknown cluster: 404 not found")
    missing = f"arn:aws:iam::{CLUSTER_ACCOUNT}:role/missing"
    check(error_of(create, clusterName=CLUSTER, namespace="apps", serviceAccount="x", roleArn=missing)
          == ("InvalidParameterException", 400), "a roleArn moto's IAM lacks: 400 invalid parameter")
    check(error_of(create, clusterName=CLUSTER, namespace="apps", serviceAccount="x", roleArn=target)
          == ("InvalidParameterException", 400), "a roleArn outside the cluster's account: 400")
    check(error_of(create, clusterName=CLUSTER, namespace="apps", serviceAccount="x", roleArn=pod_role,
                   targetRoleArn=f"arn:aws:iam::{TARGET_ACCOUNT}:role/missing")
          == ("InvalidParameterException", 400), "a target role its account lacks: 400")
    check(error_of(create, clusterName=CLUSTER, namespace="apps", serviceAccount="x", roleArn=pod_role,
                   policy="{}") == ("InvalidParameterException", 400), "a policy needs disableSessionTags")
    return first, plain, tagless


def check_describe_list(eks, first, roles):
    described = eks.describe_pod_identity_association(clusterName=CLUSTER, associationId=first["associationId"])
    check(described["association"] == first, "describe shows what create answered")
    check(error_of(eks.describe_pod_identity_association, clusterName=CLUSTER, associationId="a-00000000000000000")
          == ("ResourceNotFoundException", 404), "an unknown association ID: 404")
    for n in range(5):
        eks.create_pod_identity_association(clusterName=CLUSTER, namespace="batch", serviceAccount=f"job{n}",
                                            roleArn=roles["pod"])
    everything = eks.list_pod_identity_associations(clusterName=CLUSTER)
    check(len(everything["associations"]) == 8 and "nextToken" not in everything, "list: all, one page")
    check(set(everything["associations"][0]) == {"clusterName", "namespace", "serviceAccount",
                                                 "associationArn", "associationId"}, "list: summaries only")
    by_ns = eks.list_pod_identity_associations(clusterName=CLUSTER, namespace="apps")["associations"]
    check(sorted(a["serviceAccount"] for a in by_ns) == ["api", "other", "plain"], "list: namespace filter")
    one = eks.list_pod_identity_associations(clusterName=CLUSTER, namespace="apps", serviceAccount="api")
    check([a["associationId"] for a in one["associations"]] == [first["associationId"]],
          "list: namespace and ServiceAccount filter")
    pages = list(eks.get_paginator("list_pod_identity_associations").paginate(
        clusterName=CLUSTER, namespace="batch", PaginationConfig={"PageSize": 2}))
    check([len(p["associations"]) for p in pages] == [2, 2, 1], "list: maxResults pages, nextToken continues")
    check(sorted(a["serviceAccount"] for p in pages for a in p["associations"]) == [f"job{n}" for n in range(5)],
          "list: the pages hold each association once")
    lister = eks.list_pod_identity_associations
    check(error_of(lister, clusterName=CLUSTER, maxResults=101) == ("InvalidParameterException", 400),
          "list: maxResults over 100 refused")
    check(error_of(lister, clusterName=CLUSTER, nextToken="bogus") == ("InvalidParameterException", 400),
          "list: a forged nextToken refused")
    check(error_of(lister, clusterName="nope") == ("ResourceNotFoundException", 404), "list: unknown cluster")


def check_update(eks, url, first, roles):
    update = eks.update_pod_identity_association
    ids = dict(clusterName=CLUSTER, associationId=first["associationId"])
    time.sleep(0.01)
    moved = update(**ids, targetRoleArn=roles["other_target"])["association"]
    check(moved["targetRoleArn"] == roles["other_target"] and moved["modifiedAt"] > first["modifiedAt"],
          "update: target role changed, modifiedAt advanced")
    check(moved["externalId"] == first["externalId"], "update: externalId stable per association")
    cleared = update(**ids, targetRoleArn="")["association"]
    check("targetRoleArn" not in cleared and "externalId" not in cleared, "update: empty target clears it")
    back = update(**ids, targetRoleArn=roles["target"], roleArn=roles["pod2"], disableSessionTags=True)["association"]
    check(back["externalId"] == first["externalId"] and back["roleArn"] == roles["pod2"]
          and back["disableSessionTags"] is True, "update: role, target and session tags together")
    check((back["createdAt"], back["namespace"], back["tags"]) == (first["createdAt"], "apps", first["tags"]),
          "update: the rest unchanged")
    rotated = hook(url, "rotate-external-id", account=CLUSTER_ACCOUNT, clusterName=CLUSTER,
                   associationId=first["associationId"])["association"]
    now = eks.describe_pod_identity_association(**ids)["association"]
    check(rotated["externalId"] != first["externalId"] == back["externalId"] and now["externalId"]
          == rotated["externalId"], "the rotate-external-id hook gives a new externalId")
    check(error_of(update, **ids) == ("InvalidParameterException", 400), "update: nothing to change refused")
    check(error_of(update, **ids, roleArn=f"arn:aws:iam::{CLUSTER_ACCOUNT}:role/missing")
          == ("InvalidParameterException", 400), "update: a missing role refused")
    check(error_of(update, clusterName=CLUSTER, associationId="a-00000000000000000", roleArn=roles["pod"])
          == ("ResourceNotFoundException", 404), "update: unknown association 404")


def check_tags_delete(eks, first, plain):
    arn = first["associationArn"]
    eks.tag_resource(resourceArn=arn, tags={"team": "x", "keep": "y"})
    eks.untag_resource(resourceArn=arn, tagKeys=["team"])
    tags = eks.list_tags_for_resource(resourceArn=arn)["tags"]
    check(tags == {"klanker/owner": "klanker-trust", "keep": "y"}, "tags on an association's ARN")
    gone = eks.delete_pod_identity_association(clusterName=CLUSTER, associationId=plain["associationId"])
    check(gone["association"]["associationId"] == plain["associationId"], "delete answers the association")
    ids = dict(clusterName=CLUSTER, associationId=plain["associationId"])
    check(error_of(eks.describe_pod_identity_association, **ids) == ("ResourceNotFoundException", 404),
          "deleted: describe 404")
    check(error_of(eks.delete_pod_identity_association, **ids) == ("ResourceNotFoundException", 404),
          "deleted twice: 404")


def check_addons(eks, url):
    describe = eks.describe_addon
    check(error_of(describe, clusterName=CLUSTER, addonName=AGENT) == ("ResourceNotFoundException", 404),
          "no agent add-on: DescribeAddon 404")
    check(error_of(describe, clusterName="nope", addonName=AGENT) == ("ResourceNotFoundException", 404),
          "DescribeAddon on an unknown cluster: 404")
    made = eks.create_addon(clusterName=CLUSTER, addonName=AGENT)["addon"]
    check(made["status"] == "ACTIVE" and made["addonName"] == AGENT, "CreateAddon: ACTIVE at once")
    check(describe(clusterName=CLUSTER, addonName=AGENT)["addon"]["status"] == "ACTIVE", "DescribeAddon: ACTIVE")
    check(error_of(eks.create_addon, clusterName=CLUSTER, addonName=AGENT) == ("ResourceInUseException", 409),
          "CreateAddon twice: 409")
    hook(url, "addon-status", account=CLUSTER_ACCOUNT, clusterName=CLUSTER, addonName=AGENT, status="DEGRADED")
    check(describe(clusterName=CLUSTER, addonName=AGENT)["addon"]["status"] == "DEGRADED", "the status hook")
    check(eks.list_addons(clusterName=CLUSTER)["addons"] == [AGENT], "ListAddons")
    check(eks.delete_addon(clusterName=CLUSTER, addonName=AGENT)["addon"]["status"] == "DELETING",
          "DeleteAddon: DELETING")
    check(error_of(describe, clusterName=CLUSTER, addonName=AGENT) == ("ResourceNotFoundException", 404),
          "removed: DescribeAddon 404")


def check_faults_and_log(eks, roles, calls, faults):
    create = eks.create_pod_identity_association
    args = dict(clusterName=CLUSTER, namespace="faults", serviceAccount="sa", roleArn=roles["pod"])
    for fault, expected in (("throttle", ("ThrottlingException", 400)), ("internal", ("InternalFailure", 500))):
        set_faults(faults, [{"action": "CreatePodIdentityAssociation", "fault": fault}])
        check(error_of(create, **args) == expected, f"fault {fault} on CreatePodIdentityAssociation")
    set_faults(faults, [{"action": "ListPodIdentityAssociations", "fault": "error", "status": 400,
                         "code": "AccessDeniedException", "message": "injected"}])
    check(error_of(eks.list_pod_identity_associations, clusterName=CLUSTER) == ("AccessDeniedException", 400),
          "a custom error on ListPodIdentityAssociations")
    set_faults(faults, [{"action": "CreatePodIdentityAssociation", "fault": "drop_after"}])
    try:
        create(**args)
        raise AssertionError("drop_after did not drop")
    except (botocore.exceptions.ConnectionError, botocore.exceptions.HTTPClientError):
        pass
    set_faults(faults, [])
    listed = eks.list_pod_identity_associations(clusterName=CLUSTER, namespace="faults")["associations"]
    check(len(listed) == 1, "faults before moto leave nothing; drop_after took effect")
    with open(calls, encoding="utf-8") as f:
        log = [json.loads(line) for line in f]
    creates = [c for c in log if c["action"] == "CreatePodIdentityAssociation"]
    check(len(creates) == 20 and all(c["service"] == "eks" and c["method"] == "POST" for c in creates),
          "the recorder counts every CreatePodIdentityAssociation, faulted ones too")
    api = next(c for c in creates if c["params"].get("serviceAccount") == "api")
    check(api["account"] == CLUSTER_ACCOUNT and api["params"]["name"] == CLUSTER
          and api["params"]["tags.klanker/owner"] == "klanker-trust" and "targetRoleArn" in api["params"],
          "the recorder logs the account and the JSON members")
    check(not any("clientRequestToken" in c["params"] or "nextToken" in c["params"] for c in log),
          "tokens are not logged")
    actions = {c["action"] for c in log}
    check({"DescribePodIdentityAssociation", "ListPodIdentityAssociations", "UpdatePodIdentityAssociation",
           "DeletePodIdentityAssociation", "DescribeAddon", "CreateAddon", "DeleteAddon",
           "TagResource"} <= actions, "each operation logged by name")
    check("POST /clusters" in actions and not any("moto-api" in c["path"] for c in log),
          "moto's own EKS calls logged as before; test hooks not at all")


def check_cluster_lifecycle(eks):
    eks.delete_cluster(name=CLUSTER)
    check(error_of(eks.list_pod_identity_associations, clusterName=CLUSTER) == ("ResourceNotFoundException", 404),
          "a deleted cluster has no associations")
    make_cluster(eks)
    check(eks.list_pod_identity_associations(clusterName=CLUSTER)["associations"] == [],
          "a re-created cluster starts empty")


def make_cluster(eks):
    eks.create_cluster(name=CLUSTER, roleArn=f"arn:aws:iam::{CLUSTER_ACCOUNT}:role/eks-cluster",
                       resourcesVpcConfig={})


def run(url, calls, faults):
    eks, iam = clients(url, CLUSTER_ACCOUNT)
    _, target_iam = clients(url, TARGET_ACCOUNT)
    make_cluster(eks)
    roles = {
        "pod": role(iam, "km-podid-dev"),
        "pod2": role(iam, "km-podid-dev-2"),
        "target": role(target_iam, "km-cluster-dev"),
        "other_target": role(target_iam, "km-cluster-other"),
    }
    first, plain, _ = check_create(eks, roles)
    check_describe_list(eks, first, roles)
    check_update(eks, url, first, roles)
    check_tags_delete(eks, first, plain)
    check_addons(eks, url)
    check_faults_and_log(eks, roles, calls, faults)
    check_cluster_lifecycle(eks)


def main():
    # Only the peer: no proxy, no user AWS configuration.
    os.environ.update(NO_PROXY="127.0.0.1", no_proxy="127.0.0.1",
                      AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull)
    with tempfile.TemporaryDirectory() as tmp:
        child, url, calls, faults = start_peer(tmp)
        try:
            run(url, calls, faults)
        finally:
            stop_peer(child)
    print(f"ok: {len(checked)} checks")


if __name__ == "__main__":
    main()
