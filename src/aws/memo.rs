//! Account-wide reads made once per run: a fleet plans many clusters
//! against one klanker account (and a few cluster accounts), and each plan
//! would otherwise ask the same account for the same identity, providers,
//! policies and quotas. These are planning reads only: every write and
//! every ownership check before a destructive call reads afresh.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::OnceCell;

use crate::plan::quota::QuotaUnread;

/// One value per key, read by the first caller; the others wait for that
/// read instead of sending their own. A failed read is not kept: the next
/// caller reads again, so one cluster's failure is not every cluster's.
#[derive(Debug)]
pub struct Memo<K, V> {
    cells: Mutex<HashMap<K, Arc<OnceCell<V>>>>,
}

impl<K, V> Default for Memo<K, V> {
    fn default() -> Self {
        Self {
            cells: Mutex::new(HashMap::new()),
        }
    }
}

impl<K: Eq + Hash, V: Clone> Memo<K, V> {
    /// The value for `key`, from `read` unless already read (or being read).
    pub async fn get<E, F>(&self, key: K, read: impl FnOnce() -> F) -> Result<V, E>
    where
        F: Future<Output = Result<V, E>>,
    {
        // The map is held for the lookup only, never across the read.
        let cell = Arc::clone(
            self.cells
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .entry(key)
                .or_default(),
        );
        cell.get_or_try_init(read).await.cloned()
    }
}

/// The reads of one account (as one set of credentials sees it) that do
/// not depend on the cluster.
#[derive(Debug, Default)]
pub struct AccountReads {
    /// sts:GetCallerIdentity: (account, caller ARN).
    pub caller: Memo<(), (String, String)>,
    /// iam:ListOpenIDConnectProviders.
    pub providers: Memo<(), Vec<String>>,
    /// iam:GetPolicy, by policy ARN: whether it exists.
    pub policies: Memo<String, bool>,
    /// iam:GetAccountSummary's role count.
    pub roles: Memo<(), usize>,
    /// servicequotas:GetServiceQuota, by quota code. An unread quota is
    /// kept too: its default stands for the run, and a second cluster does
    /// not wait out the same timeout.
    pub quotas: Memo<&'static str, Result<f64, QuotaUnread>>,
}

/// Every account's reads of the run, by how its clients reach it.
#[derive(Debug, Default)]
pub struct Accounts {
    by_source: Mutex<HashMap<String, Arc<AccountReads>>>,
}

impl Accounts {
    /// The reads shared by the clients built from `source` (the side, the
    /// profile, the region and any role assumed: the same credentials).
    pub fn of(&self, source: String) -> Arc<AccountReads> {
        let mut by_source = self
            .by_source
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        Arc::clone(by_source.entry(source).or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn concurrent_callers_share_one_read() {
        let memo: Memo<(), usize> = Memo::default();
        let reads = AtomicUsize::new(0);
        let read = || async {
            reads.fetch_add(1, Ordering::SeqCst);
            tokio::task::yield_now().await;
            Ok::<_, ()>(7)
        };
        let (a, b, c) = tokio::join!(memo.get((), read), memo.get((), read), memo.get((), read));
        assert_eq!((a, b, c), (Ok(7), Ok(7), Ok(7)));
        assert_eq!(reads.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_failed_read_is_read_again() {
        let memo: Memo<String, bool> = Memo::default();
        let failed = memo.get("p".into(), || async { Err::<bool, _>("throttled") });
        assert_eq!(failed.await, Err("throttled"));
        let read = memo.get("p".into(), || async { Ok::<_, &str>(true) });
        assert_eq!(read.await, Ok(true));
        let kept = memo.get("p".into(), || async { Ok::<_, &str>(false) });
        assert_eq!(kept.await, Ok(true), "the first good read stands");
    }

    #[test]
    fn sources_are_kept_apart() {
        let accounts = Accounts::default();
        let a = accounts.of("klanker|p|us-east-1".into());
        assert!(Arc::ptr_eq(&a, &accounts.of("klanker|p|us-east-1".into())));
        assert!(!Arc::ptr_eq(&a, &accounts.of("klanker|p|eu-west-1".into())));
    }
}
