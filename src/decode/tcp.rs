//! A TCP header view that never panics and also works on a header the snap
//! length cut short (as long as the fixed 20 bytes are there), so a truncated
//! SYN is still a SYN for connection tracking and for the reader.

use etherparse::TcpSlice;

#[derive(Clone, Copy, Debug)]
pub struct TcpView<'a> {
    /// Header bytes as captured: at least 20, at most the data offset says.
    hdr: &'a [u8],
    /// Header length announced by the data offset field.
    hdr_len: usize,
    payload: &'a [u8],
}

pub const FIN: u16 = 0x001;
pub const SYN: u16 = 0x002;
pub const RST: u16 = 0x004;
pub const PSH: u16 = 0x008;
pub const ACK: u16 = 0x010;

impl<'a> TcpView<'a> {
    pub fn from_slice(t: &TcpSlice<'a>) -> Self {
        let hdr = t.header_slice();
        TcpView {
            hdr,
            hdr_len: hdr.len(),
            payload: t.payload(),
        }
    }

    /// A header cut short: `bytes` is everything captured after the IP header.
    pub fn partial(bytes: &'a [u8]) -> Option<Self> {
        if bytes.len() < 20 {
            return None;
        }
        let hdr_len = usize::from(bytes[12] >> 4) * 4;
        let cut = hdr_len.clamp(20, bytes.len());
        Some(TcpView {
            hdr: &bytes[..cut],
            hdr_len,
            payload: &bytes[cut..],
        })
    }

    fn be16(&self, i: usize) -> u16 {
        u16::from_be_bytes([self.hdr[i], self.hdr[i + 1]])
    }
    fn be32(&self, i: usize) -> u32 {
        u32::from_be_bytes([
            self.hdr[i],
            self.hdr[i + 1],
            self.hdr[i + 2],
            self.hdr[i + 3],
        ])
    }
    pub fn src_port(&self) -> u16 {
        self.be16(0)
    }
    pub fn dst_port(&self) -> u16 {
        self.be16(2)
    }
    pub fn seq(&self) -> u32 {
        self.be32(4)
    }
    pub fn ack_number(&self) -> u32 {
        self.be32(8)
    }
    /// The 12 flag bits: 3 reserved, AE (ex-NS), CWR, ECE, URG, ACK, PSH, RST, SYN, FIN.
    pub fn flags(&self) -> u16 {
        (u16::from(self.hdr[12] & 0x0f) << 8) | u16::from(self.hdr[13])
    }
    pub fn has(&self, flag: u16) -> bool {
        self.flags() & flag != 0
    }
    pub fn window(&self) -> u16 {
        self.be16(14)
    }
    pub fn checksum(&self) -> u16 {
        self.be16(16)
    }
    pub fn urgent_ptr(&self) -> u16 {
        self.be16(18)
    }
    /// Header length from the data offset field (may exceed what was captured).
    pub fn header_len(&self) -> usize {
        self.hdr_len
    }
    pub fn header_bytes(&self) -> &'a [u8] {
        self.hdr
    }
    /// Option bytes as captured.
    pub fn options(&self) -> &'a [u8] {
        &self.hdr[20.min(self.hdr.len())..]
    }
    /// False when fewer header bytes are present than the data offset says.
    pub fn complete(&self) -> bool {
        self.hdr.len() >= self.hdr_len
    }
    pub fn payload(&self) -> &'a [u8] {
        self.payload
    }
}
