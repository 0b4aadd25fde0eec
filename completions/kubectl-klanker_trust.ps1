
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'kubectl-klanker_trust' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'kubectl-klanker_trust'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'kubectl-klanker_trust' {
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Path of the kubeconfig file')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'Kubeconfig context to use (default: the current one)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Path of km-config.yaml')
            [CompletionResult]::new('--request-timeout', '--request-timeout', [CompletionResultType]::ParameterName, 'How long one AWS or Kubernetes request may take')
            [CompletionResult]::new('--mfa-code', '--mfa-code', [CompletionResultType]::ParameterName, 'Code of the profile''s MFA device')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log each step and each AWS/Kubernetes call')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log each step and each AWS/Kubernetes call')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('add', 'add', [CompletionResultType]::ParameterValue, 'Onboard the current context''s cluster: OIDC provider, role, policy, ServiceAccount')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List every onboarded cluster in the klanker account, and drift')
            [CompletionResult]::new('get', 'get', [CompletionResultType]::ParameterValue, 'List every onboarded cluster in the klanker account, and drift')
            [CompletionResult]::new('ls', 'ls', [CompletionResultType]::ParameterValue, 'List every onboarded cluster in the klanker account, and drift')
            [CompletionResult]::new('rm', 'rm', [CompletionResultType]::ParameterValue, 'Remove an onboarding: role, owned and unused OIDC provider, ServiceAccount, km-config entry')
            [CompletionResult]::new('delete', 'delete', [CompletionResultType]::ParameterValue, 'Remove an onboarding: role, owned and unused OIDC provider, ServiceAccount, km-config entry')
            [CompletionResult]::new('verify', 'verify', [CompletionResultType]::ParameterValue, 'Prove the trust works end to end, or say which link is broken')
            [CompletionResult]::new('describe', 'describe', [CompletionResultType]::ParameterValue, 'Show the live state of one onboarding: role, trust policy, policies, provider, ServiceAccounts, drift')
            [CompletionResult]::new('audit', 'audit', [CompletionResultType]::ParameterValue, 'Find weak workload-identity trusts in an account (IRSA, chained, Pod Identity) and print the fix; read-only')
            [CompletionResult]::new('policy', 'policy', [CompletionResultType]::ParameterValue, 'Print the least-privilege IAM policies (and RBAC) the two identities need')
            [CompletionResult]::new('completion', 'completion', [CompletionResultType]::ParameterValue, 'Print the shell completion script (see docs/install.md for installing it)')
            [CompletionResult]::new('version', 'version', [CompletionResultType]::ParameterValue, 'Print version, git commit and target')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'kubectl-klanker_trust;add' {
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'Registry name; the role is km-cluster-NAME')
            [CompletionResult]::new('--oidc-provider-arn', '--oidc-provider-arn', [CompletionResultType]::ParameterName, 'The cluster''s own OIDC provider ARN')
            [CompletionResult]::new('--issuer-url', '--issuer-url', [CompletionResultType]::ParameterName, 'OIDC issuer URL of a cluster that is not EKS')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'Namespace the trust is scoped to; `*` = any')
            [CompletionResult]::new('--namespace', '--namespace', [CompletionResultType]::ParameterName, 'Namespace the trust is scoped to; `*` = any')
            [CompletionResult]::new('--service-account', '--service-account', [CompletionResultType]::ParameterName, 'ServiceAccount to trust (repeatable)')
            [CompletionResult]::new('--max-trust-policy-size', '--max-trust-policy-size', [CompletionResultType]::ParameterName, 'Largest trust policy IAM accepts, in characters without whitespace')
            [CompletionResult]::new('--aws-profile', '--aws-profile', [CompletionResultType]::ParameterName, 'AWS profile for the klanker account')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'Region for the klanker-side STS/IAM calls')
            [CompletionResult]::new('--klanker-account', '--klanker-account', [CompletionResultType]::ParameterName, 'The klanker account ID the profile must land in')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Plan only (client), or also have the API server check (server)')
            [CompletionResult]::new('--register-oidc-provider', '--register-oidc-provider', [CompletionResultType]::ParameterName, 'Whether to create the OIDC provider')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--policy-arn', '--policy-arn', [CompletionResultType]::ParameterName, 'Managed policy to attach (repeatable)')
            [CompletionResult]::new('--role-name', '--role-name', [CompletionResultType]::ParameterName, 'Role name (default: km-cluster-NAME)')
            [CompletionResult]::new('--mode', '--mode', [CompletionResultType]::ParameterName, 'Trust mode (see --help)')
            [CompletionResult]::new('--cluster-role-name', '--cluster-role-name', [CompletionResultType]::ParameterName, 'Chained and pod-identity modes: the role in the cluster''s account')
            [CompletionResult]::new('--config-map-name', '--config-map-name', [CompletionResultType]::ParameterName, 'Chained mode: the ConfigMap holding the pods'' AWS config file')
            [CompletionResult]::new('--cluster-permissions-boundary', '--cluster-permissions-boundary', [CompletionResultType]::ParameterName, 'Chained and pod-identity modes: permissions boundary policy ARN for the cluster-account role')
            [CompletionResult]::new('--permissions-boundary', '--permissions-boundary', [CompletionResultType]::ParameterName, 'Permissions boundary policy ARN for the role')
            [CompletionResult]::new('--tag', '--tag', [CompletionResultType]::ParameterName, 'Extra role tag KEY=VALUE (repeatable)')
            [CompletionResult]::new('--session-duration', '--session-duration', [CompletionResultType]::ParameterName, 'The role''s MaxSessionDuration and the token-expiration annotation')
            [CompletionResult]::new('--cluster-name', '--cluster-name', [CompletionResultType]::ParameterName, 'EKS cluster name (default: from the context''s exec block or ARN)')
            [CompletionResult]::new('--cluster-region', '--cluster-region', [CompletionResultType]::ParameterName, 'EKS cluster region (default: from the context)')
            [CompletionResult]::new('--cluster-profile', '--cluster-profile', [CompletionResultType]::ParameterName, 'AWS profile for the cluster''s account')
            [CompletionResult]::new('--context-pattern', '--context-pattern', [CompletionResultType]::ParameterName, 'With --all-contexts: only the contexts whose name matches GLOB (`*`, `?`)')
            [CompletionResult]::new('--parallel', '--parallel', [CompletionResultType]::ParameterName, 'How many clusters of a fleet are worked on at once (1 to 64)')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Path of the kubeconfig file')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'Kubeconfig context to use (default: the current one)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Path of km-config.yaml')
            [CompletionResult]::new('--request-timeout', '--request-timeout', [CompletionResultType]::ParameterName, 'How long one AWS or Kubernetes request may take')
            [CompletionResult]::new('--mfa-code', '--mfa-code', [CompletionResultType]::ParameterName, 'Code of the profile''s MFA device')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Apply without asking (--dry-run still wins)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Apply without asking (--dry-run still wins)')
            [CompletionResult]::new('--create-namespace', '--create-namespace', [CompletionResultType]::ParameterName, 'Create the namespace if it does not exist')
            [CompletionResult]::new('--disable-session-tags', '--disable-session-tags', [CompletionResultType]::ParameterName, 'Pod-identity mode: EKS sends no session tags')
            [CompletionResult]::new('--allow-wide-trust', '--allow-wide-trust', [CompletionResultType]::ParameterName, 'Allow wildcards in --service-account')
            [CompletionResult]::new('--verify', '--verify', [CompletionResultType]::ParameterName, 'After applying, check every link of the trust chain (the default)')
            [CompletionResult]::new('--no-verify', '--no-verify', [CompletionResultType]::ParameterName, 'Skip the checks after applying')
            [CompletionResult]::new('--rebind', '--rebind', [CompletionResultType]::ParameterName, 'Move an onboarding of this name to this cluster')
            [CompletionResult]::new('--replace-issuer', '--replace-issuer', [CompletionResultType]::ParameterName, 'Move an onboarding of this name to this cluster')
            [CompletionResult]::new('--override-existing-serviceaccounts', '--override-existing-serviceaccounts', [CompletionResultType]::ParameterName, 'Re-point a ServiceAccount annotated with another role')
            [CompletionResult]::new('--all-contexts', '--all-contexts', [CompletionResultType]::ParameterName, 'Onboard every kubeconfig context (a fleet)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log each step and each AWS/Kubernetes call')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log each step and each AWS/Kubernetes call')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'kubectl-klanker_trust;list' {
            [CompletionResult]::new('--aws-profile', '--aws-profile', [CompletionResultType]::ParameterName, 'AWS profile for the klanker account')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'Region for the klanker-side STS/IAM calls')
            [CompletionResult]::new('--klanker-account', '--klanker-account', [CompletionResultType]::ParameterName, 'The klanker account ID the profile must land in')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Path of the kubeconfig file')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'Kubeconfig context to use (default: the current one)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Path of km-config.yaml')
            [CompletionResult]::new('--request-timeout', '--request-timeout', [CompletionResultType]::ParameterName, 'How long one AWS or Kubernetes request may take')
            [CompletionResult]::new('--mfa-code', '--mfa-code', [CompletionResultType]::ParameterName, 'Code of the profile''s MFA device')
            [CompletionResult]::new('--local', '--local', [CompletionResultType]::ParameterName, 'List km-config.yaml only, without AWS calls (offline)')
            [CompletionResult]::new('--no-headers', '--no-headers', [CompletionResultType]::ParameterName, 'Tables without their header row')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log each step and each AWS/Kubernetes call')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log each step and each AWS/Kubernetes call')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'kubectl-klanker_trust;get' {
            [CompletionResult]::new('--aws-profile', '--aws-profile', [CompletionResultType]::ParameterName, 'AWS profile for the klanker account')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'Region for the klanker-side STS/IAM calls')
            [CompletionResult]::new('--klanker-account', '--klanker-account', [CompletionResultType]::ParameterName, 'The klanker account ID the profile must land in')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Path of the kubeconfig file')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'Kubeconfig context to use (default: the current one)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Path of km-config.yaml')
            [CompletionResult]::new('--request-timeout', '--request-timeout', [CompletionResultType]::ParameterName, 'How long one AWS or Kubernetes request may take')
            [CompletionResult]::new('--mfa-code', '--mfa-code', [CompletionResultType]::ParameterName, 'Code of the profile''s MFA device')
            [CompletionResult]::new('--local', '--local', [CompletionResultType]::ParameterName, 'List km-config.yaml only, without AWS calls (offline)')
            [CompletionResult]::new('--no-headers', '--no-headers', [CompletionResultType]::ParameterName, 'Tables without their header row')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log each step and each AWS/Kubernetes call')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log each step and each AWS/Kubernetes call')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'kubectl-klanker_trust;ls' {
            [CompletionResult]::new('--aws-profile', '--aws-profile', [CompletionResultType]::ParameterName, 'AWS profile for the klanker account')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'Region for the klanker-side STS/IAM calls')
            [CompletionResult]::new('--klanker-account', '--klanker-account', [CompletionResultType]::ParameterName, 'The klanker account ID the profile must land in')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Path of the kubeconfig file')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'Kubeconfig context to use (default: the current one)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Path of km-config.yaml')
            [CompletionResult]::new('--request-timeout', '--request-timeout', [CompletionResultType]::ParameterName, 'How long one AWS or Kubernetes request may take')
            [CompletionResult]::new('--mfa-code', '--mfa-code', [CompletionResultType]::ParameterName, 'Code of the profile''s MFA device')
            [CompletionResult]::new('--local', '--local', [CompletionResultType]::ParameterName, 'List km-config.yaml only, without AWS calls (offline)')
            [CompletionResult]::new('--no-headers', '--no-headers', [CompletionResultType]::ParameterName, 'Tables without their header row')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log each step and each AWS/Kubernetes call')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log each step and each AWS/Kubernetes call')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'kubectl-klanker_trust;rm' {
            [CompletionResult]::new('--parallel', '--parallel', [CompletionResultType]::ParameterName, 'How many onboardings are removed at once (1 to 64)')
            [CompletionResult]::new('--aws-profile', '--aws-profile', [CompletionResultType]::ParameterName, 'AWS profile for the klanker account')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'Region for the klanker-side STS/IAM calls')
            [CompletionResult]::new('--klanker-account', '--klanker-account', [CompletionResultType]::ParameterName, 'The klanker account ID the profile must land in')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Plan only (client), or also have the API server check (server)')
            [CompletionResult]::new('--cluster-profile', '--cluster-profile', [CompletionResultType]::ParameterName, 'Chained mode: AWS profile for the cluster''s account, where role A lives (default: from the context''s exec block)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Path of the kubeconfig file')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'Kubeconfig context to use (default: the current one)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Path of km-config.yaml')
            [CompletionResult]::new('--request-timeout', '--request-timeout', [CompletionResultType]::ParameterName, 'How long one AWS or Kubernetes request may take')
            [CompletionResult]::new('--mfa-code', '--mfa-code', [CompletionResultType]::ParameterName, 'Code of the profile''s MFA device')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Apply without asking (--dry-run still wins)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Apply without asking (--dry-run still wins)')
            [CompletionResult]::new('--keep-service-account', '--keep-service-account', [CompletionResultType]::ParameterName, 'Leave the ServiceAccount in the cluster')
            [CompletionResult]::new('--ignore-not-found', '--ignore-not-found', [CompletionResultType]::ParameterName, 'Exit 0 when NAME is onboarded nowhere (as `kubectl delete --ignore-not-found`); without it that is exit 1')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log each step and each AWS/Kubernetes call')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log each step and each AWS/Kubernetes call')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'kubectl-klanker_trust;delete' {
            [CompletionResult]::new('--parallel', '--parallel', [CompletionResultType]::ParameterName, 'How many onboardings are removed at once (1 to 64)')
            [CompletionResult]::new('--aws-profile', '--aws-profile', [CompletionResultType]::ParameterName, 'AWS profile for the klanker account')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'Region for the klanker-side STS/IAM calls')
            [CompletionResult]::new('--klanker-account', '--klanker-account', [CompletionResultType]::ParameterName, 'The klanker account ID the profile must land in')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Plan only (client), or also have the API server check (server)')
            [CompletionResult]::new('--cluster-profile', '--cluster-profile', [CompletionResultType]::ParameterName, 'Chained mode: AWS profile for the cluster''s account, where role A lives (default: from the context''s exec block)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Path of the kubeconfig file')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'Kubeconfig context to use (default: the current one)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Path of km-config.yaml')
            [CompletionResult]::new('--request-timeout', '--request-timeout', [CompletionResultType]::ParameterName, 'How long one AWS or Kubernetes request may take')
            [CompletionResult]::new('--mfa-code', '--mfa-code', [CompletionResultType]::ParameterName, 'Code of the profile''s MFA device')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Apply without asking (--dry-run still wins)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Apply without asking (--dry-run still wins)')
            [CompletionResult]::new('--keep-service-account', '--keep-service-account', [CompletionResultType]::ParameterName, 'Leave the ServiceAccount in the cluster')
            [CompletionResult]::new('--ignore-not-found', '--ignore-not-found', [CompletionResultType]::ParameterName, 'Exit 0 when NAME is onboarded nowhere (as `kubectl delete --ignore-not-found`); without it that is exit 1')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log each step and each AWS/Kubernetes call')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log each step and each AWS/Kubernetes call')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'kubectl-klanker_trust;verify' {
            [CompletionResult]::new('--parallel', '--parallel', [CompletionResultType]::ParameterName, 'How many onboardings are verified at once (1 to 64)')
            [CompletionResult]::new('--aws-profile', '--aws-profile', [CompletionResultType]::ParameterName, 'AWS profile for the klanker account')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'Region for the klanker-side STS/IAM calls')
            [CompletionResult]::new('--klanker-account', '--klanker-account', [CompletionResultType]::ParameterName, 'The klanker account ID the profile must land in')
            [CompletionResult]::new('--cluster-profile', '--cluster-profile', [CompletionResultType]::ParameterName, 'Chained mode: AWS profile for the cluster''s account, where role A lives (default: from the context''s exec block)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Path of the kubeconfig file')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'Kubeconfig context to use (default: the current one)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Path of km-config.yaml')
            [CompletionResult]::new('--request-timeout', '--request-timeout', [CompletionResultType]::ParameterName, 'How long one AWS or Kubernetes request may take')
            [CompletionResult]::new('--mfa-code', '--mfa-code', [CompletionResultType]::ParameterName, 'Code of the profile''s MFA device')
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'Verify every onboarding of the klanker account (as `list` shows them)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log each step and each AWS/Kubernetes call')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log each step and each AWS/Kubernetes call')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'kubectl-klanker_trust;describe' {
            [CompletionResult]::new('--aws-profile', '--aws-profile', [CompletionResultType]::ParameterName, 'AWS profile for the klanker account')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'Region for the klanker-side STS/IAM calls')
            [CompletionResult]::new('--klanker-account', '--klanker-account', [CompletionResultType]::ParameterName, 'The klanker account ID the profile must land in')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Path of the kubeconfig file')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'Kubeconfig context to use (default: the current one)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Path of km-config.yaml')
            [CompletionResult]::new('--request-timeout', '--request-timeout', [CompletionResultType]::ParameterName, 'How long one AWS or Kubernetes request may take')
            [CompletionResult]::new('--mfa-code', '--mfa-code', [CompletionResultType]::ParameterName, 'Code of the profile''s MFA device')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log each step and each AWS/Kubernetes call')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log each step and each AWS/Kubernetes call')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'kubectl-klanker_trust;audit' {
            [CompletionResult]::new('--aws-profile', '--aws-profile', [CompletionResultType]::ParameterName, 'AWS profile of an account to audit (repeatable; default: the klanker profile)')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'Region for the STS/IAM calls')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--fail-on', '--fail-on', [CompletionResultType]::ParameterName, 'Exit 1 when any finding is at or above this severity (for CI); without it, exit 0 whatever was found')
            [CompletionResult]::new('--fix-doc', '--fix-doc', [CompletionResultType]::ParameterName, 'Print only the fixed trust document of this role (name or ARN), for `aws iam update-assume-role-policy`')
            [CompletionResult]::new('--max-trust-policy-size', '--max-trust-policy-size', [CompletionResultType]::ParameterName, 'The accounts'' role trust policy quota, in characters')
            [CompletionResult]::new('--provider-quota', '--provider-quota', [CompletionResultType]::ParameterName, 'The accounts'' OIDC provider quota')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Path of the kubeconfig file')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'Kubeconfig context to use (default: the current one)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Path of km-config.yaml')
            [CompletionResult]::new('--request-timeout', '--request-timeout', [CompletionResultType]::ParameterName, 'How long one AWS or Kubernetes request may take')
            [CompletionResult]::new('--mfa-code', '--mfa-code', [CompletionResultType]::ParameterName, 'Code of the profile''s MFA device')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log each step and each AWS/Kubernetes call')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log each step and each AWS/Kubernetes call')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'kubectl-klanker_trust;policy' {
            [CompletionResult]::new('--for', '--for', [CompletionResultType]::ParameterName, 'Which identity''s policy')
            [CompletionResult]::new('--mode', '--mode', [CompletionResultType]::ParameterName, 'Trust mode the cluster side is for (`add --mode`)')
            [CompletionResult]::new('--aws-profile', '--aws-profile', [CompletionResultType]::ParameterName, 'AWS profile for the klanker account')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'Region for the klanker-side STS/IAM calls')
            [CompletionResult]::new('--klanker-account', '--klanker-account', [CompletionResultType]::ParameterName, 'The klanker account ID the profile must land in')
            [CompletionResult]::new('--allow-policy-arn', '--allow-policy-arn', [CompletionResultType]::ParameterName, 'Managed policy `add --policy-arn` may attach besides km-operator-policy (repeatable)')
            [CompletionResult]::new('--permissions-boundary', '--permissions-boundary', [CompletionResultType]::ParameterName, 'Permissions boundary every role must be created with (`add --permissions-boundary`)')
            [CompletionResult]::new('--cluster-permissions-boundary', '--cluster-permissions-boundary', [CompletionResultType]::ParameterName, 'Chained and pod-identity modes: the boundary every km-irsa-* or km-podid-* role must carry, in the cluster account (default: its policy/km-irsa-boundary)')
            [CompletionResult]::new('--cluster-account', '--cluster-account', [CompletionResultType]::ParameterName, 'Cluster account ID (default: from the context''s cluster ARN)')
            [CompletionResult]::new('--cluster-name', '--cluster-name', [CompletionResultType]::ParameterName, 'EKS cluster name (default: from the context, else `*`)')
            [CompletionResult]::new('--cluster-region', '--cluster-region', [CompletionResultType]::ParameterName, 'EKS cluster region (default: from the context, else `*`)')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'Namespace of the onboarding''s ServiceAccount (default: the context''s namespace)')
            [CompletionResult]::new('--namespace', '--namespace', [CompletionResultType]::ParameterName, 'Namespace of the onboarding''s ServiceAccount (default: the context''s namespace)')
            [CompletionResult]::new('--service-account', '--service-account', [CompletionResultType]::ParameterName, 'ServiceAccount the RBAC may write and request tokens for (repeatable; default: km)')
            [CompletionResult]::new('--config-map-name', '--config-map-name', [CompletionResultType]::ParameterName, 'Chained mode: the ConfigMap with the pods'' AWS profile chain the RBAC may write (`add --config-map-name`; default: km-aws-config)')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'Bind the RBAC to this Kubernetes user (default: the group klanker-trust-admins)')
            [CompletionResult]::new('--group', '--group', [CompletionResultType]::ParameterName, 'Bind the RBAC to this Kubernetes group (default: klanker-trust-admins)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format: text (commented), raw JSON documents, or YAML (RBAC only)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: text (commented), raw JSON documents, or YAML (RBAC only)')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Path of the kubeconfig file')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'Kubeconfig context to use (default: the current one)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Path of km-config.yaml')
            [CompletionResult]::new('--request-timeout', '--request-timeout', [CompletionResultType]::ParameterName, 'How long one AWS or Kubernetes request may take')
            [CompletionResult]::new('--mfa-code', '--mfa-code', [CompletionResultType]::ParameterName, 'Code of the profile''s MFA device')
            [CompletionResult]::new('--create-namespace', '--create-namespace', [CompletionResultType]::ParameterName, 'Also allow creating the namespace (`add --create-namespace`)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log each step and each AWS/Kubernetes call')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log each step and each AWS/Kubernetes call')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'kubectl-klanker_trust;completion' {
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Path of the kubeconfig file')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'Kubeconfig context to use (default: the current one)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Path of km-config.yaml')
            [CompletionResult]::new('--request-timeout', '--request-timeout', [CompletionResultType]::ParameterName, 'How long one AWS or Kubernetes request may take')
            [CompletionResult]::new('--mfa-code', '--mfa-code', [CompletionResultType]::ParameterName, 'Code of the profile''s MFA device')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log each step and each AWS/Kubernetes call')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log each step and each AWS/Kubernetes call')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'kubectl-klanker_trust;version' {
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Path of the kubeconfig file')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'Kubeconfig context to use (default: the current one)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Path of km-config.yaml')
            [CompletionResult]::new('--request-timeout', '--request-timeout', [CompletionResultType]::ParameterName, 'How long one AWS or Kubernetes request may take')
            [CompletionResult]::new('--mfa-code', '--mfa-code', [CompletionResultType]::ParameterName, 'Code of the profile''s MFA device')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log each step and each AWS/Kubernetes call')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log each step and each AWS/Kubernetes call')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'kubectl-klanker_trust;help' {
            [CompletionResult]::new('add', 'add', [CompletionResultType]::ParameterValue, 'Onboard the current context''s cluster: OIDC provider, role, policy, ServiceAccount')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List every onboarded cluster in the klanker account, and drift')
            [CompletionResult]::new('rm', 'rm', [CompletionResultType]::ParameterValue, 'Remove an onboarding: role, owned and unused OIDC provider, ServiceAccount, km-config entry')
            [CompletionResult]::new('verify', 'verify', [CompletionResultType]::ParameterValue, 'Prove the trust works end to end, or say which link is broken')
            [CompletionResult]::new('describe', 'describe', [CompletionResultType]::ParameterValue, 'Show the live state of one onboarding: role, trust policy, policies, provider, ServiceAccounts, drift')
            [CompletionResult]::new('audit', 'audit', [CompletionResultType]::ParameterValue, 'Find weak workload-identity trusts in an account (IRSA, chained, Pod Identity) and print the fix; read-only')
            [CompletionResult]::new('policy', 'policy', [CompletionResultType]::ParameterValue, 'Print the least-privilege IAM policies (and RBAC) the two identities need')
            [CompletionResult]::new('completion', 'completion', [CompletionResultType]::ParameterValue, 'Print the shell completion script (see docs/install.md for installing it)')
            [CompletionResult]::new('version', 'version', [CompletionResultType]::ParameterValue, 'Print version, git commit and target')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'kubectl-klanker_trust;help;add' {
            break
        }
        'kubectl-klanker_trust;help;list' {
            break
        }
        'kubectl-klanker_trust;help;rm' {
            break
        }
        'kubectl-klanker_trust;help;verify' {
            break
        }
        'kubectl-klanker_trust;help;describe' {
            break
        }
        'kubectl-klanker_trust;help;audit' {
            break
        }
        'kubectl-klanker_trust;help;policy' {
            break
        }
        'kubectl-klanker_trust;help;completion' {
            break
        }
        'kubectl-klanker_trust;help;version' {
            break
        }
        'kubectl-klanker_trust;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
