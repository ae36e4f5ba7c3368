//! pcapng files.
//!
//! Block framing (type, lengths, trailer) is checked here against
//! [`MAX_BLOCK_LEN`] before a block is buffered; block bodies are decoded by
//! `pcap-file`. An Interface Description Block whose options `pcap-file`
//! rejects (e.g. a 1-byte `if_MACaddr`) is re-read leniently, keeping its link
//! type, snaplen and the options that are well-formed, as tshark does.
//! Custom and systemd-journal blocks take a frame number, as in tshark.

use std::borrow::Cow;
use std::time::Duration;

use byteorder_slice::{BigEndian, LittleEndian};
use pcap_file::DataLink;
use pcap_file::pcapng::blocks::interface_description::{
    InterfaceDescriptionBlock, InterfaceDescriptionOption, InterfaceTsResolution,
};
use pcap_file::pcapng::{Block, PcapNgState, RawBlock};

use super::{
    CaptureError, CaptureInfo, Frame, FrameKind, InterfaceInfo, MAX_BLOCK_LEN, StreamBuf,
    Timestamp, io_message,
};

const SHB: [u8; 4] = [0x0a, 0x0d, 0x0d, 0x0a];

#[derive(Default)]
pub struct NgState {
    state: PcapNgState,
    big_endian: bool,
    sections: u32,
}

/// What a block turned out to be, without borrowing the buffer.
enum Found {
    Skip,
    Frame {
        kind: FrameKind,
        ts: Timestamp,
        iface: u32,
        orig_len: u32,
        data: (usize, usize),
    },
}

