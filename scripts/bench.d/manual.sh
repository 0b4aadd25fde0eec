#!/usr/bin/env bash
# The manual onboarding procedure, as the AWS EKS guide ("Authenticate to
# another account with IRSA") and platform runbooks describe it, scripted with
# the AWS CLI and kubectl. The benchmark times one run of this file against
# one `kubectl klanker-trust add --dry-run=false`, against the same peers.
#
# It is the shortest faithful version: the klanker account ID is read from the
# provider ARN instead of an extra `aws sts get-caller-identity`, and nothing
# is tagged or checked. Inputs (environment): CLUSTER, CLUSTER_REGION,
# NAMESPACE, SERVICE_ACCOUNT, ROLE, WORK (a scratch directory); optionally
# CLUSTER_PROFILE (the cluster account's profile, default cluster-admin) and
# KUBE_CONTEXT (default: the kubeconfig's current context), which the fleet
# scenario sets per cluster; kubectl and the kubeconfig come from PATH and
# KUBECONFIG.
set -euo pipefail

# 1. The cluster's issuer (cluster account).
issuer=$(aws eks describe-cluster --name "$CLUSTER" --region "$CLUSTER_REGION" --profile "${CLUSTER_PROFILE:-cluster-admin}" \
  --query cluster.identity.oidc.issuer --output text)
host=${issuer#https://}

# 2. Is the issuer already registered in the klanker account?
provider_arn=$(aws iam list-open-id-connect-providers --profile klanker-application \
  --query "OpenIDConnectProviderList[?ends_with(Arn, '/$host')].Arn | [0]" --output text)

# 3. If not, register it with the STS client ID.
if [ -z "$provider_arn" ] || [ "$provider_arn" = None ]; then
  provider_arn=$(aws iam create-open-id-connect-provider --profile klanker-application \
    --url "$issuer" --client-id-list sts.amazonaws.com \
    --query OpenIDConnectProviderArn --output text)
fi
account=$(cut -d: -f5 <<<"$provider_arn")

# 4. The role, trusting exactly one ServiceAccount with the STS audience.
cat >"$WORK/trust.json" <<JSON
{
  "Version": "2012-10-17",
  "Statement": [{
    "Effect": "Allow",
    "Principal": {"Federated": "$provider_arn"},
    "Action": "sts:AssumeRoleWithWebIdentity",
    "Condition": {"StringEquals": {
      "$host:sub": "system:serviceaccount:$NAMESPACE:$SERVICE_ACCOUNT",
      "$host:aud": "sts.amazonaws.com"
    }}
  }]
}
JSON
role_arn=$(aws iam create-role --profile klanker-application --role-name "$ROLE" \
  --assume-role-policy-document "file://$WORK/trust.json" --max-session-duration 3600 \
  --query Role.Arn --output text)

# 5. The shared operator policy.
aws iam attach-role-policy --profile klanker-application --role-name "$ROLE" \
  --policy-arn "arn:aws:iam::$account:policy/km-operator-policy"

# 6. The annotated ServiceAccount, server-side applied.
cat >"$WORK/sa.json" <<JSON
{
  "apiVersion": "v1",
  "kind": "ServiceAccount",
  "metadata": {
    "name": "$SERVICE_ACCOUNT",
    "namespace": "$NAMESPACE",
    "annotations": {
      "eks.amazonaws.com/role-arn": "$role_arn",
      "eks.amazonaws.com/token-expiration": "3600"
    }
  }
}
JSON
# What a user types: kubectl runs the kubeconfig's exec block for a token and
# reads API discovery (a new HOME each sample: no discovery cache) first.
kubectl ${KUBE_CONTEXT:+--context "$KUBE_CONTEXT"} apply --server-side -f "$WORK/sa.json" >/dev/null
