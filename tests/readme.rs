//! The README's examples are real: for every ```text block that starts with
//! `$ osiscope …` (live capture aside), each line shown must be a line of
//! what that command prints now, in the same order. Blocks may be trimmed:
//! lines may be left out, and a line starting with `…` marks a cut.

mod common;

use common::{osiscope, repo};

struct Example {
    line: usize,
    args: Vec<String>,
    shown: Vec<String>,
}

fn examples() -> Vec<Example> {
    let text = std::fs::read_to_string(repo().join("README.md")).expect("README.md");
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if lines[i] == "```text"
            && let Some(cmd) = lines.get(i + 1).and_then(|l| l.strip_prefix("$ osiscope "))
        {
            let mut shown = Vec::new();
            let mut j = i + 2;
            while j < lines.len() && lines[j] != "```" {
                shown.push(lines[j].to_owned());
                j += 1;
            }
            out.push(Example {
                line: i + 2,
                args: cmd.split_whitespace().map(str::to_owned).collect(),
                shown,
            });
            i = j;
        }
        i += 1;
    }
    out
}

#[test]
fn every_example_output_is_what_the_command_prints() {
    let all = examples();
    assert!(all.len() >= 9, "found {} examples", all.len());
    let mut checked = 0;
    for ex in &all {
        if ex.args.first().is_some_and(|a| a == "live") {
            continue;
        }
        let args: Vec<&str> = ex.args.iter().map(String::as_str).collect();
        let out = osiscope(&args);
        assert_eq!(out.status.code(), Some(0), "README line {}", ex.line);
        let mut printed = String::from_utf8_lossy(&out.stdout).into_owned();
        printed.push_str(&String::from_utf8_lossy(&out.stderr));
        let printed: Vec<&str> = printed.lines().collect();
        let mut at = 0;
        for want in &ex.shown {
            if want.trim_start().starts_with('…') && want.contains("trimmed") {
                continue;
            }
            match printed[at..].iter().position(|l| l == want) {
                Some(p) => at += p + 1,
                None => panic!(
                    "README line {} (`osiscope {}`): this line is not printed (in this order):\n{want}",
                    ex.line,
                    ex.args.join(" ")
                ),
            }
        }
        checked += 1;
    }
    assert!(checked >= 9, "{checked} examples checked");
}
