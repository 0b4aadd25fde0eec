//! Distribution: `scripts/release` packages the archive and renders the krew
//! manifest from `krew/klanker-trust.yaml.tmpl`; krew itself (built from its
//! Go module by scripts/test-env) judges and installs it:
//! `validate-krew-manifest` (krew's own checker, what krew-index's CI runs)
//! for krew's rules, then `kubectl krew install --manifest=... --archive=...`
//! into a throwaway KREW_ROOT, `kubectl klanker-trust` through the installed
//! copy, and `kubectl krew uninstall`. This file checks only the rules that
//! are this plugin's own (five platforms, the binary name kubectl needs, the
//! licence installed, the caveats) and krew-index's review rules that krew's
//! code does not hold.
//!
//! The packaging test wraps the debug binary `cargo build` already made
//! (`--binary`), stripped as the release profile strips: a release build
//! takes minutes on two cores, and what this test guards (archive layout,
//! sha256, manifest) does not depend on the optimisation level. The real
//! release build is `release_build_end_to_end`, ignored by default:
//! `cargo test --test e2e krew -- --ignored`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde::Deserialize;

const PLUGIN: &str = "klanker-trust";
const BIN: &str = "kubectl-klanker_trust";
const PLATFORMS: [(&str, &str); 5] = [
    ("linux", "amd64"),
    ("linux", "arm64"),
    ("darwin", "amd64"),
    ("darwin", "arm64"),
    ("windows", "amd64"),
];

