//! `walk --format svg`: a well-formed standalone SVG whose rows are the steps
//! of `walk --format json`, one arrow per step sent by a side, pointing from
//! the sender's lifeline to the receiver's.

mod common;

use common::{json_lines, stdout};

struct Row {
    frame: u64,
    last_frame: Option<u64>,
    osi: u64,
    from: String,
    kind: String,
}

fn svg_rows(conn: roxmltree::Node<'_, '_>) -> Vec<(Row, Option<(f64, f64)>)> {
    conn.descendants()
        .filter(|n| n.attribute("class") == Some("step"))
        .map(|g| {
            let num = |k: &str| g.attribute(k).map(|v| v.parse::<u64>().expect(k));
            let arrow = g
                .children()
                .find(|c| c.attribute("class") == Some("arrow"))
                .map(|a| {
                    let x = |k: &str| a.attribute(k).expect(k).parse::<f64>().expect(k);
                    (x("x1"), x("x2"))
                });
            (
                Row {
                    frame: num("data-frame").expect("frame"),
                    last_frame: num("data-last-frame"),
                    osi: num("data-osi").expect("osi"),
                    from: g.attribute("data-from").expect("from").to_owned(),
                    kind: g.attribute("data-kind").expect("kind").to_owned(),
                },
                arrow,
            )
        })
        .collect()
}

fn check(path: &str) -> usize {
    let svg = stdout(&["walk", path, "--format", "svg"]);
    let doc = roxmltree::Document::parse(&svg).unwrap_or_else(|e| panic!("{path}: {e}"));
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "svg");
    assert_eq!(
        root.tag_name().namespace(),
        Some("http://www.w3.org/2000/svg")
    );
    let height: f64 = root
        .attribute("height")
        .expect("height")
        .parse()
        .expect("h");
    assert!(root.attribute("width").is_some() && root.attribute("viewBox").is_some());

    let json = json_lines(&["walk", path, "--format", "json"]);
    let conns: Vec<_> = root
        .descendants()
        .filter(|n| n.attribute("class") == Some("connection"))
        .collect();
    assert_eq!(
        conns.len(),
        json.len(),
        "{path}: one drawing per connection"
    );
    let mut client_x = None;
    let mut arrows = 0;
    for (g, rec) in conns.iter().zip(&json) {
        assert_eq!(
            g.attribute("data-connection")
                .map(|v| v.parse::<u64>().expect("id")),
            rec["id"].as_u64()
        );
        let rows = svg_rows(*g);
        let steps = rec["timeline"].as_array().expect("timeline");
        assert_eq!(rows.len(), steps.len(), "{path}: conn {}", rec["id"]);
        for ((row, arrow), st) in rows.iter().zip(steps) {
            let what = format!("{path}: conn {} frame {}", rec["id"], row.frame);
            assert_eq!(Some(row.frame), st["frame"].as_u64(), "{what}");
            assert_eq!(row.last_frame, st["last_frame"].as_u64(), "{what}");
            assert_eq!(Some(row.osi), st["osi"].as_u64(), "{what}");
            assert_eq!(row.kind, st["kind"].as_str().expect("kind"), "{what}");
            let from = st["from"].as_str().unwrap_or("");
            assert_eq!(row.from, from, "{what}");
            match (from, arrow) {
                ("", None) => {}
                ("client", Some((x1, x2))) => {
                    assert!(x1 < x2, "{what}: client arrows point right");
                    assert_eq!(*client_x.get_or_insert(*x1), *x1, "{what}");
                    arrows += 1;
                }
                ("server", Some((x1, x2))) => {
                    assert!(x1 > x2, "{what}: server arrows point left");
                    assert_eq!(*client_x.get_or_insert(*x2), *x2, "{what}");
                    arrows += 1;
                }
                _ => panic!("{what}: from {from:?} but arrow {arrow:?}"),
            }
        }
    }
    // Everything drawn lies inside the document.
    for n in root.descendants().filter(|n| n.has_tag_name("line")) {
        let y: f64 = n.attribute("y2").expect("y2").parse().expect("y2");
        let top: f64 = n
            .ancestors()
            .filter_map(|a| a.attribute("transform"))
            .filter_map(|t| {
                t.strip_prefix("translate(0,")?
                    .strip_suffix(')')?
                    .parse::<f64>()
                    .ok()
            })
            .sum();
        assert!(
            top + y <= height,
            "{path}: line at {} below {height}",
            top + y
        );
    }
    arrows
}

#[test]
fn svg_ladders_match_the_walk_steps() {
    // ws-echo.pcap: 22 frames, every one an arrow (tshark: 11 each way).
    assert_eq!(check("captures/ws-echo.pcap"), 22);
    for p in [
        "captures/socketio-upgrade.pcap",
        "captures/ws-deflate.pcap",
        "captures/refused.pcap",
        "captures/ws-upgrade-rejected.pcap",
        "captures/ws-echo-ipv6.pcap",
    ] {
        assert!(check(p) > 0, "{p}");
    }
}

#[test]
fn svg_phases_name_the_handshake_upgrade_and_close() {
    let svg = stdout(&["walk", "captures/ws-echo.pcap", "--format", "svg"]);
    let doc = roxmltree::Document::parse(&svg).expect("xml");
    let phases: Vec<&str> = doc
        .descendants()
        .filter(|n| n.attribute("class") == Some("phasename"))
        .filter_map(|n| n.text())
        .collect();
    assert_eq!(
        phases,
        [
            "TCP three-way handshake",
            "HTTP upgrade",
            "WebSocket closing handshake",
            "TCP teardown"
        ]
    );
}

#[test]
fn an_empty_capture_is_still_a_valid_picture() {
    let o = common::osiscope(&[
        "walk",
        "captures/ws-echo.pcap",
        "--format",
        "svg",
        "--port",
        "1",
    ]);
    // Nothing matched (status 1), yet the document is complete.
    assert_eq!(o.status.code(), Some(1));
    let out = String::from_utf8(o.stdout).expect("utf-8");
    let doc = roxmltree::Document::parse(&out).expect("xml");
    assert!(doc.root_element().has_tag_name("svg"));
    assert!(out.contains("0 TCP connections"));
}

#[test]
fn the_readme_picture_is_what_osiscope_draws() {
    let now = stdout(&["walk", "captures/ws-echo.pcap", "--format", "svg"]);
    let committed = std::fs::read_to_string(common::repo().join("docs/ladder-ws-echo.svg"))
        .expect("docs/ladder-ws-echo.svg");
    assert!(
        now == committed,
        "docs/ladder-ws-echo.svg is out of date: osiscope walk captures/ws-echo.pcap --format svg > docs/ladder-ws-echo.svg"
    );
}
