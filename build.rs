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
    let pkg = std::env::var("CARGO_PKG_VERSION").unwrap_or_default();
    let version = match git(&["log", "-1", "--format=%h %cs"]) {
        Some(c) => format!("{pkg} ({c})"),
        None => pkg,
    };
    println!("cargo:rustc-env=OSISCOPE_VERSION={version}");
    // Rebuild when HEAD moves: HEAD itself, the branch it points to, packed refs.
    // Only files that exist are named (a missing one would rerun every build).
    if let Some(dir) = git(&["rev-parse", "--git-dir"]) {
        let dir = Path::new(&dir);
        let mut watch = vec![dir.join("HEAD"), dir.join("packed-refs")];
        if let Some(r) = git(&["symbolic-ref", "-q", "HEAD"]) {
            watch.push(dir.join(r));
        }
        for p in watch.iter().filter(|p| p.exists()) {
            println!("cargo:rerun-if-changed={}", p.display());
        }
    }
    println!("cargo:rerun-if-changed=build.rs");
}
