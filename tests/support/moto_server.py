"""Runs moto's server for one test (or the demo) on 127.0.0.1.

- binds an ephemeral port and prints {"port": N} on stdout once listening,
  so callers poll nothing and never race for a port;
- appends one JSON line per AWS request (service, action, method, path,
  the account and assumed role it acts as, its parameters except
  those that carry a credential, and how many calls of its action were in
  flight when it arrived, itself included) to
  the file named by --calls, so tests can count calls and writes, and
  bound a client's concurrency (the peak is the largest `in_flight`);
- gives each EKS cluster its own OIDC issuer, as EKS does and moto does
  not (eks_issuers.py);
- serves the EKS Pod Identity API and EKS add-ons, which moto lacks
  (eks_pod_identity.py); those calls are recorded, and matched by fault
  rules, under their operation name (CreatePodIdentityAssociation, ...),
  with their path, query and JSON body members as parameters;
- refuses AssumeRoleWithWebIdentity where real STS would, for want of the
  token issuer's OIDC provider in the role's account, of its audience among
  the provider's client IDs, of a live token, or of a trust statement naming
  the provider (sts_web_identity.py); moto answers the rest;
- answers Service Quotas' GetServiceQuota for IAM's quotas, which moto's
  servicequotas backend lacks (service_quotas.py); awsJson calls are recorded,
  and matched by fault rules, under their X-Amz-Target operation, with their
  JSON body members as parameters;
- injects faults on request (--faults FILE, re-read whenever it changes):
  throttling, 500, 503, custom errors (in EKS's JSON shape on EKS calls,
  in IAM's XML on the others), slow answers, dropped
  connections (before or after moto handled the call) and hangs that hold
  a call until the test releases it, so tests can crash the client at an
  exact point;
- exits when stdin reaches EOF, so it dies with the test that started it.
"""

import argparse
import io
import socket
import time
import json
import os
import re
import sys
import threading
import urllib.parse

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import make_server

sys.dont_write_bytecode = True  # no __pycache__ left in the source tree
import eks_issuers  # noqa: E402  (next to this script)
import eks_pod_identity  # noqa: E402  (next to this script)
import service_quotas  # noqa: E402  (next to this script)
import sts_web_identity  # noqa: E402  (next to this script)