// The manifest, strictly: an unknown or misspelt field is an error, as it is for krew.
// Fields only krew judges (apiVersion, kind, selectors) are parsed, not read here.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[allow(dead_code)]
struct Manifest {
    api_version: String,
    kind: String,
    metadata: Metadata,
    spec: Spec,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Metadata {
    name: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[allow(dead_code)]
struct Spec {
    version: String,
    homepage: Option<String>,
    short_description: String,
    description: Option<String>,
    caveats: Option<String>,
    platforms: Vec<Platform>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Platform {
    selector: Option<Selector>,
    uri: String,
    sha256: String,
    bin: String,
    files: Option<Vec<FileOp>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[allow(dead_code)]
struct Selector {
    match_labels: Option<BTreeMap<String, String>>,
    match_expressions: Option<Vec<serde_yaml::Value>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileOp {
    from: String,
    to: String,
}

impl Platform {
    fn os_arch(&self) -> (String, String) {
        let labels = self
            .selector
            .as_ref()
            .and_then(|s| s.match_labels.clone())
            .unwrap_or_default();
        (
            labels.get("os").cloned().unwrap_or_default(),
            labels.get("arch").cloned().unwrap_or_default(),
        )
    }
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn tag() -> String {
    format!("v{}", env!("CARGO_PKG_VERSION"))
}

fn archive_name(os: &str, arch: &str) -> String {
    format!("{BIN}-{}-{os}-{arch}.tar.gz", tag())
}

/// krew's os/arch names (Go's) for the machine running the tests.
fn host_platform() -> (&'static str, &'static str) {
    let os = match std::env::consts::OS {
        "macos" => "darwin",
        other => other,
    };
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    };
    assert!(
        PLATFORMS.contains(&(os, arch)),
        "the host {os}/{arch} is not a platform the manifest lists"
    );
    (os, arch)
}

fn sha256_hex(bytes: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, bytes)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn sha256_file(path: &Path) -> String {
    sha256_hex(&std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
}

fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("could not run {cmd:?}: {e}"))
}

#[track_caller]
fn assert_success(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what} failed ({})\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn release() -> Command {
    let mut cmd = Command::new(repo().join("scripts/release"));
    cmd.current_dir(repo());
    cmd
}

fn parse(path: &Path) -> Manifest {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}\n{text}", path.display()))
}

/// Semantic versioning 2.0.0 with the `v` prefix krew requires.
fn is_semver_v(version: &str) -> bool {
    let Some(rest) = version.strip_prefix('v') else {
        return false;
    };
    let (rest, build) = rest
        .split_once('+')
        .map_or((rest, None), |(a, b)| (a, Some(b)));
    let (core, pre) = rest
        .split_once('-')
        .map_or((rest, None), |(a, b)| (a, Some(b)));
    let identifiers_ok = |s: &str| {
        s.split('.')
            .all(|id| !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
    };
    let numbers: Vec<&str> = core.split('.').collect();
    numbers.len() == 3
        && numbers.iter().all(|n| {
            !n.is_empty()
                && n.chars().all(|c| c.is_ascii_digit())
                && (n.len() == 1 || !n.starts_with('0'))
        })
        && pre.is_none_or(identifiers_ok)
        && build.is_none_or(identifiers_ok)
}

/// The name of the link krew puts in `$KREW_ROOT/bin` for a plugin name.
fn krew_link_name(plugin: &str) -> String {
    format!("kubectl-{}", plugin.replace('-', "_"))
}

/// What is wrong with the manifest by this plugin's own rules (krew's are
/// judged by krew: `krew_validate`): the plugin name and the link kubectl
/// needs, five platforms each with its archive, binary and licence, caveats
/// that say which credentials it needs.
fn problems(m: &Manifest) -> Vec<String> {
    let mut problems = Vec::new();
    let mut check = |ok: bool, problem: String| {
        if !ok {
            problems.push(problem);
        }
    };
    let name = &m.metadata.name;
    check(name == PLUGIN, format!("name {name:?} is not {PLUGIN}"));
    check(
        krew_link_name(name) == BIN,
        format!(
            "krew links {name:?} as {}, but kubectl needs {BIN}",
            krew_link_name(name)
        ),
    );
    let spec = &m.spec;
    // krew only needs a parseable version; a release tag is strict semver.
    check(
        is_semver_v(&spec.version),
        format!("version {:?} is not semver with a v prefix", spec.version),
    );
    check(
        // krew-index's review rule, which krew's code does not hold: at most 50 characters.
        spec.short_description.trim().chars().count() <= 50,
        format!(
            "shortDescription {:?} is longer than 50 characters",
            spec.short_description
        ),
    );
    check(
        spec.description
            .as_deref()
            .is_some_and(|d| !d.trim().is_empty()),
        "description is missing".into(),
    );
    check(
        spec.homepage
            .as_deref()
            .is_some_and(|h| h.starts_with("https://")),
        format!("homepage {:?} is not an https URL", spec.homepage),
    );
    let caveats = spec.caveats.as_deref().unwrap_or_default();
    for needed in [
        "eks:DescribeCluster",
        "klanker-application",
        "kubectl klanker-trust policy",
    ] {
        check(
            caveats.contains(needed),
            format!("caveats do not mention {needed}"),
        );
    }
    let mut seen = BTreeSet::new();
    for p in &spec.platforms {
        let (os, arch) = p.os_arch();
        let at = format!("platform {os}/{arch}");
        check(
            seen.insert((os.clone(), arch.clone())),
            format!("{at}: listed twice"),
        );
        check(
            p.uri.starts_with("https://") && p.uri.ends_with(&archive_name(&os, &arch)),
            format!(
                "{at}: uri {} is not https://.../{}",
                p.uri,
                archive_name(&os, &arch)
            ),
        );
        check(
            p.uri.contains(&format!("/{}/", spec.version)),
            format!("{at}: uri {} is not the release of {}", p.uri, spec.version),
        );
        let bin = if os == "windows" {
            format!("{BIN}.exe")
        } else {
            BIN.to_string()
        };
        check(
            p.bin == bin,
            format!("{at}: bin {:?} is not {bin:?}", p.bin),
        );
        let files = p.files.as_deref().unwrap_or_default();
        for needed in [bin.as_str(), "LICENSE"] {
            check(
                files.iter().any(|f| f.from == needed && f.to == "."),
                format!("{at}: files does not install {needed}"),
            );
        }
    }
    let expected: BTreeSet<(String, String)> = PLATFORMS
        .iter()
        .map(|(o, a)| (o.to_string(), a.to_string()))
        .collect();
    check(
        seen == expected,
        format!("platforms {seen:?} are not {expected:?}"),
    );
    problems
}

#[track_caller]
fn assert_valid(path: &Path) {
    if let Err(refusal) = krew_validate(&std::fs::read_to_string(path).unwrap()) {
        panic!("krew refuses the manifest:\n{refusal}");
    }
    let m = parse(path);
    let problems = problems(&m);
    assert!(
        problems.is_empty(),
        "invalid krew manifest:\n{}",
        problems.join("\n")
    );
}

/// The built kubectl and krew, in a throwaway home and KREW_ROOT.
fn krew(krew_root: &Path) -> Command {
    let mut cmd = Command::new(crate::support::kube::peer("kubectl"));
    cmd.arg("krew")
        .env_clear()
        .env("HOME", krew_root)
        .env("KREW_ROOT", krew_root)
        .env(
            "PATH",
            format!(
                "{}:/usr/bin:/bin",
                crate::support::kube::peer_bin().display()
            ),
        );
    cmd
}

/// `kubectl krew install --manifest=M --archive=A`, by krew itself. Returns
/// `$KREW_ROOT/bin`.
fn krew_install(manifest: &Path, archive: &Path, krew_root: &Path) -> PathBuf {
    // krew keeps its plugin index as a git clone that `krew update` makes from
    // krew-index, which no machine here can reach; list and uninstall only need
    // one to exist, and an empty one is what a fresh clone without plugins is.
    let index = krew_root.join("index/default");
    std::fs::create_dir_all(index.join("plugins")).unwrap();
    assert_success(
        &run(Command::new("git").args(["init", "-q"]).arg(&index)),
        "git init of the local krew index",
    );
    let out = run(krew(krew_root)
        .arg("install")
        .arg(format!("--manifest={}", manifest.display()))
        .arg(format!("--archive={}", archive.display())));
    assert_success(&out, "kubectl krew install");
    krew_root.join("bin")
}

/// krew's own manifest checker: Ok, or what it refused. The file must be
/// named `<plugin>.yaml`, as in krew-index.
fn krew_validate(manifest_text: &str) -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(format!("{PLUGIN}.yaml"));
    std::fs::write(&path, manifest_text).unwrap();
    // -skip-install: installing every platform would download each uri.
    let out = run(
        Command::new(crate::support::kube::peer("validate-krew-manifest"))
            .arg("-skip-install")
            .arg("-manifest")
            .arg(&path),
    );
    if out.status.success() {
        Ok(())
    } else {
        Err(stderr(&out))
    }
}

/// Strips a copy of the debug binary (the release profile strips too): the
/// archive is then a few seconds' work instead of half a minute's.
fn stripped_debug_binary(dir: &Path) -> PathBuf {
    let copy = dir.join(BIN);
    std::fs::copy(env!("CARGO_BIN_EXE_kubectl-klanker_trust"), &copy).expect("copy the binary");
    assert_success(&run(Command::new("strip").arg(&copy)), "strip");
    copy
}

/// sha256 sums for the platforms this machine cannot build, as another
/// runner's `scripts/release` would have written them.
fn other_platform_sums(dir: &Path) -> (PathBuf, BTreeMap<String, String>) {
    let host = host_platform();
    let sums: BTreeMap<String, String> = PLATFORMS
        .iter()
        .filter(|p| **p != host)
        .map(|(os, arch)| {
            (
                archive_name(os, arch),
                sha256_hex(format!("archive of {os}/{arch}").as_bytes()),
            )
        })
        .collect();
    let path = dir.join("other-runners.sha256");
    let text: String = sums.iter().map(|(n, s)| format!("{s}  {n}\n")).collect();
    std::fs::write(&path, text).unwrap();
    (path, sums)
}

/// The checked-in man pages (tests/e2e/man.rs holds them current).
fn man_pages() -> Vec<String> {
    let mut pages: Vec<String> = std::fs::read_dir(repo().join("docs/man"))
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|name| name.ends_with(".1"))
        .collect();
    pages.sort();
    assert!(!pages.is_empty(), "docs/man holds no page");
    pages
}

fn archive_entries(archive: &Path) -> Vec<String> {
    let out = run(Command::new("tar").arg("-tvzf").arg(archive));
    assert_success(&out, "listing the archive");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

/// Checks a rendered manifest and its archive for the host platform, then
/// installs it as krew would and runs `kubectl klanker-trust --help`.
fn check_release(
    dir: &Path,
    manifest_path: &Path,
    dist: &Path,
    other_sums: &BTreeMap<String, String>,
) {
    assert_valid(manifest_path);
    let manifest = parse(manifest_path);
    assert_eq!(manifest.spec.version, tag(), "the Cargo.toml version");

    let (os, arch) = host_platform();
    let archive = dist.join(archive_name(os, arch));
    let digest = sha256_file(&archive);
    for p in &manifest.spec.platforms {
        let (p_os, p_arch) = p.os_arch();
        let name = archive_name(&p_os, &p_arch);
        let expected = if (p_os.as_str(), p_arch.as_str()) == (os, arch) {
            &digest
        } else {
            &other_sums[&name]
        };
        assert_eq!(&p.sha256, expected, "sha256 of {name}");
    }
    let sums = std::fs::read_to_string(dist.join("SHA256SUMS")).unwrap();
    assert!(
        sums.lines()
            .any(|l| l == format!("{digest}  {}", archive_name(os, arch))),
        "SHA256SUMS lacks the archive:\n{sums}"
    );
    assert_eq!(sums.lines().count(), PLATFORMS.len(), "{sums}");

    // The binary and the licence at the root, as `files` expects, and
    // each man page of docs/man/ under man/man1/; nothing else.
    let entries = archive_entries(&archive);
    let pages = man_pages();
    assert_eq!(entries.len(), 2 + pages.len(), "{entries:#?}");
    for page in &pages {
        let path = format!("man/man1/{page}");
        assert!(
            entries
                .iter()
                .any(|e| e.starts_with("-rw-r--r-- root/root") && e.ends_with(&path)),
            "{path} is not in the archive: {entries:#?}"
        );
    }
    let entry = |name: &str| {
        entries
            .iter()
            .find(|e| e.split_whitespace().last() == Some(name))
            .unwrap_or_else(|| panic!("{name} is not at the archive root: {entries:#?}"))
            .clone()
    };
    assert!(
        entry(BIN).starts_with("-rwxr-xr-x root/root"),
        "{}",
        entry(BIN)
    );
    assert!(
        entry("LICENSE").starts_with("-rw-r--r-- root/root"),
        "{}",
        entry("LICENSE")
    );

    let krew_root = dir.join("krew-root");
    let bin_dir = krew_install(manifest_path, &archive, &krew_root);
    let plugin = || {
        let mut cmd = Command::new(crate::support::kube::peer("kubectl"));
        cmd.arg("klanker-trust")
            .env_clear()
            .env("HOME", dir)
            .env("PATH", format!("{}:/usr/bin:/bin", bin_dir.display()));
        cmd
    };
    let out = run(plugin().arg("version"));
    assert_success(&out, "kubectl klanker-trust version from the krew install");
    let version = String::from_utf8_lossy(&out.stdout);
    assert_contains!(version, env!("CARGO_PKG_VERSION"));
    let out = run(plugin().arg("--help"));
    assert_success(&out, "kubectl klanker-trust --help from the krew install");
    let help = String::from_utf8_lossy(&out.stdout);
    assert_contains!(help, "add");
    let listed = run(krew(&krew_root).arg("list"));
    assert_success(&listed, "kubectl krew list");
    assert_contains!(String::from_utf8_lossy(&listed.stdout), PLUGIN);
    let licence = krew_root
        .join("store")
        .join(PLUGIN)
        .join(tag())
        .join("LICENSE");
    assert_eq!(
        std::fs::read(licence).unwrap(),
        std::fs::read(repo().join("LICENSE")).unwrap()
    );

    let out = run(krew(&krew_root).args(["uninstall", PLUGIN]));
    assert_success(&out, "kubectl krew uninstall");
    assert!(
        !bin_dir.join(BIN).exists(),
        "the kubectl-klanker_trust link is still there"
    );
    assert!(!krew_root.join("store").join(PLUGIN).exists());
}

#[test]
fn release_script_packages_the_archive_and_renders_a_manifest_krew_accepts() {
    let dir = tempfile::tempdir().unwrap();
    let binary = stripped_debug_binary(dir.path());
    let (sums_file, other_sums) = other_platform_sums(dir.path());
    let dist = dir.path().join("dist");
    let manifest = dir.path().join("klanker-trust.yaml");
    let out = run(release()
        .arg(env!("CARGO_PKG_VERSION"))
        .arg("--binary")
        .arg(&binary)
        .arg("--out")
        .arg(&dist)
        .arg("--manifest")
        .arg(&manifest)
        .arg("--sums")
        .arg(&sums_file));
    assert_success(&out, "scripts/release --binary");
    check_release(dir.path(), &manifest, &dist, &other_sums);

    // The archive is reproducible: packaging the same binary again gives the same bytes.
    let (os, arch) = host_platform();
    let first = sha256_file(&dist.join(archive_name(os, arch)));
    let again = dir.path().join("again");
    let out = run(release()
        .arg(tag())
        .arg("--binary")
        .arg(&binary)
        .arg("--out")
        .arg(&again)
        .arg("--manifest")
        .arg(again.join("m.yaml"))
        .arg("--allow-missing"));
    assert_success(&out, "scripts/release again");
    assert_eq!(sha256_file(&again.join(archive_name(os, arch))), first);
}

#[test]
fn committed_manifest_is_the_template_rendered_for_the_cargo_version() {
    let committed = repo().join("krew/klanker-trust.yaml");
    assert_valid(&committed);
    let manifest = parse(&committed);
    assert_eq!(
        manifest.spec.version,
        tag(),
        "krew/klanker-trust.yaml is for another version: run scripts/release {}",
        env!("CARGO_PKG_VERSION")
    );
    // Re-render from the template with the committed sums: any hand edit,
    // or a template change not rendered, shows as a difference.
    let dir = tempfile::tempdir().unwrap();
    let placeholder = "0".repeat(64);
    let sums: String = manifest
        .spec
        .platforms
        .iter()
        .filter(|p| p.sha256 != placeholder)
        .map(|p| {
            let (os, arch) = p.os_arch();
            format!("{}  {}\n", p.sha256, archive_name(&os, &arch))
        })
        .collect();
    std::fs::write(dir.path().join("sums"), sums).unwrap();
    let rendered = dir.path().join("klanker-trust.yaml");
    let out = run(release()
        .arg(env!("CARGO_PKG_VERSION"))
        .arg("--no-build")
        .arg("--sums")
        .arg(dir.path().join("sums"))
        .arg("--out")
        .arg(dir.path().join("dist"))
        .arg("--manifest")
        .arg(&rendered)
        .arg("--allow-missing"));
    assert_success(&out, "scripts/release --no-build");
    assert_eq!(
        std::fs::read_to_string(&rendered).unwrap(),
        std::fs::read_to_string(&committed).unwrap(),
        "krew/klanker-trust.yaml is not what scripts/release renders from the template"
    );
}

#[test]
fn release_script_refuses_what_would_make_a_wrong_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("m.yaml");

    // A version that is not Cargo.toml's: the binary would report another one.
    let out = run(release()
        .args(["9.9.9", "--no-build", "--allow-missing", "--manifest"])
        .arg(&manifest)
        .arg("--out")
        .arg(dir.path()));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_contains!(stderr(&out), "Cargo.toml");

    // Platforms with neither an archive nor a sum, without --allow-missing.
    let out = run(release()
        .args([env!("CARGO_PKG_VERSION"), "--no-build", "--manifest"])
        .arg(&manifest)
        .arg("--out")
        .arg(dir.path()));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_contains!(stderr(&out), "windows-amd64");
    assert!(!manifest.exists(), "a manifest was written anyway");

    // An archive whose sha256 disagrees with a sums file.
    let archives = dir.path().join("archives");
    std::fs::create_dir_all(&archives).unwrap();
    std::fs::write(
        archives.join(archive_name("linux", "arm64")),
        b"not the summed archive",
    )
    .unwrap();
    let sums = dir.path().join("sums");
    std::fs::write(
        &sums,
        format!(
            "{}  {}\n",
            sha256_hex(b"other"),
            archive_name("linux", "arm64")
        ),
    )
    .unwrap();
    let out = run(release()
        .args([
            env!("CARGO_PKG_VERSION"),
            "--no-build",
            "--allow-missing",
            "--archives",
        ])
        .arg(&archives)
        .arg("--sums")
        .arg(&sums)
        .arg("--manifest")
        .arg(&manifest)
        .arg("--out")
        .arg(dir.path()));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_contains!(stderr(&out), "differs");
    assert!(!manifest.exists(), "a manifest was written anyway");
}

#[test]
fn krew_refuses_what_breaks_its_rules() {
    let text = std::fs::read_to_string(repo().join("krew/klanker-trust.yaml")).unwrap();
    krew_validate(&text).expect("the committed manifest is valid for krew");
    let refused = |change: &dyn Fn(&mut serde_yaml::Value), expected: &str| {
        let mut doc: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
        change(&mut doc);
        let refusal = krew_validate(&serde_yaml::to_string(&doc).unwrap())
            .expect_err(&format!("krew accepted a manifest with {expected}"));
        assert_contains!(refusal, expected);
    };
    let platform0 =
        |doc: &mut serde_yaml::Value| -> serde_yaml::Value { doc["spec"]["platforms"][0].clone() };
    refused(
        &|d| d["metadata"]["name"] = "Klanker_Trust".into(),
        "should be named",
    );
    refused(
        &|d| d["spec"]["shortDescription"] = "two\nlines".into(),
        "line breaks",
    );
    refused(
        &|d| d["spec"]["platforms"][0]["sha256"] = "AB".repeat(32).into(),
        "is not valid",
    );
    refused(
        &|d| d["apiVersion"] = "krew.googlecontainertools.github.com/v1".into(),
        "apiVersion",
    );
    refused(
        &|d| {
            if let Some(m) = d["spec"]["platforms"][0].as_mapping_mut() {
                m.remove("selector");
            }
        },
        "nil selector",
    );
    refused(
        &|d| {
            let again = platform0(d);
            if let Some(list) = d["spec"]["platforms"].as_sequence_mut() {
                list.push(again);
            }
        },
        "overlapping",
    );
    refused(
        &|d| d["spec"]["platforms"][0]["selector"]["matchLabels"]["distro"] = "debian".into(),
        "not supported",
    );
}

#[test]
fn this_plugins_own_manifest_rules_catch_what_kubectl_and_users_need() {
    let manifest = parse(&repo().join("krew/klanker-trust.yaml"));
    assert_eq!(problems(&manifest), Vec::<String>::new());
    let broken = |change: &dyn Fn(&mut Manifest), expected: &str| {
        let mut m = manifest.clone();
        change(&mut m);
        let problems = problems(&m);
        assert!(
            problems.iter().any(|p| p.contains(expected)),
            "expected a problem with {expected:?}, got {problems:#?}"
        );
    };
    broken(&|m| m.spec.version = "0.1.0".into(), "not semver");
    broken(&|m| m.spec.version = "v1.02.0".into(), "not semver");
    broken(
        &|m| m.spec.short_description = "x".repeat(51),
        "longer than 50 characters",
    );
    broken(
        &|m| m.spec.platforms[0].bin = "kubectl-klanker-trust".into(),
        "bin",
    );
    broken(&|m| m.spec.platforms[4].bin = BIN.into(), "bin");
    broken(&|m| m.spec.platforms[0].files = None, "does not install");
    broken(
        &|m| {
            m.spec.platforms[0]
                .files
                .as_mut()
                .unwrap()
                .retain(|f| f.from != "LICENSE")
        },
        "does not install LICENSE",
    );
    broken(&|m| drop(m.spec.platforms.pop()), "platforms");
    broken(&|m| m.spec.caveats = None, "caveats");
    assert!(is_semver_v("v1.2.3-rc.1+build.5"));
}

/// The real release path: `cargo build --release --locked` with the release
/// profile, then the same checks. Minutes on two cores, so run by hand:
/// `cargo test --test e2e krew -- --ignored --nocapture`.
#[test]
#[ignore = "a full release build (fat LTO) takes minutes on two cores; run by hand before a release"]
fn release_build_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let (sums_file, other_sums) = other_platform_sums(dir.path());
    let dist = dir.path().join("dist");
    let manifest = dir.path().join("klanker-trust.yaml");
    let started = std::time::Instant::now();
    let out = run(release()
        .arg(env!("CARGO_PKG_VERSION"))
        .arg("--out")
        .arg(&dist)
        .arg("--manifest")
        .arg(&manifest)
        .arg("--sums")
        .arg(&sums_file));
    assert_success(&out, "scripts/release");
    check_release(dir.path(), &manifest, &dist, &other_sums);
    let binary = repo().join("target/release").join(BIN);
    let (os, arch) = host_platform();
    println!(
        "release build and packaging: {:?}; binary {} bytes; archive {} bytes",
        started.elapsed(),
        std::fs::metadata(&binary).unwrap().len(),
        std::fs::metadata(dist.join(archive_name(os, arch)))
            .unwrap()
            .len()
    );
}

#[test]
fn release_workflow_lints_clean_with_actionlint() {
    let workflow = repo().join(".github/workflows/release.yml");
    let out = run(Command::new(crate::support::kube::peer("actionlint"))
        .arg("-no-color")
        .arg(&workflow));
    assert_success(&out, "actionlint .github/workflows/release.yml");
    // What the workflow must do, beyond being valid: one runner per platform,
    // then one job that renders the manifest from all archives and hands it on.
    let text = std::fs::read_to_string(&workflow).unwrap();
    for (os, arch) in PLATFORMS {
        assert_contains!(
            text,
            format!("platform: {os}-{arch}"),
            "no build job for {os}-{arch}"
        );
    }
    assert_contains!(text, "scripts/release \"$TAG\" --no-build --archives dist");
    assert_contains!(text, "rajatjindal/krew-release-bot@");
}

/// `.krew.yaml` as krew-release-bot renders it on a release: the tag for
/// `{{ .TagName }}`, and for `{{addURIAndSha "URI" .TagName }}` the uri and
/// the sha256 of the archive it downloads (here: read from SHA256SUMS, keyed
/// by the archive's file name). The bot itself needs GitHub; its two
/// template functions are all this template uses.
fn render_as_release_bot(template: &str, tag: &str, sums: &BTreeMap<String, String>) -> String {
    let text = template.replace("{{ .TagName }}", tag);
    text.lines()
        .map(|line| {
            let Some((indent, rest)) = line.split_once("{{addURIAndSha \"") else {
                return format!("{line}\n");
            };
            let uri = rest.split('"').next().unwrap();
            let name = uri.rsplit('/').next().unwrap();
            let sha = sums
                .get(name)
                .unwrap_or_else(|| panic!("no sha256 for {name}"));
            format!("{indent}uri: {uri}\n{indent}sha256: \"{sha}\"\n")
        })
        .collect()
}

#[test]
fn krew_release_bot_template_is_generated_and_renders_to_a_manifest_krew_installs() {
    let dir = tempfile::tempdir().unwrap();
    // The committed .krew.yaml is the generated one.
    let generated = dir.path().join("krew.yaml");
    assert_success(
        &run(Command::new("python3")
            .arg(repo().join("scripts/release.d/render.py"))
            .arg("--template")
            .arg(repo().join("krew/klanker-trust.yaml.tmpl"))
            .args(["--version", "v0.0.0", "--manifest", "/dev/null"])
            .arg("--krew-release-bot")
            .arg(&generated)),
        "render.py --krew-release-bot",
    );
    let committed = std::fs::read_to_string(repo().join(".krew.yaml")).unwrap();
    assert_eq!(
        committed,
        std::fs::read_to_string(&generated).unwrap(),
        ".krew.yaml is stale: regenerate it with scripts/release.d/render.py --krew-release-bot .krew.yaml"
    );

    // Rendered as the bot does it, krew accepts it and installs this machine's archive.
    let binary = stripped_debug_binary(dir.path());
    let (_, mut sums) = other_platform_sums(dir.path());
    let dist = dir.path().join("dist");
    let out = run(release()
        .arg(tag())
        .arg("--binary")
        .arg(&binary)
        .arg("--out")
        .arg(&dist)
        .arg("--manifest")
        .arg(dir.path().join("ignored.yaml"))
        .arg("--allow-missing"));
    assert_success(&out, "scripts/release --binary");
    let (os, arch) = host_platform();
    let archive = dist.join(archive_name(os, arch));
    sums.insert(archive_name(os, arch), sha256_file(&archive));
    let manifest_text = render_as_release_bot(&committed, &tag(), &sums);
    krew_validate(&manifest_text).expect("krew accepts the rendered .krew.yaml");
    let manifest = dir.path().join(format!("{PLUGIN}.yaml"));
    std::fs::write(&manifest, &manifest_text).unwrap();
    assert_eq!(problems(&parse(&manifest)), Vec::<String>::new());
    let bin_dir = krew_install(&manifest, &archive, &dir.path().join("krew-root"));
    assert!(bin_dir.join(BIN).exists());
}
