//! WebSocket framing (RFC 6455) and permessage-deflate (RFC 7692), one direction at a time.
//!
//! A [`WsParser`] is fed the bytes one endpoint sent after the HTTP 101 response head, in
//! order and cut anywhere, and appends [`WsEvent`]s: every frame, every complete data
//! message (defragmented, unmasked, inflated) and every protocol violation it notices.
//! A violation never stops parsing: the frame length is still known, so framing goes on.
//!
//! Validated, each failure reported once per frame (or once per message) as a
//! [`WsEvent::Violation`]:
//! - masking: frames from the client carry a mask, frames from the server do not;
//! - opcodes: 3–7 and 11–15 are reserved;
//! - control frames (close, ping, pong): payload of at most [`MAX_CONTROL_PAYLOAD`]
//!   bytes, FIN set;
//! - reserved bits: RSV1 only on the first frame of a data message and only when
//!   permessage-deflate was negotiated; RSV2 and RSV3 never;
//! - fragmentation: a continuation frame needs an open message; a new text/binary frame
//!   must not arrive while one is open (the open message is then reported, cut, with an
//!   error);
//! - close: nothing may follow this side's close frame; a 1-byte payload is too short; the
//!   status code must be one allowed on the wire (RFC 6455 §7.4); the reason must be UTF-8;
//! - text messages must be UTF-8: every byte of the message is checked as it streams
//!   through, kept or not (see [`MessageInfo::utf8_valid`]);
//! - compressed messages must inflate, to at most [`MAX_INFLATE`] bytes.
//!
//! Not validated: minimal encoding of the payload length, the 101 handshake itself (the
//! caller passes the negotiated [`DeflateParams`]), whether the peer's window really stays
//! within the negotiated `*_max_window_bits`.
//!
//! Framing is lost, and the parser stops for good ([`WsParser::stopped`]), on a capture gap
//! ([`WsParser::gap`]) or on a 64-bit length with its most significant bit set (RFC 6455
//! forbids it, and what follows cannot be located).
//!
//! permessage-deflate: a data message whose first frame has RSV1 is inflated with one
//! raw-deflate context per direction, kept across messages (context takeover) unless the
//! sender declared `*_no_context_takeover`, in which case it is reset after every message.
//! After an inflate error, a deflate bomb or a compressed message cut by a new one, that
//! context is unusable: later compressed messages of the direction are reported with an
//! error and not inflated, unless the context is reset after every message anyway. A
//! message ending its deflate stream (a block with BFINAL) also resets the context.
//!
//! Memory per parser is bounded whatever the input claims: a frame's payload is streamed
//! through, [`MAX_FRAME_KEEP`] bytes of it kept; a message keeps [`MAX_MESSAGE_KEEP`] bytes
//! (or fewer, [`WsParser::keep_messages`]: a caller that only shows a preview asks for
//! less, and then pays no copy for the rest) and compressed bytes go to the inflater as they arrive; plus one inflater (its window,
//! at most 32 KiB, and its state) and scratch buffers of [`UNMASK_CHUNK`] and
//! [`INFLATE_CHUNK`] bytes.

use flate2::{Decompress, FlushDecompress, Status};

use super::coding::{
    MAX_CONTROL_PAYLOAD, MAX_HEADER_LEN, OP_BINARY, OP_CLOSE, OP_CONTINUATION, OP_PING, OP_PONG,
    OP_TEXT, opcode_name, valid_close_code,
};
use super::deflate::{
    CONTEXT_LOST, DEFAULT_WINDOW_BITS, DeflateParams, INFLATE_CHUNK, Inflater, MAX_INFLATE,
    MIN_WINDOW_BITS, TRAILER,
};
use super::mask::apply_mask;
use super::utf8::Utf8Stream;
use crate::limit::SharedLimit;

/// Bytes of each frame's (unmasked) payload kept for display (and a close frame's reason).
pub const MAX_FRAME_KEEP: usize = 4 * 1024;
/// Bytes of each message kept (after defragmentation and inflate) by default: enough for
/// an Engine.IO/Socket.IO decoder to read whole packets.
pub const MAX_MESSAGE_KEEP: usize = 1024 * 1024;
/// Payload bytes unmasked per step, so one huge push needs no buffer of its size.
pub const UNMASK_CHUNK: usize = 16 * 1024;

/// Error of a message cut short by a new data frame.
pub(super) const INTERRUPTED: &str = "interrupted by a new data frame";

/// Who sends the bytes a parser sees.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    Client,
    Server,
}

