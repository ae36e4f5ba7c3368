//! Snapshots (insta) of every text view on every bundled capture, so each
//! change to what a user sees shows up as a reviewed diff in
//! tests/snapshots/. After an intended change: `INSTA_UPDATE=always cargo
//! test --test snapshots` (or `cargo insta review`), then read the diff.
//!
//! The output is taken as on a pipe (no colour, tables at their natural
//! width), which is what the tests and scripts see.

mod common;

use common::stdout;

const CAPTURES: [&str; 11] = [
    "ws-echo.pcap",
    "ws-echo.pcapng",
    "ws-echo-ipv6.pcap",
    "ws-echo-any-sll2.pcap",
    "ws-deflate.pcap",
    "socketio-upgrade.pcap",
    "ws-upgrade-rejected.pcap",
    "refused.pcap",
    "ws-slow-pong.pcap",
    "socketio-slow.pcap",
    "socketio-reconnect.pcap",
];

fn snap(name: String, args: &[&str]) {
    let out = stdout(args);
    insta::with_settings!({
        prepend_module_to_snapshot => false,
        description => format!("osiscope {}", args.join(" ")),
        omit_expression => true,
    }, {
        insta::assert_snapshot!(name, out);
    });
}

#[test]
fn text_views_of_every_bundled_capture() {
    for c in CAPTURES {
        let path = format!("captures/{c}");
        let p = path.as_str();
        let stem = c.replace('.', "_");
        snap(format!("walk__{stem}"), &["walk", p]);
        snap(format!("walk_brief__{stem}"), &["walk", p, "--brief"]);
        snap(format!("walk_quiet__{stem}"), &["walk", p, "-q"]);
        snap(
            format!("walk_mermaid__{stem}"),
            &["walk", p, "--format", "mermaid"],
        );
        snap(format!("flows__{stem}"), &["flows", p]);
        snap(format!("packets__{stem}"), &["packets", p]);
        snap(format!("layers__{stem}"), &["layers", p, "--frame", "1-4"]);
        snap(format!("messages__{stem}"), &["messages", p]);
        snap(
            format!("messages_json__{stem}"),
            &["messages", p, "--format", "json"],
        );
    }
    snap(
        "messages_event__socketio-slow_pcap".into(),
        &["messages", "captures/socketio-slow.pcap", "--event", "save"],
    );
    // Every frame of the main sample, field by field.
    snap(
        "layers_all__ws-echo_pcap".into(),
        &["layers", "captures/ws-echo.pcap"],
    );
    snap("demo".into(), &["demo", "--brief"]);
    // Colour: the layer colours of the steps, ladder, bars, table cells and hex dump.
    for (name, args) in [
        (
            "walk_color__ws-echo_pcap",
            vec!["walk", "captures/ws-echo.pcap", "--color", "always"],
        ),
        (
            "packets_color__ws-echo_pcap",
            vec!["packets", "captures/ws-echo.pcap", "--color", "always"],
        ),
        (
            "layers_color__ws-echo_pcap",
            vec![
                "layers",
                "captures/ws-echo.pcap",
                "--frame",
                "8",
                "--color",
                "always",
            ],
        ),
    ] {
        snap(name.into(), &args);
    }
}