impl NgState {
    pub fn next<'a>(
        &mut self,
        input: &'a mut StreamBuf,
        number: u64,
        info: &mut CaptureInfo,
    ) -> Result<Option<Frame<'a>>, CaptureError> {
        loop {
            let offset = input.offset();
            let err = |message: String| CaptureError {
                message,
                offset,
                frame: Some(number),
            };
            let have = input
                .fill(12)
                .map_err(|e| err(format!("read error: {}", io_message(&e))))?;
            if have == 0 {
                return Ok(None);
            }
            if have < 8 {
                return Err(err(format!(
                    "file ends inside a block header ({have} of 8 bytes)"
                )));
            }
            let a = input.available();
            let is_shb = a[..4] == SHB;
            if is_shb {
                if have < 12 {
                    return Err(err("file ends inside a section header block".into()));
                }
                self.big_endian = match a[8..12] {
                    [0x1a, 0x2b, 0x3c, 0x4d] => true,
                    [0x4d, 0x3c, 0x2b, 0x1a] => false,
                    _ => {
                        return Err(err(format!(
                            "section header has an invalid byte-order magic {:02x}{:02x}{:02x}{:02x}",
                            a[8], a[9], a[10], a[11]
                        )));
                    }
                };
            }
            let rd = |b: &[u8]| {
                let b = [b[0], b[1], b[2], b[3]];
                if self.big_endian {
                    u32::from_be_bytes(b)
                } else {
                    u32::from_le_bytes(b)
                }
            };
            let btype = rd(&a[0..4]);
            let blen = rd(&a[4..8]);
            if blen < 12 || blen % 4 != 0 {
                return Err(err(format!(
                    "invalid block length {blen} in block type {btype:#x} (must be a multiple of 4, at least 12)"
                )));
            }
            if blen > MAX_BLOCK_LEN {
                return Err(err(format!(
                    "block claims {blen} bytes, more than the {MAX_BLOCK_LEN}-byte limit"
                )));
            }
            let blen = blen as usize;
            let have = input
                .fill(blen)
                .map_err(|e| err(format!("read error: {}", io_message(&e))))?;
            if have < blen {
                return Err(err(format!(
                    "file ends inside a block: header says {blen} bytes, only {have} present"
                )));
            }
            let blk = &input.available()[..blen];
            let trailer = rd(&blk[blen - 4..]);
            if trailer as usize != blen {
                return Err(err(format!(
                    "block total length in header {blen} and trailer {trailer} don't match"
                )));
            }
            let raw = RawBlock {
                type_: btype,
                initial_len: blen as u32,
                body: Cow::Borrowed(&blk[8..blen - 4]),
                trailer_len: trailer,
            };
            let decoded = if self.big_endian {
                raw.try_into_block_with_byteorder::<BigEndian>(&self.state)
            } else {
                raw.try_into_block_with_byteorder::<LittleEndian>(&self.state)
            };
            // Where the decoder's borrowed packet data sits within the block. The
            // arithmetic is checked: data not inside the block (should the decoder
            // ever copy it) becomes an empty range rather than a bad slice.
            let base = blk.as_ptr() as usize;
            let blk_len = blk.len();
            let range = |d: &[u8]| match (d.as_ptr() as usize).checked_sub(base) {
                Some(start) if start.checked_add(d.len()).is_some_and(|end| end <= blk_len) => {
                    (start, start + d.len())
                }
                _ => (0, 0),
            };
            let found = match decoded {
                Ok(Block::SectionHeader(shb)) => {
                    // 1.0 is the format; 1.2 was written by some old tools and
                    // is read by libpcap and Wireshark alike.
                    if shb.major_version != 1 || !matches!(shb.minor_version, 0 | 2) {
                        return Err(err(format!(
                            "unsupported pcapng version {}.{} (1.0 is the format)",
                            shb.major_version, shb.minor_version
                        )));
                    }
                    self.sections += 1;
                    self.state.update_from_block(&Block::SectionHeader(shb));
                    Found::Skip
                }
                Ok(Block::InterfaceDescription(idb)) => {
                    self.add_interface(idb, info).map_err(err)?;
                    Found::Skip
                }
                Err(e) if btype == 1 => {
                    let body = &blk[8..blen - 4];
                    match lenient_idb(body, self.big_endian) {
                        Some(idb) => self.add_interface(idb, info).map_err(err)?,
                        None => {
                            return Err(err(format!("invalid interface description block: {e}")));
                        }
                    }
                    Found::Skip
                }
                Ok(Block::EnhancedPacket(epb)) => Found::Frame {
                    kind: FrameKind::Packet,
                    ts: duration_ts(epb.timestamp),
                    iface: epb.interface_id,
                    orig_len: epb.original_len,
                    data: range(&epb.data),
                },
                Ok(Block::SimplePacket(spb)) => Found::Frame {
                    kind: FrameKind::Packet,
                    ts: Timestamp::default(),
                    iface: 0,
                    orig_len: spb.original_len,
                    data: range(&spb.data),
                },
                Ok(Block::Packet(pb)) => Found::Frame {
                    kind: FrameKind::Packet,
                    ts: duration_ts(pb.timestamp),
                    iface: u32::from(pb.interface_id),
                    orig_len: pb.original_len,
                    data: range(&pb.data),
                },
                Ok(Block::CustomCopiable(cb)) => custom_frame(range(&cb.payload)),
                Ok(Block::CustomNonCopiable(cb)) => custom_frame(range(&cb.payload)),
                Ok(Block::SystemdJournalExport(j)) => {
                    let data = range(&j.journal_entry);
                    Found::Frame {
                        kind: FrameKind::Event("systemd journal entry"),
                        ts: Timestamp::default(),
                        iface: 0,
                        orig_len: (data.1 - data.0) as u32,
                        data,
                    }
                }
                // Statistics, name resolution, decryption secrets, unknown types.
                Ok(_) => Found::Skip,
                Err(e) if matches!(btype, 2 | 3 | 6) => {
                    return Err(err(format!("invalid packet block: {e}")));
                }
                // A malformed block that carries no packet loses nothing: skip it.
                Err(_) => Found::Skip,
            };
            match found {
                Found::Skip => {
                    input.take(blen);
                }
                Found::Frame {
                    kind,
                    ts,
                    iface,
                    orig_len,
                    data,
                } => {
                    let linktype = self
                        .state
                        .interfaces()
                        .get(iface as usize)
                        .map(|i| u32::from(i.linktype) & 0xffff)
                        .unwrap_or(0);
                    let blk = input.take(blen);
                    return Ok(Some(Frame {
                        number,
                        kind,
                        ts,
                        linktype,
                        interface: iface,
                        orig_len,
                        data: blk.get(data.0..data.1).unwrap_or(&[]),
                        offset,
                    }));
                }
            }
        }
    }

    /// Remembers an interface: its link type, snap length and name (cut to
    /// [`MAX_IFACE_NAME`] bytes), and for the timestamps only the options that
    /// set their resolution and offset, so a block full of options costs nothing.
    fn add_interface(
        &mut self,
        mut idb: InterfaceDescriptionBlock<'_>,
        info: &mut CaptureInfo,
    ) -> Result<(), String> {
        if info.interfaces.len() >= MAX_INTERFACES {
            return Err(format!(
                "more than {MAX_INTERFACES} interface description blocks"
            ));
        }
        let name = idb.options.iter().find_map(|o| match o {
            InterfaceDescriptionOption::IfName(n) => {
                Some(n[..n.floor_char_boundary(MAX_IFACE_NAME)].to_string())
            }
            _ => None,
        });
        info.interfaces.push(InterfaceInfo {
            linktype: u32::from(idb.linktype) & 0xffff,
            snaplen: idb.snaplen,
            name,
        });
        idb.options.retain(|o| {
            matches!(
                o,
                InterfaceDescriptionOption::IfTsResol(_)
                    | InterfaceDescriptionOption::IfTsOffset(_)
            )
        });
        self.state
            .update_from_block(&Block::InterfaceDescription(idb.into_owned()));
        Ok(())
    }
}