/// One frame, reported once its last byte arrived.
#[derive(Clone, Debug, PartialEq)]
pub struct FrameInfo {
    /// Capture frame number of the segment that delivered the frame's last byte.
    pub frame: u64,
    pub fin: bool,
    pub rsv1: bool,
    pub rsv2: bool,
    pub rsv3: bool,
    pub opcode: u8,
    pub masked: bool,
    pub mask_key: Option<[u8; 4]>,
    pub payload_len: u64,
    /// Bytes of header (2 + extended length + mask key).
    pub header_len: usize,
    /// Unmasked payload, the first MAX_FRAME_KEEP bytes.
    pub payload: Vec<u8>,
    /// Offset of the header's first byte in the bytes this direction's parser
    /// was given (see [`WsParser::seen`]).
    pub at: u64,
    /// Offset in the direction's TCP stream, when the analyzer knows it.
    pub stream_at: Option<u64>,
    /// Capture frame that delivered the header's first byte.
    pub first_frame: u64,
    /// A data frame that began while its row could not be listed (see
    /// [`WsParser::rows_listable`]): its payload was not kept.
    pub unlisted: bool,
    /// For a close frame: status code and reason (None when the payload is empty).
    ///
    /// `Some((None, ""))` for a close frame without a status code (payload shorter than 2
    /// bytes); None for every other opcode. An invalid reason is decoded lossily.
    pub close: Option<(Option<u16>, String)>,
}

/// One data message, reported after its last frame.
#[derive(Clone, Debug, PartialEq)]
pub struct MessageInfo {
    /// Capture frame that delivered the first byte of the message's first frame header.
    pub first_frame: u64,
    /// Capture frame that delivered the last byte of the message's last frame.
    pub last_frame: u64,
    /// 1 text, 2 binary (control frames are not messages).
    pub opcode: u8,
    /// Payload bytes on the wire (sum over fragments, compressed size if compressed).
    pub wire_len: u64,
    /// Length after inflate (== wire_len when not compressed); None when inflate failed.
    pub length: Option<u64>,
    pub compressed: bool,
    /// The message (unmasked, defragmented, inflated), first MAX_MESSAGE_KEEP bytes.
    pub data: Vec<u8>,
    /// Text messages: every byte of the message is valid UTF-8, whether kept in `data` or
    /// not; an incomplete message (error set) may end mid-character.
    ///
    /// Binary messages: whether the kept bytes happen to be UTF-8 (a cut, or an
    /// incomplete message, may end mid-character).
    pub utf8_valid: bool,
    /// Why the message could not be fully decoded, if so (e.g. "inflate: invalid distance too far back", "deflate bomb: more than 16777216 bytes").
    pub error: Option<String>,
    /// The message was not kept (`data` is empty) because the limit shared
    /// by all unfinished messages was reached; `error` says so too.
    pub cut_by_shared: bool,
    /// WebSocket frames of the message (1 when it was not fragmented).
    pub fragments: u64,
    /// Capture frames that delivered its bytes (headers and payload).
    pub segments: Segments,
    /// The message began while its row could not be listed (see
    /// [`WsParser::rows_listable`]): only the head an unlisted message
    /// needs was kept.
    pub unlisted: bool,
}

/// Capture frames that carried a message, in order: all of them counted,
/// the first [`MAX_SEGMENTS_LISTED`] listed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Segments {
    pub count: u64,
    pub frames: Vec<u64>,
    /// The latest frame counted (listed or not).
    pub last: u64,
}

/// Capture frames listed per message; a 16 MiB message can take hundreds.
pub const MAX_SEGMENTS_LISTED: usize = 64;

impl Segments {
    fn add(&mut self, frame: u64) {
        if self.count > 0 && self.last == frame {
            return;
        }
        self.count += 1;
        self.last = frame;
        if self.frames.len() < MAX_SEGMENTS_LISTED {
            self.frames.push(frame);
        }
    }
}

/// What the parser reports, in stream order.
#[derive(Clone, Debug, PartialEq)]
pub enum WsEvent {
    Frame(FrameInfo),
    Message(MessageInfo),
    /// A protocol violation, at the capture frame where it was seen. Kinds: "unmasked_client_frame", "masked_server_frame", "control_frame_too_long", "fragmented_control_frame", "reserved_opcode", "rsv_without_extension", "continuation_without_start", "message_interrupted" (a new data frame while a fragmented message is open), "data_after_close", "invalid_utf8", "invalid_close_code", "close_payload_too_short", "deflate_bomb", "inflate_error", "length_msb_set" (a 64-bit length with its top bit set: framing is lost and the parser stops).
    ///
    /// A violation comes before the frame or message event it concerns.
    Violation {
        frame: u64,
        kind: &'static str,
    },
}

