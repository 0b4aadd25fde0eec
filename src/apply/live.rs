//! The real targets of the executor: each `Op` as the adapters' calls in
//! the klanker account's IAM, the cluster account's IAM, the cluster and
//! km-config.yaml.

use super::Apply;
use crate::aws::eks::{self, AssociationSpec};
use crate::aws::iam::{self, Applied};
use crate::aws::{AwsError, ClusterClients, Side};
use crate::error::Error;
use crate::k8s::{self, Cluster};
use crate::plan::{ExternalIdPin, Op, Target, pin_external_id};
use crate::store::Store;

/// What a pin step writes: the role's trust, with the statements to pin.
struct Pin<'a> {
    role: &'a str,
    owner: &'a str,
    cluster: &'a str,
    trust_policy: &'a serde_json::Value,
    pins: &'a [ExternalIdPin],
}

/// The real targets, built once by the command and passed in.
pub struct Live<'a> {
    pub iam: &'a aws_sdk_iam::Client,
    /// The cluster account's IAM (a cluster role) and EKS (Pod Identity),
    /// when the plan touches them.
    pub cluster_account: Option<&'a ClusterClients>,
    pub cluster: Option<&'a Cluster<'a>>,
    pub store: &'a Store,
}

impl Apply for Live<'_> {
    async fn apply(&self, target: Target, op: &Op, dry_run: bool) -> Result<Option<String>, Error> {
        match op {
            Op::CreateNamespace { .. }
            | Op::ApplyServiceAccount { .. }
            | Op::ApplyConfigMap { .. }
            | Op::DeleteConfigMap { .. }
            | Op::ReleaseServiceAccount { .. }
            | Op::DeleteServiceAccount { .. } => self.cluster_op(op, dry_run).await,
            Op::WriteConfigEntry { .. }
            | Op::RemoveConfigEntry { .. }
            | Op::MarkConfigEntryPending { .. } => self.store_op(op).map(|()| None),
            Op::CreateAssociation { .. }
            | Op::UpdateAssociation { .. }
            | Op::DeleteAssociation { .. }
            | Op::PinExternalIds { .. } => self.eks_op(op, dry_run).await,
            op => {
                let (iam, side) = match (target, self.cluster_account) {
                    (Target::ClusterIam, Some(cluster)) => (&cluster.iam, Side::Cluster),
                    (Target::ClusterIam, None) => return Err(Error::NoClusterClient),
                    _ => (self.iam, Side::Klanker),
                };
                match iam_call(iam, op).await.map_err(|e| e.on_side(side))? {
                    Applied::Skipped(why) => Ok(Some(why)),
                    Applied::Done => Ok(None),
                }
            }
        }
    }
}

