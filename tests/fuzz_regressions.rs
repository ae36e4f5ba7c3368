//! Inputs the fuzz targets found (tests/fuzz-regressions/README.md), kept so
//! that what was fixed stays fixed.

mod common;

use common::{json_lines, osiscope};

#[test]
fn a_head_ended_by_lf_then_crlf_keeps_the_websocket_session() {
    let recs = json_lines(&[
        "flows",
        "--format",
        "json",
        "tests/fuzz-regressions/lf-crlf-101.pcap",
    ]);
    assert_eq!(recs.len(), 1);
    let r = &recs[0];
    assert_eq!(r["http"][0]["status"], 101);
    assert_eq!(
        r["http"][0]["response_frame"], 5,
        "the 101 is where its head ends"
    );
    assert_eq!(
        r["websocket"]["messages"]["server:text"], 3,
        "no message lost"
    );
}

#[test]
fn a_cut_ipv6_extension_chain_is_described_within_the_packet() {
    for f in ["ipv6-ext-cut.pcap", "ipv6-hbh-hbh.pcap"] {
        let path = format!("tests/fuzz-regressions/{f}");
        for view in [
            &["layers", "--format", "json"][..],
            &["layers"],
            &["packets"],
            &["walk"],
        ] {
            let mut args = view.to_vec();
            args.push(&path);
            let out = osiscope(&args);
            assert_eq!(out.status.code(), Some(0), "{args:?}");
        }
        let recs = json_lines(&["layers", "--format", "json", &path]);
        let caplen = recs[0]["caplen"].as_u64().expect("caplen");
        let ext = recs[0]["layers"]
            .as_array()
            .expect("layers")
            .iter()
            .find(|l| l["name"] == "IPv6 extension headers")
            .unwrap_or_else(|| panic!("{f}: no extension layer"));
        assert_eq!(ext["fields"]["headers"], "hop-by-hop", "{f}");
        let end = ext["offset"].as_u64().unwrap() + ext["length"].as_u64().unwrap();
        assert!(end <= caplen, "{f}: {end} > {caplen}");
    }
}