/// Appends to `v` what fits under `cap`, growing the allocation no further than `cap`.
fn extend_capped(v: &mut Vec<u8>, src: &[u8], cap: usize) {
    let take = cap.saturating_sub(v.len()).min(src.len());
    let Some(src) = src.get(..take) else { return };
    if src.is_empty() {
        return;
    }
    if v.capacity() - v.len() < take {
        // Doubling, never past cap; take <= cap - len, so the new bytes fit.
        let want = v.capacity().saturating_mul(2).max(v.len() + take).min(cap);
        v.reserve_exact(want.saturating_sub(v.len()));
    }
    v.extend_from_slice(src);
}

/// What a frame's payload feeds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Role {
    /// Part of the open data message.
    Message,
    /// Close, ping or pong.
    Control,
    /// Reserved opcode, or a continuation without a message: reported as a frame only.
    Ignored,
}

/// The frame whose payload is being read.
#[derive(Debug)]
pub(super) struct OpenFrame {
    pub(super) fin: bool,
    pub(super) rsv1: bool,
    pub(super) rsv2: bool,
    pub(super) rsv3: bool,
    pub(super) opcode: u8,
    pub(super) masked: bool,
    pub(super) key: [u8; 4],
    pub(super) payload_len: u64,
    pub(super) header_len: usize,
    pub(super) at: u64,
    pub(super) first_frame: u64,
    /// Payload bytes read so far.
    pub(super) done: u64,
    pub(super) keep: Vec<u8>,
    /// Bytes of the payload kept in `keep`.
    pub(super) keep_limit: usize,
    /// Less was kept than a listed frame keeps.
    pub(super) unlisted: bool,
    pub(super) role: Role,
}

/// The data message being assembled.
#[derive(Debug)]
pub(super) struct OpenMessage {
    pub(super) first_frame: u64,
    pub(super) last_frame: u64,
    pub(super) opcode: u8,
    pub(super) wire_len: u64,
    pub(super) compressed: bool,
    pub(super) data: Vec<u8>,
    /// Message bytes seen: wire bytes, or inflated bytes when compressed.
    pub(super) length: u64,
    pub(super) error: Option<String>,
    /// Compressed bytes still go to the inflater.
    pub(super) inflating: bool,
    /// Inflate failed (error, bomb, or no usable context): the length is unknown.
    pub(super) inflate_failed: bool,
    /// The deflate stream ended (a block with BFINAL): the rest of the message is ignored.
    pub(super) stream_end: bool,
    /// A text message's bytes (inflated if compressed), all of them, as they arrive.
    pub(super) utf8: Utf8Stream,
    /// Bytes of the message kept in `data`.
    pub(super) keep: usize,
    /// The limit on unfinished messages' kept bytes shared by the parsers
    /// of a run; `data` is counted in it until the message is reported.
    pub(super) shared: Option<SharedLimit>,
    /// Bytes of `data` counted in `shared`.
    pub(super) counted: usize,
    /// Bytes were not kept because `shared` was full.
    pub(super) cut_by_shared: bool,
    pub(super) fragments: u64,
    pub(super) segments: Segments,
    /// Less is kept than a listed message keeps.
    pub(super) unlisted: bool,
}

impl OpenMessage {
    /// Keeps the head of `src`: up to `keep` bytes of the message. When the
    /// shared limit has no room for them, the message is cut: what it kept is
    /// given back at once and nothing more is kept (a cut message cannot be
    /// decoded, and holding its head would only block other messages).
    pub(super) fn keep_data(&mut self, src: &[u8]) {
        if self.cut_by_shared {
            return;
        }
        let before = self.data.len();
        let want = self.keep.saturating_sub(before).min(src.len());
        if want > 0
            && let Some(s) = &self.shared
            && !s.has_room(want)
        {
            s.give(self.counted);
            self.counted = 0;
            self.data = Vec::new();
            self.keep = 0;
            self.cut_by_shared = true;
            return;
        }
        extend_capped(&mut self.data, src, self.keep);
        let added = self.data.len() - before;
        if let Some(s) = &self.shared {
            s.take(added);
            self.counted += added;
        }
    }
}

impl Drop for OpenMessage {
    fn drop(&mut self) {
        if let Some(s) = &self.shared {
            s.give(self.counted);
        }
    }
}