impl Live<'_> {
    /// A cluster step; with `dry_run`, as a server-side dry run. A plan only
    /// holds cluster steps when the command built a client.
    async fn cluster_op(&self, op: &Op, dry_run: bool) -> Result<Option<String>, Error> {
        let live = self.cluster.ok_or(Error::NoClusterClient)?;
        let dry = Cluster {
            dry_run: true,
            ..*live
        };
        let cluster = if dry_run { &dry } else { live };
        match op {
            Op::CreateNamespace { name } => cluster.create_namespace(name).await?,
            Op::ApplyServiceAccount {
                namespace,
                name,
                annotations,
                labels,
                force,
                create,
            } => {
                let account = k8s::service_account(namespace, name, annotations, labels);
                match create {
                    true => cluster.create_service_account(&account).await?,
                    false => cluster.apply_service_account(&account, *force).await?,
                }
            }
            Op::ApplyConfigMap {
                namespace,
                name,
                onboarding,
                data,
                create,
            } => {
                let map = k8s::config_map(namespace, name, onboarding, data);
                match create {
                    true => cluster.create_config_map(&map).await?,
                    false => cluster.apply_config_map(&map).await?,
                }
            }
            Op::DeleteConfigMap {
                namespace,
                name,
                onboarding,
            } => {
                let deleted = cluster.delete_config_map_if_ours(namespace, name, onboarding);
                return Ok(deleted.await?);
            }
            Op::ReleaseServiceAccount { namespace, name } => {
                cluster.release_service_account(namespace, name).await?
            }
            Op::DeleteServiceAccount {
                namespace,
                name,
                role_arn,
            } => {
                let deleted = cluster.delete_service_account_if_ours(namespace, name, role_arn);
                return Ok(deleted.await?);
            }
            _ => {}
        }
        Ok(None)
    }

    /// A Pod Identity step in EKS (the pin writes the klanker role's trust
    /// with what EKS tells). A dry run only reads: EKS has no dry run.
    async fn eks_op(&self, op: &Op, dry_run: bool) -> Result<Option<String>, Error> {
        let eks = &self.cluster_account.ok_or(Error::NoClusterClient)?.eks;
        if dry_run {
            return Ok(None);
        }
        let applied = match op {
            Op::CreateAssociation {
                cluster,
                namespace,
                service_account,
                role_arn,
                target_role_arn,
                session_tags,
                tags,
            } => {
                let spec = AssociationSpec::new(role_arn, target_role_arn, *session_tags);
                let pair = (namespace.as_str(), service_account.as_str());
                eks::create_association(eks, cluster, pair, &spec, tags).await?
            }
            Op::UpdateAssociation {
                cluster,
                id,
                role_arn,
                target_role_arn,
                session_tags,
                owner,
                tags,
            } => {
                let spec = AssociationSpec::new(role_arn, target_role_arn, *session_tags);
                let owner = (owner.as_deref(), tags.as_ref());
                eks::update_association(eks, cluster, id, &spec, owner).await?
            }
            Op::DeleteAssociation { cluster, id, owner } => {
                eks::delete_association(eks, cluster, id, owner).await?
            }
            Op::PinExternalIds {
                role,
                owner,
                cluster,
                trust_policy,
                pins,
                pairs,
                tag,
            } => {
                let pin = Pin {
                    role,
                    owner,
                    cluster,
                    trust_policy,
                    pins,
                };
                self.pin_external_ids(eks, &pin, (pairs, tag)).await?
            }
            _ => Applied::Done,
        };
        Ok(match applied {
            Applied::Skipped(why) => Some(why),
            Applied::Done => None,
        })
    }

    /// Each association read fresh: its external ID pinned in its statement,
    /// the trust written once, then the role tagged with every association
    /// of `pairs` in their order.
    async fn pin_external_ids(
        &self,
        eks: &aws_sdk_eks::Client,
        pin: &Pin<'_>,
        (pairs, tag): (&[(String, String)], &str),
    ) -> Result<Applied, Error> {
        let on_cluster = |e: AwsError| e.on_side(Side::Cluster);
        let on_klanker = |e: AwsError| e.on_side(Side::Klanker);
        // The plan may be minutes old: the role must still be this onboarding's.
        if !iam::check_role_of(self.iam, pin.role, pin.owner)
            .await
            .map_err(on_klanker)?
        {
            return Ok(Applied::Skipped(format!(
                "role {} is gone (checked right before pinning its trust)",
                pin.role
            )));
        }
        // One read of the cluster's associations for every pair, fresh.
        let (_, found) = eks::associations_of(eks, pin.cluster, pairs)
            .await
            .map_err(on_cluster)?;
        let mut trust = pin.trust_policy.clone();
        let mut ids = Vec::new();
        for (namespace, service_account) in pairs {
            let found = found
                .iter()
                .find(|a| a.namespace == *namespace && a.service_account == *service_account);
            let statement = pin
                .pins
                .iter()
                .find(|p| p.namespace == *namespace && p.service_account == *service_account);
            match (statement, found.and_then(|a| a.external_id.as_deref())) {
                (Some(p), Some(id)) => pin_external_id(&mut trust, p.statement, id),
                (Some(_), None) => {
                    return Err(Error::ExternalIdMissing {
                        cluster: pin.cluster.to_string(),
                        service_account: format!("{namespace}/{service_account}"),
                    });
                }
                (None, _) => {}
            }
            ids.extend(found.map(|a| a.id.clone()));
        }
        iam::update_trust_policy(self.iam, pin.role, &trust)
            .await
            .map_err(on_klanker)?;
        let tags = std::collections::BTreeMap::from([(tag.to_string(), ids.join(" "))]);
        Ok(iam::tag_role(self.iam, pin.role, &tags)
            .await
            .map_err(on_klanker)?)
    }

    /// A km-config.yaml step.
    fn store_op(&self, op: &Op) -> Result<(), Error> {
        match op {
            Op::WriteConfigEntry { entry } => {
                self.store.update(|doc| doc.upsert(entry))?;
            }
            Op::RemoveConfigEntry { name } => {
                self.store.update(|doc| {
                    doc.remove(name);
                })?;
            }
            Op::MarkConfigEntryPending { entry, pending } => {
                self.store.update(|doc| doc.mark_pending(entry, pending))?;
            }
            _ => {}
        }
        Ok(())
    }
}

