//! Helpers shared by the integration tests: run the built binary, read
//! tshark's recorded answers.
#![allow(dead_code)]

pub mod synth;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs osiscope with `args` from the repository root.
pub fn osiscope(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_osiscope"))
        .args(args)
        .current_dir(repo())
        .env("NO_COLOR", "1")
        .output()
        .expect("run osiscope")
}

/// Runs `packets --format json` on a file; returns (exit code, records, stderr).
pub fn packets_json(path: &str) -> (i32, Vec<serde_json::Value>, String) {
    let out = osiscope(&["packets", "--format", "json", path]);
    let stdout = String::from_utf8(out.stdout).expect("utf-8 output");
    let recs = stdout
        .lines()
        .map(|l| {
            serde_json::from_str(l).unwrap_or_else(|e| panic!("{path}: bad JSON line {l}: {e}"))
        })
        .collect();
    (
        out.status.code().unwrap_or(-1),
        recs,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs osiscope, which must succeed; returns its standard output.
pub fn stdout(args: &[&str]) -> String {
    let out = osiscope(args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

/// Runs osiscope, which must succeed; parses each output line as JSON.
pub fn json_lines(args: &[&str]) -> Vec<serde_json::Value> {
    stdout(args)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect()
}

/// One row of tests/expected/tshark/SUMMARY.tsv.
pub struct Summary {
    pub path: String,
    pub exit: i32,
    pub frames: usize,
    pub stderr: String,
}

pub fn summaries() -> Vec<Summary> {
    let text = std::fs::read_to_string(repo().join("tests/expected/tshark/SUMMARY.tsv"))
        .expect("SUMMARY.tsv (made by tests/tshark/record.sh)");
    text.lines()
        .skip(1)
        .filter(|l| !l.is_empty())
        .map(|l| {
            let c: Vec<&str> = l.split('\t').collect();
            Summary {
                path: c[0].to_owned(),
                exit: c[1].parse().expect("exit"),
                frames: c[2].parse().expect("frames"),
                stderr: c.get(3).unwrap_or(&"").to_string(),
            }
        })
        .collect()
}

/// tshark's per-frame fields for a file, as maps from field name to value.
pub fn tshark_rows(path: &str, suffix: &str) -> Option<Vec<HashMap<String, String>>> {
    let name = format!("{}{suffix}", path.replace('/', "__"));
    let p: PathBuf = repo().join("tests/expected/tshark").join(name);
    let text = std::fs::read_to_string(&p).ok()?;
    let mut lines = text.lines();
    let header: Vec<String> = lines.next()?.split('\t').map(str::to_owned).collect();
    Some(
        lines
            .map(|l| {
                header
                    .iter()
                    .cloned()
                    .zip(
                        l.split('\t')
                            .map(str::to_owned)
                            .chain(std::iter::repeat(String::new())),
                    )
                    .collect()
            })
            .collect(),
    )
}

pub fn exists(p: &str) -> bool {
    Path::new(&repo()).join(p).exists()
}
