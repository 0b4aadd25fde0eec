"""One OIDC issuer per EKS cluster at the test AWS peer (moto_server.py).

Why this exists: moto's EKS (moto/eks/models.py, ISSUER_TEMPLATE) draws one
random id per process, so every cluster the peer creates, in any account or
region, gets the same issuer id. Clusters would then share one IAM OIDC
provider, and a test of several clusters could prove nothing about keeping
them apart. Real EKS gives each cluster its own issuer,
https://oidc.eks.REGION.amazonaws.com/id/ followed by 32 uppercase hex
characters; so does this, once installed.

Ids come from moto's own random source, so a test that seeds the peer
(/moto-api/seed) gets the same issuers on every run.
"""

from moto.eks import models
from moto.moto_api._internal import mock_random as random

ISSUER = "https://oidc.eks.{region}.amazonaws.com/id/{id}"


def install():
    """Replaces the shared issuer of every cluster created from now on."""
    original = models.Cluster.__init__

    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        # arn:PARTITION:eks:REGION:ACCOUNT:cluster/NAME, built by moto above.
        region = self.arn.split(":")[3]
        issuer = ISSUER.format(region=region, id=random.get_random_hex(32).upper())
        self.identity = {"oidc": {"issuer": issuer}}

    models.Cluster.__init__ = init