/// One IAM step, as the adapter's calls.
async fn iam_call(iam: &aws_sdk_iam::Client, op: &Op) -> Result<Applied, AwsError> {
    match op {
        Op::CreateProvider {
            url,
            client_ids,
            tags,
        } => iam::create_provider(iam, url, client_ids, tags).await,
        Op::AddProviderClientId { arn, client_id } => {
            iam::add_provider_client_id(iam, arn, client_id).await
        }
        Op::CreateRole {
            name,
            trust_policy,
            max_session,
            description,
            tags,
            permissions_boundary,
        } => {
            let role = iam::NewRole {
                name,
                trust_policy,
                max_session: *max_session,
                description,
                tags,
                permissions_boundary: permissions_boundary.as_deref(),
            };
            iam::create_role(iam, &role).await
        }
        Op::UpdateTrustPolicy { role, trust_policy } => {
            iam::update_trust_policy(iam, role, trust_policy).await
        }
        Op::UpdateRole {
            role,
            max_session,
            description,
        } => iam::update_role(iam, role, *max_session, description).await,
        Op::TagRole { role, tags } => iam::tag_role(iam, role, tags).await,
        Op::PutPermissionsBoundary { role, arn } => {
            iam::put_permissions_boundary(iam, role, arn).await
        }
        Op::DeletePermissionsBoundary { role } => iam::delete_permissions_boundary(iam, role).await,
        Op::AttachPolicy { role, arn } => iam::attach_policy(iam, role, arn).await,
        Op::PutInlinePolicy {
            role,
            name,
            document,
        } => iam::put_inline_policy(iam, role, name, document).await,
        Op::DetachPolicy { role, arn, owner } => {
            iam::detach_policy(iam, role, arn, owner.as_deref()).await
        }
        Op::DeleteInlinePolicy { role, name, owner } => {
            iam::delete_inline_policy(iam, role, name, owner.as_deref()).await
        }
        Op::RemoveRoleFromInstanceProfile {
            role,
            profile,
            owner,
        } => iam::remove_role_from_instance_profile(iam, role, profile, owner.as_deref()).await,
        Op::DeleteRole { role, owner } => iam::delete_role(iam, role, owner).await,
        Op::DeleteProvider { arn } => iam::delete_provider(iam, arn).await,
        // Not IAM's: `Live::apply` routes these to the cluster, EKS and the file.
        Op::CreateNamespace { .. }
        | Op::ApplyServiceAccount { .. }
        | Op::ApplyConfigMap { .. }
        | Op::DeleteConfigMap { .. }
        | Op::WriteConfigEntry { .. }
        | Op::DeleteServiceAccount { .. }
        | Op::ReleaseServiceAccount { .. }
        | Op::RemoveConfigEntry { .. }
        | Op::MarkConfigEntryPending { .. }
        | Op::CreateAssociation { .. }
        | Op::UpdateAssociation { .. }
        | Op::DeleteAssociation { .. }
        | Op::PinExternalIds { .. } => Ok(Applied::Done),
    }
}