/// Inflates `input` into `m`, flagging a bomb or an error; stops feeding `m` after either.
fn inflate(
    inf: &mut Inflater,
    m: &mut OpenMessage,
    mut input: &[u8],
    flush: FlushDecompress,
    frame: u64,
    out: &mut Vec<WsEvent>,
) {
    while m.inflating {
        inf.out.clear();
        inf.out.reserve(INFLATE_CHUNK);
        let in_before = inf.d.total_in();
        let result = inf.d.decompress_vec(input, &mut inf.out, flush);
        let consumed =
            usize::try_from(inf.d.total_in().saturating_sub(in_before)).unwrap_or(usize::MAX);
        input = input.get(consumed..).unwrap_or_default();
        let produced = inf.out.len();
        m.length = m.length.saturating_add(produced as u64);
        m.keep_data(&inf.out);
        if m.opcode == OP_TEXT {
            m.utf8.feed(&inf.out);
        }
        if m.length > MAX_INFLATE as u64 {
            fail_inflate(m, format!("deflate bomb: more than {MAX_INFLATE} bytes"));
            out.push(WsEvent::Violation {
                frame,
                kind: "deflate_bomb",
            });
            return;
        }
        match result {
            Err(e) => {
                let why = e.message().unwrap_or("invalid deflate data");
                fail_inflate(m, format!("inflate: {why}"));
                out.push(WsEvent::Violation {
                    frame,
                    kind: "inflate_error",
                });
            }
            Ok(Status::StreamEnd) => {
                m.inflating = false;
                m.stream_end = true;
            }
            Ok(_) => {
                let full = produced >= inf.out.capacity();
                if (consumed == 0 && produced == 0) || (input.is_empty() && !full) {
                    return;
                }
            }
        }
    }
}

/// Marks the message undecodable from here on.
fn fail_inflate(m: &mut OpenMessage, why: String) {
    m.inflating = false;
    m.inflate_failed = true;
    m.error.get_or_insert(why);
}

/// Follows one direction of a WebSocket connection; see the module documentation.
#[derive(Debug)]
pub struct WsParser {
    side: Side,
    deflate: bool,
    /// Inflate window for this side's messages.
    window_bits: u8,
    /// This side resets its compressor after every message.
    reset_each: bool,
    hdr: [u8; MAX_HEADER_LEN],
    hdr_have: usize,
    /// Capture frame that delivered the header's first byte.
    hdr_frame: u64,
    /// Where the header being collected started (see [`Self::seen`]).
    hdr_at: u64,
    /// Bytes pushed before the current push.
    seen: u64,
    pub(super) frame: Option<OpenFrame>,
    pub(super) msg: Option<OpenMessage>,
    /// Created on the first compressed message.
    pub(super) inflater: Option<Inflater>,
    /// Unmasked payload, UNMASK_CHUNK bytes, reused.
    pub(super) scratch: Vec<u8>,
    /// Bytes kept of each message.
    keep: usize,
    /// Bytes kept of each data frame's payload (control frames keep [`MAX_FRAME_KEEP`]).
    frame_keep: usize,
    /// Bytes kept of a message, and of a data frame's payload, that begins
    /// while its row cannot be listed.
    keep_unlisted: usize,
    frame_keep_unlisted: usize,
    /// Whether a data frame's row, and a message's, can still be listed.
    rows: [bool; 2],
    /// This side sent a close frame.
    closed: bool,
    stop: Option<&'static str>,
    frames: u64,
    header_bytes: u64,
    payload_bytes: u64,
    /// Limit on unfinished messages' kept bytes shared with other parsers.
    shared: Option<SharedLimit>,
}

impl WsParser {
    /// `deflate`: the negotiated permessage-deflate parameters, if any (RSV1 is then allowed on the first frame of a data message).
    pub fn new(side: Side, deflate: Option<DeflateParams>) -> Self {
        let (bits, reset_each) = match (&deflate, side) {
            (Some(p), Side::Client) => (p.client_max_window_bits, p.client_no_context_takeover),
            (Some(p), Side::Server) => (p.server_max_window_bits, p.server_no_context_takeover),
            (None, _) => (None, false),
        };
        let window_bits = bits
            .filter(|b| (8..=15).contains(b))
            .unwrap_or(DEFAULT_WINDOW_BITS)
            .max(MIN_WINDOW_BITS);
        WsParser {
            side,
            deflate: deflate.is_some(),
            window_bits,
            reset_each,
            hdr: [0; MAX_HEADER_LEN],
            hdr_have: 0,
            hdr_frame: 0,
            hdr_at: 0,
            seen: 0,
            frame: None,
            msg: None,
            inflater: None,
            scratch: Vec::new(),
            keep: MAX_MESSAGE_KEEP,
            frame_keep: MAX_FRAME_KEEP,
            keep_unlisted: MAX_MESSAGE_KEEP,
            frame_keep_unlisted: MAX_FRAME_KEEP,
            rows: [true; 2],
            closed: false,
            stop: None,
            frames: 0,
            header_bytes: 0,
            payload_bytes: 0,
            shared: None,
        }
    }

