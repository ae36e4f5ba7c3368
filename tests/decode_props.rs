//! Arbitrary bytes, decoded: no link type's decoder, no layer description,
//! no HTTP, Engine.IO or Socket.IO parser may panic, whatever the input and
//! however it is cut. (The fuzz targets in fuzz/ search the same ground with
//! coverage guidance; these run in every `cargo test`.)

use osiscope::capture::{Frame, FrameKind, Timestamp, linktype};
use osiscope::decode::Packet;
use osiscope::proto::http::HttpParser;
use osiscope::proto::{engineio, socketio};
use osiscope::report::layers::detail;
use proptest::prelude::*;

/// Every link type osiscope decodes, and one it does not know.
fn linktypes() -> Vec<u32> {
    let mut v = linktype::ALL.to_vec();
    v.push(147);
    v
}

/// Bytes that often look like the start of a real packet: an Ethernet/IPv4/TCP
/// header with some of its bytes replaced, then anything.
fn packetish() -> impl Strategy<Value = Vec<u8>> {
    let base: Vec<u8> = {
        let b = etherparse::PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
            .ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
            .tcp(40000, 80, 1, 65535)
            .syn();
        let mut v = Vec::new();
        b.write(&mut v, b"GET / HTTP/1.1\r\n\r\n").expect("build");
        v
    };
    (
        prop::collection::vec((0..base.len(), any::<u8>()), 0..8),
        0..=base.len(),
        prop::collection::vec(any::<u8>(), 0..64),
    )
        .prop_map(move |(flips, cut, tail)| {
            let mut v = base.clone();
            for (i, b) in flips {
                v[i] = b;
            }
            v.truncate(cut);
            v.extend(tail);
            v
        })
}

fn frame(linktype: u32, data: &[u8]) -> Frame<'_> {
    Frame {
        number: 1,
        kind: FrameKind::Packet,
        ts: Timestamp::default(),
        linktype,
        interface: 0,
        orig_len: data.len() as u32 + 10,
        data,
        offset: 0,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn packets_decode_and_describe_without_panic(
        lt in prop::sample::select(linktypes()),
        data in prop_oneof![prop::collection::vec(any::<u8>(), 0..200), packetish()],
    ) {
        let f = frame(lt, &data);
        let p = Packet::decode(&f);
        let layers = detail::describe(&f, &p, None);
        prop_assert!(!layers.is_empty());
        // Every layer lies within the captured bytes (a cut header says so
        // with a shorter length), and the first is the frame itself.
        prop_assert_eq!(layers[0].name, "Frame");
        for l in &layers {
            prop_assert!(
                l.offset + l.length <= data.len(),
                "{} at {}+{} in {} bytes", l.name, l.offset, l.length, data.len()
            );
        }
        if let Some(t) = p.tcp() {
            let _ = (t.seq(), t.flags(), t.options(), t.payload());
        }
    }

    #[test]
    fn http_parsers_take_any_bytes_cut_anywhere(
        data in prop::collection::vec(any::<u8>(), 0..600),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..6),
        request in any::<bool>(),
    ) {
        let mut p = HttpParser::new(request);
        let mut out = Vec::new();
        let mut at: Vec<usize> = cuts.iter().map(|i| i.index(data.len() + 1)).collect();
        at.sort_unstable();
        let mut start = 0;
        for (n, &end) in at.iter().chain(std::iter::once(&data.len())).enumerate() {
            let end = end.max(start);
            let used = p.push(&data[start..end], n as u64, &mut out);
            prop_assert!(used <= end - start);
            start = end;
        }
        p.close(99, &mut out);
    }

    #[test]
    fn engineio_and_socketio_take_any_text(s in ".{0,200}", raw in prop::collection::vec(any::<u8>(), 0..200)) {
        let _ = engineio::parse_text(&s);
        let _ = engineio::parse_binary(&raw, false);
        let _ = engineio::parse_binary(&raw, true);
        let _ = engineio::split_polling(&raw, false);
        let _ = engineio::split_polling(s.as_bytes(), true);
        let mut j = socketio::BinaryJoiner::new();
        if let Ok(p) = socketio::parse(&s) {
            let _ = socketio::describe(&p, true);
            let _ = j.packet(p);
        }
        let _ = j.attachment(&raw);
        let _ = j.finish();
    }

    #[test]
    fn socketio_shaped_text_never_panics(
        ty in 0u8..10,
        count in prop::option::of(0u64..u64::MAX),
        ns in prop::option::of("/[a-z]{0,5}"),
        ack in prop::option::of(any::<u64>()),
        payload in r#"(\[|\{|"|[0-9]|-|,|_placeholder|num|true|:|\]|\}){0,40}"#,
    ) {
        let mut s = format!("{ty}");
        if let Some(c) = count {
            s.push_str(&format!("{c}-"));
        }
        if let Some(n) = ns {
            s.push_str(&format!("{n},"));
        }
        if let Some(a) = ack {
            s.push_str(&a.to_string());
        }
        s.push_str(&payload);
        let mut j = socketio::BinaryJoiner::new();
        if let Ok(p) = socketio::parse(&s) {
            let _ = socketio::describe(&p, false);
            let _ = j.packet(p);
            let _ = j.attachment(b"\x00\x01");
        }
        let _ = j.finish();
    }

    /// Reading only the shape of a payload accepts and refuses what decoding
    /// it does, and finds the same packet but for the values.
    #[test]
    fn the_shape_of_an_event_or_ack_is_read_as_its_values_are(
        ty in prop::sample::select(vec!['2', '3', '0', '5']),
        ack in prop::option::of(0u64..1000),
        payload in r#"(\[|\{|"|[0-9]|-|\.|e|,|:|\]|\}|chat|disconnect|\\u00e9|\\ud800|\\|true|null| ){0,40}"#,
    ) {
        let s = format!("{ty}{}{payload}", ack.map(|a| a.to_string()).unwrap_or_default());
        match (socketio::parse(&s), socketio::parse_shape(&s)) {
            (Ok(full), Ok(shape)) => {
                let values = matches!(full.ptype, socketio::SioType::Event | socketio::SioType::Ack);
                prop_assert_eq!(
                    socketio::SioPacket { data: shape.data.clone(), ..full.clone() },
                    shape.clone()
                );
                prop_assert!(!values || shape.data.is_none());
            }
            (full, shape) => prop_assert_eq!(full, shape),
        }
    }
}
