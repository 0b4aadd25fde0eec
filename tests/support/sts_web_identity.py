"""STS AssumeRoleWithWebIdentity's provider-side checks, for the test AWS peer
(moto_server.py).

Why this exists: moto's AssumeRoleWithWebIdentity hands out a session for
any token and any role ARN, the role need not even exist. So a test could
never see STS refuse a token, and an audit finding that says "nobody gets in
through this trust" (provider-missing, provider-no-sts-client-id) would be
judged by nothing but the code that made the claim. This puts real STS's
checks in front of moto, in the order STS makes them:

  1. the token must be a JWT; its payload is decoded, its signature is NOT
     verified: the key that signed it is the test API server's, which the
     peer cannot fetch (the issuer URL names an EKS host that does not
     resolve here). What the tests prove is which *provider* STS picks and
     whether it accepts the token's audience, not the signature;
  2. the IAM OIDC provider of the ROLE's account (from RoleArn) whose URL is
     the token's `iss` without https:// (a trailing slash aside) must exist,
     else InvalidIdentityToken
     "No OpenIDConnect provider found in your account for <iss>";
  3. the token's `aud` (a string or a list) must hold one of that provider's
     client IDs, else InvalidIdentityToken "Incorrect token audience";
  4. `exp` must be in the future, else ExpiredTokenException;
  5. the role must exist, and its trust must have an Allow statement for
     sts:AssumeRoleWithWebIdentity whose principal is that provider's ARN
     (or everyone, "*"), else AccessDenied "Not authorized to perform
     sts:AssumeRoleWithWebIdentity", as STS says for both.

The statement's Condition block (<issuer>:sub, <issuer>:aud, ...) is not
judged here: the tests hand conditions to principalmapper
(tests/support/trust_check.py), an evaluator that is neither ours nor
this peer's; the peer keeps to what only STS knows, the account's providers.
Deny statements and NotPrincipal/NotAction are likewise left to it.

Then moto answers as before. Errors have STS's XML shape (Query protocol).
The token is never recorded nor logged, and no message here quotes it.
"""

import base64
import fnmatch
import io
import json
import re
import time
import urllib.parse

from moto.iam.models import iam_backends

ACTION = "AssumeRoleWithWebIdentity"
ROLE_ARN_RE = re.compile(r"^arn:([a-z-]+):iam::(\d{12}):role/.+$")
ERROR_XML = (
    '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>'
    "<Code>{code}</Code><Message>{message}</Message></Error>"
    "<RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId></ErrorResponse>"
)
NOT_AUTHORIZED = "Not authorized to perform sts:AssumeRoleWithWebIdentity"


class StsError(Exception):
    def __init__(self, status, code, message):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def xml_escape(text):
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def respond_error(start_response, e):
    body = ERROR_XML.format(code=e.code, message=xml_escape(e.message)).encode()
    reason = "Forbidden" if e.status == 403 else "Bad Request"
    start_response(f"{e.status} {reason}", [("Content-Type", "text/xml"), ("Content-Length", str(len(body)))])
    return [body]


def claims_of(token):
    """The JWT's payload, decoded (signature unchecked: see the module's doc)."""
    parts = token.split(".")
    try:
        if len(parts) != 3:
            raise ValueError("not three parts")
        payload = parts[1] + "=" * (-len(parts[1]) % 4)
        claims = json.loads(base64.urlsafe_b64decode(payload))
        if not isinstance(claims, dict):
            raise ValueError("not an object")
        return claims
    except ValueError:
        raise StsError(400, "InvalidIdentityToken",
                       "The ID Token provided is not a valid JWT. (You may see this error if you sent an Access Token)")


def as_list(value):
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def trust_document(role):
    text = role.assume_role_policy_document
    if isinstance(text, dict):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return json.loads(urllib.parse.unquote(text))


def names_provider(statement, provider_arn):
    """Whether an Allow statement admits web-identity callers of the provider
    (conditions aside: they are the evaluator's in the tests)."""
    if statement.get("Effect") != "Allow":
        return False
    actions = [a.lower() for a in as_list(statement.get("Action")) if isinstance(a, str)]
    if not any(fnmatch.fnmatchcase("sts:assumerolewithwebidentity", a) for a in actions):
        return False
    principal = statement.get("Principal")
    if principal == "*":
        return True
    if not isinstance(principal, dict):
        return False
    return provider_arn in as_list(principal.get("Federated")) or "*" in as_list(principal.get("AWS"))


def check(params):
    """Raises StsError where real STS refuses the request; None lets moto answer."""
    role_arn = params.get("RoleArn", "")
    token = params.get("WebIdentityToken", "")
    claims = claims_of(token)
    issuer = claims.get("iss")
    if not isinstance(issuer, str) or not issuer:
        raise StsError(400, "InvalidIdentityToken", "Missing a required claim: iss")
    match = ROLE_ARN_RE.match(role_arn)
    if not match:
        raise StsError(400, "ValidationError", f"{role_arn} is invalid")
    partition, account = match.group(1), match.group(2)
    iam = iam_backends[account][partition]
    url = issuer[len("https://"):] if issuer.startswith("https://") else issuer
    # One trailing slash is ignored on either side (a provider registered as
    # ".../id/X/" for tokens of ".../id/X"): whether real STS refuses that
    # mismatch is not established here, and the peer refuses only what is.
    provider = next((p for p in list(iam.open_id_providers.values())
                     if p.url.rstrip("/") == url.rstrip("/")), None)
    if provider is None:
        raise StsError(400, "InvalidIdentityToken", f"No OpenIDConnect provider found in your account for {issuer}")
    audiences = [a for a in as_list(claims.get("aud")) if isinstance(a, str)]
    if not set(audiences) & set(provider.client_id_list or []):
        raise StsError(400, "InvalidIdentityToken", "Incorrect token audience")
    expires = claims.get("exp")
    now = int(time.time())
    if not isinstance(expires, (int, float)) or expires <= now:
        raise StsError(400, "ExpiredTokenException",
                       f"Token expired: current date/time {now} must be before the expiration date/time {expires}")
    role = next((r for r in list(iam.roles.values()) if r.arn == role_arn), None)
    if role is None:
        raise StsError(403, "AccessDenied", NOT_AUTHORIZED)
    try:
        doc = trust_document(role)
    except ValueError:
        raise StsError(403, "AccessDenied", NOT_AUTHORIZED)
    statements = as_list(doc.get("Statement")) if isinstance(doc, dict) else []
    if not any(isinstance(s, dict) and names_provider(s, provider.arn) for s in statements):
        raise StsError(403, "AccessDenied", NOT_AUTHORIZED)


class WebIdentityPeer:
    """WSGI middleware in front of the rest of the peer (behind the recorder,
    so refused calls are recorded and fault rules still come first)."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        method = environ.get("REQUEST_METHOD", "")
        if environ.get("PATH_INFO", "").startswith("/moto-api"):
            return self.app(environ, start_response)
        query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))
        body = b""
        if method == "POST" and "x-www-form-urlencoded" in environ.get("CONTENT_TYPE", ""):
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(length) if length else b""
            environ["wsgi.input"] = io.BytesIO(body)
        params = {**query, **urllib.parse.parse_qs(body.decode("utf-8", "replace"))}
        if params.get("Action", [None])[0] != ACTION:
            return self.app(environ, start_response)
        try:
            check({k: v[0] for k, v in params.items() if v})
        except StsError as e:
            return respond_error(start_response, e)
        return self.app(environ, start_response)

