//! Puts the git commit into `osiscope --version` when built from a checkout,
//! so a bug report names the exact source. Outside a checkout (a crates
//! tarball) the version is the package version alone.

use std::path::Path;
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let s = String::from_utf8(out.stdout).ok()?.trim().to_owned();
    (!s.is_empty()).then_some(s)
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let pkg = std::env::var("CARGO_PKG_VERSION").unwrap_or_default();
    // Only osiscope's own checkout counts: a copy vendored inside another
    // repository would otherwise report that repository's commit.
    let manifest = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default();
    let own = git(&["rev-parse", "--show-toplevel"]).is_some_and(|top| {
        let canon = |p: &str| Path::new(p).canonicalize().ok();
        canon(&top).is_some() && canon(&top) == canon(&manifest)
    });
    let commit = own.then(|| git(&["log", "-1", "--format=%h %cd", "--date=short"]));
    let version = match commit.flatten() {
        Some(c) => format!("{pkg} ({c})"),
        None => pkg,
    };
    println!("cargo:rustc-env=OSISCOPE_VERSION={version}");
    if !own {
        return;
    }
    // Rebuild when HEAD moves: HEAD itself, the branch it points to and the
    // packed refs (in a worktree, branches live in the common directory).
    // Only files that exist are named (a missing one would rerun every build).
    let dirs = [
        git(&["rev-parse", "--git-dir"]),
        git(&["rev-parse", "--git-common-dir"]),
    ];
    let branch = git(&["symbolic-ref", "-q", "HEAD"]);
    for dir in dirs.iter().flatten() {
        let dir = Path::new(dir);
        let mut watch = vec![dir.join("HEAD"), dir.join("packed-refs")];
        if let Some(r) = &branch {
            watch.push(dir.join(r));
        }
        for p in watch.iter().filter(|p| p.exists()) {
            println!("cargo:rerun-if-changed={}", p.display());
        }
    }
}
