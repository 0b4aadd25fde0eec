"""A recording HTTP/1.1 reverse proxy for the benchmark (Python stdlib only).

One instance sits in front of moto (plain HTTP) and one in front of the real
kube-apiserver (HTTPS). For every request it records the monotonic time it
arrived and the time its answer was sent back, the method, path, and for AWS
the service and action, so the harness can count calls and compute the
sequential depth (the longest chain of requests that do not overlap in time).

The Kubernetes proxy terminates TLS itself, with the serving certificate that
kube_peer made for 127.0.0.1 (signed by the CA the kubeconfig trusts), and
forwards each request over a new TLS hop that verifies the API server against
that CA. A byte-level TCP forwarder would need no certificate, but it sees
only encrypted bytes: it could count connections, not requests, methods or
paths, and several requests share one connection, so neither the read/write
counts nor the sequential round trips could be measured. Offering no ALPN,
the proxy makes clients speak HTTP/1.1 to it (as to any server without h2):
concurrent requests then use separate connections instead of HTTP/2 streams,
which changes neither how many requests are sent nor which ones overlap.
TLS handshakes themselves are not delayed: `delay` is per request.

`delay` (seconds) is added before forwarding each request: a simulated network
round trip. With it, two requests the client sent concurrently always overlap,
so concurrency is measured rather than guessed from sub-millisecond timings.
"""

import http.client
import re
import ssl
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SERVICE_RE = re.compile(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/aws4_request")
HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "content-length",
}

# REST-JSON EKS calls have no Action parameter: name the ones the bench sees.
EKS_ROUTES = [
    (re.compile(r"^GET /clusters/[^/]+$"), "DescribeCluster"),
    (re.compile(r"^POST /clusters$"), "CreateCluster"),
    (re.compile(r"^GET /clusters$"), "ListClusters"),
]


def aws_action(service, method, path, params):
    action = params.get("Action", [None])[0]
    if action:
        return action
    if service == "eks":
        for pattern, name in EKS_ROUTES:
            if pattern.match(f"{method} {path}"):
                return name
    return f"{method} {path}"


class Recorder:
    def __init__(self):
        self.lock = threading.Lock()
        self.records = []

    def add(self, record):
        with self.lock:
            self.records.append(record)

    def take(self):
        """Returns and forgets everything recorded so far."""
        with self.lock:
            records, self.records = self.records, []
        return records


class Proxy:
    """Forwards to `upstream` (host, port); `kind` is "aws" or "kube".

    With `tls` = (certificate file, key file) it serves HTTPS; with
    `upstream_ca` (a CA file) it reaches the upstream over HTTPS, verifying
    its certificate and host name against that CA."""

    def __init__(self, kind, upstream=None, delay=0.0, tls=None, upstream_ca=None):
        self.kind = kind
        self.upstream = upstream
        self.delay = delay
        self.upstream_tls = ssl.create_default_context(cafile=upstream_ca) if upstream_ca else None
        self.recorder = Recorder()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _read_body(self):
                if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
                    chunks = []
                    while True:
                        size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                        if size == 0:
                            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                                pass
                            break
                        chunks.append(self.rfile.read(size))
                        self.rfile.readline()
                    return b"".join(chunks)
                length = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(length) if length else b""

            def _handle(self):
                start = time.monotonic()
                body = self._read_body()
                if proxy.delay:
                    time.sleep(proxy.delay)
                upstream = getattr(self, "_upstream", None)
                if upstream is None or getattr(self, "_upstream_addr", None) != proxy.upstream:
                    if proxy.upstream_tls:
                        upstream = http.client.HTTPSConnection(*proxy.upstream, timeout=120, context=proxy.upstream_tls)
                    else:
                        upstream = http.client.HTTPConnection(*proxy.upstream, timeout=120)
                    self._upstream, self._upstream_addr = upstream, proxy.upstream
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                if body or self.command in ("POST", "PUT", "PATCH"):
                    headers["Content-Length"] = str(len(body))
                try:
                    upstream.request(self.command, self.path, body=body, headers=headers)
                    response = upstream.getresponse()
                    payload = response.read()
                except (OSError, http.client.HTTPException):
                    upstream.close()
                    upstream.connect()
                    upstream.request(self.command, self.path, body=body, headers=headers)
                    response = upstream.getresponse()
                    payload = response.read()
                # Recorded before the answer goes back: once the client has it, it may exit.
                proxy.record(self, body, response.status, start, time.monotonic())
                self.send_response_only(response.status, response.reason)
                for key, value in response.getheaders():
                    if key.lower() not in HOP_BY_HOP:
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)
                self.wfile.flush()

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _handle

        server_class = ThreadingHTTPServer
        if tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)

            class TLSServer(ThreadingHTTPServer):
                def finish_request(self, request, client_address):
                    # The handshake runs here, in the connection's own thread,
                    # so a slow or failed handshake never holds up accept().
                    try:
                        conn = context.wrap_socket(request, server_side=True)
                    except (OSError, ssl.SSLError):
                        return
                    try:
                        super().finish_request(conn, client_address)
                    finally:
                        conn.close()

            server_class = TLSServer
        self.server = server_class(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def record(self, handler, body, status, start, end):
        split = urllib.parse.urlsplit(handler.path)
        if split.path.startswith("/moto-api"):
            return
        entry = {
            "peer": self.kind,
            "method": handler.command,
            "path": split.path,
            "query": split.query,
            "status": status,
            "start": start,
            "end": end,
        }
        if self.kind == "aws":
            match = SERVICE_RE.search(handler.headers.get("Authorization", ""))
            service = match.group(1) if match else "unknown"
            params = urllib.parse.parse_qs(split.query)
            if "x-www-form-urlencoded" in (handler.headers.get("Content-Type") or ""):
                params.update(urllib.parse.parse_qs(body.decode("utf-8", "replace")))
            entry["service"] = service
            entry["action"] = aws_action(service, handler.command, split.path, params)
            entry["call"] = f"{service}:{entry['action']}"
        else:
            entry["call"] = f"{handler.command} {split.path}"
        self.recorder.add(entry)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
