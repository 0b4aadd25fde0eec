//! Distribution: `scripts/release` packages the archive and renders the krew
//! manifest from `krew/klanker-trust.yaml.tmpl`; the manifest is checked
//! against krew's manifest rules (those of krew's `validation` package and
//! the krew-index naming rules), and installed the way `kubectl krew install
//! --manifest=... --archive=...` does it (verify sha256, extract, move
//! `files`, link `bin` as `kubectl-klanker_trust`), then run through kubectl.
//! krew itself is not in any package registry these machines reach, so the
//! install steps are reproduced here.
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
const API_VERSION: &str = "krew.googlecontainertools.github.com/v1alpha2";
const PLATFORMS: [(&str, &str); 5] = [
    ("linux", "amd64"),
    ("linux", "arm64"),
    ("darwin", "amd64"),
    ("darwin", "arm64"),
    ("windows", "amd64"),
];

// The manifest, strictly: an unknown or misspelt field is an error, as it is for krew.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
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

/// A relative path that stays inside its directory, as krew's `filepath.Clean` checks.
fn is_clean_relative(path: &str) -> bool {
    path == "."
        || (!path.is_empty()
            && !path.starts_with('/')
            && path
                .split('/')
                .all(|part| !part.is_empty() && part != "." && part != ".."))
}

/// Everything wrong with the manifest by krew's and krew-index's rules, and
/// this plugin's own (five platforms, the binary name kubectl needs).
fn problems(m: &Manifest) -> Vec<String> {
    let mut problems = Vec::new();
    let mut check = |ok: bool, problem: String| {
        if !ok {
            problems.push(problem);
        }
    };
    check(
        m.api_version == API_VERSION,
        format!("apiVersion {:?} is not {API_VERSION}", m.api_version),
    );
    check(
        m.kind == "Plugin",
        format!("kind {:?} is not Plugin", m.kind),
    );
    let name = &m.metadata.name;
    check(
        !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !name.starts_with('-')
            && !name.ends_with('-'),
        format!("name {name:?} is not lowercase [a-z0-9-]"),
    );
    check(name == PLUGIN, format!("name {name:?} is not {PLUGIN}"));
    check(
        krew_link_name(name) == BIN,
        format!(
            "krew links {name:?} as {}, but kubectl needs {BIN}",
            krew_link_name(name)
        ),
    );
    let spec = &m.spec;
    check(
        is_semver_v(&spec.version),
        format!("version {:?} is not semver with a v prefix", spec.version),
    );
    check(
        !spec.short_description.trim().is_empty() && !spec.short_description.contains(['\r', '\n']),
        format!(
            "shortDescription {:?} must be one non-empty line",
            spec.short_description
        ),
    );
    // krew-index's rule: at most 50 characters.
    check(
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
    check(!spec.platforms.is_empty(), "no platform".into());

    let mut seen = BTreeSet::new();
    for p in &spec.platforms {
        let (os, arch) = p.os_arch();
        let at = format!("platform {os}/{arch}");
        match &p.selector {
            None => check(false, format!("{at}: no selector")),
            Some(sel) => {
                let labels = sel.match_labels.clone().unwrap_or_default();
                let keys: Vec<&String> = labels.keys().collect();
                check(
                    sel.match_labels.as_ref().is_none_or(|l| !l.is_empty())
                        && sel.match_expressions.as_ref().is_none_or(|e| !e.is_empty())
                        && (sel.match_labels.is_some() || sel.match_expressions.is_some()),
                    format!("{at}: empty selector"),
                );
                check(
                    keys.iter().all(|k| *k == "os" || *k == "arch"),
                    format!("{at}: selector keys {keys:?}: only os and arch are supported"),
                );
                check(
                    sel.match_expressions.is_none(),
                    format!("{at}: use matchLabels"),
                );
            }
        }
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
        check(
            p.sha256.len() == 64
                && p.sha256
                    .chars()
                    .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)),
            format!("{at}: sha256 {:?} is not 64 lowercase hex digits", p.sha256),
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
        match &p.files {
            None => check(
                false,
                format!("{at}: no files (the licence must be installed)"),
            ),
            Some(files) => {
                check(!files.is_empty(), format!("{at}: files is empty"));
                for f in files {
                    check(
                        !f.from.is_empty() && !f.to.is_empty(),
                        format!("{at}: files entry {f:?} needs from and to"),
                    );
                    check(
                        is_clean_relative(&f.to),
                        format!("{at}: files `to` {:?} is not a clean relative path", f.to),
                    );
                }
                for needed in [bin.as_str(), "LICENSE"] {
                    check(
                        files.iter().any(|f| f.from == needed && f.to == "."),
                        format!("{at}: files does not install {needed}"),
                    );
                }
            }
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
fn assert_valid(m: &Manifest) {
    let problems = problems(m);
    assert!(
        problems.is_empty(),
        "invalid krew manifest:\n{}",
        problems.join("\n")
    );
}

/// What `kubectl krew install --manifest=M --archive=A` does on this machine:
/// verify the archive's sha256, extract it, apply `files` into
/// `$KREW_ROOT/store/<name>/<version>`, and link `bin` into `$KREW_ROOT/bin`.
/// Returns `$KREW_ROOT/bin`.
fn krew_install(m: &Manifest, archive: &Path, krew_root: &Path) -> PathBuf {
    let (os, arch) = host_platform();
    let platform = m
        .spec
        .platforms
        .iter()
        .find(|p| p.os_arch() == (os.to_string(), arch.to_string()))
        .expect("a platform for this machine");
    assert_eq!(
        sha256_file(archive),
        platform.sha256,
        "krew would refuse the archive: checksum mismatch"
    );

    let staging = krew_root.join("downloads");
    std::fs::create_dir_all(&staging).unwrap();
    assert_success(
        &run(Command::new("tar")
            .arg("-xzf")
            .arg(archive)
            .arg("-C")
            .arg(&staging)),
        "extracting the archive",
    );
    let install_dir = krew_root
        .join("store")
        .join(&m.metadata.name)
        .join(&m.spec.version);
    std::fs::create_dir_all(&install_dir).unwrap();
    for op in platform.files.as_deref().unwrap_or_default() {
        // The manifest names files literally; krew moves a literal path as is.
        let from = staging.join(&op.from);
        assert!(
            from.is_file(),
            "no files in the plugin archive matched {:?}",
            op.from
        );
        let to = if op.to == "." {
            install_dir.join(from.file_name().unwrap())
        } else {
            install_dir.join(&op.to)
        };
        std::fs::rename(&from, &to).unwrap();
    }
    let bin = install_dir.join(&platform.bin);
    assert!(
        bin.is_file(),
        "bin {:?} is not in the installed files",
        platform.bin
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&bin).unwrap().permissions().mode();
    assert_eq!(mode & 0o111, 0o111, "bin is not executable: {mode:o}");

    let bin_dir = krew_root.join("bin");
    std::fs::create_dir_all(&bin_dir).unwrap();
    let relative = Path::new("..")
        .join("store")
        .join(&m.metadata.name)
        .join(&m.spec.version)
        .join(&platform.bin);
    std::os::unix::fs::symlink(&relative, bin_dir.join(krew_link_name(&m.metadata.name))).unwrap();
    bin_dir
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
    let manifest = parse(manifest_path);
    assert_valid(&manifest);
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

    // Exactly the binary and the licence, at the root, as `files` expects.
    let entries = archive_entries(&archive);
    assert_eq!(entries.len(), 2, "{entries:#?}");
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
    let bin_dir = krew_install(&manifest, &archive, &krew_root);
    let out = run(Command::new("kubectl")
        .args(["klanker-trust", "--help"])
        .env_clear()
        .env("HOME", dir)
        .env(
            "PATH",
            format!("{}:/usr/local/bin:/usr/bin:/bin", bin_dir.display()),
        ));
    assert_success(&out, "kubectl klanker-trust --help from the krew install");
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("add"), "{help}");
    let licence = krew_root
        .join("store")
        .join(PLUGIN)
        .join(tag())
        .join("LICENSE");
    assert_eq!(
        std::fs::read(licence).unwrap(),
        std::fs::read(repo().join("LICENSE")).unwrap()
    );
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
    let manifest = parse(&committed);
    assert_valid(&manifest);
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
    let stderr = |out: &Output| String::from_utf8_lossy(&out.stderr).into_owned();

    // A version that is not Cargo.toml's: the binary would report another one.
    let out = run(release()
        .args(["9.9.9", "--no-build", "--allow-missing", "--manifest"])
        .arg(&manifest)
        .arg("--out")
        .arg(dir.path()));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("Cargo.toml"), "{}", stderr(&out));

    // Platforms with neither an archive nor a sum, without --allow-missing.
    let out = run(release()
        .args([env!("CARGO_PKG_VERSION"), "--no-build", "--manifest"])
        .arg(&manifest)
        .arg("--out")
        .arg(dir.path()));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("windows-amd64"), "{}", stderr(&out));
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
    assert!(stderr(&out).contains("differs"), "{}", stderr(&out));
    assert!(!manifest.exists(), "a manifest was written anyway");
}

