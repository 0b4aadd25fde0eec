"""A recording HTTP/1.1 reverse proxy for the benchmark (Python stdlib only).

One instance sits in front of moto and one in front of the Kubernetes API
emulator. For every request it records the monotonic time it arrived and the
time its answer was sent back, the method, path, and for AWS the service and
action, so the harness can count calls and compute the sequential depth (the
longest chain of requests that do not overlap in time).

`delay` (seconds) is added before forwarding each request: a simulated network
round trip. With it, two requests the client sent concurrently always overlap,
so concurrency is measured rather than guessed from sub-millisecond timings.
"""

import http.client
import re
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
    """Forwards to `upstream` (host, port); `kind` is "aws" or "kube"."""

    def __init__(self, kind, upstream=None, delay=0.0):
        self.kind = kind
        self.upstream = upstream
        self.delay = delay
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

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
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
