//! Engine.IO and Socket.IO decoding of untrusted text: polling bodies (v3 and
//! v4 framing), WebSocket messages, Socket.IO packets, and the joiner that
//! fills binary placeholders with the attachments that follow.
//!
//! Input: a flags byte (Engine.IO v3, which side sends), then the body. The
//! body is split as a polling body both ways; it is also read as a sequence
//! of WebSocket messages, one per line, a line starting with 0xff being a
//! binary message. Every Engine.IO message goes on to Socket.IO.

#![no_main]

use libfuzzer_sys::fuzz_target;
use osiscope::proto::engineio::{self, EioData, EioPacket, MAX_POLLING_PACKETS};
use osiscope::proto::socketio::{self, BinaryJoiner, MAX_ATTACHMENTS, SioPacket};

/// One direction of a Socket.IO session.
struct Session {
    joiner: BinaryJoiner,
    from_client: bool,
}

impl Session {
    fn show(&self, p: &SioPacket) {
        let _ = socketio::describe(p, self.from_client);
    }

    fn eio(&mut self, p: EioPacket) {
        match p {
            EioPacket::Message(EioData::Text(t)) => match socketio::parse(&t) {
                Ok(p) => self.packet(p),
                Err(e) => assert!(!e.is_empty()),
            },
            EioPacket::Message(EioData::Binary(b)) => {
                let waiting = self.joiner.pending();
                let joined = self.joiner.attachment(&b);
                if !waiting {
                    assert!(
                        joined.is_none(),
                        "an attachment joined with no packet waiting"
                    );
                }
                if let Some(p) = joined {
                    assert!(!self.joiner.pending());
                    self.show(&p);
                }
            }
            _ => {}
        }
    }

    fn packet(&mut self, p: SioPacket) {
        self.show(&p);
        let waits = p.ptype.is_binary() && p.attachments > 0 && p.attachments <= MAX_ATTACHMENTS;
        match self.joiner.packet(p) {
            Some(p) => {
                assert!(!waits, "a packet that needs attachments was not held");
                self.show(&p);
            }
            None => assert!(waits && self.joiner.pending()),
        }
        if let Some(p) = self.joiner.take_incomplete() {
            assert!(
                p.warning.is_some(),
                "an incomplete packet without a warning"
            );
            self.show(&p);
        }
    }

    fn finish(&mut self) {
        if let Some(p) = self.joiner.finish() {
            self.show(&p);
        }
        assert!(!self.joiner.pending());
    }
}

fuzz_target!(|data: &[u8]| {
    let [flags, body @ ..] = data else { return };
    let v3 = flags & 1 != 0;
    let from_client = flags & 2 != 0;

    // Long-polling bodies, both framings.
    for v in [v3, !v3] {
        let (packets, dropped) = engineio::split_polling(body, v);
        assert!(packets.len() <= MAX_POLLING_PACKETS);
        assert!(!dropped || packets.len() == MAX_POLLING_PACKETS);
        let mut s = Session {
            joiner: BinaryJoiner::new(),
            from_client,
        };
        for p in packets {
            s.eio(p);
        }
        s.finish();
    }

    // WebSocket messages, one per line.
    let mut s = Session {
        joiner: BinaryJoiner::new(),
        from_client,
    };
    for line in body.split(|&b| b == b'\n') {
        let p = match line.split_first() {
            Some((0xff, bin)) => engineio::parse_binary(bin, v3),
            _ => match std::str::from_utf8(line) {
                Ok(text) => engineio::parse_text(text),
                Err(_) => engineio::parse_binary(line, v3),
            },
        };
        s.eio(p);
    }
    s.finish();

    if let Ok(text) = std::str::from_utf8(body) {
        let _ = engineio::parse_uri(text);
    }
});
