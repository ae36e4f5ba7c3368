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

use crate::limit::SharedLimit;
use flate2::{Decompress, FlushDecompress, Status};

/// Bytes of each frame's (unmasked) payload kept for display (and a close frame's reason).
pub const MAX_FRAME_KEEP: usize = 4 * 1024;
/// Bytes of each message kept (after defragmentation and inflate) by default: enough for
/// an Engine.IO/Socket.IO decoder to read whole packets.
pub const MAX_MESSAGE_KEEP: usize = 1024 * 1024;
/// Inflated bytes allowed per message; beyond it the message is a deflate bomb: flagged, not expanded further.
pub const MAX_INFLATE: usize = 16 * 1024 * 1024;
/// Largest payload of a control frame (RFC 6455 §5.5).
pub const MAX_CONTROL_PAYLOAD: u64 = 125;
/// Payload bytes unmasked per step, so one huge push needs no buffer of its size.
pub const UNMASK_CHUNK: usize = 16 * 1024;
/// Inflated bytes produced per step; a deflate bomb is caught at most this far past
/// [`MAX_INFLATE`].
pub const INFLATE_CHUNK: usize = 32 * 1024;
/// LZ77 window used when none (or an invalid one) was negotiated: the largest, which decodes
/// any stream.
pub const DEFAULT_WINDOW_BITS: u8 = 15;
/// Smallest window zlib's raw inflate accepts; a negotiated 8 is inflated with 9, which
/// covers it.
pub const MIN_WINDOW_BITS: u8 = 9;
/// Longest frame header: 2 bytes, 8 of extended length, 4 of mask key.
pub const MAX_HEADER_LEN: usize = 14;

/// Opcode of a continuation frame.
pub const OP_CONTINUATION: u8 = 0;
/// Opcode of a text frame.
pub const OP_TEXT: u8 = 1;
/// Opcode of a binary frame.
pub const OP_BINARY: u8 = 2;
/// Opcode of a close frame.
pub const OP_CLOSE: u8 = 8;
/// Opcode of a ping frame.
pub const OP_PING: u8 = 9;
/// Opcode of a pong frame.
pub const OP_PONG: u8 = 10;

/// Removed by the sender from each compressed message; appended again before inflating
/// (RFC 7692 §7.2.2).
const TRAILER: [u8; 4] = [0x00, 0x00, 0xff, 0xff];
/// Error of a compressed message that follows a failed one when the window cannot be trusted.
const CONTEXT_LOST: &str = "inflate context lost after an earlier error";
/// Error of a message cut short by a new data frame.
const INTERRUPTED: &str = "interrupted by a new data frame";

/// The permessage-deflate parameters agreed in the handshake (RFC 7692 §7.1).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeflateParams {
    pub server_no_context_takeover: bool,
    pub client_no_context_takeover: bool,
    pub server_max_window_bits: Option<u8>,
    pub client_max_window_bits: Option<u8>,
}

impl DeflateParams {
    /// Parses a negotiated `Sec-WebSocket-Extensions` response value; Some when it selects permessage-deflate (or the `x-webkit-deflate-frame` alias).
    ///
    /// The first matching extension wins. Names and parameters are case-insensitive, values
    /// may be quoted; a window size outside 8–15 is ignored (the default 15 decodes any
    /// stream). The alias gets default parameters: its own are named differently, and the
    /// defaults (no resets, largest window) decode whatever the peer sends.
    pub fn from_extensions(header_value: &str) -> Option<DeflateParams> {
        for extension in split_unquoted(header_value, ',') {
            let mut parts = split_unquoted(extension, ';').into_iter();
            let name = parts.next().unwrap_or_default().trim();
            if name.eq_ignore_ascii_case("x-webkit-deflate-frame") {
                return Some(DeflateParams::default());
            }
            if !name.eq_ignore_ascii_case("permessage-deflate") {
                continue;
            }
            let mut params = DeflateParams::default();
            for param in parts {
                let (key, value) = match param.split_once('=') {
                    Some((k, v)) => (k.trim(), Some(unquote(v.trim()))),
                    None => (param.trim(), None),
                };
                if key.eq_ignore_ascii_case("server_no_context_takeover") {
                    params.server_no_context_takeover = true;
                } else if key.eq_ignore_ascii_case("client_no_context_takeover") {
                    params.client_no_context_takeover = true;
                } else if key.eq_ignore_ascii_case("server_max_window_bits") {
                    params.server_max_window_bits = value.and_then(window_bits);
                } else if key.eq_ignore_ascii_case("client_max_window_bits") {
                    params.client_max_window_bits = value.and_then(window_bits);
                }
            }
            return Some(params);
        }
        None
    }
}

/// A negotiated window size, if it is one RFC 7692 allows.
fn window_bits(value: &str) -> Option<u8> {
    value.parse::<u8>().ok().filter(|b| (8..=15).contains(b))
}

/// Strips one pair of surrounding double quotes.
fn unquote(value: &str) -> &str {
    value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(value)
}

/// Splits at `sep` outside double-quoted strings (a quoted value may contain `,` or `;`).
fn split_unquoted(s: &str, sep: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut quoted = false;
    for (i, c) in s.char_indices() {
        if c == '"' {
            quoted = !quoted;
        } else if c == sep && !quoted {
            parts.push(s.get(start..i).unwrap_or_default());
            start = i + c.len_utf8();
        }
    }
    parts.push(s.get(start..).unwrap_or_default());
    parts
}

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

/// XORs `data` with the masking key as if `data` began `offset` bytes into the payload
/// (RFC 6455 §5.3).
///
/// Masking and unmasking are the same operation.
pub fn apply_mask(data: &mut [u8], key: [u8; 4], offset: u64) {
    let mut k = key;
    // offset % 4 < 4: the rotation cannot exceed the array.
    k.rotate_left((offset % 4) as usize);
    let [a, b, c, d] = k;
    let wide = u64::from_ne_bytes([a, b, c, d, a, b, c, d]);
    let (chunks, rest) = data.as_chunks_mut::<8>();
    for chunk in chunks {
        *chunk = (u64::from_ne_bytes(*chunk) ^ wide).to_ne_bytes();
    }
    // The tail starts a multiple of 8 bytes in, so the key phase is unchanged.
    for (byte, m) in rest.iter_mut().zip(k.iter().cycle()) {
        *byte ^= m;
    }
}

