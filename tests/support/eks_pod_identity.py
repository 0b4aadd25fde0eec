"""EKS Pod Identity and add-ons for the test AWS peer (moto_server.py).

Why this exists: moto (5.x) implements no EKS Pod Identity API and no EKS
add-ons, and the pod-identity mode is built on both. This serves exactly
those operations and hands every other request to moto untouched:

  CreatePodIdentityAssociation    POST   /clusters/{name}/pod-identity-associations
  ListPodIdentityAssociations     GET    /clusters/{name}/pod-identity-associations
  DescribePodIdentityAssociation  GET    /clusters/{name}/pod-identity-associations/{associationId}
  UpdatePodIdentityAssociation    POST   /clusters/{name}/pod-identity-associations/{associationId}
  DeletePodIdentityAssociation    DELETE /clusters/{name}/pod-identity-associations/{associationId}
  CreateAddon / ListAddons        POST / GET    /clusters/{name}/addons
  DescribeAddon / DeleteAddon     GET / DELETE  /clusters/{name}/addons/{addonName}
  TagResource / UntagResource / ListTagsForResource on an association's ARN

Paths, methods, status codes and JSON shapes follow the EKS API model
(botocore's data/eks/*/service-2.json); tests/support/check_pod_identity_peer.py
checks them with boto3. State sits on moto's own: the cluster must exist in
moto's EKS backend of the calling account and region, and the roles in moto's
IAM. Errors have EKS's shape: a JSON body with `message` (and clusterName,
addonName where EKS puts them) and the `x-amzn-ErrorType` header.

Test-only hooks (under /moto-api/, so the recorder does not count them), JSON
bodies with "account" and "region" (default us-east-1) and "clusterName":
  POST /moto-api/eks-pod-identity/addon-status       {"addonName", "status"}
  POST /moto-api/eks-pod-identity/rotate-external-id {"associationId"}
"""

import base64
import json
import re
import secrets
import string
import threading
import time
import urllib.parse
import uuid

from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.eks.models import eks_backends
from moto.iam.models import get_account_id_from, iam_backends
from moto.utilities.utils import get_partition

SCOPE_RE = re.compile(r"Credential=([^/]+)/[^/]+/([^/]+)/([^/]+)/aws4_request")
ROLE_ARN_RE = re.compile(r"^arn:([a-z-]+):iam::(\d{12}):role/(?:[\w+=,.@/-]*/)?[\w+=,.@-]+$")
ASSOCIATIONS = r"/clusters/(?P<name>[^/]+)/pod-identity-associations"
ADDONS = r"/clusters/(?P<name>[^/]+)/addons"
ROUTES = [
    ("POST", ASSOCIATIONS, "CreatePodIdentityAssociation"),
    ("GET", ASSOCIATIONS, "ListPodIdentityAssociations"),
    ("GET", ASSOCIATIONS + r"/(?P<associationId>[^/]+)", "DescribePodIdentityAssociation"),
    ("POST", ASSOCIATIONS + r"/(?P<associationId>[^/]+)", "UpdatePodIdentityAssociation"),
    ("DELETE", ASSOCIATIONS + r"/(?P<associationId>[^/]+)", "DeletePodIdentityAssociation"),
    ("POST", ADDONS, "CreateAddon"),
    ("GET", ADDONS, "ListAddons"),
    ("GET", ADDONS + r"/(?P<addonName>[^/]+)", "DescribeAddon"),
    ("DELETE", ADDONS + r"/(?P<addonName>[^/]+)", "DeleteAddon"),
    # moto serves /tags/ for clusters; an association's ARN is ours.
    ("POST", r"/tags/(?P<resourceArn>arn:[^/]+:podidentityassociation/.+)", "TagResource"),
    ("DELETE", r"/tags/(?P<resourceArn>arn:[^/]+:podidentityassociation/.+)", "UntagResource"),
    ("GET", r"/tags/(?P<resourceArn>arn:[^/]+:podidentityassociation/.+)", "ListTagsForResource"),
]
HOOKS = "/moto-api/eks-pod-identity/"
ASSOCIATIONS_PER_CLUSTER = 5000  # EKS's quota
ADDON_VERSION = "v1.3.8-eksbuild.2"


