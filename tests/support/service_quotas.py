"""Service Quotas' GetServiceQuota for IAM, for the test AWS peer (moto_server.py).

Why this exists: moto's servicequotas backend knows only the `vpc` service,
and `add` reads three IAM quotas before planning (OIDC providers and roles
per account, role trust policy length). This answers GetServiceQuota for
ServiceCode `iam` and those three quota codes, with AWS's default unless a
test applied another value; every other Service Quotas request goes to
moto untouched.

The protocol and shapes are the Service Quotas API model's (botocore's
data/service-quotas/2019-06-24/service-2.json): awsJson1_1, POST / with
X-Amz-Target ServiceQuotasV20190624.GetServiceQuota; the answer is
{"Quota": ServiceQuota}; errors are JSON with the code in x-amzn-ErrorType.
Fault rules (moto_server.py) match it as GetServiceQuota, so a test can deny it.

Test-only hook (under /moto-api/, so the recorder does not count it):
  POST /moto-api/service-quotas/applied {"account", "quotaCode", "value"}
"""

import io
import json
import re
import threading

from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.iam.models import get_account_id_from

SCOPE_RE = re.compile(r"Credential=([^/]+)/[^/]+/([^/]+)/([^/]+)/aws4_request")
TARGET_PREFIX = "ServiceQuotasV20190624."
HOOK = "/moto-api/service-quotas/applied"
# AWS's defaults (and names) of the IAM quotas the tool reads.
IAM_QUOTAS = {
    "L-858F3967": ("OpenId connect providers per account", 100.0),
    "L-C07B4B0D": ("Role trust policy length", 2048.0),
    "L-FE177D64": ("Roles per account", 1000.0),
}


def target_of(environ):
    """The operation an awsJson request names in X-Amz-Target, or None."""
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    return target[len(TARGET_PREFIX):] if target.startswith(TARGET_PREFIX) else None


def respond(start_response, status, body, error=None):
    data = json.dumps(body).encode()
    headers = [("Content-Type", "application/x-amz-json-1.1"), ("Content-Length", str(len(data)))]
    if error:
        headers.append(("x-amzn-ErrorType", error))
    start_response(f"{status} {'OK' if status == 200 else 'Error'}", headers)
    return [data]


class ServiceQuotasPeer:
    """WSGI middleware in front of the rest of the peer (behind the recorder)."""

    def __init__(self, app):
        self.app = app
        self.lock = threading.Lock()
        self.applied = {}  # (account, quota code) -> value

    def __call__(self, environ, start_response):
        method = environ.get("REQUEST_METHOD", "")
        path = environ.get("PATH_INFO", "")
        if path == "/moto-api/reset":
            with self.lock:
                self.applied.clear()
            return self.app(environ, start_response)
        if path == HOOK and method == "POST":
            return self.hook(environ, start_response)
        scope = SCOPE_RE.search(environ.get("HTTP_AUTHORIZATION", ""))
        if not scope or scope.group(3) != "servicequotas" or target_of(environ) != "GetServiceQuota":
            return self.app(environ, start_response)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b""
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            body = None
        if not isinstance(body, dict) or body.get("ServiceCode") != "iam":
            # Not ours: moto answers (vpc), with the body put back.
            environ["wsgi.input"] = io.BytesIO(raw)
            return self.app(environ, start_response)
        account = get_account_id_from(scope.group(1)) or DEFAULT_ACCOUNT_ID
        return self.get_service_quota(account, scope.group(2), body, start_response)

    def get_service_quota(self, account, region, body, start_response):
        code = body.get("QuotaCode")
        known = IAM_QUOTAS.get(code)
        if known is None:
            return respond(start_response, 400, {"Message": f"The request failed because the specified quota {code} for iam does not exist."},
                           error="NoSuchResourceException")
        name, default = known
        with self.lock:
            value = self.applied.get((account, code), default)
        return respond(start_response, 200, {"Quota": {
            "ServiceCode": "iam",
            "ServiceName": "AWS Identity and Access Management (IAM)",
            "QuotaArn": f"arn:aws:servicequotas:{region}:{account}:iam/{code}",
            "QuotaCode": code,
            "QuotaName": name,
            "Value": float(value),
            "Unit": "None",
            "Adjustable": True,
            "GlobalQuota": True,
            "QuotaAppliedAtLevel": "ACCOUNT",
        }})

    def hook(self, environ, start_response):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        try:
            body = json.loads(environ["wsgi.input"].read(length) or b"{}")
            key = (body["account"], body["quotaCode"])
            value = float(body["value"])
        except (ValueError, KeyError, TypeError) as e:
            return respond(start_response, 400, {"message": f"bad hook body: {e}"})
        with self.lock:
            self.applied[key] = value
        return respond(start_response, 200, {})
