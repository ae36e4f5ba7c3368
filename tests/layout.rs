//! The shape of the source: stages only look left, and files import each
//! other without cycles (a module and its own children aside).
//!
//! Stages, in order: the utilities (`json`, `latency`, `limit`, `text`), `capture` (with the
//! bundled `sample`), `decode`, `flow`, `proto`, `report`, `run`, then `cli`
//! and `main`. A file may import from its own stage and the stages before
//! it, never after. Test code (`#[cfg(test)]` modules, `tests.rs`) is not
//! checked. Paths are read from the text (`crate::…`, `super::…`,
//! `osiscope::…` in main.rs) and resolved to the file that defines the module.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every source file with its module path (`report::walk::tcp`).
fn modules() -> BTreeMap<Vec<String>, PathBuf> {
    let mut out = BTreeMap::new();
    let mut stack = vec![src()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("src").flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            if p.extension().is_none_or(|x| x != "rs") {
                continue;
            }
            let rel = p.strip_prefix(src()).expect("under src");
            let mut segs: Vec<String> = rel
                .iter()
                .map(|s| s.to_string_lossy().trim_end_matches(".rs").to_owned())
                .collect();
            match segs.last().map(String::as_str) {
                Some("mod") | Some("lib") => {
                    segs.pop();
                }
                Some("main") => segs = vec!["main".into()],
                _ => {}
            }
            out.insert(segs, p);
        }
    }
    out
}

/// The stage of a module, by its first segment.
fn stage(m: &[String]) -> u8 {
    match m.first().map(String::as_str) {
        None | Some("json") | Some("latency") | Some("limit") | Some("text") => 0,
        Some("capture") | Some("sample") => 1,
        Some("decode") => 2,
        Some("flow") => 3,
        Some("proto") => 4,
        Some("report") => 5,
        Some("run") => 6,
        Some("export") => 7,
        Some("cli") => 8,
        Some("main") => 9,
        Some(other) => panic!("module {other} has no stage: add it to tests/layout.rs"),
    }
}

/// The code of a file: no comments, and no test module (at the end, by
/// convention).
fn code(p: &Path) -> String {
    let text = std::fs::read_to_string(p).expect("read");
    let text = match text.find("#[cfg(test)]\nmod tests {") {
        Some(i) => &text[..i],
        None => &text[..],
    };
    text.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Module paths named in `code`, absolute.
fn imports(me: &[String], code: &str) -> BTreeSet<Vec<String>> {
    let mut out = BTreeSet::new();
    let bytes = code.as_bytes();
    for (prefix, base) in [("crate::", 0usize), ("osiscope::", 0), ("super::", 1)] {
        let mut from = 0;
        while let Some(i) = code[from..].find(prefix) {
            let at = from + i;
            from = at + prefix.len();
            // Part of a longer path (`self::super::`): take the whole.
            if at > 0 && (bytes[at - 1].is_ascii_alphanumeric() || bytes[at - 1] == b':') {
                continue;
            }
            let mut segs: Vec<String> = if base == 0 {
                Vec::new()
            } else {
                me[..me.len().saturating_sub(1)].to_vec()
            };
            let mut rest = &code[from..];
            loop {
                if let Some(r) = rest.strip_prefix("super::") {
                    segs.pop();
                    rest = r;
                    continue;
                }
                let n = rest
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(rest.len());
                if n == 0 {
                    break;
                }
                segs.push(rest[..n].to_owned());
                rest = &rest[n..];
                match rest.strip_prefix("::") {
                    Some(r) if !r.starts_with('{') => rest = r,
                    _ => break,
                }
            }
            out.insert(segs);
        }
    }
    out
}

/// The file that defines the longest prefix of `path` that is a module.
fn resolve<'a>(
    mods: &'a BTreeMap<Vec<String>, PathBuf>,
    path: &[String],
) -> Option<&'a Vec<String>> {
    (1..=path.len())
        .rev()
        .find_map(|n| mods.get_key_value(&path[..n]).map(|(k, _)| k))
}

/// Every import between files: (importer, imported).
fn edges() -> Vec<(Vec<String>, Vec<String>)> {
    let mods = modules();
    let mut out = Vec::new();
    for (m, p) in &mods {
        if p.file_name().is_some_and(|f| f == "tests.rs") {
            continue;
        }
        for path in imports(m, &code(p)) {
            if let Some(to) = resolve(&mods, &path)
                && to != m
            {
                out.push((m.clone(), to.clone()));
            }
        }
    }
    out
}

#[test]
fn stages_only_look_left() {
    let bad: Vec<String> = edges()
        .into_iter()
        .filter(|(from, to)| stage(to) > stage(from))
        .map(|(from, to)| format!("{} imports {}", from.join("::"), to.join("::")))
        .collect();
    assert!(
        bad.is_empty(),
        "imports from a later stage:\n{}",
        bad.join("\n")
    );
}

#[test]
fn no_import_cycles_between_files() {
    let is_family = |a: &[String], b: &[String]| a.starts_with(b) || b.starts_with(a);
    let mut graph: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
    for (from, to) in edges() {
        if !is_family(&from, &to) {
            graph.entry(from).or_default().insert(to);
        }
    }
    // A cycle is an edge a → b with a path back from b to a.
    let reaches = |start: &Vec<String>, goal: &Vec<String>| {
        let mut seen = BTreeSet::new();
        let mut todo = vec![start.clone()];
        while let Some(n) = todo.pop() {
            if &n == goal {
                return true;
            }
            if seen.insert(n.clone()) {
                todo.extend(graph.get(&n).into_iter().flatten().cloned());
            }
        }
        false
    };
    let mut cycles = Vec::new();
    for (a, tos) in &graph {
        for b in tos {
            if reaches(b, a) {
                cycles.push(format!("{} ↔ {}", a.join("::"), b.join("::")));
            }
        }
    }
    assert!(cycles.is_empty(), "import cycles:\n{}", cycles.join("\n"));
}

#[test]
fn no_file_above_a_thousand_lines_of_code() {
    let long: Vec<String> = modules()
        .values()
        .filter(|p| p.file_name().is_some_and(|f| f != "tests.rs"))
        .filter_map(|p| {
            let n = code(p).lines().count();
            (n > 1000).then(|| format!("{}: {n} lines", p.display()))
        })
        .collect();
    assert!(
        long.is_empty(),
        "files past 1,000 lines of code:\n{}",
        long.join("\n")
    );
}

/// The checker itself resolves what it reads.
#[test]
fn imports_resolve_to_their_files() {
    let e = edges();
    let has = |a: &str, b: &str| {
        e.iter()
            .any(|(f, t)| f.join("::") == a && t.join("::") == b)
    };
    assert!(has("report::walk::tcp", "report::walk::story"));
    assert!(has("run::pipeline", "run::core"));
    assert!(has("proto::stack", "proto::http::record"));
    assert!(has(
        "proto::websocket::handshake",
        "proto::websocket::analyzer"
    ));
    assert!(has("main", "run"));
}
