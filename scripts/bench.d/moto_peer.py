"""moto in server mode for the benchmark, on 127.0.0.1 (the bench's own copy of
the launcher: apart from --issuer-per-cluster it does not depend on the test
suite's support files).

Prints {"port": N} once listening; exits when stdin reaches EOF. Requests are
counted and timed by the bench's proxy in front of it, not here.

--issuer-per-cluster gives each EKS cluster its own OIDC issuer, as EKS does
and moto does not (moto draws one issuer id per process). The fleet scenario
needs it: clusters sharing an issuer would share one IAM OIDC provider, and
onboarding 20 clusters would create one provider instead of 20. It installs
the test suite's own hook (tests/support/eks_issuers.py) rather than a copy,
so the bench's clusters get exactly the issuers the tests' fleet gets.
"""

import argparse
import json
import os
import sys
import threading
from pathlib import Path

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import WSGIRequestHandler, make_server


class QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):
        pass


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--issuer-per-cluster", action="store_true")
    args = parser.parse_args()
    if args.issuer_per_cluster:
        sys.dont_write_bytecode = True  # no __pycache__ in the source tree
        sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests" / "support"))
        import eks_issuers

        eks_issuers.install()
    app = DomainDispatcherApplication(create_backend_app)
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=QuietHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(json.dumps({"port": server.port}), flush=True)
    sys.stdin.read()
    os._exit(0)


if __name__ == "__main__":
    main()
