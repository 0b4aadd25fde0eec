"""Resolves a profile of an AWS config file with botocore (the AWS CLI's
SDK, pinned in the test venv) exactly as a pod's SDK would, then asks STS
who the resulting session is.

Usage: sdk_chain.py CONFIG_FILE PROFILE TOKEN_FILE

The config names the token file by its in-pod path
(/var/run/secrets/eks.amazonaws.com/serviceaccount/token). A test cannot
write there, so the one change made to botocore is that its web-identity
token loader reads TOKEN_FILE when asked for that path; the profile
chain (source_profile, role_arn, web_identity_token_file, the two STS
calls) is botocore's own. STS is the endpoint in AWS_ENDPOINT_URL.

Prints one JSON object: {"arn": ..., "account": ...} of the session.
"""

import json
import sys

import botocore.session
import botocore.utils

POD_TOKEN_FILE = "/var/run/secrets/eks.amazonaws.com/serviceaccount/token"


def main():
    config_file, profile, token_file = sys.argv[1:4]
    loader_init = botocore.utils.FileWebIdentityTokenLoader.__init__

    def init(self, path, *args, **kwargs):
        loader_init(self, token_file if path == POD_TOKEN_FILE else path, *args, **kwargs)

    botocore.utils.FileWebIdentityTokenLoader.__init__ = init
    session = botocore.session.Session(profile=profile)
    session.set_config_variable("config_file", config_file)
    session.set_config_variable("credentials_file", "/dev/null")
    sts = session.create_client("sts", region_name="us-east-1")
    who = sts.get_caller_identity()
    print(json.dumps({"arn": who["Arn"], "account": who["Account"]}))


if __name__ == "__main__":
    main()
