//! What users of tcpdump/tshark and `cargo install` expect: the bundled
//! sample, -r/-c/-n/-w/-q, exit codes, --version, shell completions and the
//! manual page. Frame numbers are checked against tshark's recorded answers
//! (tests/expected/tshark/).

mod common;

use std::process::Command;

use common::{osiscope, repo, stdout, tshark_rows};

fn tmp(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("osiscope-habits-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir.join(name)
}

/// Frames tshark puts in TCP stream `stream` of a capture.
fn tshark_stream_frames(path: &str, stream: &str) -> Vec<u64> {
    tshark_rows(path, ".tcp.tsv")
        .expect("recorded tshark answers")
        .iter()
        .filter(|r| r["tcp.stream"] == stream)
        .map(|r| r["frame.number"].parse().expect("frame number"))
        .collect()
}

fn frames_of(records: &[serde_json::Value]) -> Vec<u64> {
    records
        .iter()
        .map(|r| r["frame"].as_u64().expect("frame"))
        .collect()
}

#[test]
fn walk_without_a_file_is_the_bundled_sample_and_says_so() {
    let bundled = stdout(&["walk"]);
    let (first, rest) = bundled.split_once('\n').expect("lines");
    assert!(
        first.starts_with("osiscope: bundled sample ws-echo.pcap, a WebSocket echo session"),
        "{first}"
    );
    assert!(first.contains("osiscope walk FILE.pcap"), "{first}");
    // The rest is the walk of the same capture read from captures/.
    let from_file = stdout(&["walk", "captures/ws-echo.pcap"]);
    assert_eq!(rest.strip_prefix('\n'), Some(from_file.as_str()));
    assert_eq!(stdout(&["demo"]), bundled);

    let sio = stdout(&["demo", "socketio", "--brief"]);
    let from_file = stdout(&["walk", "captures/socketio-upgrade.pcap", "--brief"]);
    let (first, rest) = sio.split_once("\n\n").expect("banner");
    assert!(first.contains("socketio-upgrade.pcap"), "{first}");
    assert_eq!(rest, from_file);
}

#[test]
fn machine_formats_keep_the_banner_off_stdout() {
    let out = osiscope(&["demo", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        stdout(&["walk", "captures/ws-echo.pcap", "--format", "json"])
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("osiscope: bundled sample ws-echo.pcap"),
        "{err}"
    );
    let out = osiscope(&["packets", "--format", "json"]);
    let lines = String::from_utf8_lossy(&out.stdout).lines().count();
    assert_eq!(lines, 22, "every packet of ws-echo.pcap, nothing else");
}

#[test]
fn read_flag_count_and_numeric_as_in_tcpdump() {
    let path = "captures/socketio-upgrade.pcap";
    // -c counts the packets that pass the filters, as tcpdump's -c does.
    let stream2 = tshark_stream_frames(path, "2");
    assert_eq!(stream2.len(), 35, "tshark: 35 frames in tcp.stream 2");
    let recs = common::json_lines(&[
        "packets",
        "-r",
        path,
        "--connection",
        "2",
        "-c",
        "3",
        "-n",
        "--format",
        "json",
    ]);
    assert_eq!(frames_of(&recs), stream2[..3].to_vec());
    assert_eq!(frames_of(&recs), vec![14, 15, 16]);
    // Without filters -c is the first N frames; walk and flows read only those.
    let recs = common::json_lines(&["packets", path, "-c", "5", "--format", "json"]);
    assert_eq!(frames_of(&recs), vec![1, 2, 3, 4, 5]);
    let flows = common::json_lines(&["flows", path, "-c", "13", "--format", "json"]);
    // Frames 1-10 are stream 0, 11-13 the start of stream 1 (tshark).
    let s1 = tshark_stream_frames(path, "1");
    assert_eq!(s1[0], 11);
    assert_eq!(flows.len(), 2);
    assert_eq!(flows[1]["frames"].as_u64(), Some(3), "{}", flows[1]);
    assert_eq!(flows[1]["history"], "ShA");
    // -nn as tcpdump users type it; -c 0 is refused, as tcpdump does.
    assert_eq!(
        osiscope(&["packets", "-nn", "-c", "1", path]).status.code(),
        Some(0)
    );
    assert_eq!(
        osiscope(&["packets", "-c", "0", path]).status.code(),
        Some(2)
    );
    // -r and a positional file together are a usage error.
    let out = osiscope(&["walk", "-r", path, path]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn write_saves_the_filtered_packets_as_a_pcap() {
    let path = "captures/socketio-upgrade.pcap";
    let out_file = tmp("stream2.pcap");
    let o = out_file.to_str().expect("utf-8 path");
    let out = osiscope(&["packets", path, "--connection", "2", "-w", o]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    // As tcpdump and tshark: with -w no rows are printed.
    assert_eq!(String::from_utf8_lossy(&out.stdout), "");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("35 packets written to"),
        "{out:?}"
    );
    // The written file holds exactly tshark's stream-2 frames, byte for byte
    // and with their timestamps.
    let (code, written, _) = common::packets_json(o);
    assert_eq!(code, 0);
    let (_, all, _) = common::packets_json(path);
    let wanted = tshark_stream_frames(path, "2");
    assert_eq!(written.len(), wanted.len());
    for (w, n) in written.iter().zip(&wanted) {
        let orig = &all[*n as usize - 1];
        for key in ["ts", "caplen", "len", "linktype"] {
            assert_eq!(w[key], orig[key], "frame {n}: {key}");
        }
        // The same TCP segment; only the stream number differs (the file
        // now holds one connection, stream 0), and the frame an ACK names,
        // numbered in the new file.
        let mut tcp = w["layers"][3].clone();
        assert_eq!(tcp["fields"]["stream"], 0);
        tcp["fields"]["stream"] = orig["layers"][3]["fields"]["stream"].clone();
        if let Some(k) = tcp["fields"]["acks_frame"].as_u64() {
            let was = orig["layers"][3]["fields"]["acks_frame"].as_u64();
            assert_eq!(Some(wanted[k as usize - 1]), was, "frame {n}: acks_frame");
            tcp["fields"]["acks_frame"] = orig["layers"][3]["fields"]["acks_frame"].clone();
        }
        assert_eq!(tcp, orig["layers"][3], "frame {n}: TCP layer");
    }
    // -w - writes the same file to standard output.
    let out = osiscope(&["packets", path, "--connection", "2", "-w", "-"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(out.stdout, std::fs::read(&out_file).expect("read"));
    assert!(String::from_utf8_lossy(&out.stderr).contains("35 packets written to standard output"));
    // A capture that cannot be read leaves an existing -w file alone.
    let out = osiscope(&["packets", "no-such.pcap", "-w", o]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(common::packets_json(o).1.len(), 35, "{out:?}");
    // The file being read is not overwritten.
    let copy = tmp("copy.pcap");
    std::fs::copy(repo().join(path), &copy).expect("copy");
    let c = copy.to_str().expect("utf-8");
    let out = osiscope(&["packets", c, "-w", c]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("would be emptied"));
    assert_eq!(
        std::fs::read(&copy).expect("read"),
        std::fs::read(repo().join(path)).expect("read")
    );
    // An unwritable path is refused before reading, as a usage error.
    let out = osiscope(&["packets", path, "-w", "/nonexistent-dir/x.pcap"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot create"));
}

#[test]
fn quiet_walk_is_the_headers_only() {
    let path = "captures/socketio-upgrade.pcap";
    let quiet = stdout(&["walk", path, "-q"]);
    let full = stdout(&["walk", path]);
    // One header per connection; the Socket.IO session summary follows.
    let headers: Vec<&str> = quiet
        .split("\n\n")
        .filter(|h| h.starts_with("Connection "))
        .collect();
    assert_eq!(headers.len(), 5, "one header per connection:\n{quiet}");
    for h in &headers {
        let first = h.lines().next().expect("title");
        assert!(first.starts_with("Connection "), "{first}");
        assert!(full.contains(h.trim_end()), "{h}");
    }
    assert!(!quiet.contains("Ladder"));
}

#[test]
fn exit_codes_are_as_documented() {
    assert_eq!(
        osiscope(&["walk", "--format", "nope"]).status.code(),
        Some(2)
    );
    assert_eq!(osiscope(&["no-such-command"]).status.code(), Some(2));
    assert_eq!(
        osiscope(&["walk", "/nonexistent/file.pcap"]).status.code(),
        Some(1)
    );
    let help = stdout(&["--help"]);
    for line in [
        "0  success",
        "1  the capture could not be read",
        "2  usage error",
        "3  live capture not permitted",
    ] {
        assert!(help.contains(line), "--help lacks {line:?}");
    }
}

#[test]
fn every_subcommand_help_ends_with_examples() {
    for sub in [
        "walk",
        "flows",
        "packets",
        "layers",
        "live",
        "demo",
        "completions",
        "man",
    ] {
        let help = stdout(&[sub, "--help"]);
        let examples = help
            .split("Examples:\n")
            .nth(1)
            .unwrap_or_else(|| panic!("{sub} --help has no examples"));
        let n = examples
            .lines()
            .take_while(|l| !l.is_empty())
            .filter(|l| l.contains("osiscope "))
            .count();
        assert!((2..=4).contains(&n), "{sub}: {n} examples");
    }
}

#[test]
fn version_names_the_commit_when_built_from_a_checkout() {
    let v = stdout(&["--version"]);
    let pkg = env!("CARGO_PKG_VERSION");
    let git = Command::new("git")
        .args(["log", "-1", "--format=%h %cs"])
        .current_dir(repo())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
    match git {
        // The binary was built from this checkout's HEAD (build.rs reruns when it moves).
        Some(c) => assert_eq!(v.trim(), format!("osiscope {pkg} ({c})")),
        None => assert_eq!(v.trim(), format!("osiscope {pkg}")),
    }
}

#[test]
fn completions_for_each_shell() {
    let cases = [
        ("bash", "_osiscope()"),
        ("zsh", "#compdef osiscope"),
        ("fish", "complete -c osiscope"),
        ("powershell", "Register-ArgumentCompleter"),
    ];
    for (shell, marker) in cases {
        let script = stdout(&["completions", shell]);
        assert!(script.contains(marker), "{shell}");
        for word in ["walk", "demo", "assume-websocket", "connection"] {
            assert!(script.contains(word), "{shell} completion lacks {word}");
        }
    }
    // The bash script parses, and completes subcommands.
    let script = tmp("osiscope.bash");
    std::fs::write(&script, stdout(&["completions", "bash"])).expect("write");
    let probe = format!(
        "source {}; COMP_WORDS=(osiscope wa); COMP_CWORD=1; _osiscope osiscope wa osiscope; echo \"${{COMPREPLY[@]}}\"",
        script.display()
    );
    if let Ok(out) = Command::new("bash").args(["-c", &probe]).output() {
        assert!(out.status.success(), "{out:?}");
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "walk");
    }
}

#[test]
fn man_page_renders_with_man() {
    let page = stdout(&["man"]);
    assert!(page.contains("\n.TH osiscope 1 "), "no title");
    for sub in ["WALK", "FLOWS", "PACKETS", "LAYERS", "LIVE", "DEMO"] {
        assert!(page.contains(&format!(".SH \"OSISCOPE {sub}\"")), "{sub}");
    }
    let file = tmp("osiscope.1");
    std::fs::write(&file, &page).expect("write");
    let out = Command::new("man")
        .arg("-l")
        .arg(&file)
        .env("MANPAGER", "cat")
        .env("PAGER", "cat")
        .env("MANWIDTH", "100")
        .env("LC_ALL", "C.UTF-8")
        .output();
    let out = match out {
        Ok(o) => o,
        // CI installs man-db and sets OSISCOPE_REQUIRE_MAN so this is checked there.
        Err(e) if std::env::var_os("OSISCOPE_REQUIRE_MAN").is_none() => {
            eprintln!("man not found ({e}); the page was checked as text only");
            return;
        }
        Err(e) => panic!("man -l: {e}"),
    };
    assert!(out.status.success(), "man -l failed: {out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("warning"), "groff warnings: {stderr}");
    for want in [
        "NAME",
        "SYNOPSIS",
        "EXIT STATUS",
        "OSISCOPE WALK",
        "--format",
        "osiscope walk captures/ws-echo.pcap --format svg",
        "OSISCOPE COMPLETIONS",
    ] {
        assert!(text.contains(want), "man output lacks {want:?}:\n{text}");
    }
}

#[test]
fn host_takes_address_blocks() {
    // The five connections of the Socket.IO capture are all on 127.0.0.1.
    let all = common::json_lines(&[
        "flows",
        "captures/socketio-upgrade.pcap",
        "--format",
        "json",
    ]);
    for block in ["127.0.0.0/8", "127.0.0.1/32", "0.0.0.0/0", "127.0.0.1"] {
        let some = common::json_lines(&[
            "flows",
            "captures/socketio-upgrade.pcap",
            "--format",
            "json",
            "--host",
            block,
        ]);
        assert_eq!(some.len(), all.len(), "{block}");
    }
    let none = osiscope(&[
        "flows",
        "captures/socketio-upgrade.pcap",
        "--host",
        "10.0.0.0/8",
    ]);
    assert_eq!(none.status.code(), Some(1));
    // IPv6 blocks match IPv6 connections only.
    let v6 = common::json_lines(&[
        "flows",
        "captures/ws-echo-ipv6.pcap",
        "--format",
        "json",
        "--host",
        "::/64",
    ]);
    assert_eq!(v6.len(), 1);
    let bad = osiscope(&["flows", "captures/ws-echo.pcap", "--host", "127.0.0.1/33"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("a prefix length from 0 to 32"));
}

#[test]
fn tcpdump_spellings_get_the_osiscope_spelling() {
    let o = osiscope(&["captures/ws-echo.pcap"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        "osiscope: captures/ws-echo.pcap is a capture: name a view first, e.g. `osiscope walk captures/ws-echo.pcap` (or flows, packets, layers)\n"
    );
    let o = osiscope(&[
        "packets",
        "captures/ws-echo.pcap",
        "tcp",
        "port",
        "8801",
        "and",
        "host",
        "127.0.0.1",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        "osiscope: `tcp port 8801 and host 127.0.0.1` is a tcpdump filter expression; osiscope reads only TCP and filters with options: --port 8801 --host 127.0.0.1\n"
    );
    // Other mistakes keep clap's own message.
    let o = osiscope(&["walk", "captures/ws-echo.pcap", "--nope"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("unexpected argument '--nope'"));
}

#[test]
fn without_a_file_a_pipe_on_standard_input_is_read() {
    use std::io::Write as _;
    use std::process::Stdio;
    let run = |bytes: &[u8]| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_osiscope"))
            .args(["flows", "--format", "json"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        child.stdin.take().expect("stdin").write_all(bytes).ok();
        child.wait_with_output().expect("wait")
    };
    let o = run(&std::fs::read(repo().join("captures/ws-echo.pcap")).expect("capture"));
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        stdout(&["flows", "--format", "json", "captures/ws-echo.pcap"])
    );
    // Nothing on the pipe: said, status 1.
    let o = run(b"");
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).starts_with("osiscope: -: empty file"));
}

/// `compressed` (socketio-upgrade.pcap compressed), written as `name`, gives
/// every view the plain file's output.
fn reads_as_the_plain_capture(compressed: &[u8], name: &str) {
    let path = tmp(name);
    std::fs::write(&path, compressed).expect("write");
    let p = path.to_str().expect("utf-8");
    for view in ["walk", "flows", "packets"] {
        assert_eq!(
            stdout(&[view, "--format", "json", p]),
            stdout(&[view, "--format", "json", "captures/socketio-upgrade.pcap"]),
            "{view}"
        );
    }
}

#[test]
fn a_gzip_compressed_capture_is_read_as_it_streams() {
    use std::io::Write as _;
    let plain = std::fs::read(repo().join("captures/socketio-upgrade.pcap")).expect("capture");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&plain).expect("gzip");
    let gz = gz.finish().expect("gzip");
    reads_as_the_plain_capture(&gz, "socketio-upgrade.pcap.gz");
    // Cut inside the compressed stream: what was decompressed is shown, one
    // line says where it ended, status 1.
    let cut = tmp("cut.pcap.gz");
    std::fs::write(&cut, &gz[..gz.len() / 2]).expect("write");
    let o = osiscope(&["packets", "--format", "json", cut.to_str().expect("utf-8")]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("read error"), "{err}");
    assert!(String::from_utf8_lossy(&o.stdout).lines().count() > 10);
}

#[test]
fn a_zstd_compressed_capture_is_read_as_it_streams_with_its_window_bounded() {
    let plain = std::fs::read(repo().join("captures/socketio-upgrade.pcap")).expect("capture");
    let z = zstd::stream::encode_all(&plain[..], 3).expect("zstd");
    reads_as_the_plain_capture(&z, "socketio-upgrade.pcap.zst");
    // A frame header asking for a 1 TiB window (exponent 30 + 10): refused
    // before anything is allocated, in one line, status 1.
    let mut huge = vec![0x28, 0xb5, 0x2f, 0xfd, 0x00, 30 << 3];
    huge.extend([0u8; 16]);
    let path = tmp("huge-window.pcap.zst");
    std::fs::write(&path, &huge).expect("write");
    let o = osiscope(&["packets", path.to_str().expect("utf-8")]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.ends_with("read error: zstd: Frame requires too much memory for decoding (its window is larger than the 128 MiB osiscope accepts) (at byte 0)\n"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
}

/// Byte offset just past the first `n` records of a classic pcap file.
fn pcap_prefix(bytes: &[u8], n: usize) -> usize {
    let mut at = 24;
    for _ in 0..n {
        let caplen = u32::from_le_bytes(bytes[at + 8..at + 12].try_into().expect("4 bytes"));
        at += 16 + caplen as usize;
    }
    at
}

#[test]
fn reading_a_pipe_tells_each_step_as_its_packet_arrives() {
    use std::io::{BufRead as _, Write as _};
    use std::process::Stdio;
    use std::time::Duration;
    let bytes = std::fs::read(repo().join("captures/ws-echo.pcap")).expect("capture");
    // The first 8 packets, up to the client's first text message (frame 8);
    // the rest is held back until the steps of these have been read.
    let cut = pcap_prefix(&bytes, 8);
    let mut child = Command::new(env!("CARGO_BIN_EXE_osiscope"))
        .args(["walk", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut input = child.stdin.take().expect("stdin");
    input.write_all(&bytes[..cut]).expect("write");
    input.flush().expect("flush");
    let (tx, rx) = std::sync::mpsc::channel();
    let out = child.stdout.take().expect("stdout");
    let reader = std::thread::spawn(move || {
        for line in std::io::BufReader::new(out).lines() {
            if tx.send(line.expect("utf-8")).is_err() {
                break;
            }
        }
    });
    let mut early = Vec::new();
    while let Ok(line) = rx.recv_timeout(Duration::from_secs(30)) {
        let done = line.contains("#8  L7 Application");
        early.push(line);
        if done {
            break;
        }
    }
    assert!(
        early.last().is_some_and(|l| l.contains("#8  L7 Application")
            && l.contains("\"Hello, osiscope!\"")),
        "frame 8's message before the rest of the capture was written: {early:#?}"
    );
    assert_eq!(early[0], "[conn 0] new TCP connection: frame 1");
    assert!(
        early[1]
            .starts_with("[conn 0]   0.000000         #1  L4 Transport     client → server  SYN")
    );
    // The rest arrives, the connection ends as in the file.
    input.write_all(&bytes[cut..]).expect("write");
    drop(input);
    let rest: Vec<String> = rx.iter().collect();
    reader.join().expect("reader");
    assert!(child.wait().expect("wait").success());
    assert!(
        rest.iter().any(|l| l.starts_with("[conn 0]")
            && l.contains("#22  L5 Session")
            && l.contains("Connection closed")),
        "{rest:#?}"
    );
}