    /// Counts the bytes kept of unfinished messages in `limit`, shared with
    /// the other parsers of a run; past it, messages are cut (and marked so)
    /// rather than memory growing with the number of connections.
    pub fn sharing(mut self, limit: &SharedLimit) -> Self {
        self.shared = Some(limit.clone());
        self
    }

    /// Feeds the next bytes of this direction's stream (the bytes after the HTTP 101 head). `frame` is the capture frame whose segment delivered them. Events are appended in stream order.
    pub fn push(&mut self, bytes: &[u8], frame: u64, out: &mut Vec<WsEvent>) {
        self.push_inner(bytes, frame, out);
        self.seen += bytes.len() as u64;
    }

    /// Bytes pushed so far (consumed or, once stopped, skipped): the offset
    /// of the next one.
    pub fn seen(&self) -> u64 {
        self.seen
    }

    fn push_inner(&mut self, mut bytes: &[u8], frame: u64, out: &mut Vec<WsEvent>) {
        let total = bytes.len();
        while self.stop.is_none() && !bytes.is_empty() {
            match &self.frame {
                Some(f) => {
                    let left = f.payload_len.saturating_sub(f.done);
                    let take = usize::try_from(left).map_or(bytes.len(), |l| l.min(bytes.len()));
                    let (chunk, rest) = bytes.split_at_checked(take).unwrap_or((bytes, &[]));
                    bytes = rest;
                    self.payload(chunk, frame, out);
                    if self.frame.as_ref().is_some_and(|f| f.done == f.payload_len) {
                        self.finish_frame(frame, out);
                    }
                }
                None => {
                    if self.hdr_have == 0 {
                        self.hdr_at = self.seen + (total - bytes.len()) as u64;
                    }
                    bytes = self.header(bytes, frame, out);
                }
            }
        }
    }

    /// Keeps only the first `n` bytes (at most [`MAX_MESSAGE_KEEP`]) of each message's
    /// data: for a caller that shows a preview and never parses the whole message. Text
    /// is still validated in full.
    pub fn keep_messages(&mut self, n: usize) {
        self.keep = n.min(MAX_MESSAGE_KEEP);
    }

    /// What was still being read when the stream ended, in words: a frame whose
    /// payload had not all arrived, or a message without its final frame.
    pub fn unfinished(&self) -> Option<String> {
        if let Some(f) = &self.frame {
            return Some(format!(
                "{} frame unfinished at the end: {} of {} payload bytes seen",
                opcode_name(f.opcode),
                f.done,
                f.payload_len
            ));
        }
        if let Some(m) = &self.msg {
            return Some(format!(
                "{} message without its final frame at the end: {} bytes in frames {}–{}",
                opcode_name(m.opcode),
                m.wire_len,
                m.first_frame,
                m.last_frame
            ));
        }
        (self.hdr_have > 0)
            .then(|| format!("frame header cut at the end ({} bytes)", self.hdr_have))
    }

    /// Keeps only the first `n` bytes (at most [`MAX_FRAME_KEEP`]) of each data frame's
    /// payload; control frames (a close frame's reason) are kept whole.
    pub fn keep_frames(&mut self, n: usize) {
        self.frame_keep = n.min(MAX_FRAME_KEEP);
    }

    /// Bytes kept of a data frame's payload and of a message that begin
    /// while their rows cannot be listed (see [`Self::rows_listable`]): what
    /// is shown of them without a row. By default as much as of the others.
    pub fn keep_unlisted(&mut self, frame: usize, message: usize) {
        self.frame_keep_unlisted = frame;
        self.keep_unlisted = message;
    }

    /// Whether a data frame's row (`frames`) and a message's (`messages`)
    /// could be listed now; set before each push. A frame or message that
    /// begins while they cannot keeps only [`Self::keep_unlisted`] and is
    /// reported `unlisted`: most of a long capture's frames are never listed,
    /// and copying their payloads was most of their cost.
    pub fn rows_listable(&mut self, frames: bool, messages: bool) {
        self.rows = [frames, messages];
    }

    /// The stream lost bytes (a capture gap): framing cannot be trusted any more; the parser stops and reports nothing further.
    pub fn gap(&mut self) {
        self.halt("gap");
    }