/// One frame with the shortest length encoding, masked with `mask` if given:
/// how tests, benchmarks and fuzz seeds build WebSocket streams.
pub fn encode_frame(
    fin: bool,
    rsv1: bool,
    opcode: u8,
    payload: &[u8],
    mask: Option<[u8; 4]>,
) -> Vec<u8> {
    let mut v = vec![(u8::from(fin) << 7) | (u8::from(rsv1) << 6) | opcode];
    let m = if mask.is_some() { 0x80 } else { 0 };
    match payload.len() {
        n @ 0..=125 => v.push(m | n as u8),
        n @ 126..=0xffff => {
            v.push(m | 126);
            v.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            v.push(m | 127);
            v.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    let mut body = payload.to_vec();
    if let Some(k) = mask {
        v.extend_from_slice(&k);
        apply_mask(&mut body, k, 0);
    }
    v.extend_from_slice(&body);
    v
}

/// The opcode's name as RFC 6455 gives it ("reserved" for 3–7 and 11–15).
pub fn opcode_name(op: u8) -> &'static str {
    match op {
        OP_CONTINUATION => "continuation",
        OP_TEXT => "text",
        OP_BINARY => "binary",
        OP_CLOSE => "close",
        OP_PING => "ping",
        OP_PONG => "pong",
        _ => "reserved",
    }
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

/// UTF-8 validation of a byte stream cut anywhere, without keeping the text: only the
/// (at most 3) bytes of a character split across pieces are carried over.
#[derive(Debug, Default)]
struct Utf8Stream {
    carry: [u8; 4],
    carry_len: usize,
    bad: bool,
}

impl Utf8Stream {
    fn feed(&mut self, mut b: &[u8]) {
        if self.bad || b.is_empty() {
            return;
        }
        if self.carry_len > 0 {
            // The carry is a valid prefix, so its first byte is a lead byte.
            let width: usize = match self.carry[0] {
                0xc0..=0xdf => 2,
                0xe0..=0xef => 3,
                _ => 4,
            };
            let have = self.carry_len.min(3);
            let take = width.saturating_sub(have).min(b.len());
            let mut buf = [0u8; 4];
            buf[..have].copy_from_slice(&self.carry[..have]);
            buf[have..have + take].copy_from_slice(&b[..take]);
            match simdutf8::compat::from_utf8(&buf[..have + take]) {
                Ok(_) => self.carry_len = 0,
                Err(e) if e.error_len().is_none() => {
                    // Still short of a whole character: all of `b` was taken.
                    self.carry = buf;
                    self.carry_len = have + take;
                    return;
                }
                Err(_) => {
                    self.bad = true;
                    return;
                }
            }
            b = &b[take..];
        }
        if let Err(e) = simdutf8::compat::from_utf8(b) {
            match e.error_len() {
                Some(_) => self.bad = true,
                None => {
                    let tail = b.get(e.valid_up_to()..).unwrap_or_default();
                    let n = tail.len().min(3);
                    self.carry[..n].copy_from_slice(&tail[..n]);
                    self.carry_len = n;
                }
            }
        }
    }

    /// Valid, allowing the stream to stop mid-character when `partial`.
    fn valid(&self, partial: bool) -> bool {
        !self.bad && (self.carry_len == 0 || partial)
    }
}

/// What a frame's payload feeds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    /// Part of the open data message.
    Message,
    /// Close, ping or pong.
    Control,
    /// Reserved opcode, or a continuation without a message: reported as a frame only.
    Ignored,
}

/// The frame whose payload is being read.
#[derive(Debug)]
struct OpenFrame {
    fin: bool,
    rsv1: bool,
    rsv2: bool,
    rsv3: bool,
    opcode: u8,
    masked: bool,
    key: [u8; 4],
    payload_len: u64,
    header_len: usize,
    /// Payload bytes read so far.
    done: u64,
    keep: Vec<u8>,
    role: Role,
}

/// The data message being assembled.
#[derive(Debug)]
struct OpenMessage {
    first_frame: u64,
    last_frame: u64,
    opcode: u8,
    wire_len: u64,
    compressed: bool,
    data: Vec<u8>,
    /// Message bytes seen: wire bytes, or inflated bytes when compressed.
    length: u64,
    error: Option<String>,
    /// Compressed bytes still go to the inflater.
    inflating: bool,
    /// Inflate failed (error, bomb, or no usable context): the length is unknown.
    inflate_failed: bool,
    /// The deflate stream ended (a block with BFINAL): the rest of the message is ignored.
    stream_end: bool,
    /// A text message's bytes (inflated if compressed), all of them, as they arrive.
    utf8: Utf8Stream,
    /// Bytes of the message kept in `data`.
    keep: usize,
    /// The limit on unfinished messages' kept bytes shared by the parsers
    /// of a run; `data` is counted in it until the message is reported.
    shared: Option<SharedLimit>,
    /// Bytes of `data` counted in `shared`.
    counted: usize,
    /// Bytes were not kept because `shared` was full.
    cut_by_shared: bool,
}

impl OpenMessage {
    /// Keeps the head of `src`: up to `keep` bytes of the message. When the
    /// shared limit has no room for them, the message is cut: what it kept is
    /// given back at once and nothing more is kept (a cut message cannot be
    /// decoded, and holding its head would only block other messages).
    fn keep_data(&mut self, src: &[u8]) {
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

/// This direction's inflater, kept across messages for context takeover.
struct Inflater {
    d: Decompress,
    /// Output buffer, INFLATE_CHUNK bytes, reused.
    out: Vec<u8>,
    /// The sender starts every message with an empty window (`*_no_context_takeover`).
    reset_each: bool,
    /// An earlier message broke the window; compressed messages cannot be decoded any more.
    poisoned: bool,
}

impl std::fmt::Debug for Inflater {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inflater")
            .field("reset_each", &self.reset_each)
            .field("poisoned", &self.poisoned)
            .finish_non_exhaustive()
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

/// Whether a close status code may appear on the wire (RFC 6455 §7.4; 1012–1014 as registered
/// since).
fn valid_close_code(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
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
    frame: Option<OpenFrame>,
    msg: Option<OpenMessage>,
    /// Created on the first compressed message.
    inflater: Option<Inflater>,
    /// Unmasked payload, UNMASK_CHUNK bytes, reused.
    scratch: Vec<u8>,
    /// Bytes kept of each message.
    keep: usize,
    /// Bytes kept of each data frame's payload (control frames keep [`MAX_FRAME_KEEP`]).
    frame_keep: usize,
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
            frame: None,
            msg: None,
            inflater: None,
            scratch: Vec::new(),
            keep: MAX_MESSAGE_KEEP,
            frame_keep: MAX_FRAME_KEEP,
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
    pub fn push(&mut self, mut bytes: &[u8], frame: u64, out: &mut Vec<WsEvent>) {
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
                None => bytes = self.header(bytes, frame, out),
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
            done: 0,
            keep: Vec::new(),
            role,
        });
        if payload_len == 0 {
            self.finish_frame(frame, out);
        }
    }

    /// Opens a data message; a compressed one is refused at once if the window is lost.
    fn open_message(&mut self, opcode: u8, compressed: bool) {
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
            keep: self.keep,
            shared: self.shared.clone(),
            counted: 0,
            cut_by_shared: false,
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
        let frame_keep = match f.role {
            Role::Control => MAX_FRAME_KEEP,
            _ => self.frame_keep,
        };
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
            let limit = m.shared.as_ref().map_or(0, |s| s.limit());
            let size = if limit >= 1 << 20 {
                format!("{} MiB", limit >> 20)
            } else {
                format!("{limit} bytes")
            };
            m.error.get_or_insert_with(|| {
                format!("not kept whole: the {size} shared by all unfinished messages were in use")
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limit::SharedLimit;
    use flate2::{Compress, Compression, FlushCompress};
    use std::sync::OnceLock;

    /// Pushes each chunk as capture frame 1, 2, …
    fn run(side: Side, deflate: Option<DeflateParams>, chunks: &[&[u8]]) -> Vec<WsEvent> {
        let mut p = WsParser::new(side, deflate);
        let mut out = Vec::new();
        for (i, c) in chunks.iter().enumerate() {
            p.push(c, i as u64 + 1, &mut out);
        }
        out
    }

    fn frames(ev: &[WsEvent]) -> Vec<&FrameInfo> {
        ev.iter()
            .filter_map(|e| match e {
                WsEvent::Frame(f) => Some(f),
                _ => None,
            })
            .collect()
    }

    /// Two parsers share a 100-byte limit on unfinished messages: one holds
    /// 80 bytes of an open message, so the other's 50-byte message is cut
    /// (kept empty, and said so); finished messages give their bytes back.
    #[test]
    fn unfinished_messages_share_one_limit() {
        let shared = SharedLimit::new(100);
        let mut a = WsParser::new(Side::Server, None).sharing(&shared);
        let mut b = WsParser::new(Side::Server, None).sharing(&shared);
        let mut out = Vec::new();
        a.push(
            &encode_frame(false, false, OP_TEXT, &[b'a'; 80], None),
            1,
            &mut out,
        );
        assert!(messages(&out).is_empty());
        assert_eq!(shared.used(), 80);
        b.push(
            &encode_frame(true, false, OP_TEXT, &[b'b'; 50], None),
            2,
            &mut out,
        );
        let m = messages(&out)[0];
        assert_eq!((m.data.len(), m.length), (0, Some(50)));
        assert_eq!(
            m.error.as_deref(),
            Some("not kept whole: the 100 bytes shared by all unfinished messages were in use")
        );
        assert!(m.utf8_valid, "all 50 bytes were checked");
        assert_eq!(shared.used(), 80, "b's bytes given back");
        out.clear();
        a.push(
            &encode_frame(true, false, OP_CONTINUATION, b"!", None),
            3,
            &mut out,
        );
        let m = messages(&out)[0];
        assert_eq!((m.data.len(), m.error.as_deref()), (81, None));
        assert_eq!(shared.used(), 0);
        // A parser dropped with a message open gives its bytes back too.
        a.push(
            &encode_frame(false, false, OP_BINARY, &[0; 30], None),
            4,
            &mut out,
        );
        assert_eq!(shared.used(), 30);
        drop(a);
        assert_eq!(shared.used(), 0);
        drop(b);
    }

    fn messages(ev: &[WsEvent]) -> Vec<&MessageInfo> {
        ev.iter()
            .filter_map(|e| match e {
                WsEvent::Message(m) => Some(m),
                _ => None,
            })
            .collect()
    }

    fn violations(ev: &[WsEvent]) -> Vec<&'static str> {
        ev.iter()
            .filter_map(|e| match e {
                WsEvent::Violation { kind, .. } => Some(*kind),
                _ => None,
            })
            .collect()
    }

    use super::encode_frame as encode;

    /// Compresses one message as RFC 7692 §7.2.1 says: sync flush, trailer removed.
    fn deflate_msg(c: &mut Compress, data: &[u8]) -> Vec<u8> {
        if data.is_empty() {
            // A repeated sync flush emits nothing; an empty message is one empty stored
            // block (RFC 7692 §7.2.3.6).
            return vec![0x00];
        }
        let mut out = Vec::with_capacity(data.len() / 2 + 64);
        let mut input = data;
        loop {
            if out.capacity() - out.len() < 64 {
                out.reserve(out.capacity().max(1024));
            }
            let before = c.total_in();
            c.compress_vec(input, &mut out, FlushCompress::Sync)
                .unwrap();
            input = &input[(c.total_in() - before) as usize..];
            if input.is_empty() && out.capacity() > out.len() {
                break;
            }
        }
        assert!(out.ends_with(&TRAILER));
        out.truncate(out.len() - 4);
        out
    }

    const HELLO: &[u8] = b"Hello";
    const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

    #[test]
    fn rfc6455_single_frame_unmasked() {
        let ev = run(
            Side::Server,
            None,
            &[&[0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]],
        );
        assert_eq!(ev.len(), 2);
        let f = frames(&ev)[0];
        assert!(f.fin && !f.masked && f.mask_key.is_none());
        assert_eq!(
            (f.opcode, f.payload_len, f.header_len, f.frame),
            (1, 5, 2, 1)
        );
        assert_eq!(f.payload, HELLO);
        let m = messages(&ev)[0];
        assert_eq!(m.data, HELLO);
        assert_eq!(
            (m.opcode, m.wire_len, m.length, m.compressed),
            (1, 5, Some(5), false)
        );
        assert!(m.utf8_valid && m.error.is_none());
        assert_eq!((m.first_frame, m.last_frame), (1, 1));
    }

    #[test]
    fn rfc6455_single_frame_masked() {
        let bytes = [
            0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
        ];
        let ev = run(Side::Client, None, &[&bytes]);
        assert!(violations(&ev).is_empty());
        let f = frames(&ev)[0];
        assert_eq!((f.masked, f.mask_key, f.header_len), (true, Some(KEY), 6));
        assert_eq!(f.payload, HELLO);
        assert_eq!(messages(&ev)[0].data, HELLO);
        assert_eq!(encode(true, false, 1, HELLO, Some(KEY)), bytes);
    }

    #[test]
    fn rfc6455_fragmented() {
        let ev = run(
            Side::Server,
            None,
            &[&[0x01, 0x03, 0x48, 0x65, 0x6c], &[0x80, 0x02, 0x6c, 0x6f]],
        );
        let f = frames(&ev);
        assert_eq!(f.len(), 2);
        assert!(!f[0].fin && f[1].fin);
        assert_eq!((f[0].opcode, f[1].opcode), (1, 0));
        let m = messages(&ev);
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].data, HELLO);
        assert_eq!(
            (m[0].first_frame, m[0].last_frame, m[0].wire_len),
            (1, 2, 5)
        );
        assert!(matches!(ev.last(), Some(WsEvent::Message(_))));
    }

    #[test]
    fn control_frames_interleaved_in_a_message() {
        let mut s = encode(false, false, 1, b"Hel", Some(KEY));
        s.extend(encode(true, false, 9, b"", Some(KEY)));
        s.extend(encode(true, false, 0, b"lo", Some([1, 2, 3, 4])));
        let ev = run(Side::Client, None, &[&s]);
        assert!(violations(&ev).is_empty());
        let f = frames(&ev);
        assert_eq!(f.iter().map(|f| f.opcode).collect::<Vec<_>>(), [1, 9, 0]);
        assert_eq!(messages(&ev).len(), 1);
        assert_eq!(messages(&ev)[0].data, HELLO);
    }

    #[test]
    fn rfc6455_ping_and_pong() {
        let ev = run(
            Side::Server,
            None,
            &[&[0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]],
        );
        assert_eq!(ev.len(), 1);
        assert_eq!(frames(&ev)[0].opcode, 9);
        assert_eq!(frames(&ev)[0].payload, HELLO);
        assert!(frames(&ev)[0].close.is_none());
        let pong = [
            0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
        ];
        let ev = run(Side::Client, None, &[&pong]);
        assert_eq!(ev.len(), 1);
        assert_eq!(
            (frames(&ev)[0].opcode, &frames(&ev)[0].payload[..]),
            (10, HELLO)
        );
    }

    #[test]
    fn rfc6455_16_and_64_bit_lengths() {
        let body: Vec<u8> = (0..=255u8).collect();
        let mut s = vec![0x82, 0x7e, 0x01, 0x00];
        s.extend_from_slice(&body);
        let ev = run(Side::Server, None, &[&s]);
        let f = frames(&ev)[0];
        assert_eq!((f.payload_len, f.header_len), (256, 4));
        assert_eq!(messages(&ev)[0].data, body);

        let body: Vec<u8> = (0..65536u32).map(|i| (i * 7) as u8).collect();
        let mut s = vec![0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0];
        s.extend_from_slice(&body);
        let ev = run(Side::Server, None, &[&s]);
        let f = frames(&ev)[0];
        assert_eq!((f.payload_len, f.header_len), (65536, 10));
        assert_eq!(f.payload, body[..MAX_FRAME_KEEP]);
        let m = messages(&ev)[0];
        assert_eq!(m.data, body);
        assert_eq!((m.opcode, m.length), (2, Some(65536)));
    }

    #[test]
    fn frame_keep_is_capped_but_message_is_not() {
        let body = vec![b'x'; MAX_FRAME_KEEP + 1000];
        let ev = run(
            Side::Client,
            None,
            &[&encode(true, false, 1, &body, Some(KEY))],
        );
        let f = frames(&ev)[0];
        assert_eq!(f.payload.len(), MAX_FRAME_KEEP);
        assert_eq!(f.payload_len, body.len() as u64);
        assert_eq!(messages(&ev)[0].data, body);
    }

    /// A stream with every header form: 2, 4, 6, 8, 10 and 14 bytes.
    fn mixed_stream() -> Vec<u8> {
        let mut s = encode(true, false, 1, b"short", Some(KEY));
        s.extend(encode(false, false, 2, &[7u8; 200], Some([9, 8, 7, 6])));
        s.extend(encode(true, false, 9, b"", Some(KEY)));
        // 64-bit length used for a short payload (legal framing, not minimal).
        let mut long = vec![0x80, 0xff, 0, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3, 4];
        let mut body = *b"end";
        apply_mask(&mut body, [1, 2, 3, 4], 0);
        long.extend_from_slice(&body);
        s.extend(long);
        s.extend(encode(true, false, 8, &[0x03, 0xe8], Some(KEY)));
        s
    }

    #[test]
    fn split_at_every_position_gives_the_same_events() {
        let s = mixed_stream();
        let whole = run(Side::Client, None, &[&s]);
        assert_eq!(frames(&whole).len(), 5);
        assert!(violations(&whole).is_empty(), "{whole:?}");
        assert_eq!(messages(&whole)[1].data.len(), 203);
        let same_frame = |ev: Vec<WsEvent>| -> Vec<WsEvent> {
            ev.into_iter()
                .map(|e| match e {
                    WsEvent::Frame(f) => WsEvent::Frame(FrameInfo { frame: 0, ..f }),
                    WsEvent::Message(m) => WsEvent::Message(MessageInfo {
                        first_frame: 0,
                        last_frame: 0,
                        ..m
                    }),
                    WsEvent::Violation { kind, .. } => WsEvent::Violation { frame: 0, kind },
                })
                .collect()
        };
        let whole = same_frame(whole);
        for i in 0..=s.len() {
            let (a, b) = s.split_at(i);
            assert_eq!(
                same_frame(run(Side::Client, None, &[a, b])),
                whole,
                "split at {i}"
            );
        }
        let bytes: Vec<&[u8]> = s.chunks(1).collect();
        let ev = run(Side::Client, None, &bytes);
        // Byte i arrives in capture frame i + 1: the first frame ends at byte 11.
        assert_eq!(frames(&ev)[0].frame, 11);
        assert_eq!(messages(&ev)[0].first_frame, 1);
        assert_eq!(same_frame(ev), whole);
    }

    #[test]
    fn frame_numbers_follow_the_segments() {
        let s = encode(false, false, 1, b"abc", None);
        let t = encode(true, false, 0, b"def", None);
        let ev = run(Side::Server, None, &[&s[..1], &s[1..], &t[..4], &t[4..]]);
        let f = frames(&ev);
        assert_eq!((f[0].frame, f[1].frame), (2, 4));
        let m = messages(&ev)[0];
        assert_eq!((m.first_frame, m.last_frame), (1, 4));
    }

    fn one_violation(side: Side, deflate: Option<DeflateParams>, s: &[u8], kind: &str) {
        let ev = run(side, deflate, &[s]);
        assert_eq!(violations(&ev), [kind], "{ev:?}");
    }

    #[test]
    fn each_violation() {
        let c = Side::Client;
        let s = Side::Server;
        let pmd = Some(DeflateParams::default());
        one_violation(
            c,
            None,
            &encode(true, false, 1, HELLO, None),
            "unmasked_client_frame",
        );
        one_violation(
            s,
            None,
            &encode(true, false, 1, HELLO, Some(KEY)),
            "masked_server_frame",
        );
        one_violation(
            s,
            None,
            &encode(true, false, 9, &[0; 126], None),
            "control_frame_too_long",
        );
        one_violation(
            s,
            None,
            &encode(false, false, 10, b"", None),
            "fragmented_control_frame",
        );
        one_violation(
            s,
            None,
            &encode(true, false, 3, b"x", None),
            "reserved_opcode",
        );
        one_violation(
            s,
            None,
            &encode(true, false, 15, b"", None),
            "reserved_opcode",
        );
        one_violation(
            s,
            None,
            &encode(true, true, 1, HELLO, None),
            "rsv_without_extension",
        );
        one_violation(s, None, &[0xa1, 0x00], "rsv_without_extension");
        one_violation(s, None, &[0xb1, 0x00], "rsv_without_extension");
        one_violation(
            s,
            pmd.clone(),
            &encode(true, true, 9, b"", None),
            "rsv_without_extension",
        );
        one_violation(
            s,
            None,
            &encode(true, false, 0, b"lo", None),
            "continuation_without_start",
        );
        let mut v = encode(false, false, 1, b"a", None);
        v.extend(encode(true, false, 2, b"b", None));
        one_violation(s, None, &v, "message_interrupted");
        let mut v = encode(true, false, 8, &[0x03, 0xe8], None);
        v.extend(encode(true, false, 1, b"", None));
        one_violation(s, None, &v, "data_after_close");
        one_violation(
            s,
            None,
            &encode(true, false, 1, &[0xff, 0xfe], None),
            "invalid_utf8",
        );
        one_violation(
            s,
            None,
            &encode(true, false, 8, &[0x03, 0xed], None),
            "invalid_close_code",
        );
        one_violation(
            s,
            None,
            &encode(true, false, 8, &[0x03], None),
            "close_payload_too_short",
        );
        // The second message of RFC 7692 §7.2.3.2 alone refers to a window never seen.
        one_violation(
            s,
            pmd.clone(),
            &[0xc1, 0x05, 0xf2, 0x00, 0x11, 0x00, 0x00],
            "inflate_error",
        );
        let mut v = vec![0x41, 0x03, 0xf2, 0x48, 0xcd];
        v.extend(encode(true, true, 0, &[0xc9, 0xc9, 0x07, 0x00], None));
        one_violation(s, pmd, &v, "rsv_without_extension");
    }

    #[test]
    fn interrupted_message_is_reported_cut() {
        let mut v = encode(false, false, 1, b"a", None);
        v.extend(encode(true, false, 2, b"b", None));
        let ev = run(Side::Server, None, &[&v]);
        let m = messages(&ev);
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].data, b"a");
        assert_eq!(m[0].error.as_deref(), Some(INTERRUPTED));
        assert_eq!(m[0].length, Some(1));
        assert_eq!(
            (m[1].opcode, &m[1].data[..], m[1].error.as_ref()),
            (2, &b"b"[..], None)
        );
        // Violation, then the cut message, then the new frame and its message.
        assert!(matches!(
            ev[1],
            WsEvent::Violation {
                kind: "message_interrupted",
                ..
            }
        ));
        assert!(matches!(ev[2], WsEvent::Message(_)));
    }

    #[test]
    fn close_frames() {
        for (code, valid) in [
            (0u16, false),
            (999, false),
            (1000, true),
            (1001, true),
            (1002, true),
            (1003, true),
            (1004, false),
            (1005, false),
            (1006, false),
            (1007, true),
            (1011, true),
            (1012, true),
            (1014, true),
            (1015, false),
            (1016, false),
            (2999, false),
            (3000, true),
            (4999, true),
            (5000, false),
            (65535, false),
        ] {
            let mut p = code.to_be_bytes().to_vec();
            p.extend_from_slice("bye ✓".as_bytes());
            let ev = run(
                Side::Client,
                None,
                &[&encode(true, false, 8, &p, Some(KEY))],
            );
            let f = frames(&ev)[0];
            assert_eq!(f.close, Some((Some(code), "bye ✓".to_owned())));
            let want: &[&str] = if valid { &[] } else { &["invalid_close_code"] };
            assert_eq!(violations(&ev), want, "code {code}");
        }
        let ev = run(Side::Server, None, &[&encode(true, false, 8, b"", None)]);
        assert_eq!(frames(&ev)[0].close, Some((None, String::new())));
        assert!(violations(&ev).is_empty());
        let ev = run(
            Side::Server,
            None,
            &[&encode(true, false, 8, &[0x03, 0xe8, 0xc3], None)],
        );
        assert_eq!(violations(&ev), ["invalid_utf8"]);
        assert_eq!(
            frames(&ev)[0].close,
            Some((Some(1000), "\u{fffd}".to_owned()))
        );
    }

    #[test]
    fn frames_after_close_are_flagged_each() {
        let mut v = encode(true, false, 8, b"", None);
        v.extend(encode(true, false, 9, b"", None));
        v.extend(encode(true, false, 8, b"", None));
        let ev = run(Side::Server, None, &[&v]);
        assert_eq!(violations(&ev), ["data_after_close", "data_after_close"]);
        assert_eq!(frames(&ev).len(), 3);
    }

    /// Every split of every sample into two and three pieces agrees with `str::from_utf8`
    /// on the whole (incomplete endings count as such).
    #[test]
    fn utf8_stream_agrees_with_whole_validation() {
        let samples: [&[u8]; 8] = [
            "aé€😀z".as_bytes(),
            b"\xe2\x82",         // incomplete at the end
            b"\xe2\x28\xa1",     // bad continuation
            b"ab\xc0\xafcd",     // overlong
            b"\xed\xa0\x80",     // surrogate
            b"\xf4\x90\x80\x80", // above U+10FFFF
            "😀😀".as_bytes(),
            b"\xff",
        ];
        for s in samples {
            let whole = std::str::from_utf8(s);
            let want_bad = whole.as_ref().is_err_and(|e| e.error_len().is_some());
            let want_cut = whole.as_ref().is_err_and(|e| e.error_len().is_none());
            for i in 0..=s.len() {
                for j in i..=s.len() {
                    let mut u = Utf8Stream::default();
                    u.feed(&s[..i]);
                    u.feed(&s[i..j]);
                    u.feed(&s[j..]);
                    assert_eq!(u.bad, want_bad, "{s:?} split at {i},{j}");
                    assert_eq!(
                        u.carry_len > 0 && !u.bad,
                        want_cut,
                        "{s:?} split at {i},{j}"
                    );
                }
            }
        }
    }

    /// A caller keeping a preview still gets the whole text judged.
    #[test]
    fn short_keep_still_validates_every_byte() {
        let mut text = "x".repeat(5000).into_bytes();
        text.push(0xff);
        let mut p = WsParser::new(Side::Server, None);
        p.keep_messages(100);
        let mut ev = Vec::new();
        p.push(&encode(true, false, 1, &text, None), 1, &mut ev);
        assert_eq!(messages(&ev)[0].data.len(), 100);
        assert_eq!(violations(&ev), ["invalid_utf8"]);
    }

    #[test]
    fn text_utf8_cut_mid_character_is_valid() {
        // 'a' then 2-byte characters: byte MAX_MESSAGE_KEEP falls inside one.
        let mut text = String::from("a");
        while text.len() < 2 * MAX_MESSAGE_KEEP {
            text.push('é');
        }
        let ev = run(
            Side::Server,
            None,
            &[&encode(true, false, 1, text.as_bytes(), None)],
        );
        let m = messages(&ev)[0];
        assert_eq!(m.data.len(), MAX_MESSAGE_KEEP);
        assert!(std::str::from_utf8(&m.data).is_err());
        assert!(m.utf8_valid);
        assert_eq!(m.length, Some(text.len() as u64));
        assert!(violations(&ev).is_empty());
        // The same cut in a complete message is invalid.
        let ev = run(
            Side::Server,
            None,
            &[&encode(
                true,
                false,
                1,
                &text.as_bytes()[..MAX_MESSAGE_KEEP],
                None,
            )],
        );
        assert_eq!(violations(&ev), ["invalid_utf8"]);
        assert!(!messages(&ev)[0].utf8_valid);
    }

    fn pmd() -> Option<DeflateParams> {
        Some(DeflateParams::default())
    }

    #[test]
    fn rfc7692_compressed_hello() {
        let ev = run(
            Side::Server,
            pmd(),
            &[&[0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]],
        );
        assert!(violations(&ev).is_empty());
        let m = messages(&ev)[0];
        assert_eq!(m.data, HELLO);
        assert_eq!((m.compressed, m.wire_len, m.length), (true, 7, Some(5)));
        assert!(m.utf8_valid && m.error.is_none());
        assert!(frames(&ev)[0].rsv1);
    }

    #[test]
    fn rfc7692_context_takeover() {
        let first = [0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
        let second = [0xc1, 0x05, 0xf2, 0x00, 0x11, 0x00, 0x00];
        let ev = run(Side::Server, pmd(), &[&first, &second]);
        assert!(violations(&ev).is_empty(), "{ev:?}");
        let m = messages(&ev);
        assert_eq!((&m[0].data[..], &m[1].data[..]), (HELLO, HELLO));
        assert_eq!(m[1].wire_len, 5);
    }

    #[test]
    fn rfc7692_no_compression_block_bfinal_and_two_blocks() {
        for s in [
            &[
                0xc1, 0x0b, 0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00,
            ][..],
            &[0xc1, 0x08, 0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00],
            &[
                0xc1, 0x0d, 0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff, 0xca, 0xc9, 0xc9, 0x07,
                0x00,
            ],
        ] {
            let ev = run(Side::Server, pmd(), &[s, s]);
            assert!(violations(&ev).is_empty(), "{ev:?}");
            let m = messages(&ev);
            assert_eq!((&m[0].data[..], &m[1].data[..]), (HELLO, HELLO));
        }
    }

    #[test]
    fn rfc7692_empty_message() {
        let ev = run(
            Side::Server,
            pmd(),
            &[&[0xc1, 0x01, 0x00], &[0xc1, 0x01, 0x00]],
        );
        assert!(violations(&ev).is_empty());
        let m = messages(&ev);
        assert_eq!(
            (m[1].data.len(), m[1].length, m[1].wire_len),
            (0, Some(0), 1)
        );
    }

    #[test]
    fn rfc7692_fragmented_compressed() {
        let ev = run(
            Side::Server,
            pmd(),
            &[
                &[0x41, 0x03, 0xf2, 0x48, 0xcd],
                &[0x80, 0x04, 0xc9, 0xc9, 0x07, 0x00],
            ],
        );
        assert!(violations(&ev).is_empty());
        let m = messages(&ev)[0];
        assert_eq!(m.data, HELLO);
        assert_eq!(
            (m.wire_len, m.length, m.first_frame, m.last_frame),
            (7, Some(5), 1, 2)
        );
    }

    #[test]
    fn inflate_error_poisons_unless_no_context_takeover() {
        let bad = [0xc1, 0x05, 0xf2, 0x00, 0x11, 0x00, 0x00];
        let good = [0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
        let plain = encode(true, false, 1, b"plain", None);
        let ev = run(Side::Server, pmd(), &[&bad, &good, &plain]);
        assert_eq!(violations(&ev), ["inflate_error"]);
        let m = messages(&ev);
        assert_eq!(
            m[0].error.as_deref(),
            Some("inflate: invalid distance too far back")
        );
        assert_eq!(m[0].length, None);
        assert_eq!(m[1].error.as_deref(), Some(CONTEXT_LOST));
        assert_eq!((m[1].length, m[1].data.len()), (None, 0));
        assert_eq!((m[2].error.as_ref(), &m[2].data[..]), (None, &b"plain"[..]));

        let reset = Some(DeflateParams {
            server_no_context_takeover: true,
            ..Default::default()
        });
        let ev = run(Side::Server, reset.clone(), &[&bad, &good]);
        assert_eq!(messages(&ev)[1].data, HELLO);
        // The client side's parameter does not apply to the server's messages.
        let other = Some(DeflateParams {
            client_no_context_takeover: true,
            ..Default::default()
        });
        let ev = run(Side::Server, other, &[&bad, &good]);
        assert_eq!(messages(&ev)[1].error.as_deref(), Some(CONTEXT_LOST));
    }

    #[test]
    fn interrupted_compressed_message_loses_the_context() {
        let good = [0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
        let ev = run(
            Side::Server,
            pmd(),
            &[&[0x41, 0x03, 0xf2, 0x48, 0xcd], &good],
        );
        assert_eq!(violations(&ev), ["message_interrupted"]);
        let m = messages(&ev);
        assert_eq!(
            (m[0].error.as_deref(), m[0].length),
            (Some(INTERRUPTED), None)
        );
        assert_eq!(m[1].error.as_deref(), Some(CONTEXT_LOST));
    }

    #[test]
    fn context_takeover_across_many_masked_messages() {
        let mut c = Compress::new(Compression::default(), false);
        let mut s = Vec::new();
        let texts: Vec<String> = (0..20)
            .map(|i| format!("message number {i} repeats message number {i}"))
            .collect();
        for (i, t) in texts.iter().enumerate() {
            s.extend(encode(
                true,
                true,
                1,
                &deflate_msg(&mut c, t.as_bytes()),
                Some([i as u8, 1, 2, 3]),
            ));
        }
        let ev = run(Side::Client, pmd(), &[&s]);
        assert!(violations(&ev).is_empty());
        let got: Vec<&[u8]> = messages(&ev).iter().map(|m| &m.data[..]).collect();
        let want: Vec<&[u8]> = texts.iter().map(|t| t.as_bytes()).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn window_bits_8_is_inflated_with_9() {
        let params =
            DeflateParams::from_extensions("permessage-deflate; client_max_window_bits=8").unwrap();
        assert_eq!(params.client_max_window_bits, Some(8));
        let mut c = Compress::new_with_window_bits(Compression::default(), false, 9);
        let text: Vec<u8> = (0..3000u32)
            .map(|i| b"abcdefgh"[(i * i % 8) as usize])
            .collect();
        let mut s = encode(true, true, 2, &deflate_msg(&mut c, &text), Some(KEY));
        s.extend(encode(
            true,
            true,
            2,
            &deflate_msg(&mut c, &text),
            Some(KEY),
        ));
        let ev = run(Side::Client, Some(params), &[&s]);
        assert!(violations(&ev).is_empty(), "{ev:?}");
        assert_eq!(messages(&ev)[1].data, text);
    }

    #[test]
    fn compressed_message_longer_than_the_keep() {
        let mut c = Compress::new(Compression::fast(), false);
        let text: Vec<u8> = (0..3 * MAX_MESSAGE_KEEP as u32)
            .map(|i| (i % 251) as u8)
            .collect();
        let z = deflate_msg(&mut c, &text);
        let ev = run(Side::Server, pmd(), &[&encode(true, true, 2, &z, None)]);
        let m = messages(&ev)[0];
        assert_eq!(m.length, Some(text.len() as u64));
        assert_eq!(m.wire_len, z.len() as u64);
        assert_eq!(m.data, &text[..MAX_MESSAGE_KEEP]);
    }

    /// 32 MiB of zeros, compressed (about 32 KB).
    fn bomb() -> &'static [u8] {
        static BOMB: OnceLock<Vec<u8>> = OnceLock::new();
        BOMB.get_or_init(|| {
            let mut c = Compress::new(Compression::default(), false);
            let zeros = vec![0u8; 1 << 20];
            let mut out = Vec::with_capacity(64 * 1024);
            for _ in 0..31 {
                c.compress_vec(&zeros, &mut out, FlushCompress::None)
                    .unwrap();
                assert_eq!(c.total_in() % (1 << 20), 0);
            }
            out.extend(deflate_msg(&mut c, &zeros));
            out
        })
    }

    #[test]
    fn deflate_bomb_is_flagged_and_not_expanded() {
        let z = bomb();
        assert!(z.len() < 200_000, "{}", z.len());
        let good = [0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
        let mut p = WsParser::new(Side::Server, pmd());
        let mut out = Vec::new();
        let s = encode(true, true, 2, z, None);
        for (i, chunk) in s.chunks(1460).enumerate() {
            p.push(chunk, i as u64, &mut out);
            if let Some(m) = &p.msg {
                assert!(m.data.capacity() <= MAX_MESSAGE_KEEP);
            }
            if let Some(inf) = &p.inflater {
                assert!(inf.out.capacity() <= INFLATE_CHUNK);
            }
        }
        p.push(&good, 1000, &mut out);
        assert_eq!(violations(&out), ["deflate_bomb"]);
        let m = messages(&out);
        let error = format!("deflate bomb: more than {MAX_INFLATE} bytes");
        assert_eq!(m[0].error.as_deref(), Some(error.as_str()));
        assert_eq!(
            (m[0].length, m[0].data.len(), m[0].wire_len),
            (None, MAX_MESSAGE_KEEP, z.len() as u64)
        );
        assert!(m[0].data.iter().all(|&b| b == 0));
        assert_eq!(m[1].error.as_deref(), Some(CONTEXT_LOST));
        // Where each message starts afresh, the next one is decodable.
        let reset = Some(DeflateParams {
            server_no_context_takeover: true,
            ..Default::default()
        });
        let ev = run(Side::Server, reset, &[&s, &good]);
        assert_eq!(violations(&ev), ["deflate_bomb"]);
        assert_eq!(messages(&ev)[1].data, HELLO);
    }

    #[test]
    fn huge_claimed_length_is_streamed() {
        let mut p = WsParser::new(Side::Server, None);
        let mut out = Vec::new();
        p.push(&[0x82, 0x7f, 0x40, 0, 0, 0, 0, 0, 0, 0], 1, &mut out);
        let chunk = vec![0xabu8; 64 * 1024];
        for i in 0..160 {
            p.push(&chunk, i + 2, &mut out);
        }
        assert!(out.is_empty());
        assert!(!p.stopped());
        assert_eq!(p.totals(), (1, 10, 160 * 64 * 1024));
        let f = p.frame.as_ref().unwrap();
        assert_eq!((f.payload_len, f.keep.len()), (1 << 62, MAX_FRAME_KEEP));
        assert!(f.keep.capacity() <= MAX_FRAME_KEEP);
        let m = p.msg.as_ref().unwrap();
        assert_eq!(
            (m.data.len(), m.wire_len),
            (MAX_MESSAGE_KEEP, 160 * 64 * 1024)
        );
        assert!(m.data.capacity() <= MAX_MESSAGE_KEEP);
        assert!(p.scratch.capacity() <= UNMASK_CHUNK);
    }

    #[test]
    fn length_with_top_bit_stops() {
        let mut p = WsParser::new(Side::Server, None);
        let mut out = Vec::new();
        p.push(
            &[0x82, 0x7f, 0x80, 0, 0, 0, 0, 0, 0, 1, 0x81, 0x00],
            1,
            &mut out,
        );
        // Said once, then nothing more: what follows cannot be located.
        assert_eq!(violations(&out), ["length_msb_set"]);
        assert_eq!(out.len(), 1);
        assert!(p.stopped());
        assert_eq!(p.stop_reason(), Some("length_msb_set"));
        p.push(&[0x81, 0x00], 2, &mut out);
        assert_eq!(out.len(), 1);
    }

    #[test]
    fn gap_stops_everything() {
        let mut p = WsParser::new(Side::Server, None);
        let mut out = Vec::new();
        p.push(&[0x01, 0x03, b'a'], 1, &mut out);
        p.gap();
        p.push(&[b'b', b'c', 0x81, 0x00], 2, &mut out);
        assert!(out.is_empty());
        assert!(p.stopped());
        assert_eq!(p.stop_reason(), Some("gap"));
    }

    #[test]
    fn totals_count_headers_and_payload() {
        let ev_stream = mixed_stream();
        let mut p = WsParser::new(Side::Client, None);
        let mut out = Vec::new();
        p.push(&ev_stream, 1, &mut out);
        let (n, h, b) = p.totals();
        assert_eq!(n, 5);
        assert_eq!(h + b, ev_stream.len() as u64);
        assert_eq!(b, 5 + 200 + 3 + 2);
    }

    #[test]
    fn mask_at_any_offset() {
        let data: Vec<u8> = (0..100u8).collect();
        let mut whole = data.clone();
        apply_mask(&mut whole, KEY, 0);
        for cut in 0..data.len() {
            let mut pieces = data.clone();
            let (a, b) = pieces.split_at_mut(cut);
            apply_mask(a, KEY, 0);
            apply_mask(b, KEY, cut as u64);
            assert_eq!(pieces, whole);
        }
        apply_mask(&mut whole, KEY, 0);
        assert_eq!(whole, data);
    }

    #[test]
    fn extensions_header() {
        let d = DeflateParams::default();
        assert_eq!(
            DeflateParams::from_extensions("permessage-deflate"),
            Some(d.clone())
        );
        assert_eq!(
            DeflateParams::from_extensions(
                "permessage-deflate; client_max_window_bits=10; server_no_context_takeover"
            ),
            Some(DeflateParams {
                server_no_context_takeover: true,
                client_max_window_bits: Some(10),
                ..Default::default()
            })
        );
        assert_eq!(
            DeflateParams::from_extensions(
                "foo; x=\"a,b\", Permessage-Deflate ; Server_Max_Window_Bits=\"12\" \
                 ;client_no_context_takeover"
            ),
            Some(DeflateParams {
                client_no_context_takeover: true,
                server_max_window_bits: Some(12),
                ..Default::default()
            })
        );
        assert_eq!(
            DeflateParams::from_extensions(
                "permessage-deflate; server_max_window_bits=99; client_max_window_bits"
            ),
            Some(d.clone())
        );
        assert_eq!(
            DeflateParams::from_extensions("x-webkit-deflate-frame; no_context_takeover"),
            Some(d)
        );
        assert_eq!(DeflateParams::from_extensions(""), None);
        assert_eq!(
            DeflateParams::from_extensions("permessage-deflate-x, foo"),
            None
        );
        assert_eq!(
            DeflateParams::from_extensions("foo; permessage-deflate"),
            None
        );
    }

    #[test]
    fn arbitrary_window_bits_never_panic() {
        for bits in [
            None,
            Some(0),
            Some(7),
            Some(8),
            Some(9),
            Some(15),
            Some(16),
            Some(255),
        ] {
            for side in [Side::Client, Side::Server] {
                let params = DeflateParams {
                    client_max_window_bits: bits,
                    server_max_window_bits: bits,
                    ..Default::default()
                };
                let mut p = WsParser::new(side, Some(params));
                p.push(
                    &[0xc1, 0x80, 0, 0, 0, 0, 0xc1, 0x00, 0xc1, 0x01, 0xff],
                    1,
                    &mut Vec::new(),
                );
            }
        }
    }
}
