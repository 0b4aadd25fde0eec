//! `km-config.yaml`: the local registry the `km` tool reads. Only the
//! `clusters:` list is ours; every other byte of the file is kept (see
//! `splice`). Writes are atomic (temp file + rename) and serialized across
//! processes by a lock file beside the file a symlink points at.

mod splice;

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_yaml::{Mapping, Value};

use crate::trust::TrustMode;

/// One `clusters:` entry, in the schema the `km` tool reads.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterEntry {
    pub name: String,
    pub oidc_provider_arn: String,
    pub namespace: String,
    pub service_account: String,
    pub role_arn: String,
    /// Written only for a mode other than the default, so the default
    /// mode's entries keep the schema the `km` tool has always read.
    #[serde(default, skip_serializing_if = "is_default")]
    pub mode: TrustMode,
    /// The cluster role (in the cluster's account), in a mode that has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_role_arn: Option<String>,
    /// Every trusted ServiceAccount as `namespace:name`, only when there
    /// are several (`namespace`/`service_account` keep the first, as the
    /// `km` tool reads them); absent in older entries and single ones.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub service_accounts: Vec<String>,
}

fn is_default(mode: &TrustMode) -> bool {
    *mode == Default::default()
}

/// Keys an entry has only in some modes: cleared before an upsert writes
/// the entry's current ones, so a mode switch leaves none stale.
const OPTIONAL_KEYS: [&str; 3] = ["mode", "cluster_role_arn", SERVICE_ACCOUNTS_KEY];

/// Which part of a removal is left to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PendingPart {
    /// The ServiceAccount in the cluster: the cluster could not be reached.
    Cluster,
}

/// An entry's `pending:` key: `rm` removed the IAM side but could not finish
/// the rest, so the entry stays with what a later `rm` needs (its
/// namespace, ServiceAccount and role ARN, and the cluster the onboarding
/// recorded, so that run acts on that cluster alone). The `km` tool adds
/// keys of its own to entries, so one more key keeps the schema it reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    pub part: PendingPart,
    /// The onboarding's recorded cluster (EKS cluster ARN or API server URL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    /// Its recorded API server URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// The ConfigMap's name, in a mode that writes one: only the removed
    /// role's tags recorded it (`--config-map-name`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_map: Option<String>,
}

/// The key of an entry's list of several ServiceAccounts.
const SERVICE_ACCOUNTS_KEY: &str = "service_accounts";

/// The key an entry's [`Pending`] record lives under.
const PENDING_KEY: &str = "pending";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The file exists but could not be read.
    #[error("could not read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The file is not km-config YAML; it is never overwritten.
    #[error(
        "{} is not valid km-config YAML ({problem}); it was left untouched. Fix or move the file, or point --config elsewhere.",
        path.display()
    )]
    Corrupt { path: PathBuf, problem: String },
    /// Writing the file back would touch more than its `clusters:` key.
    #[error(
        "{} cannot be rewritten without touching more than its `clusters:` key: {problem}; it was left untouched. Write `clusters:` as a plain top-level key of a block mapping, or point --config elsewhere.",
        path.display()
    )]
    Unwritable { path: PathBuf, problem: String },
    /// The file (or its temporary sibling) could not be written.
    #[error("could not write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Neither `--config`, `KM_CONFIG`, `XDG_CONFIG_HOME` nor `HOME` says where the file is.
    #[error(
        "there is no place for km-config.yaml: HOME and XDG_CONFIG_HOME are both unset. Pass --config PATH or set KM_CONFIG."
    )]
    NoLocation,
    /// Two `clusters:` entries share a name; writing would touch only one.
    #[error(
        "{} has more than one `clusters:` entry named {}; it was left untouched. Keep one entry per name (remove the others by hand), then re-run.",
        path.display(),
        names.join(", ")
    )]
    Duplicates { path: PathBuf, names: Vec<String> },
}

/// Default location when neither `--config` nor `KM_CONFIG` is set:
/// `$XDG_CONFIG_HOME/km/km-config.yaml`, else `~/.config/km/km-config.yaml`.
/// With neither variable set there is none: never the current directory.
pub fn default_path() -> Result<PathBuf, StoreError> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .map(|h| PathBuf::from(h).join(".config"))
        })
        .ok_or(StoreError::NoLocation)?;
    Ok(base.join("km").join("km-config.yaml"))
}