class EksError(Exception):
    """An error as EKS answers it."""

    STATUS = {
        "InvalidParameterException": 400,
        "InvalidRequestException": 400,
        "ResourceLimitExceededException": 400,
        "ResourceNotFoundException": 404,
        "ResourceInUseException": 409,
    }

    def __init__(self, code, message, **fields):
        super().__init__(message)
        self.code = code
        self.body = {"message": message, **fields}


def route(method, path):
    """(operation, path parameters) of an EKS request this peer serves, else None."""
    for verb, pattern, operation in ROUTES:
        match = re.fullmatch(pattern, path)
        if verb == method and match:
            return operation, match.groupdict()
    return None


def request_params(method, path, query, body):
    """The request's parameters as the recorder logs them: path, query and
    top-level body members (tags as `tags.KEY`), first value of each."""
    found = route(method, path)
    params = dict(found[1]) if found else {}
    params.update({k: v[0] for k, v in urllib.parse.parse_qs(query).items() if v})
    try:
        doc = json.loads(body) if body else {}
    except ValueError:
        doc = {}
    for key, value in doc.items() if isinstance(doc, dict) else ():
        if key == "tags" and isinstance(value, dict):
            params.update({f"tags.{k}": str(v) for k, v in value.items()})
        elif isinstance(value, bool):
            params[key] = "true" if value else "false"
        elif isinstance(value, (str, int, float)):
            params[key] = str(value)
    return params


def new_association_id():
    # EKS's form: "a-" and 17 lowercase letters and digits.
    alphabet = string.ascii_lowercase + string.digits
    return "a-" + "".join(secrets.choice(alphabet) for _ in range(17))


class Cluster:
    """Our state of one moto cluster: its associations and add-ons."""

    def __init__(self):
        self.associations = {}  # associationId -> dict, in creation order
        self.addons = {}  # addonName -> dict
        self.seq = 0