SERVICE_RE = re.compile(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/aws4_request")
ACCESS_KEY_RE = re.compile(r"Credential=([^/]+)/")
# Request parameters that carry a credential (WebIdentityToken, SAMLAssertion, ...): never recorded.
SECRET_PARAM_RE = re.compile(r"token|secret|password|saml|credential", re.IGNORECASE)
# Recorded all the same: an MFA code is spent once used, and tests must see which one was sent.
RECORDED_ANYWAY = {"TokenCode"}


ERROR_XML = (
    '<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>{kind}</Type>'
    "<Code>{code}</Code><Message>{message}</Message></Error><RequestId>fault-injected</RequestId></ErrorResponse>"
)
CANNED = {
    "throttle": (400, "Throttling", "Rate exceeded"),
    "internal": (500, "InternalFailure", "injected internal failure"),
    "unavailable": (503, "ServiceUnavailable", "injected: service unavailable"),
}
# Services whose errors are JSON with the code in x-amzn-ErrorType (rest-json),
# and the code their throttling carries there.
JSON_ERRORS = {"eks": "ThrottlingException", "servicequotas": "TooManyRequestsException"}


class Faults:
    """Rules from a JSON file: [{"action": "CreateRole", "fault": "throttle", "from": 1, "count": 1, ...}].
    A rule hits the `from`-th to (`from`+`count`-1)-th calls of its action (1-based),
    counted from when the file last changed."""

    def __init__(self, path):
        self.path = path
        self.lock = threading.Lock()
        self.stamp = None
        self.rules = []
        self.seen = {}

    def match(self, action):
        with self.lock:
            try:
                stamp = os.stat(self.path).st_mtime_ns if self.path else None
            except FileNotFoundError:
                stamp = None
            if stamp != self.stamp:
                self.stamp = stamp
                self.seen = {}
                try:
                    with open(self.path, encoding="utf-8") as f:
                        self.rules = json.load(f)
                except (OSError, TypeError, ValueError):
                    self.rules = []
            n = self.seen.get(action, 0) + 1
            self.seen[action] = n
            for rule in self.rules:
                first = rule.get("from", 1)
                if rule.get("action") == action and first <= n < first + rule.get("count", 1):
                    return rule
        return None


def caller(authorization):
    """The account a signed request acts in and, for an assumed role's keys,
    that role's ARN (never the key itself), so tests can judge each call
    against the policy of the identity that made it. Unsigned: (None, None)."""
    match = ACCESS_KEY_RE.search(authorization)
    if not match:
        return None, None
    from moto.iam.models import PARTITION_NAMES, get_account_id_from, iam_backends

    access_key = match.group(1)
    account = get_account_id_from(access_key)
    for partition in PARTITION_NAMES:
        key = iam_backends[account][partition].access_keys.get(access_key)
        if key is not None:
            return account, getattr(key, "role_arn", None)
    return account, None


def drop_connection(environ):
    """Closes the client's socket with no response, as a network fault would."""
    sock = environ.get("werkzeug.socket")
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
    raise ConnectionAbortedError("fault injected: connection dropped")


class CallRecorder:
    """WSGI middleware: records each request, injects faults, hands it to moto."""

    def __init__(self, app, path, faults):
        self.app = app
        self.path = path
        self.faults = faults
        self.lock = threading.Lock()
        # Calls of each action being served now (held ones included). A
        # count at each arrival is all a peak needs: one is only reached
        # when a call arrives, so no file is rewritten as calls end.
        self.in_flight = {}

    def __call__(self, environ, start_response):
        method = environ.get("REQUEST_METHOD", "")
        path = environ.get("PATH_INFO", "")
        if path.startswith("/moto-api"):
            return self.app(environ, start_response)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        match = SERVICE_RE.search(environ.get("HTTP_AUTHORIZATION", ""))
        service = match.group(1) if match else "unknown"
        params = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))
        content_type = environ.get("CONTENT_TYPE", "")
        if "x-www-form-urlencoded" in content_type:
            params.update(urllib.parse.parse_qs(body.decode("utf-8", "replace")))
        action = params.get("Action", [None])[0] or f"{method} {path}"
        served = eks_pod_identity.route(method, path) if service == "eks" else None
        if served:
            action = served[0]
            params = {k: [v] for k, v in eks_pod_identity.request_params(
                method, path, environ.get("QUERY_STRING", ""), body).items()}
        target = service_quotas.target_of(environ)
        if target:
            action = target
            try:
                members = json.loads(body) if body else {}
            except ValueError:
                members = {}
            params = {k: [str(v)] for k, v in members.items()} if isinstance(members, dict) else {}
        # Parameters too, so tests can assert what was asked; never a credential.
        recorded = {
            k: v[0] for k, v in params.items() if v and (k in RECORDED_ANYWAY or not SECRET_PARAM_RE.search(k))
        }
        account, principal = caller(environ.get("HTTP_AUTHORIZATION", ""))
        with self.lock, open(self.path, "a", encoding="utf-8") as f:
            # Counted and written under one lock, so the records' order is the arrivals'.
            self.in_flight[action] = self.in_flight.get(action, 0) + 1
            f.write(json.dumps({
                "service": service, "action": action, "method": method, "path": path,
                "account": account, "principal": principal, "params": recorded,
                "in_flight": self.in_flight[action],
            }) + "\n")
        try:
            rule = self.faults.match(action)
            if rule is None:
                return self.app(environ, start_response)
            return self.inject(rule, service, environ, start_response)
        finally:
            # The answer is made (the client cannot reuse the slot before it
            # reads it), so the call no longer counts, whatever ended it.
            with self.lock:
                self.in_flight[action] -= 1

    def inject(self, rule, service, environ, start_response):
        fault = rule["fault"]
        if fault in CANNED or fault == "error":
            status, code, message = CANNED.get(fault, (rule.get("status", 400), rule.get("code"), rule.get("message", "")))
            if service in JSON_ERRORS:
                # As the service's own errors look, or the SDK reads no code.
                code = JSON_ERRORS[service] if fault == "throttle" else code
                body = json.dumps({"message": message}).encode()
                headers = [("Content-Type", "application/json"), ("x-amzn-ErrorType", code)]
            else:
                kind = "Receiver" if status >= 500 else "Sender"
                body = ERROR_XML.format(kind=kind, code=code, message=message).encode()
                headers = [("Content-Type", "text/xml")]
            start_response(f"{status} Fault", headers + [("Content-Length", str(len(body)))])
            return [body]
        if fault == "slow":
            time.sleep(rule.get("seconds", 5))
            answer = self.app(environ, start_response)
            # The call took effect only now, after the client gave up on it:
            # tests wait for this before the next command, which it could race.
            if rule.get("done"):
                with open(rule["done"], "a", encoding="utf-8") as f:
                    f.write("done\n")
            return answer
        if fault == "drop":
            drop_connection(environ)
        if fault == "drop_after":
            # moto handles the call (it takes effect), then the answer is lost.
            for _ in self.app(environ, lambda *a, **k: None):
                pass
            drop_connection(environ)
        if fault == "hang":
            # Tell the test the call arrived, then hold it until released.
            with open(rule["arrived"], "w", encoding="utf-8") as f:
                f.write("arrived\n")
            deadline = time.monotonic() + rule.get("seconds", 120)
            while not os.path.exists(rule["release"]) and time.monotonic() < deadline:
                time.sleep(0.02)
            return self.app(environ, start_response)
        raise ValueError(f"unknown fault {fault!r}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", required=True, help="file to append request records to")
    parser.add_argument("--faults", default=None, help="JSON file of fault rules (optional)")
    args = parser.parse_args()
    eks_issuers.install()
    moto = DomainDispatcherApplication(create_backend_app)
    peer = sts_web_identity.WebIdentityPeer(service_quotas.ServiceQuotasPeer(eks_pod_identity.PodIdentityPeer(moto)))
    app = CallRecorder(peer, args.calls, Faults(args.faults))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(json.dumps({"port": server.port}), flush=True)
    # Block until the parent closes our stdin (or dies), then leave at once.
    sys.stdin.read()
    os._exit(0)


if __name__ == "__main__":
    main()
