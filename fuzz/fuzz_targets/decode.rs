//! One packet through layers 2–4 and the layer-by-layer description, on every
//! link type the decoder knows (and a few it only names).
//!
//! Input: 2 bytes choose the link type, the snap-length cut, the frame kind
//! and the TCP context handed to `describe`; the rest is the frame.

#![no_main]

use libfuzzer_sys::fuzz_target;
use osiscope::capture::{Frame, FrameKind, Timestamp, linktype};
use osiscope::decode::Packet;
use osiscope::report::layers::detail::{self, describe};
use osiscope::decode::tcp_options;
use osiscope::flow::{Analysis, Dir, Role, SegmentContext};

/// Link types with a decoder, then some that are only named, then one unknown.
const LINKTYPES: [u32; 15] = [
    linktype::NULL,
    linktype::ETHERNET,
    linktype::RAW_BSD,
    linktype::RAW_OPENBSD,
    linktype::RAW,
    linktype::LOOP,
    linktype::LINUX_SLL,
    linktype::IPV4,
    linktype::IPV6,
    linktype::LINUX_SLL2,
    linktype::NFLOG,
    9,
    105,
    127,
    147,
];

const ROLES: [Role; 8] = [
    Role::Syn,
    Role::SynAck,
    Role::HandshakeAck,
    Role::Data,
    Role::Ack,
    Role::Fin,
    Role::Rst,
    Role::Other,
];

fuzz_target!(|data: &[u8]| {
    let [a, b, rest @ ..] = data else { return };
    let sel = u16::from_le_bytes([*a, *b]);
    let linktype = LINKTYPES[usize::from(sel & 0x0f) % LINKTYPES.len()];
    // A frame the snap length cut: missing bytes are then truncation, not malformation.
    let orig_len = if sel & 0x10 != 0 {
        rest.len() as u32 + u32::from(sel >> 8)
    } else {
        rest.len() as u32
    };
    // pcapng custom and journal blocks take a frame number but carry no packet.
    let kind = if sel & 0x20 != 0 && sel & 0x40 != 0 {
        FrameKind::Event("pcapng custom block")
    } else {
        FrameKind::Packet
    };
    let frame = Frame {
        number: 1,
        kind,
        ts: Timestamp {
            secs: i64::from(sel),
            nanos: 0,
        },
        linktype,
        interface: 0,
        orig_len,
        data: rest,
        offset: 0,
    };
    let pkt = Packet::decode(&frame);
    if let Some(p) = &pkt.problem {
        let _ = p.text();
    }
    let _ = pkt.cut_header();
    let _ = pkt.ethernet();
    let payload = pkt.payload();
    if !payload.is_empty() {
        assert!(pkt.offset_of(payload) + payload.len() <= rest.len());
    }

    let tcp = pkt.tcp();
    if let Some(t) = &tcp {
        let _ = (t.src_port(), t.dst_port(), t.seq(), t.ack_number());
        let _ = (t.flags(), t.window(), t.checksum(), t.urgent_ptr());
        let _ = (t.header_len(), t.header_bytes(), t.payload(), t.complete());
        let opts = tcp_options::parse(t.options(), !t.complete());
        let _ = tcp_options::summary(&opts);
        let _ = detail::tcp_flags_text(t.flags());
        let _ = osiscope::decode::segment_len(&pkt, t.header_len());
    }

    // The context a flow table would give a TCP segment, from the selector bits.
    let ctx = tcp.filter(|_| sel & 0x20 != 0).map(|t| SegmentContext {
        stream: 0,
        dir: if sel & 0x80 != 0 {
            Dir::ServerToClient
        } else {
            Dir::ClientToServer
        },
        rel_seq: t.seq() % 1000,
        rel_ack: (sel & 0x100 != 0).then_some(t.ack_number() % 1000),
        role: ROLES[usize::from(sel >> 9) % ROLES.len()],
        analysis: Analysis(sel.rotate_left(3)),
        conn_rel_ts: 0.5,
        opens: sel & 0x200 != 0,
        established_rtt: (sel & 0x400 != 0).then_some(0.001),
        window_size: u32::from(t.window()) << 2,
    });
    let layers = describe(&frame, &pkt, ctx.as_ref());
    for l in &layers {
        // Documented: the layer's offset within the frame and its captured length.
        assert!(
            l.offset.saturating_add(l.length) <= rest.len(),
            "layer {} ({}..+{}) ends past the {}-byte frame",
            l.name,
            l.offset,
            l.length,
            rest.len()
        );
        let _ = l.brief();
        for f in &l.fields.0 {
            let _ = f.display();
        }
    }
    serde_json::to_vec(&layers).expect("layers serialize");
});