    /// True once the parser gave up (gap, or framing lost).
    pub fn stopped(&self) -> bool {
        self.stop.is_some()
    }

    /// Why the parser stopped: "gap", or "length_msb_set" (a 64-bit payload length with its top bit set).
    pub fn stop_reason(&self) -> Option<&'static str> {
        self.stop
    }

    /// Frames and bytes seen so far: (frames, header bytes incl. masks, payload bytes on the wire).
    ///
    /// A frame counts once its header is complete; payload bytes count as they arrive.
    pub fn totals(&self) -> (u64, u64, u64) {
        (self.frames, self.header_bytes, self.payload_bytes)
    }

    /// The side whose bytes this parser reads.
    pub fn side(&self) -> Side {
        self.side
    }

    /// Stops for good and frees what is held.
    fn halt(&mut self, why: &'static str) {
        self.stop = Some(why);
        self.frame = None;
        self.msg = None;
        self.inflater = None;
        self.scratch = Vec::new();
        self.hdr_have = 0;
    }

    /// Collects header bytes; starts the frame once the header is complete. Returns the bytes left.
    fn header<'a>(&mut self, mut bytes: &'a [u8], frame: u64, out: &mut Vec<WsEvent>) -> &'a [u8] {
        if self.hdr_have == 0 {
            self.hdr_frame = frame;
        }
        loop {
            let need = if self.hdr_have < 2 {
                2
            } else {
                let b1 = self.hdr[1];
                let ext = match b1 & 0x7f {
                    126 => 2,
                    127 => 8,
                    _ => 0,
                };
                2 + ext + if b1 & 0x80 != 0 { 4 } else { 0 }
            };
            if self.hdr_have >= need {
                self.start_frame(need, frame, out);
                return bytes;
            }
            if bytes.is_empty() {
                return bytes;
            }
            let take = (need - self.hdr_have).min(bytes.len());
            let (src, rest) = bytes.split_at_checked(take).unwrap_or((bytes, &[]));
            if let Some(dst) = self.hdr.get_mut(self.hdr_have..self.hdr_have + src.len()) {
                dst.copy_from_slice(src);
            }
            self.hdr_have += src.len();
            bytes = rest;
        }
    }

    /// Decodes the complete header, reports its violations and opens the frame (and message).
    fn start_frame(&mut self, header_len: usize, frame: u64, out: &mut Vec<WsEvent>) {
        let h = self.hdr;
        self.hdr_have = 0;
        let fin = h[0] & 0x80 != 0;
        let rsv1 = h[0] & 0x40 != 0;
        let rsv2 = h[0] & 0x20 != 0;
        let rsv3 = h[0] & 0x10 != 0;
        let opcode = h[0] & 0x0f;
        let masked = h[1] & 0x80 != 0;
        let (payload_len, key_at) = match h[1] & 0x7f {
            126 => (u64::from(u16::from_be_bytes([h[2], h[3]])), 4),
            127 => (
                u64::from_be_bytes([h[2], h[3], h[4], h[5], h[6], h[7], h[8], h[9]]),
                10,
            ),
            n => (u64::from(n), 2),
        };
        if payload_len >> 63 != 0 {
            out.push(WsEvent::Violation {
                frame,
                kind: "length_msb_set",
            });
            self.halt("length_msb_set");
            return;
        }
        let key = match h.get(key_at..key_at + 4) {
            Some(&[a, b, c, d]) if masked => [a, b, c, d],
            _ => [0; 4],
        };
        self.frames += 1;
        self.header_bytes += header_len as u64;

        let violation = |out: &mut Vec<WsEvent>, kind| out.push(WsEvent::Violation { frame, kind });
        if self.closed {
            violation(out, "data_after_close");
        }
        match (self.side, masked) {
            (Side::Client, false) => violation(out, "unmasked_client_frame"),
            (Side::Server, true) => violation(out, "masked_server_frame"),
            _ => {}
        }
        let control = matches!(opcode, OP_CLOSE | OP_PING | OP_PONG);
        if matches!(opcode, 3..=7 | 11..=15) {
            violation(out, "reserved_opcode");
        }
        if control && payload_len > MAX_CONTROL_PAYLOAD {
            violation(out, "control_frame_too_long");
        }
        if control && !fin {
            violation(out, "fragmented_control_frame");
        }
        let rsv1_allowed = self.deflate && matches!(opcode, OP_TEXT | OP_BINARY);
        if (rsv1 && !rsv1_allowed) || rsv2 || rsv3 {
            violation(out, "rsv_without_extension");
        }

        let role = match opcode {
            OP_CONTINUATION if self.msg.is_some() => Role::Message,
            OP_CONTINUATION => {
                violation(out, "continuation_without_start");
                Role::Ignored
            }
            OP_TEXT | OP_BINARY => {
                if self.msg.is_some() {
                    violation(out, "message_interrupted");
                    self.end_message(frame, out, true);
                }
                self.open_message(opcode, rsv1 && rsv1_allowed);
                Role::Message
            }
            OP_CLOSE => {
                self.closed = true;
                Role::Control
            }
            OP_PING | OP_PONG => Role::Control,
            _ => Role::Ignored,
        };
        let (keep_limit, unlisted) = match role {
            Role::Control => (MAX_FRAME_KEEP, false),
            _ if self.rows[0] => (self.frame_keep, false),
            _ => {
                let k = self.frame_keep_unlisted.min(self.frame_keep);
                (k, k < self.frame_keep)
            }
        };
        if role == Role::Message
            && let Some(m) = &mut self.msg
        {
            m.fragments += 1;
            m.segments.add(self.hdr_frame);
            m.segments.add(frame);
        }
        self.frame = Some(OpenFrame {
            fin,
            rsv1,
            rsv2,
            rsv3,
            opcode,
            masked,
            key,
            payload_len,
            header_len,
            at: self.hdr_at,
            first_frame: self.hdr_frame,
            done: 0,
            keep: Vec::new(),
            keep_limit,
            unlisted,
            role,
        });
        if payload_len == 0 {
            self.finish_frame(frame, out);
        }
    }

    /// Opens a data message; a compressed one is refused at once if the window is lost.
    fn open_message(&mut self, opcode: u8, compressed: bool) {
        let (keep, unlisted) = if self.rows[1] {
            (self.keep, false)
        } else {
            let k = self.keep_unlisted.min(self.keep);
            (k, k < self.keep)
        };
        let mut m = OpenMessage {
            first_frame: self.hdr_frame,
            last_frame: self.hdr_frame,
            opcode,
            wire_len: 0,
            compressed,
            data: Vec::new(),
            length: 0,
            error: None,
            inflating: compressed,
            inflate_failed: false,
            stream_end: false,
            utf8: Utf8Stream::default(),
            keep,
            shared: self.shared.clone(),
            counted: 0,
            cut_by_shared: false,
            fragments: 0,
            segments: Segments::default(),
            unlisted,
        };
        if compressed {
            let (bits, reset_each) = (self.window_bits, self.reset_each);
            let inf = self.inflater.get_or_insert_with(|| Inflater {
                d: Decompress::new_with_window_bits(false, bits),
                out: Vec::with_capacity(INFLATE_CHUNK),
                reset_each,
                poisoned: false,
            });
            if inf.poisoned {
                fail_inflate(&mut m, CONTEXT_LOST.to_owned());
            }
        }
        self.msg = Some(m);
    }

    /// Streams payload bytes: keeps the frame's head, feeds the open message.
    fn payload(&mut self, chunk: &[u8], frame: u64, out: &mut Vec<WsEvent>) {
        let Some(f) = &mut self.frame else { return };
        self.payload_bytes += chunk.len() as u64;
        let mut msg = match f.role {
            Role::Message => self.msg.as_mut(),
            _ => None,
        };
        let frame_keep = f.keep_limit;
        for piece in chunk.chunks(UNMASK_CHUNK) {
            let want_frame = f.keep.len() < frame_keep;
            let want_msg = msg.as_ref().is_some_and(|m| {
                if m.compressed {
                    m.inflating
                } else {
                    m.data.len() < m.keep || m.opcode == OP_TEXT
                }
            });
            if want_frame || want_msg {
                let data: &[u8] = if f.masked {
                    self.scratch.clear();
                    self.scratch.extend_from_slice(piece);
                    apply_mask(&mut self.scratch, f.key, f.done);
                    &self.scratch
                } else {
                    piece
                };
                if want_frame {
                    extend_capped(&mut f.keep, data, frame_keep);
                }
                if let Some(m) = msg.as_mut().filter(|_| want_msg) {
                    if m.compressed {
                        if let Some(inf) = self.inflater.as_mut() {
                            inflate(inf, m, data, FlushDecompress::None, frame, out);
                        }
                    } else {
                        m.keep_data(data);
                        if m.opcode == OP_TEXT {
                            m.utf8.feed(data);
                        }
                    }
                }
            }
            f.done += piece.len() as u64;
        }
        if let Some(m) = msg {
            m.segments.add(frame);
            m.wire_len += chunk.len() as u64;
            if !m.compressed {
                m.length += chunk.len() as u64;
            }
        }
    }

    /// Reports the finished frame, and the message if this was its last frame.
    fn finish_frame(&mut self, frame: u64, out: &mut Vec<WsEvent>) {
        let Some(f) = self.frame.take() else { return };
        let close = (f.opcode == OP_CLOSE).then(|| {
            let cut = (f.keep.len() as u64) < f.payload_len;
            parse_close(&f.keep, cut, frame, out)
        });
        out.push(WsEvent::Frame(FrameInfo {
            frame,
            fin: f.fin,
            rsv1: f.rsv1,
            rsv2: f.rsv2,
            rsv3: f.rsv3,
            opcode: f.opcode,
            masked: f.masked,
            mask_key: f.masked.then_some(f.key),
            payload_len: f.payload_len,
            header_len: f.header_len,
            payload: f.keep,
            at: f.at,
            stream_at: None,
            first_frame: f.first_frame,
            unlisted: f.unlisted,
            close,
        }));
        if f.role == Role::Message {
            if let Some(m) = &mut self.msg {
                m.last_frame = frame;
            }
            if f.fin {
                self.end_message(frame, out, false);
            }
        }
    }

    /// Completes (or, `interrupted`, cuts) the open message and reports it.
    fn end_message(&mut self, frame: u64, out: &mut Vec<WsEvent>, interrupted: bool) {
        let Some(mut m) = self.msg.take() else { return };
        if m.compressed
            && let Some(inf) = self.inflater.as_mut()
        {
            if interrupted {
                if m.inflating {
                    fail_inflate(&mut m, INTERRUPTED.to_owned());
                }
            } else {
                inflate(inf, &mut m, &TRAILER, FlushDecompress::Sync, frame, out);
            }
            if inf.reset_each {
                inf.d.reset(false);
            } else if m.inflate_failed {
                inf.poisoned = true;
            } else if m.stream_end {
                // The stream ended (BFINAL): zlib needs a reset to read the next one.
                inf.d.reset(false);
            }
        }
        if interrupted {
            m.error.get_or_insert_with(|| INTERRUPTED.to_owned());
        }
        if m.cut_by_shared {
            let size = crate::text::size_text(m.shared.as_ref().map_or(0, |s| s.limit()));
            m.error.get_or_insert_with(|| {
                format!("not kept whole: the {size} shared by unfinished messages were in use")
            });
        }
        let utf8_valid = if m.opcode == OP_TEXT {
            m.utf8.valid(m.error.is_some())
        } else {
            let partial = m.error.is_some() || (m.data.len() as u64) < m.length;
            match simdutf8::compat::from_utf8(&m.data) {
                Ok(_) => true,
                Err(e) => partial && e.error_len().is_none(),
            }
        };
        if m.opcode == OP_TEXT && !utf8_valid && !m.inflate_failed {
            out.push(WsEvent::Violation {
                frame,
                kind: "invalid_utf8",
            });
        }
        let length = if m.inflate_failed {
            None
        } else {
            Some(m.length)
        };
        out.push(WsEvent::Message(MessageInfo {
            first_frame: m.first_frame,
            last_frame: m.last_frame,
            opcode: m.opcode,
            wire_len: m.wire_len,
            length,
            compressed: m.compressed,
            data: std::mem::take(&mut m.data),
            utf8_valid,
            error: m.error.take(),
            cut_by_shared: m.cut_by_shared,
            fragments: m.fragments,
            segments: std::mem::take(&mut m.segments),
            unlisted: m.unlisted,
        }));
    }
}

/// Status code and reason of a close frame's payload, with its violations.
fn parse_close(
    payload: &[u8],
    cut: bool,
    frame: u64,
    out: &mut Vec<WsEvent>,
) -> (Option<u16>, String) {
    match payload {
        [] => (None, String::new()),
        [_] => {
            out.push(WsEvent::Violation {
                frame,
                kind: "close_payload_too_short",
            });
            (None, String::new())
        }
        [a, b, reason @ ..] => {
            let code = u16::from_be_bytes([*a, *b]);
            if !valid_close_code(code) {
                out.push(WsEvent::Violation {
                    frame,
                    kind: "invalid_close_code",
                });
            }
            let reason = match std::str::from_utf8(reason) {
                Ok(s) => s.to_owned(),
                Err(e) => {
                    if !(cut && e.error_len().is_none()) {
                        out.push(WsEvent::Violation {
                            frame,
                            kind: "invalid_utf8",
                        });
                    }
                    String::from_utf8_lossy(reason).into_owned()
                }
            };
            (Some(code), reason)
        }
    }
}
