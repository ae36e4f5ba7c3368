//! Classic libpcap files.
//!
//! The file header is decoded by `pcap-file`; records are read with its lenient
//! raw parser (a µs fraction >= 10^6 or a captured length above the header's
//! snaplen are shown, as tshark shows them, not rejected). The "modified"
//! format (magic a1b2cd34, 24-byte record headers) is read too.

use pcap_file::Endianness;
use pcap_file::pcap::{PcapHeader, PcapParser, PcapTsResolution};

use super::{
    CaptureError, CaptureInfo, Frame, FrameKind, InterfaceInfo, MAX_RECORD_LEN, StreamBuf,
    Timestamp, io_message,
};

pub struct PcapState {
    parser: PcapParser,
    per_sec: u64,
    linktype: u32,
    /// Extra bytes after the 16-byte record header (8 in the modified format).
    extra: usize,
    big_endian: bool,
}

const MAGIC_MODIFIED: u32 = 0xa1b2_cd34;

impl PcapState {
    /// Reads the 24-byte file header. `Ok(None)` when the magic is not a pcap magic.
    pub fn open(
        input: &mut StreamBuf,
        info: &mut CaptureInfo,
    ) -> Result<Option<Self>, CaptureError> {
        let err = |message: String| CaptureError {
            message,
            offset: 0,
            frame: None,
        };
        let have = input
            .fill(24)
            .map_err(|e| err(format!("read error: {}", io_message(&e))))?;
        let avail = input.available();
        let be = u32::from_be_bytes([avail[0], avail[1], avail[2], avail[3]]);
        let le = u32::from_le_bytes([avail[0], avail[1], avail[2], avail[3]]);
        let known = [0xa1b2_c3d4, 0xa1b2_3c4d, MAGIC_MODIFIED];
        if !known.contains(&be) && !known.contains(&le) {
            return Ok(None);
        }
        if have < 24 {
            return Err(err(format!(
                "file ends inside the pcap file header ({have} of 24 bytes)"
            )));
        }
        let mut header = [0u8; 24];
        header.copy_from_slice(&avail[..24]);
        let modified = be == MAGIC_MODIFIED || le == MAGIC_MODIFIED;
        if modified {
            // Same layout as a µs pcap header: let pcap-file decode it as one.
            let m = if be == MAGIC_MODIFIED {
                0xa1b2_c3d4u32.to_be_bytes()
            } else {
                0xa1b2_c3d4u32.to_le_bytes()
            };
            header[..4].copy_from_slice(&m);
        }
        let (_, parser) =
            PcapParser::new(&header).map_err(|e| err(format!("invalid pcap file header: {e}")))?;
        let h: PcapHeader = parser.header();
        if h.version_major != 2 {
            return Err(err(format!(
                "unsupported pcap version {}.{} (2.4 is the format)",
                h.version_major, h.version_minor
            )));
        }
        // The link-type field: low 16 bits the type, bits 26-31 FCS information,
        // bits 16-25 reserved (a non-zero value means a corrupt or foreign file).
        let raw_linktype = u32::from(h.datalink);
        if raw_linktype & 0x03ff_0000 != 0 {
            return Err(err(format!(
                "link-type field has reserved bits set ({:#010x})",
                raw_linktype & 0x03ff_0000
            )));
        }
        let linktype = raw_linktype & 0xffff;
        let big_endian = h.endianness == Endianness::Big;
        let per_sec = match h.ts_resolution {
            PcapTsResolution::MicroSecond => 1_000_000,
            PcapTsResolution::NanoSecond => 1_000_000_000,
        };
        info.format = format!(
            "pcap{} ({}-endian, {}, version {}.{})",
            if modified { " (modified)" } else { "" },
            if big_endian { "big" } else { "little" },
            if per_sec == 1_000_000 { "µs" } else { "ns" },
            h.version_major,
            h.version_minor
        );
        info.interfaces.push(InterfaceInfo {
            linktype,
            snaplen: h.snaplen,
            name: None,
        });
        input.take(24);
        Ok(Some(PcapState {
            parser,
            per_sec,
            linktype,
            extra: if modified { 8 } else { 0 },
            big_endian,
        }))
    }

    pub fn next<'a>(
        &mut self,
        input: &'a mut StreamBuf,
        number: u64,
    ) -> Result<Option<Frame<'a>>, CaptureError> {
        let offset = input.offset();
        let err = |message: String| CaptureError {
            message,
            offset,
            frame: Some(number),
        };
        let hdr_len = 16 + self.extra;
        let have = input
            .fill(hdr_len)
            .map_err(|e| err(format!("read error: {}", io_message(&e))))?;
        if have == 0 {
            return Ok(None);
        }
        if have < hdr_len {
            return Err(err(format!(
                "file ends inside a record header ({have} of {hdr_len} bytes)"
            )));
        }
        let a = input.available();
        let caplen_bytes = [a[8], a[9], a[10], a[11]];
        let caplen = if self.big_endian {
            u32::from_be_bytes(caplen_bytes)
        } else {
            u32::from_le_bytes(caplen_bytes)
        };
        if caplen > MAX_RECORD_LEN {
            return Err(err(format!(
                "record claims {caplen} captured bytes, more than the {MAX_RECORD_LEN} a packet may have"
            )));
        }
        let total = hdr_len + caplen as usize;
        let have = input
            .fill(total)
            .map_err(|e| err(format!("read error: {}", io_message(&e))))?;
        if have < total {
            return Err(err(format!(
                "file ends inside a packet: record says {caplen} captured bytes, only {} present",
                have - hdr_len
            )));
        }
        let rec = input.take(total);
        // pcap-file decodes the 16 standard header bytes (the modified format's
        // 8 extra bytes follow them); the captured length is zeroed in the copy
        // handed over so that the data, already bounded above, is not parsed twice.
        let mut hdr = [0u8; 16];
        hdr.copy_from_slice(&rec[..16]);
        hdr[8..12].fill(0);
        let (ts_sec, ts_frac, orig_len) = match self.parser.next_raw_packet(&hdr) {
            Ok((_, raw)) => (raw.ts_sec, raw.ts_frac, raw.orig_len),
            Err(e) => return Err(err(format!("invalid record header: {e}"))),
        };
        Ok(Some(Frame {
            number,
            kind: FrameKind::Packet,
            ts: Timestamp::from_parts(i64::from(ts_sec), u64::from(ts_frac), self.per_sec),
            linktype: self.linktype,
            interface: 0,
            orig_len,
            data: &rec[hdr_len..],
            offset,
        }))
    }
}