/// Interfaces kept for the whole file (all sections); one more is an error.
pub const MAX_INTERFACES: usize = 65_536;
/// Bytes of an interface name kept.
pub const MAX_IFACE_NAME: usize = 256;

/// A custom block takes a frame number; its payload is shown as the frame's data.
fn custom_frame(data: (usize, usize)) -> Found {
    Found::Frame {
        kind: FrameKind::Event("pcapng custom block"),
        ts: Timestamp::default(),
        iface: 0,
        orig_len: (data.1 - data.0) as u32,
        data,
    }
}

fn duration_ts(d: Duration) -> Timestamp {
    Timestamp {
        secs: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        nanos: d.subsec_nanos(),
    }
}

/// Reads an IDB keeping only the options that are well-formed.
fn lenient_idb(body: &[u8], big_endian: bool) -> Option<InterfaceDescriptionBlock<'static>> {
    let u16_at = |b: &[u8]| {
        if big_endian {
            u16::from_be_bytes([b[0], b[1]])
        } else {
            u16::from_le_bytes([b[0], b[1]])
        }
    };
    if body.len() < 8 {
        return None;
    }
    let linktype = u32::from(u16_at(&body[0..2]));
    let sb = [body[4], body[5], body[6], body[7]];
    let snaplen = if big_endian {
        u32::from_be_bytes(sb)
    } else {
        u32::from_le_bytes(sb)
    };
    let mut options = Vec::new();
    let mut rest = &body[8..];
    while rest.len() >= 4 {
        let code = u16_at(&rest[0..2]);
        let len = usize::from(u16_at(&rest[2..4]));
        let padded = (len + 3) & !3;
        if code == 0 || rest.len() < 4 + padded {
            break;
        }
        let val = &rest[4..4 + len];
        match (code, len) {
            (2, _) => {
                if let Ok(s) = std::str::from_utf8(val) {
                    options.push(InterfaceDescriptionOption::IfName(Cow::Owned(s.to_owned())));
                }
            }
            (9, 1) => {
                if let Ok(r) = InterfaceTsResolution::from_u8(val[0]) {
                    options.push(InterfaceDescriptionOption::IfTsResol(r));
                }
            }
            (14, 8) => {
                let b = [
                    val[0], val[1], val[2], val[3], val[4], val[5], val[6], val[7],
                ];
                let off = if big_endian {
                    i64::from_be_bytes(b)
                } else {
                    i64::from_le_bytes(b)
                };
                options.push(InterfaceDescriptionOption::IfTsOffset(off));
            }
            _ => {}
        }
        rest = &rest[4 + padded..];
    }
    Some(InterfaceDescriptionBlock {
        linktype: DataLink::from(linktype),
        snaplen,
        options,
    })
}