class PodIdentityPeer:
    """WSGI middleware in front of moto's app (behind the recorder)."""

    def __init__(self, app):
        self.app = app
        self.lock = threading.Lock()
        # (account, region, cluster name, moto cluster's createdAt) -> Cluster:
        # a deleted and re-created cluster starts empty, as on EKS.
        self.clusters = {}

    def __call__(self, environ, start_response):
        method = environ.get("REQUEST_METHOD", "")
        path = environ.get("PATH_INFO", "")
        if path == "/moto-api/reset":
            with self.lock:
                self.clusters.clear()
            return self.app(environ, start_response)
        if path.startswith(HOOKS) and method == "POST":
            return self.hook(path[len(HOOKS):], environ, start_response)
        scope = SCOPE_RE.search(environ.get("HTTP_AUTHORIZATION", ""))
        found = route(method, path) if scope and scope.group(3) == "eks" else None
        if found is None:
            return self.app(environ, start_response)
        operation, params = found
        account = get_account_id_from(scope.group(1)) or DEFAULT_ACCOUNT_ID
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b""
        query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))
        try:
            body = json.loads(raw) if raw else {}
            if not isinstance(body, dict):
                raise ValueError("not an object")
        except ValueError:
            return respond(start_response, 400, {"message": "Could not parse the request body"},
                           error="SerializationException")
        try:
            with self.lock:
                answer = getattr(self, operation)(account, scope.group(2), params, query, body)
        except EksError as e:
            return respond(start_response, EksError.STATUS[e.code], e.body, error=e.code)
        return respond(start_response, 200, answer)

    # -- state ---------------------------------------------------------------

    def cluster(self, account, region, name):
        """Our state of moto's cluster `name`; ResourceNotFoundException, as EKS, if none."""
        moto_cluster = eks_backends[account][region].clusters.get(name)
        if moto_cluster is None:
            raise EksError("ResourceNotFoundException", f"No cluster found for name: {name}.", clusterName=name)
        key = (account, region, name, moto_cluster.created_at)
        return moto_cluster, self.clusters.setdefault(key, Cluster())

    def association(self, account, region, params):
        moto_cluster, state = self.cluster(account, region, params["name"])
        found = state.associations.get(params["associationId"])
        if found is None:
            raise EksError("ResourceNotFoundException",
                           f"No Pod Identity Association found for id: {params['associationId']}",
                           clusterName=params["name"])
        return moto_cluster, state, found

    @staticmethod
    def check_role(arn, field, account=None):
        """InvalidParameterException unless `arn` names a role moto's IAM holds
        (in `account` when given: the association role must be in the cluster's)."""
        match = ROLE_ARN_RE.match(arn or "")
        if not match:
            raise EksError("InvalidParameterException", f"{field} {arn!r} is not a valid IAM role ARN")
        partition, role_account = match.group(1), match.group(2)
        if account is not None and role_account != account:
            raise EksError("InvalidParameterException",
                           f"{field} must be in the cluster's account {account}: {arn}")
        try:
            iam_backends[role_account][partition].get_role_by_arn(arn)
        except Exception:  # moto's NotFoundException, or an unknown partition
            raise EksError("InvalidParameterException", f"{field} {arn} does not exist") from None

    # -- Pod Identity associations ---------------------------------------------

    def CreatePodIdentityAssociation(self, account, region, params, query, body):
        moto_cluster, state = self.cluster(account, region, params["name"])
        for field in ("namespace", "serviceAccount", "roleArn"):
            if not body.get(field):
                raise EksError("InvalidParameterException", f"{field} is required", clusterName=params["name"])
        self.check_role(body["roleArn"], "roleArn", account)
        if body.get("targetRoleArn"):
            # EKS's docs say the target role may be in any account; the
            # peer checks it exists there, as the tool always creates it first.
            self.check_role(body["targetRoleArn"], "targetRoleArn")
        check_policy(body.get("policy"), body.get("disableSessionTags"))
        check_tags(body.get("tags"))
        token = body.get("clientRequestToken")
        for other in state.associations.values():
            # A retry of a create that took effect (the SDKs send one token per
            # call, kept across retries) gets that association, as on EKS.
            if token and other.get("_token") == token:
                if other["_request"] != body:
                    raise EksError("InvalidRequestException", "clientRequestToken was used with other parameters",
                                   clusterName=params["name"])
                return {"association": public(other)}
            if (other["namespace"], other["serviceAccount"]) == (body["namespace"], body["serviceAccount"]):
                raise EksError("ResourceInUseException", f"Association already exists: {other['associationId']}",
                               clusterName=params["name"])
        if len(state.associations) >= ASSOCIATIONS_PER_CLUSTER:
            raise EksError("ResourceLimitExceededException", "Pod Identity Association limit exceeded",
                           clusterName=params["name"])
        association_id = new_association_id()
        partition = get_partition(region)
        now = time.time()
        state.seq += 1
        association = {
            "clusterName": params["name"],
            "namespace": body["namespace"],
            "serviceAccount": body["serviceAccount"],
            "roleArn": body["roleArn"],
            "associationArn": f"arn:{partition}:eks:{region}:{account}:podidentityassociation/"
                              f"{params['name']}/{association_id}",
            "associationId": association_id,
            "tags": dict(body.get("tags") or {}),
            "createdAt": now,
            "modifiedAt": now,
            "disableSessionTags": bool(body.get("disableSessionTags")),
            "_seq": state.seq,
            "_token": token,
            "_request": body,
        }
        set_target(association, body.get("targetRoleArn"))
        if body.get("policy"):
            association["policy"] = body["policy"]
        state.associations[association_id] = association
        return {"association": public(association)}

    def DescribePodIdentityAssociation(self, account, region, params, query, body):
        return {"association": public(self.association(account, region, params)[2])}

    def ListPodIdentityAssociations(self, account, region, params, query, body):
        _, state = self.cluster(account, region, params["name"])
        limit = query.get("maxResults", ["100"])[0]
        if not limit.isdigit() or not 1 <= int(limit) <= 100:
            raise EksError("InvalidParameterException", "maxResults must be between 1 and 100",
                           clusterName=params["name"])
        after = decode_token(query.get("nextToken", [None])[0], params["name"])
        wanted = [
            a for a in state.associations.values()
            if a["_seq"] > after
            and query.get("namespace", [a["namespace"]])[0] == a["namespace"]
            and query.get("serviceAccount", [a["serviceAccount"]])[0] == a["serviceAccount"]
        ]
        page = wanted[: int(limit)]
        summary = ("clusterName", "namespace", "serviceAccount", "associationArn", "associationId", "ownerArn")
        answer = {"associations": [{k: a[k] for k in summary if k in a} for a in page]}
        if len(wanted) > len(page):
            answer["nextToken"] = base64.urlsafe_b64encode(f"after:{page[-1]['_seq']}".encode()).decode()
        return answer

    def UpdatePodIdentityAssociation(self, account, region, params, query, body):
        _, _, association = self.association(account, region, params)
        changes = ("roleArn", "targetRoleArn", "disableSessionTags", "policy")
        if not any(k in body for k in changes):
            raise EksError("InvalidParameterException",
                           "At least one of roleArn, targetRoleArn, disableSessionTags or policy must be given",
                           clusterName=params["name"])
        if "roleArn" in body:
            self.check_role(body["roleArn"], "roleArn", account)
        if body.get("targetRoleArn"):
            self.check_role(body["targetRoleArn"], "targetRoleArn")
        disable = body.get("disableSessionTags", association["disableSessionTags"])
        policy = body.get("policy", association.get("policy"))
        check_policy(policy, disable)
        if "roleArn" in body:
            association["roleArn"] = body["roleArn"]
        if "targetRoleArn" in body:
            # An empty string takes the target role away (the peer's reading of the API).
            set_target(association, body["targetRoleArn"])
        association["disableSessionTags"] = bool(disable)
        if policy:
            association["policy"] = policy
        else:
            association.pop("policy", None)
        association["modifiedAt"] = time.time()
        return {"association": public(association)}

    def DeletePodIdentityAssociation(self, account, region, params, query, body):
        _, state, association = self.association(account, region, params)
        del state.associations[association["associationId"]]
        return {"association": public(association)}

    # -- tags on associations ----------------------------------------------------

    def tagged(self, account, region, params):
        arn = params["resourceArn"]
        parts = arn.split(":podidentityassociation/")[-1].split("/")
        try:
            return self.association(account, region, {"name": parts[0], "associationId": parts[1]})[2]
        except (EksError, IndexError):
            raise EksError("ResourceNotFoundException", f"Resource {arn} not found") from None

    def TagResource(self, account, region, params, query, body):
        association = self.tagged(account, region, params)
        check_tags(body.get("tags"))
        association["tags"].update(body.get("tags") or {})
        return {}

    def UntagResource(self, account, region, params, query, body):
        association = self.tagged(account, region, params)
        for key in query.get("tagKeys", []):
            association["tags"].pop(key, None)
        return {}

    def ListTagsForResource(self, account, region, params, query, body):
        return {"tags": dict(self.tagged(account, region, params)["tags"])}

    # -- add-ons ---------------------------------------------------------------------

    def addon(self, account, region, params):
        _, state = self.cluster(account, region, params["name"])
        found = state.addons.get(params["addonName"])
        if found is None:
            raise EksError("ResourceNotFoundException",
                           f"No addon: {params['addonName']} found in cluster: {params['name']}",
                           clusterName=params["name"], addonName=params["addonName"])
        return state, found

    def CreateAddon(self, account, region, params, query, body):
        moto_cluster, state = self.cluster(account, region, params["name"])
        name = body.get("addonName")
        if not name:
            raise EksError("InvalidParameterException", "addonName is required", clusterName=params["name"])
        if name in state.addons:
            raise EksError("ResourceInUseException", f"Addon already exists: {name}",
                           clusterName=params["name"], addonName=name)
        now = time.time()
        # EKS answers CREATING and turns ACTIVE later; the peer is ACTIVE at once
        # (a test sets another status through the addon-status hook).
        state.addons[name] = {
            "addonName": name,
            "clusterName": params["name"],
            "status": "ACTIVE",
            "addonVersion": body.get("addonVersion") or ADDON_VERSION,
            "health": {"issues": []},
            "addonArn": f"arn:{get_partition(region)}:eks:{region}:{account}:addon/{params['name']}/{name}/"
                        f"{uuid.uuid4()}",
            "createdAt": now,
            "modifiedAt": now,
            "tags": dict(body.get("tags") or {}),
            "podIdentityAssociations": [],
        }
        return {"addon": dict(state.addons[name])}

    def ListAddons(self, account, region, params, query, body):
        _, state = self.cluster(account, region, params["name"])
        return {"addons": sorted(state.addons)}

    def DescribeAddon(self, account, region, params, query, body):
        return {"addon": dict(self.addon(account, region, params)[1])}

    def DeleteAddon(self, account, region, params, query, body):
        state, addon = self.addon(account, region, params)
        del state.addons[params["addonName"]]
        return {"addon": {**addon, "status": "DELETING"}}

    # -- test-only hooks -------------------------------------------------------------

    def hook(self, name, environ, start_response):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        try:
            body = json.loads(environ["wsgi.input"].read(length) or b"{}")
            account, region = body["account"], body.get("region", "us-east-1")
            params = {"name": body["clusterName"]}
            with self.lock:
                if name == "addon-status":
                    _, addon = self.addon(account, region, {**params, "addonName": body["addonName"]})
                    addon["status"] = body["status"]
                    answer = {"addon": dict(addon)}
                elif name == "rotate-external-id":
                    _, _, association = self.association(
                        account, region, {**params, "associationId": body["associationId"]})
                    association["_externalId"] = str(uuid.uuid4())
                    answer = {"association": public(association)}
                else:
                    return respond(start_response, 404, {"message": f"no hook {name}"})
        except (ValueError, KeyError) as e:
            return respond(start_response, 400, {"message": f"bad hook request: {e}"})
        except EksError as e:
            return respond(start_response, EksError.STATUS[e.code], e.body, error=e.code)
        return respond(start_response, 200, answer)


