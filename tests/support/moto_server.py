"""Runs moto's server for one test (or the demo) on 127.0.0.1.

- binds an ephemeral port and prints {"port": N} on stdout once listening,
  so callers poll nothing and never race for a port;
- appends one JSON line per AWS request (service, action, method, path) to
  the file named by --calls, so tests can count calls and writes;
- exits when stdin reaches EOF, so it dies with the test that started it.
"""

import argparse
import io
import json
import os
import re
import sys
import threading
import urllib.parse

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import make_server

SERVICE_RE = re.compile(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/aws4_request")


class CallRecorder:
    """WSGI middleware: records each request, then hands it to moto."""

    def __init__(self, app, path):
        self.app = app
        self.path = path
        self.lock = threading.Lock()

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
        line = json.dumps({"service": service, "action": action, "method": method, "path": path})
        with self.lock, open(self.path, "a", encoding="utf-8") as f:
            f.write(line + "\n")
        return self.app(environ, start_response)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", required=True, help="file to append request records to")
    args = parser.parse_args()
    app = CallRecorder(DomainDispatcherApplication(create_backend_app), args.calls)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(json.dumps({"port": server.port}), flush=True)
    # Block until the parent closes our stdin (or dies), then leave at once.
    sys.stdin.read()
    os._exit(0)


if __name__ == "__main__":
    main()