#[test]
fn manifest_rules_catch_what_krew_rejects() {
    let manifest = parse(&repo().join("krew/klanker-trust.yaml"));
    assert_valid(&manifest);
    let broken = |change: &dyn Fn(&mut Manifest), expected: &str| {
        let mut m = manifest.clone();
        change(&mut m);
        let problems = problems(&m);
        assert!(
            problems.iter().any(|p| p.contains(expected)),
            "expected a problem with {expected:?}, got {problems:#?}"
        );
    };
    broken(
        &|m| m.metadata.name = "Klanker_Trust".into(),
        "not lowercase",
    );
    broken(&|m| m.spec.version = "0.1.0".into(), "not semver");
    broken(&|m| m.spec.version = "v1.02.0".into(), "not semver");
    broken(
        &|m| m.spec.short_description = "two\nlines".into(),
        "one non-empty line",
    );
    broken(
        &|m| m.spec.short_description = "x".repeat(51),
        "longer than 50 characters",
    );
    broken(
        &|m| m.spec.platforms[0].sha256 = "AB".repeat(32),
        "64 lowercase hex",
    );
    broken(
        &|m| m.spec.platforms[0].bin = "kubectl-klanker-trust".into(),
        "bin",
    );
    broken(&|m| m.spec.platforms[4].bin = BIN.into(), "bin");
    broken(&|m| m.spec.platforms[0].selector = None, "no selector");
    broken(&|m| m.spec.platforms[0].files = None, "licence");
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
    broken(
        &|m| {
            let labels = m.spec.platforms[0]
                .selector
                .as_mut()
                .unwrap()
                .match_labels
                .as_mut()
                .unwrap();
            labels.insert("distro".into(), "debian".into());
        },
        "only os and arch",
    );
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