def set_target(association, target):
    """Sets or clears the target role. The external ID is made the first time a
    target role is set and then kept for the association's life: AWS documents
    it as the association's identifier for the target role, not whether it
    changes with the target role, so the peer keeps it stable (a test can
    change it with the rotate-external-id hook)."""
    if target:
        association["targetRoleArn"] = target
        association.setdefault("_externalId", str(uuid.uuid4()))
    else:
        association.pop("targetRoleArn", None)


def public(association):
    """The association as EKS shows it: externalId only with a target role."""
    shown = {k: v for k, v in association.items() if not k.startswith("_")}
    if "targetRoleArn" in association:
        shown["externalId"] = association["_externalId"]
    return shown


def check_policy(policy, disable_session_tags):
    # EKS: "When using this policy, disableSessionTags must be set to true."
    if policy and not disable_session_tags:
        raise EksError("InvalidParameterException", "disableSessionTags must be true when a policy is given")
    if policy:
        try:
            json.loads(policy)
        except ValueError:
            raise EksError("InvalidParameterException", "policy is not valid JSON") from None


def check_tags(tags):
    if tags is not None and (not isinstance(tags, dict) or len(tags) > 50):
        raise EksError("InvalidParameterException", "tags must be a map of at most 50 tags")


def decode_token(token, cluster):
    """The sequence number a nextToken continues after (0: from the start)."""
    if token is None:
        return 0
    try:
        kind, _, seq = base64.urlsafe_b64decode(token.encode()).decode().partition(":")
        if kind == "after" and seq.isdigit():
            return int(seq)
    except ValueError:
        pass
    raise EksError("InvalidParameterException", "The nextToken is not valid", clusterName=cluster)


def respond(start_response, status, document, error=None):
    body = json.dumps(document).encode()
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    if error:
        headers.append(("x-amzn-ErrorType", error))
    reason = {200: "OK", 400: "Bad Request", 404: "Not Found", 409: "Conflict"}.get(status, "Error")
    start_response(f"{status} {reason}", headers)
    return [body]
