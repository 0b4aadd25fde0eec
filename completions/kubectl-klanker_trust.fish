# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_kubectl_klanker_trust_global_optspecs
    string join \n kubeconfig= context= config= v/verbose request-timeout= mfa-code= h/help V/version
end

function __fish_kubectl_klanker_trust_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_kubectl_klanker_trust_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_kubectl_klanker_trust_using_subcommand
    set -l cmd (__fish_kubectl_klanker_trust_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_needs_command" -l kubeconfig -d 'Path of the kubeconfig file' -r -F
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_needs_command" -l context -d 'Kubeconfig context to use (default: the current one)' -r
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_needs_command" -l config -d 'Path of km-config.yaml' -r -F
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_needs_command" -l request-timeout -d 'How long one AWS or Kubernetes request may take' -r
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_needs_command" -l mfa-code -d 'Code of the profile\'s MFA device' -r
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_needs_command" -s v -l verbose -d 'Log each step and each AWS/Kubernetes call'
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_needs_command" -s V -l version -d 'Print version'
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_needs_command" -f -a "add" -d 'Onboard the current context\'s cluster: OIDC provider, role, policy, ServiceAccount'
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_needs_command" -f -a "list" -d 'List every onboarded cluster in the klanker account, and drift'
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_needs_command" -f -a "get" -d 'List every onboarded cluster in the klanker account, and drift'
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_needs_command" -f -a "ls" -d 'List every onboarded cluster in the klanker account, and drift'
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_needs_command" -f -a "rm" -d 'Remove an onboarding: role, owned and unused OIDC provider, ServiceAccount, km-config entry'
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_needs_command" -f -a "delete" -d 'Remove an onboarding: role, owned and unused OIDC provider, ServiceAccount, km-config entry'
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_needs_command" -f -a "verify" -d 'Prove the trust works end to end, or say which link is broken'
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_needs_command" -f -a "describe" -d 'Show the live state of one onboarding: role, trust policy, policies, provider, ServiceAccounts, drift'
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_needs_command" -f -a "audit" -d 'Find weak workload-identity trusts in an account (IRSA, chained, Pod Identity) and print the fix; read-only'
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_needs_command" -f -a "policy" -d 'Print the least-privilege IAM policies (and RBAC) the two identities need'
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_needs_command" -f -a "completion" -d 'Print the shell completion script (see docs/install.md for installing it)'
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_needs_command" -f -a "version" -d 'Print version, git commit and target'
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand add" -l name -d 'Registry name; the role is km-cluster-NAME' -r
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand add" -l oidc-provider-arn -d 'The cluster\'s own OIDC provider ARN' -r
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand add" -l issuer-url -d 'OIDC issuer URL of a cluster that is not EKS' -r
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand add" -s n -l namespace -d 'Namespace the trust is scoped to; `*` = any' -r
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand add" -l service-account -d 'ServiceAccount to trust (repeatable)' -r
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand add" -l max-trust-policy-size -d 'Largest trust policy IAM accepts, in characters without whitespace' -r
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand add" -l aws-profile -d 'AWS profile for the klanker account' -r
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand add" -l region -d 'Region for the klanker-side STS/IAM calls' -r
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand add" -l klanker-account -d 'The klanker account ID the profile must land in' -r
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand add" -l dry-run -d 'Plan only (client), or also have the API server check (server)' -r -f -a "client\t'Plan only (also `true`, and a bare --dry-run)'
server\t'Plan, and have the Kubernetes API server dry-run its writes (dryRun=All)'
none\t'Apply (also `false`)'"
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand add" -l register-oidc-provider -d 'Whether to create the OIDC provider' -r -f -a "auto\t'Reuse the provider if the issuer is registered, else create it'
true\t'Create the provider; fail if it is already registered'
false\t'Require an existing provider; never create one'"
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand add" -s o -l output -d 'Output format' -r -f -a "text\t''
json\t''
yaml\t''
manifest\t'Print the ServiceAccount YAML instead of applying it'"
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand add" -l policy-arn -d 'Managed policy to attach (repeatable)' -r
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand add" -l role-name -d 'Role name (default: km-cluster-NAME)' -r
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand add" -l mode -d 'Trust mode (see --help)' -r -f -a "mirror\t'The issuer is mirrored as an OIDC provider in the klanker account, and the klanker role trusts it directly'
chained\t'The pod\'s IRSA role lives in the cluster\'s account, and the klanker role trusts that role (AssumeRole chaining); no provider in the klanker account'
pod-identity\t'EKS Pod Identity: an association hands pods a role in the cluster\'s account (the association role), which assumes the klanker role as its target role; no provider anywhere, no annotation'"
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand add" -l cluster-role-name -d 'Chained and pod-identity modes: the role in the cluster\'s account' -r
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand add" -l config-map-name -d 'Chained mode: the ConfigMap holding the pods\' AWS config file' -r
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand add" -l cluster-permissions-boundary -d 'Chained and pod-identity modes: permissions boundary policy ARN for the cluster-account role' -r
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand add" -l permissions-boundary -d 'Permissions boundary policy ARN for the role' -r
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand add" -l tag -d 'Extra role tag KEY=VALUE (repeatable)' -r
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand add" -l session-duration -d 'The role\'s MaxSessionDuration and the token-expiration annotation' -r
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand add" -l cluster-name -d 'EKS cluster name (default: from the context\'s exec block or ARN)' -r
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand add" -l cluster-region -d 'EKS cluster region (default: from the context)' -r
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand add" -l cluster-profile -d 'AWS profile for the cluster\'s account' -r
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand add" -l context-pattern -d 'With --all-contexts: only the contexts whose name matches GLOB (`*`, `?`)' -r
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand add" -l parallel -d 'How many clusters of a fleet are worked on at once (1 to 64)' -r
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand add" -l kubeconfig -d 'Path of the kubeconfig file' -r -F
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand add" -l context -d 'Kubeconfig context to use (default: the current one)' -r
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand add" -l config -d 'Path of km-config.yaml' -r -F
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand add" -l request-timeout -d 'How long one AWS or Kubernetes request may take' -r
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand add" -l mfa-code -d 'Code of the profile\'s MFA device' -r
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand add" -s y -l yes -d 'Apply without asking (--dry-run still wins)'
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand add" -l create-namespace -d 'Create the namespace if it does not exist'
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand add" -l disable-session-tags -d 'Pod-identity mode: EKS sends no session tags'
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand add" -l allow-wide-trust -d 'Allow wildcards in --service-account'
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand add" -l verify -d 'After applying, check every link of the trust chain (the default)'
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand add" -l no-verify -d 'Skip the checks after applying'
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand add" -l rebind -l replace-issuer -d 'Move an onboarding of this name to this cluster'
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand add" -l override-existing-serviceaccounts -d 'Re-point a ServiceAccount annotated with another role'
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand add" -l all-contexts -d 'Onboard every kubeconfig context (a fleet)'
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand add" -s v -l verbose -d 'Log each step and each AWS/Kubernetes call'
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand add" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand add" -s V -l version -d 'Print version'
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand list" -l aws-profile -d 'AWS profile for the klanker account' -r
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand list" -l region -d 'Region for the klanker-side STS/IAM calls' -r
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand list" -l klanker-account -d 'The klanker account ID the profile must land in' -r
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand list" -s o -l output -d 'Output format' -r -f -a "text\t'A table that fits a terminal: role names, shortened issuers'
wide\t'Full ARNs and issuers, the provider ARN, whether km-config.yaml has it'
name\t'One onboarding name per line (for scripts: `| xargs -n1 ... verify`)'
json\t''
yaml\t''"
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand list" -l kubeconfig -d 'Path of the kubeconfig file' -r -F
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand list" -l context -d 'Kubeconfig context to use (default: the current one)' -r
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand list" -l config -d 'Path of km-config.yaml' -r -F
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand list" -l request-timeout -d 'How long one AWS or Kubernetes request may take' -r
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand list" -l mfa-code -d 'Code of the profile\'s MFA device' -r
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand list" -l local -d 'List km-config.yaml only, without AWS calls (offline)'
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand list" -l no-headers -d 'Tables without their header row'
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand list" -s v -l verbose -d 'Log each step and each AWS/Kubernetes call'
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand list" -s V -l version -d 'Print version'
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand get" -l aws-profile -d 'AWS profile for the klanker account' -r
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand get" -l region -d 'Region for the klanker-side STS/IAM calls' -r
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand get" -l klanker-account -d 'The klanker account ID the profile must land in' -r
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand get" -s o -l output -d 'Output format' -r -f -a "text\t'A table that fits a terminal: role names, shortened issuers'
wide\t'Full ARNs and issuers, the provider ARN, whether km-config.yaml has it'
name\t'One onboarding name per line (for scripts: `| xargs -n1 ... verify`)'
json\t''
yaml\t''"
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand get" -l kubeconfig -d 'Path of the kubeconfig file' -r -F
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand get" -l context -d 'Kubeconfig context to use (default: the current one)' -r
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand get" -l config -d 'Path of km-config.yaml' -r -F
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand get" -l request-timeout -d 'How long one AWS or Kubernetes request may take' -r
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand get" -l mfa-code -d 'Code of the profile\'s MFA device' -r
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand get" -l local -d 'List km-config.yaml only, without AWS calls (offline)'
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand get" -l no-headers -d 'Tables without their header row'
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand get" -s v -l verbose -d 'Log each step and each AWS/Kubernetes call'
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand get" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand get" -s V -l version -d 'Print version'
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand ls" -l aws-profile -d 'AWS profile for the klanker account' -r
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand ls" -l region -d 'Region for the klanker-side STS/IAM calls' -r
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand ls" -l klanker-account -d 'The klanker account ID the profile must land in' -r
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand ls" -s o -l output -d 'Output format' -r -f -a "text\t'A table that fits a terminal: role names, shortened issuers'
wide\t'Full ARNs and issuers, the provider ARN, whether km-config.yaml has it'
name\t'One onboarding name per line (for scripts: `| xargs -n1 ... verify`)'
json\t''
yaml\t''"
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand ls" -l kubeconfig -d 'Path of the kubeconfig file' -r -F
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand ls" -l context -d 'Kubeconfig context to use (default: the current one)' -r
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand ls" -l config -d 'Path of km-config.yaml' -r -F
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand ls" -l request-timeout -d 'How long one AWS or Kubernetes request may take' -r
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand ls" -l mfa-code -d 'Code of the profile\'s MFA device' -r
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand ls" -l local -d 'List km-config.yaml only, without AWS calls (offline)'
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand ls" -l no-headers -d 'Tables without their header row'
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand ls" -s v -l verbose -d 'Log each step and each AWS/Kubernetes call'
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand ls" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand ls" -s V -l version -d 'Print version'
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand rm" -l parallel -d 'How many onboardings are removed at once (1 to 64)' -r
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand rm" -l aws-profile -d 'AWS profile for the klanker account' -r
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand rm" -l region -d 'Region for the klanker-side STS/IAM calls' -r
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand rm" -l klanker-account -d 'The klanker account ID the profile must land in' -r
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand rm" -l dry-run -d 'Plan only (client), or also have the API server check (server)' -r -f -a "client\t'Plan only (also `true`, and a bare --dry-run)'
server\t'Plan, and have the Kubernetes API server dry-run its writes (dryRun=All)'
none\t'Apply (also `false`)'"
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand rm" -l cluster-profile -d 'Chained mode: AWS profile for the cluster\'s account, where role A lives (default: from the context\'s exec block)' -r
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand rm" -s o -l output -d 'Output format' -r -f -a "text\t''
json\t''
yaml\t''"
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand rm" -l kubeconfig -d 'Path of the kubeconfig file' -r -F
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand rm" -l context -d 'Kubeconfig context to use (default: the current one)' -r
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand rm" -l config -d 'Path of km-config.yaml' -r -F
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand rm" -l request-timeout -d 'How long one AWS or Kubernetes request may take' -r
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand rm" -l mfa-code -d 'Code of the profile\'s MFA device' -r
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand rm" -s y -l yes -d 'Apply without asking (--dry-run still wins)'
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand rm" -l keep-service-account -d 'Leave the ServiceAccount in the cluster'
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand rm" -l ignore-not-found -d 'Exit 0 when NAME is onboarded nowhere (as `kubectl delete --ignore-not-found`); without it that is exit 1'
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand rm" -s v -l verbose -d 'Log each step and each AWS/Kubernetes call'
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand rm" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand rm" -s V -l version -d 'Print version'
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand delete" -l parallel -d 'How many onboardings are removed at once (1 to 64)' -r
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand delete" -l aws-profile -d 'AWS profile for the klanker account' -r
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand delete" -l region -d 'Region for the klanker-side STS/IAM calls' -r
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand delete" -l klanker-account -d 'The klanker account ID the profile must land in' -r
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand delete" -l dry-run -d 'Plan only (client), or also have the API server check (server)' -r -f -a "client\t'Plan only (also `true`, and a bare --dry-run)'
server\t'Plan, and have the Kubernetes API server dry-run its writes (dryRun=All)'
none\t'Apply (also `false`)'"
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand delete" -l cluster-profile -d 'Chained mode: AWS profile for the cluster\'s account, where role A lives (default: from the context\'s exec block)' -r
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand delete" -s o -l output -d 'Output format' -r -f -a "text\t''
json\t''
yaml\t''"
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand delete" -l kubeconfig -d 'Path of the kubeconfig file' -r -F
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand delete" -l context -d 'Kubeconfig context to use (default: the current one)' -r
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand delete" -l config -d 'Path of km-config.yaml' -r -F
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand delete" -l request-timeout -d 'How long one AWS or Kubernetes request may take' -r
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand delete" -l mfa-code -d 'Code of the profile\'s MFA device' -r
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand delete" -s y -l yes -d 'Apply without asking (--dry-run still wins)'
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand delete" -l keep-service-account -d 'Leave the ServiceAccount in the cluster'
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand delete" -l ignore-not-found -d 'Exit 0 when NAME is onboarded nowhere (as `kubectl delete --ignore-not-found`); without it that is exit 1'
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand delete" -s v -l verbose -d 'Log each step and each AWS/Kubernetes call'
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand delete" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand delete" -s V -l version -d 'Print version'
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand verify" -l parallel -d 'How many onboardings are verified at once (1 to 64)' -r
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand verify" -l aws-profile -d 'AWS profile for the klanker account' -r
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand verify" -l region -d 'Region for the klanker-side STS/IAM calls' -r
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand verify" -l klanker-account -d 'The klanker account ID the profile must land in' -r
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand verify" -l cluster-profile -d 'Chained mode: AWS profile for the cluster\'s account, where role A lives (default: from the context\'s exec block)' -r
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand verify" -s o -l output -d 'Output format' -r -f -a "text\t''
json\t''
yaml\t''"
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand verify" -l kubeconfig -d 'Path of the kubeconfig file' -r -F
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand verify" -l context -d 'Kubeconfig context to use (default: the current one)' -r
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand verify" -l config -d 'Path of km-config.yaml' -r -F
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand verify" -l request-timeout -d 'How long one AWS or Kubernetes request may take' -r
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand verify" -l mfa-code -d 'Code of the profile\'s MFA device' -r
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand verify" -l all -d 'Verify every onboarding of the klanker account (as `list` shows them)'
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand verify" -s v -l verbose -d 'Log each step and each AWS/Kubernetes call'
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand verify" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand verify" -s V -l version -d 'Print version'
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand describe" -l aws-profile -d 'AWS profile for the klanker account' -r
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand describe" -l region -d 'Region for the klanker-side STS/IAM calls' -r
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand describe" -l klanker-account -d 'The klanker account ID the profile must land in' -r
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand describe" -s o -l output -d 'Output format' -r -f -a "text\t''
json\t''
yaml\t''"
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand describe" -l kubeconfig -d 'Path of the kubeconfig file' -r -F
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand describe" -l context -d 'Kubeconfig context to use (default: the current one)' -r
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand describe" -l config -d 'Path of km-config.yaml' -r -F
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand describe" -l request-timeout -d 'How long one AWS or Kubernetes request may take' -r
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand describe" -l mfa-code -d 'Code of the profile\'s MFA device' -r
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand describe" -s v -l verbose -d 'Log each step and each AWS/Kubernetes call'
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand describe" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand describe" -s V -l version -d 'Print version'
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand audit" -l aws-profile -d 'AWS profile of an account to audit (repeatable; default: the klanker profile)' -r
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand audit" -l region -d 'Region for the STS/IAM calls' -r
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand audit" -s o -l output -d 'Output format' -r -f -a "text\t'One line per finding, fitting 100 columns, and the totals'
wide\t'Full ARNs, the statement and the fix on each line'
json\t''
yaml\t''"
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand audit" -l fail-on -d 'Exit 1 when any finding is at or above this severity (for CI); without it, exit 0 whatever was found' -r -f -a "info\t''
low\t''
medium\t''
high\t''
critical\t''"
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand audit" -l fix-doc -d 'Print only the fixed trust document of this role (name or ARN), for `aws iam update-assume-role-policy`' -r
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand audit" -l max-trust-policy-size -d 'The accounts\' role trust policy quota, in characters' -r
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand audit" -l provider-quota -d 'The accounts\' OIDC provider quota' -r
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand audit" -l kubeconfig -d 'Path of the kubeconfig file' -r -F
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand audit" -l context -d 'Kubeconfig context to use (default: the current one)' -r
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand audit" -l config -d 'Path of km-config.yaml' -r -F
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand audit" -l request-timeout -d 'How long one AWS or Kubernetes request may take' -r
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand audit" -l mfa-code -d 'Code of the profile\'s MFA device' -r
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand audit" -s v -l verbose -d 'Log each step and each AWS/Kubernetes call'
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand audit" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand audit" -s V -l version -d 'Print version'
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand policy" -l for -d 'Which identity\'s policy' -r -f -a "all\t'Both IAM policies and the RBAC'
klanker\t'The klanker operator profile\'s IAM policy'
cluster\t'The cluster side: its account\'s IAM policy and the kubeconfig user\'s RBAC (with `--mode chained` or `pod-identity`, text output also shows the boundary below)'
cluster-boundary\t'Chained mode (or `--mode pod-identity`, which adds sts:TagSession): the permissions boundary every km-irsa-* (km-podid-*) role in the cluster account carries (create it there as km-irsa-boundary)'
rbac\t'The kubeconfig user\'s Kubernetes RBAC only'
audit\t'The read-only IAM policy `audit` needs in each account it reads'"
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand policy" -l mode -d 'Trust mode the cluster side is for (`add --mode`)' -r -f -a "mirror\t'The issuer is mirrored as an OIDC provider in the klanker account, and the klanker role trusts it directly'
chained\t'The pod\'s IRSA role lives in the cluster\'s account, and the klanker role trusts that role (AssumeRole chaining); no provider in the klanker account'
pod-identity\t'EKS Pod Identity: an association hands pods a role in the cluster\'s account (the association role), which assumes the klanker role as its target role; no provider anywhere, no annotation'"
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand policy" -l aws-profile -d 'AWS profile for the klanker account' -r
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand policy" -l region -d 'Region for the klanker-side STS/IAM calls' -r
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand policy" -l klanker-account -d 'The klanker account ID the profile must land in' -r
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand policy" -l allow-policy-arn -d 'Managed policy `add --policy-arn` may attach besides km-operator-policy (repeatable)' -r
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand policy" -l permissions-boundary -d 'Permissions boundary every role must be created with (`add --permissions-boundary`)' -r
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand policy" -l cluster-permissions-boundary -d 'Chained and pod-identity modes: the boundary every km-irsa-* or km-podid-* role must carry, in the cluster account (default: its policy/km-irsa-boundary)' -r
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand policy" -l cluster-account -d 'Cluster account ID (default: from the context\'s cluster ARN)' -r
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand policy" -l cluster-name -d 'EKS cluster name (default: from the context, else `*`)' -r
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand policy" -l cluster-region -d 'EKS cluster region (default: from the context, else `*`)' -r
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand policy" -s n -l namespace -d 'Namespace of the onboarding\'s ServiceAccount (default: the context\'s namespace)' -r
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand policy" -l service-account -d 'ServiceAccount the RBAC may write and request tokens for (repeatable; default: km)' -r
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand policy" -l config-map-name -d 'Chained mode: the ConfigMap with the pods\' AWS profile chain the RBAC may write (`add --config-map-name`; default: km-aws-config)' -r
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand policy" -l user -d 'Bind the RBAC to this Kubernetes user (default: the group klanker-trust-admins)' -r
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand policy" -l group -d 'Bind the RBAC to this Kubernetes group (default: klanker-trust-admins)' -r
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand policy" -s o -l output -d 'Output format: text (commented), raw JSON documents, or YAML (RBAC only)' -r -f -a "text\t''
json\t''
yaml\t'RBAC only (`--for rbac`): multi-document YAML for `kubectl apply -f -`'"
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand policy" -l kubeconfig -d 'Path of the kubeconfig file' -r -F
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand policy" -l context -d 'Kubeconfig context to use (default: the current one)' -r
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand policy" -l config -d 'Path of km-config.yaml' -r -F
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand policy" -l request-timeout -d 'How long one AWS or Kubernetes request may take' -r
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand policy" -l mfa-code -d 'Code of the profile\'s MFA device' -r
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand policy" -l create-namespace -d 'Also allow creating the namespace (`add --create-namespace`)'
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand policy" -s v -l verbose -d 'Log each step and each AWS/Kubernetes call'
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand policy" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand policy" -s V -l version -d 'Print version'
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand completion" -l kubeconfig -d 'Path of the kubeconfig file' -r -F
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand completion" -l context -d 'Kubeconfig context to use (default: the current one)' -r
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand completion" -l config -d 'Path of km-config.yaml' -r -F
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand completion" -l request-timeout -d 'How long one AWS or Kubernetes request may take' -r
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand completion" -l mfa-code -d 'Code of the profile\'s MFA device' -r
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand completion" -s v -l verbose -d 'Log each step and each AWS/Kubernetes call'
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand completion" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand completion" -s V -l version -d 'Print version'
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand version" -l kubeconfig -d 'Path of the kubeconfig file' -r -F
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand version" -l context -d 'Kubeconfig context to use (default: the current one)' -r
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand version" -l config -d 'Path of km-config.yaml' -r -F
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand version" -l request-timeout -d 'How long one AWS or Kubernetes request may take' -r
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand version" -l mfa-code -d 'Code of the profile\'s MFA device' -r
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand version" -s v -l verbose -d 'Log each step and each AWS/Kubernetes call'
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand version" -s h -l help -d 'Print help'
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand version" -s V -l version -d 'Print version'
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand help; and not __fish_seen_subcommand_from add list rm verify describe audit policy completion version help" -f -a "add" -d 'Onboard the current context\'s cluster: OIDC provider, role, policy, ServiceAccount'
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand help; and not __fish_seen_subcommand_from add list rm verify describe audit policy completion version help" -f -a "list" -d 'List every onboarded cluster in the klanker account, and drift'
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand help; and not __fish_seen_subcommand_from add list rm verify describe audit policy completion version help" -f -a "rm" -d 'Remove an onboarding: role, owned and unused OIDC provider, ServiceAccount, km-config entry'
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand help; and not __fish_seen_subcommand_from add list rm verify describe audit policy completion version help" -f -a "verify" -d 'Prove the trust works end to end, or say which link is broken'
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand help; and not __fish_seen_subcommand_from add list rm verify describe audit policy completion version help" -f -a "describe" -d 'Show the live state of one onboarding: role, trust policy, policies, provider, ServiceAccounts, drift'
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand help; and not __fish_seen_subcommand_from add list rm verify describe audit policy completion version help" -f -a "audit" -d 'Find weak workload-identity trusts in an account (IRSA, chained, Pod Identity) and print the fix; read-only'
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand help; and not __fish_seen_subcommand_from add list rm verify describe audit policy completion version help" -f -a "policy" -d 'Print the least-privilege IAM policies (and RBAC) the two identities need'
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand help; and not __fish_seen_subcommand_from add list rm verify describe audit policy completion version help" -f -a "completion" -d 'Print the shell completion script (see docs/install.md for installing it)'
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand help; and not __fish_seen_subcommand_from add list rm verify describe audit policy completion version help" -f -a "version" -d 'Print version, git commit and target'
complete -c kubectl-klanker_trust -n "__fish_kubectl_klanker_trust_using_subcommand help; and not __fish_seen_subcommand_from add list rm verify describe audit policy completion version help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