/// The store `--config` (or `KM_CONFIG`) names, else the default one.
pub fn open(config: Option<&Path>) -> Result<Store, StoreError> {
    match config {
        Some(path) => Ok(Store::new(path.to_path_buf())),
        None => default_path().map(Store::new),
    }
}

/// A UTF-8 byte-order mark, which some Windows editors put first.
const BOM: char = '\u{feff}';

/// The parsed file: the whole document (to keep unknown keys) and our entries.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Document {
    root: Mapping,
    /// The file started with a byte-order mark; it is written back with one.
    bom: bool,
    /// The text it was parsed from (after the mark): written back with only
    /// its `clusters:` block replaced. None for a file that did not exist.
    text: Option<String>,
}

impl Document {
    pub fn parse(text: &str) -> Result<Document, String> {
        let (bom, text) = match text.strip_prefix(BOM) {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let value: Value = serde_yaml::from_str(text).map_err(|e| e.to_string())?;
        let root = match value {
            Value::Null => Mapping::new(),
            Value::Mapping(m) => m,
            _ => return Err("the top level is not a mapping".into()),
        };
        let doc = Document {
            root,
            bom,
            text: Some(text.to_string()),
        };
        doc.clusters()?;
        Ok(doc)
    }

    /// Names that more than one `clusters:` entry carries.
    pub fn duplicate_names(&self) -> Vec<String> {
        let mut seen = std::collections::BTreeMap::<String, usize>::new();
        for entry in self.clusters().unwrap_or_default() {
            *seen.entry(entry.name).or_default() += 1;
        }
        seen.into_iter()
            .filter(|(_, count)| *count > 1)
            .map(|(name, _)| name)
            .collect()
    }

    /// Refuses, before anything is read elsewhere or written, a NAME that
    /// more than one entry carries: which one is meant cannot be guessed.
    /// When the command will write the file (`writes`), any doubled name,
    /// or a file whose `clusters:` block cannot be rewritten alone, refuses
    /// it, since the write at its end would fail after the other changes.
    pub fn refuse_ambiguous(
        &self,
        path: &Path,
        name: &str,
        writes: bool,
    ) -> Result<(), StoreError> {
        if writes {
            // The file's shape alone decides: a probe with `clusters:` written out.
            let mut probe = self.clone();
            probe.clusters_seq();
            probe.to_yaml().map_err(|problem| StoreError::Unwritable {
                path: path.to_path_buf(),
                problem,
            })?;
        }
        let doubled = self.duplicate_names();
        let names: Vec<String> = match writes {
            true => doubled,
            false => doubled.into_iter().filter(|n| n == name).collect(),
        };
        match names.is_empty() {
            true => Ok(()),
            false => Err(StoreError::Duplicates {
                path: path.to_path_buf(),
                names,
            }),
        }
    }

    /// The entries; an absent or null `clusters:` is an empty list.
    pub fn clusters(&self) -> Result<Vec<ClusterEntry>, String> {
        match self.root.get("clusters") {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(value) => serde_yaml::from_value(value.clone())
                .map_err(|e| format!("`clusters:` does not match the schema: {e}")),
        }
    }

    /// The klanker account the file expects (top-level `klanker_account:`),
    /// checked on every run when present. A number is read as its digits.
    pub fn klanker_account(&self) -> Option<String> {
        match self.root.get("klanker_account")? {
            Value::String(s) => Some(s.clone()),
            // Unquoted in YAML, a 12-digit ID is a number; zero-padded back.
            Value::Number(n) => n.as_u64().map(|n| format!("{n:012}")),
            _ => None,
        }
        .filter(|s| !s.is_empty())
    }

    pub fn get(&self, name: &str) -> Option<ClusterEntry> {
        self.clusters()
            .ok()?
            .into_iter()
            .find(|entry| entry.name == name)
    }

    /// The removal left pending on the entry `name`, if any. A `pending:`
    /// value this tool cannot read still means a removal is unfinished.
    pub fn pending(&self, name: &str) -> Option<Pending> {
        let list = match self.root.get("clusters") {
            Some(Value::Sequence(list)) => list,
            _ => return None,
        };
        let value = list
            .iter()
            .filter_map(Value::as_mapping)
            .find(|m| m.get("name").and_then(Value::as_str) == Some(name))?
            .get(PENDING_KEY)?;
        Some(serde_yaml::from_value(value.clone()).unwrap_or(Pending {
            part: PendingPart::Cluster,
            cluster: None,
            server: None,
            config_map: None,
        }))
    }

    /// Every entry with a removal pending, in file order.
    pub fn pending_entries(&self) -> Vec<(ClusterEntry, Pending)> {
        self.clusters()
            .unwrap_or_default()
            .into_iter()
            .filter_map(|entry| self.pending(&entry.name).map(|p| (entry, p)))
            .collect()
    }

    /// Writes `entry` (as `upsert`) marked with `pending`.
    pub fn mark_pending(&mut self, entry: &ClusterEntry, pending: &Pending) {
        self.upsert(entry);
        let Ok(record) = serde_yaml::to_value(pending) else {
            return;
        };
        if let Some(map) = self.entry_mut(&entry.name) {
            map.insert(Value::from(PENDING_KEY), record);
        }
    }

    fn entry_mut(&mut self, name: &str) -> Option<&mut Mapping> {
        self.clusters_seq()
            .iter_mut()
            .filter_map(Value::as_mapping_mut)
            .find(|m| m.get("name").and_then(Value::as_str) == Some(name))
    }

    /// Adds or replaces the entry with the same name, keeping its position and
    /// any extra keys on it that the `km` tool may have added. A fresh
    /// onboarding ends a pending removal of the name.
    pub fn upsert(&mut self, entry: &ClusterEntry) {
        let list = self.clusters_seq();
        let fields = match serde_yaml::to_value(entry) {
            Ok(Value::Mapping(m)) => m,
            _ => return,
        };
        let existing = list
            .iter_mut()
            .filter_map(Value::as_mapping_mut)
            .find(|m| m.get("name").and_then(Value::as_str) == Some(entry.name.as_str()));
        match existing {
            Some(map) => {
                map.remove(PENDING_KEY);
                for key in OPTIONAL_KEYS {
                    map.remove(key);
                }
                for (k, v) in fields {
                    map.insert(k, v);
                }
            }
            None => list.push(Value::Mapping(fields)),
        }
    }

    /// Removes the entry; true if there was one.
    pub fn remove(&mut self, name: &str) -> bool {
        let list = self.clusters_seq();
        let before = list.len();
        list.retain(|v| v.get("name").and_then(Value::as_str) != Some(name));
        before != list.len()
    }

    fn clusters_seq(&mut self) -> &mut Vec<Value> {
        let key = Value::from("clusters");
        if !matches!(self.root.get(&key), Some(Value::Sequence(_))) {
            self.root.insert(key.clone(), Value::Sequence(Vec::new()));
        }
        match self.root.get_mut(&key) {
            Some(Value::Sequence(seq)) => seq,
            _ => unreachable!("clusters was just set to a sequence"),
        }
    }

    /// The document as YAML: the parsed text with its `clusters:` block
    /// replaced, or the whole document for a new file. Fails (rather than
    /// writing something lossy) when that block cannot be told apart.
    pub fn to_yaml(&self) -> Result<String, String> {
        let text = match &self.text {
            Some(original) => splice::splice(original, &self.root)?,
            None => serde_yaml::to_string(&self.root).map_err(|e| e.to_string())?,
        };
        Ok(if self.bom {
            format!("{BOM}{text}")
        } else {
            text
        })
    }
}

/// The directory a file is in (`.` for a bare file name).
fn dir_of(path: &Path) -> &Path {
    path.parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// The file on disk.
#[derive(Debug, Clone)]
pub struct Store {
    path: PathBuf,
}

impl Store {
    pub fn new(path: PathBuf) -> Self {
        Self { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads the file; a missing file is an empty document.
    pub fn load(&self) -> Result<Document, StoreError> {
        match fs::read_to_string(&self.path) {
            Ok(text) => Document::parse(&text).map_err(|problem| StoreError::Corrupt {
                path: self.path.clone(),
                problem,
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Document::default()),
            Err(source) => Err(StoreError::Read {
                path: self.path.clone(),
                source,
            }),
        }
    }

    /// Read-modify-write under an exclusive lock, so concurrent runs never
    /// lose each other's entries. Returns whether the file changed.
    pub fn update(&self, change: impl FnOnce(&mut Document)) -> Result<bool, StoreError> {
        let write_err = |source| StoreError::Write {
            path: self.path.clone(),
            source,
        };
        fs::create_dir_all(dir_of(&self.path)).map_err(write_err)?;
        // A symlinked file (dotfile managers) is locked and written where it
        // lives, so runs through the link and through the target share one
        // lock, and the temp file is renamed over the target: the link stays.
        let target = match fs::symlink_metadata(&self.path) {
            Ok(meta) if meta.file_type().is_symlink() => {
                fs::canonicalize(&self.path).map_err(write_err)?
            }
            _ => self.path.clone(),
        };
        let lock_path = target.with_extension("yaml.lock");
        let lock = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(write_err)?;
        lock.lock().map_err(write_err)?;

        let mut doc = self.load()?;
        let duplicates = doc.duplicate_names();
        if !duplicates.is_empty() {
            return Err(StoreError::Duplicates {
                path: self.path.clone(),
                names: duplicates,
            });
        }
        let before = doc.clone();
        change(&mut doc);
        if doc == before {
            return Ok(false);
        }
        let text = doc.to_yaml().map_err(|problem| StoreError::Unwritable {
            path: self.path.clone(),
            problem,
        })?;
        let mut tmp = tempfile::NamedTempFile::new_in(dir_of(&target)).map_err(write_err)?;
        tmp.write_all(text.as_bytes()).map_err(write_err)?;
        tmp.as_file().sync_all().map_err(write_err)?;
        if let Ok(meta) = fs::metadata(&target) {
            // Keep the permissions of the file we replace (it may be private).
            fs::set_permissions(tmp.path(), meta.permissions()).map_err(write_err)?;
        }
        tmp.persist(&target).map_err(|e| write_err(e.error))?;
        Ok(true)
        // `lock` is released when dropped here.
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ENTRY: &str = "- name: a\n  oidc_provider_arn: arn:aws:iam::222222222222:oidc-provider/oidc.example.com/id/A\n  namespace: ai-pods\n  service_account: km\n  role_arn: arn:aws:iam::333333333333:role/km-cluster-a\n";

    #[test]
    fn a_byte_order_mark_is_read_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("km-config.yaml");
        fs::write(&path, format!("{BOM}region: x\nclusters:\n{ENTRY}")).unwrap();
        let store = Store::new(path.clone());
        assert_eq!(store.load().unwrap().get("a"), Some(entry("a")));
        assert!(store.update(|d| d.upsert(&entry("b"))).unwrap());
        let text = fs::read_to_string(&path).unwrap();
        assert!(text.starts_with(BOM), "{text:?}");
        assert_eq!(Document::parse(&text).unwrap().clusters().unwrap().len(), 2);
    }

    #[test]
    fn a_symlinked_file_is_written_through_and_the_link_kept() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("dotfiles").join("km-config.yaml");
        fs::create_dir_all(real.parent().unwrap()).unwrap();
        fs::write(&real, format!("clusters:\n{ENTRY}")).unwrap();
        let link = dir.path().join("km-config.yaml");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let store = Store::new(link.clone());
        assert!(store.update(|d| d.upsert(&entry("b"))).unwrap());
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        let through = Store::new(real.clone()).load().unwrap();
        assert_eq!(through.get("b"), Some(entry("b")));
        // One lock for both paths: beside the target, never beside the link.
        assert!(real.with_extension("yaml.lock").exists());
        assert!(!link.with_extension("yaml.lock").exists());
    }

    #[test]
    fn duplicate_names_are_reported_and_block_writes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("km-config.yaml");
        let text = format!("clusters:\n{ENTRY}{ENTRY}");
        fs::write(&path, &text).unwrap();
        let store = Store::new(path.clone());
        assert_eq!(store.load().unwrap().duplicate_names(), ["a"]);
        let refused = store.update(|d| {
            d.remove("a");
        });
        assert!(
            matches!(refused, Err(StoreError::Duplicates { ref names, .. }) if names == &["a"])
        );
        assert_eq!(
            fs::read_to_string(&path).unwrap(),
            text,
            "the file was touched"
        );
    }

    #[test]
    fn a_doubled_name_is_never_guessed_and_any_blocks_a_writer() {
        let text = format!(
            "clusters:\n{ENTRY}{ENTRY}{}",
            ENTRY.replace("name: a", "name: b")
        );
        let doc = Document::parse(&text).unwrap();
        let path = Path::new("/h/km-config.yaml");
        let refused = |name, writes| match doc.refuse_ambiguous(path, name, writes) {
            Err(StoreError::Duplicates { names, .. }) => names,
            Ok(()) => Vec::new(),
            Err(other) => panic!("{other}"),
        };
        assert_eq!(refused("a", false), ["a"]);
        assert!(refused("b", false).is_empty());
        assert_eq!(refused("b", true), ["a"]);
        let err = doc
            .refuse_ambiguous(path, "a", false)
            .unwrap_err()
            .to_string();
        assert!(err.contains("/h/km-config.yaml has more than one"), "{err}");
        // A shape whose `clusters:` cannot be rewritten alone stops a writer only.
        let flow = Document::parse("{a: 1}\n").unwrap();
        assert!(flow.refuse_ambiguous(path, "a", false).is_ok());
        let err = flow.refuse_ambiguous(path, "a", true).unwrap_err();
        assert!(matches!(err, StoreError::Unwritable { .. }), "{err}");
        let plain = Document::parse("a: 1 # c\nclusters:\n").unwrap();
        assert!(plain.refuse_ambiguous(path, "a", true).is_ok());
    }

    #[test]
    fn no_home_is_no_location() {
        // Only the decision, not the process environment: `open` with a path never needs one.
        assert!(open(Some(Path::new("/x/km-config.yaml"))).is_ok());
        assert!(
            StoreError::NoLocation
                .to_string()
                .contains("--config PATH or set KM_CONFIG")
        );
    }

    #[test]
    fn klanker_account_key_is_read_quoted_or_not() {
        let doc = Document::parse("klanker_account: \"033333333333\"\nclusters: []\n").unwrap();
        assert_eq!(doc.klanker_account().as_deref(), Some("033333333333"));
        let doc = Document::parse("klanker_account: 033333333333\n").unwrap();
        assert_eq!(doc.klanker_account().as_deref(), Some("033333333333"));
        assert_eq!(
            Document::parse("clusters: []\n").unwrap().klanker_account(),
            None
        );
    }

    fn entry(name: &str) -> ClusterEntry {
        ClusterEntry {
            name: name.into(),
            oidc_provider_arn: "arn:aws:iam::222222222222:oidc-provider/oidc.example.com/id/A"
                .into(),
            namespace: "ai-pods".into(),
            service_account: "km".into(),
            role_arn: format!("arn:aws:iam::333333333333:role/km-cluster-{name}"),
            ..ClusterEntry::default()
        }
    }

    #[test]
    fn missing_clusters_key_is_empty_and_other_keys_survive() {
        let mut doc = Document::parse("region: us-east-1\nnested: {a: [1, 2]}\n").unwrap();
        assert!(doc.clusters().unwrap().is_empty());
        doc.upsert(&entry("dev"));
        let text = doc.to_yaml().unwrap();
        let reparsed = Document::parse(&text).unwrap();
        assert_eq!(reparsed.clusters().unwrap(), vec![entry("dev")]);
        let v: Value = serde_yaml::from_str(&text).unwrap();
        assert_eq!(v["region"], Value::from("us-east-1"));
        assert_eq!(v["nested"]["a"][1], Value::from(2));
    }

    #[test]
    fn empty_and_null_documents() {
        assert!(Document::parse("").unwrap().clusters().unwrap().is_empty());
        assert!(
            Document::parse("clusters:\n")
                .unwrap()
                .clusters()
                .unwrap()
                .is_empty()
        );
        assert!(Document::parse("- a\n").is_err());
        assert!(Document::parse("clusters: 5\n").is_err());
        assert!(Document::parse("clusters: [{name: x}]\n").is_err());
        assert!(Document::parse("a: [\n").is_err());
    }

    #[test]
    fn upsert_replaces_in_place_keeping_extra_entry_keys() {
        let mut doc = Document::default();
        doc.upsert(&entry("a"));
        doc.upsert(&entry("b"));
        let mut changed = entry("a");
        changed.namespace = "other".into();
        let text = doc
            .to_yaml()
            .unwrap()
            .replace("name: a\n", "name: a\n  extra: kept\n");
        let mut doc = Document::parse(&text).unwrap();
        doc.upsert(&changed);
        assert_eq!(doc.clusters().unwrap(), vec![changed, entry("b")]);
        assert!(doc.to_yaml().unwrap().contains("extra: kept"));
    }

    fn pending() -> Pending {
        Pending {
            part: PendingPart::Cluster,
            cluster: Some("arn:aws:eks:us-east-1:222222222222:cluster/a".into()),
            server: None,
            config_map: None,
        }
    }

    #[test]
    fn a_pending_mark_round_trips_keeps_the_entry_and_a_fresh_upsert_ends_it() {
        let mut doc = Document::parse(&format!("clusters:\n{ENTRY}")).unwrap();
        assert_eq!(doc.pending("a"), None);
        doc.mark_pending(&entry("a"), &pending());
        let text = doc.to_yaml().unwrap();
        assert!(
            text.contains("pending:\n    part: cluster\n    cluster: arn:aws:eks:"),
            "{text}"
        );
        let doc = Document::parse(&text).unwrap();
        // Still an ordinary entry to anything that reads only the schema.
        assert_eq!(doc.get("a"), Some(entry("a")));
        assert_eq!(doc.pending("a"), Some(pending()));
        assert_eq!(doc.pending_entries(), vec![(entry("a"), pending())]);
        let mut doc = doc;
        doc.upsert(&entry("a"));
        assert_eq!(doc.pending("a"), None);
        assert!(doc.pending_entries().is_empty());
    }

    #[test]
    fn marking_an_absent_entry_adds_it_and_an_unreadable_mark_still_counts() {
        let mut doc = Document::default();
        doc.mark_pending(&entry("b"), &pending());
        assert_eq!(doc.get("b"), Some(entry("b")));
        assert_eq!(doc.pending("b"), Some(pending()));
        let text = format!("clusters:\n{ENTRY}  pending: cluster\n");
        let doc = Document::parse(&text).unwrap();
        assert_eq!(doc.pending("a").map(|p| p.part), Some(PendingPart::Cluster));
        assert_eq!(doc.pending("zz"), None);
    }

    #[test]
    fn remove_entry() {
        let mut doc = Document::default();
        doc.upsert(&entry("a"));
        doc.upsert(&entry("b"));
        assert!(doc.remove("a"));
        assert!(!doc.remove("a"));
        assert_eq!(doc.clusters().unwrap(), vec![entry("b")]);
        assert_eq!(doc.get("b"), Some(entry("b")));
    }

    #[test]
    fn store_writes_atomically_and_reports_no_change() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("km-config.yaml");
        let store = Store::new(path.clone());
        assert!(store.load().unwrap().clusters().unwrap().is_empty());
        assert!(store.update(|d| d.upsert(&entry("a"))).unwrap());
        assert!(!store.update(|d| d.upsert(&entry("a"))).unwrap());
        assert_eq!(store.load().unwrap().get("a"), Some(entry("a")));
    }

    #[test]
    fn a_document_that_cannot_be_written_back_is_left_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("km-config.yaml");
        let text = "{settings: 1, clusters: []}\n";
        fs::write(&path, text).unwrap();
        let err = Store::new(path.clone())
            .update(|d| d.upsert(&entry("a")))
            .unwrap_err();
        assert!(matches!(err, StoreError::Unwritable { .. }), "{err}");
        assert_eq!(fs::read_to_string(&path).unwrap(), text);
    }

    #[test]
    fn corrupt_file_is_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("km-config.yaml");
        fs::write(&path, "clusters: [\n").unwrap();
        let store = Store::new(path.clone());
        let err = store.update(|d| d.upsert(&entry("a"))).unwrap_err();
        assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
        assert_eq!(fs::read_to_string(&path).unwrap(), "clusters: [\n");
    }

    #[test]
    fn the_service_accounts_list_is_written_only_for_several_and_dropped_back_to_one() {
        let mut doc = Document::parse(&format!("clusters:\n{ENTRY}")).unwrap();
        // An entry written before the key existed reads as no list.
        assert!(doc.get("a").unwrap().service_accounts.is_empty());
        assert_eq!(
            doc.to_yaml().unwrap().matches("service_accounts").count(),
            0
        );
        let mut several = entry("a");
        several.service_accounts = vec!["ai-pods:km".into(), "ci:b".into()];
        doc.upsert(&several);
        let text = doc.to_yaml().unwrap();
        assert!(
            text.contains("service_accounts:\n  - ai-pods:km\n  - ci:b\n"),
            "{text}"
        );
        assert_eq!(Document::parse(&text).unwrap().get("a"), Some(several));
        doc.upsert(&entry("a"));
        let text = doc.to_yaml().unwrap();
        assert!(!text.contains("service_accounts"), "{text}");
        assert_eq!(Document::parse(&text).unwrap().get("a"), Some(entry("a")));
    }
}
