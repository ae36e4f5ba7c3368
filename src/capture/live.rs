//! Live capture from a network interface with pnet's datalink channel (Linux).
//!
//! The socket is an `AF_PACKET` socket opened here and handed to pnet, so that
//! on the loopback interface outgoing copies can be ignored (every `lo` packet
//! is otherwise seen twice) and the kernel's receive time can be read with
//! `SIOCGSTAMPNS` (pnet reports none). Once the socket is open, privileges are
//! dropped before a single packet is parsed, and only then is the `-w` file
//! opened. The frames feed the same pipeline as a capture file.
//!
//! `-i any` captures on every interface at once, as tcpdump does: a cooked
//! (`SOCK_DGRAM`) packet socket bound to no interface gives each packet from
//! its network header on, with the interface, link type and direction beside
//! it; osiscope puts those in a Linux cooked v2 (SLL2) header, the link type
//! tcpdump uses for `any`. Loopback's outgoing copies are left out, as
//! libpcap does, so each loopback packet is seen once.
//!
//! Bounded: one frame buffer of [`READ_BUFFER`] bytes; frames are written to
//! the output file one at a time.

use std::ffi::CString;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use pcap_file::pcap::{PcapHeader, PcapPacket, PcapTsResolution, PcapWriter};
use pcap_file::{DataLink, Endianness};
use pnet::datalink::{self, Channel, Config, DataLinkReceiver, NetworkInterface};

use super::{CaptureError, Frame, FrameKind, FrameSource, Timestamp, linktype};

/// Largest frame read (and written): loopback frames reach 65,549 bytes.
pub const READ_BUFFER: usize = 262_144;
/// How often the capture loop wakes to check Ctrl-C and the time limit.
const POLL: Duration = Duration::from_millis(200);

const SOL_PACKET: libc::c_int = 263;
const PACKET_STATISTICS: libc::c_int = 6;
const PACKET_IGNORE_OUTGOING: libc::c_int = 23;
const SIOCGSTAMPNS: libc::c_ulong = 0x8907;
/// The pseudo-interface that captures on every interface.
pub const ANY: &str = "any";
/// Bytes of the Linux cooked v2 header put in front of each `any` packet.
const SLL2_LEN: usize = 20;
const PACKET_OUTGOING: u8 = 4;

/// Why live capture could not start.
#[derive(Debug)]
pub enum LiveError {
    /// Opening a raw socket needs root or CAP_NET_RAW.
    Permission {
        iface: String,
    },
    NoInterface {
        name: String,
        available: Vec<String>,
    },
    Down {
        name: String,
        available: Vec<String>,
    },
    /// The `-w` file cannot be created or written: a usage error, as in
    /// the file views.
    Write(String),
    Other(String),
}

impl std::fmt::Display for LiveError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LiveError::Permission { iface } => write!(
                f,
                "capturing on {iface} needs root or the CAP_NET_RAW capability: run `sudo osiscope live …`, or once `sudo setcap cap_net_raw+ep $(which osiscope)`"
            ),
            LiveError::NoInterface { name, available } => write!(
                f,
                "no interface named {name}; available: {}",
                available.join(", ")
            ),
            LiveError::Down { name, available } => write!(
                f,
                "interface {name} is down; available and up: {}",
                available.join(", ")
            ),
            LiveError::Other(m) | LiveError::Write(m) => f.write_str(m),
        }
    }
}

/// The loopback interface's usual name.
pub const DEFAULT_INTERFACE: &str = "lo";

/// One line per interface: name, index, addresses, flags.
pub fn list() -> Vec<String> {
    let mut out = vec![format!(
        "{:<12} {:<9} {:<30} {}",
        ANY, "", "every interface at once", "(Linux cooked v2 frames)"
    )];
    out.extend(datalink::interfaces().into_iter().map(|i| {
        let ips: Vec<String> = i.ips.iter().map(|n| n.to_string()).collect();
        let mut flags = Vec::new();
        if i.is_up() {
            flags.push("up");
        }
        if i.is_loopback() {
            flags.push("loopback");
        }
        if i.is_running() {
            flags.push("running");
        }
        format!(
            "{:<12} index {:<3} {:<30} {}",
            i.name,
            i.index,
            if ips.is_empty() {
                "-".to_owned()
            } else {
                ips.join(" ")
            },
            flags.join(",")
        )
    }));
    out
}

/// What to capture and what to do with privileges.
#[derive(Clone, Debug, Default)]
pub struct LiveOptions {
    pub iface: Option<String>,
    /// User to switch to after opening the socket (default: SUDO_UID/SUDO_GID, else nobody).
    pub user: Option<String>,
    pub no_drop: bool,
    pub count: Option<u64>,
    pub duration: Option<Duration>,
    pub write: Option<PathBuf>,
}

/// Counts reported when the capture ends.
#[derive(Clone, Copy, Debug, Default)]
pub struct LiveStats {
    pub captured: u64,
    pub written: u64,
    /// Packets the kernel dropped because osiscope did not read fast enough.
    pub dropped: u64,
}

/// Where packets are read from.
enum Rx {
    /// One interface, through pnet.
    Pnet(Box<dyn DataLinkReceiver>),
    /// Every interface: the cooked socket itself, and loopback's index.
    Any { loopback: Option<u32> },
}

pub struct LiveSource {
    rx: Rx,
    fd: libc::c_int,
    iface: String,
    linktype: u32,
    buf: Vec<u8>,
    number: u64,
    stop: Arc<AtomicBool>,
    deadline: Option<Instant>,
    count: Option<u64>,
    writer: Option<PcapWriter<BufWriter<Box<dyn std::io::Write + Send>>>>,
    /// The `-w` output is standard output: flushed after each packet, so a
    /// reader at the other end of the pipe sees it as it is captured.
    write_stdout: bool,
    write_path: Option<PathBuf>,
    stats: LiveStats,
    /// Who the process runs as after the drop, for the start line.
    pub running_as: String,
}

fn errno() -> std::io::Error {
    std::io::Error::last_os_error()
}

/// Opens an `AF_PACKET` socket for all protocols.
fn packet_socket(iface: &str, loopback: bool) -> Result<libc::c_int, LiveError> {
    let proto = (libc::ETH_P_ALL as u16).to_be() as libc::c_int;
    // SAFETY: plain socket(2) call with constant arguments; the result is checked.
    let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW, proto) };
    if fd < 0 {
        let e = errno();
        return Err(match e.raw_os_error() {
            Some(libc::EPERM) | Some(libc::EACCES) => LiveError::Permission {
                iface: iface.into(),
            },
            _ => LiveError::Other(format!("cannot open a packet socket: {e}")),
        });
    }
    if loopback {
        let one: libc::c_int = 1;
        // SAFETY: fd is a valid socket; the option value points at a live c_int
        // whose size is passed. Failure (old kernels) only means duplicates.
        unsafe {
            libc::setsockopt(
                fd,
                SOL_PACKET,
                PACKET_IGNORE_OUTGOING,
                (&one as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            );
        }
    }
    Ok(fd)
}

/// A cooked packet socket bound to no interface: every interface's packets,
/// from their network header on. Reads time out after [`POLL`], so Ctrl-C
/// and the time limit are checked.
fn any_socket() -> Result<libc::c_int, LiveError> {
    let proto = (libc::ETH_P_ALL as u16).to_be() as libc::c_int;
    // SAFETY: plain socket(2) call with constant arguments; the result is checked.
    let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_DGRAM, proto) };
    if fd < 0 {
        let e = errno();
        return Err(match e.raw_os_error() {
            Some(libc::EPERM) | Some(libc::EACCES) => LiveError::Permission { iface: ANY.into() },
            _ => LiveError::Other(format!("cannot open a packet socket: {e}")),
        });
    }
    let tv = libc::timeval {
        tv_sec: 0,
        tv_usec: POLL.as_micros() as libc::suseconds_t,
    };
    let sizes = [READ_BUFFER as libc::c_int * 16];
    // SAFETY: fd is a valid socket; each option value points at a live value
    // whose size is passed.
    unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            (&tv as *const libc::timeval).cast(),
            std::mem::size_of::<libc::timeval>() as libc::socklen_t,
        );
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            sizes.as_ptr().cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
    }
    Ok(fd)
}

/// Reads one packet of the `any` socket into `buf` behind a Linux cooked v2
/// header: (bytes kept, bytes the packet had), or None for loopback's
/// outgoing copy. `buf` stays [`READ_BUFFER`] long (zeroed once, not per
/// packet); the frame is its first `kept` bytes.
fn read_cooked(
    fd: libc::c_int,
    buf: &mut Vec<u8>,
    loopback: Option<u32>,
) -> std::io::Result<Option<(usize, usize)>> {
    if buf.len() < READ_BUFFER {
        buf.resize(READ_BUFFER, 0);
    }
    // SAFETY: sockaddr_ll is plain old data; all zeroes is a valid value.
    let mut from: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    let mut from_len = std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t;
    let room = &mut buf[SLL2_LEN..];
    // SAFETY: the buffer and the address are live and their sizes are passed;
    // MSG_TRUNC makes the result the packet's real length.
    let r = unsafe {
        libc::recvfrom(
            fd,
            room.as_mut_ptr().cast(),
            room.len(),
            libc::MSG_TRUNC,
            (&mut from as *mut libc::sockaddr_ll).cast(),
            &mut from_len,
        )
    };
    if r < 0 {
        let e = errno();
        return Err(match e.raw_os_error() {
            Some(libc::EAGAIN) => std::io::Error::from(std::io::ErrorKind::WouldBlock),
            _ => e,
        });
    }
    let ifindex = u32::try_from(from.sll_ifindex).unwrap_or(0);
    if from.sll_pkttype == PACKET_OUTGOING && Some(ifindex) == loopback {
        return Ok(None);
    }
    let real = r as usize;
    let kept = real.min(READ_BUFFER - SLL2_LEN);
    let mut h = [0u8; SLL2_LEN];
    // sll_protocol is already in network order.
    h[0..2].copy_from_slice(&from.sll_protocol.to_ne_bytes());
    h[4..8].copy_from_slice(&ifindex.to_be_bytes());
    h[8..10].copy_from_slice(&from.sll_hatype.to_be_bytes());
    h[10] = from.sll_pkttype;
    let alen = from.sll_halen.min(8);
    h[11] = alen;
    h[12..12 + usize::from(alen)].copy_from_slice(&from.sll_addr[..usize::from(alen)]);
    buf[..SLL2_LEN].copy_from_slice(&h);
    Ok(Some((SLL2_LEN + kept, SLL2_LEN + real)))
}

/// The kernel's receive time of the last packet read on `fd`.
fn receive_time(fd: libc::c_int) -> Option<Timestamp> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: SIOCGSTAMPNS writes one timespec into the pointed-to value.
    let r = unsafe { libc::ioctl(fd, SIOCGSTAMPNS as _, &mut ts as *mut libc::timespec) };
    (r == 0).then(|| Timestamp {
        secs: ts.tv_sec,
        nanos: ts.tv_nsec.clamp(0, 999_999_999) as u32,
    })
}

fn now() -> Timestamp {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp {
        secs: d.as_secs() as i64,
        nanos: d.subsec_nanos(),
    }
}

/// Looks a user up by name: (uid, gid).
fn user_ids(name: &str) -> Option<(libc::uid_t, libc::gid_t)> {
    let c = CString::new(name).ok()?;
    // SAFETY: getpwnam returns a pointer to static storage or null; it is read
    // at once, before any other call that could overwrite it.
    unsafe {
        let pw = libc::getpwnam(c.as_ptr());
        if pw.is_null() {
            None
        } else {
            Some(((*pw).pw_uid, (*pw).pw_gid))
        }
    }
}

/// Clears every capability set (for a binary given CAP_NET_RAW by setcap).
fn clear_capabilities() {
    #[repr(C)]
    struct Header {
        version: u32,
        pid: libc::c_int,
    }
    #[repr(C)]
    #[derive(Clone, Copy)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    let mut h = Header {
        version: 0x2008_0522, // _LINUX_CAPABILITY_VERSION_3
        pid: 0,
    };
    let d = [Data {
        effective: 0,
        permitted: 0,
        inheritable: 0,
    }; 2];
    // SAFETY: capset(2) with a version-3 header and two data structs, as the
    // kernel expects; both live for the duration of the call.
    unsafe {
        libc::syscall(libc::SYS_capset, &mut h as *mut Header, d.as_ptr());
    }
}

/// Gives up root (to `user`, SUDO_UID/SUDO_GID, or nobody) and all capabilities.
fn drop_privileges(user: Option<&str>) -> Result<String, LiveError> {
    // SAFETY: geteuid never fails.
    let euid = unsafe { libc::geteuid() };
    if euid != 0 {
        clear_capabilities();
        return Ok(format!("uid {euid} (capabilities dropped)"));
    }
    let sudo = || -> Option<(libc::uid_t, libc::gid_t)> {
        let uid = std::env::var("SUDO_UID").ok()?.parse().ok()?;
        let gid = std::env::var("SUDO_GID").ok()?.parse().ok()?;
        Some((uid, gid))
    };
    let (uid, gid, who) = match user {
        Some(name) => {
            let (u, g) =
                user_ids(name).ok_or_else(|| LiveError::Other(format!("no user named {name}")))?;
            (u, g, name.to_owned())
        }
        None => match sudo() {
            Some((u, g)) => (u, g, format!("uid {u} (SUDO_UID)")),
            None => {
                let (u, g) = user_ids("nobody").ok_or_else(|| {
                    LiveError::Other(
                        "cannot drop privileges: no user 'nobody' (use --user or --no-drop)".into(),
                    )
                })?;
                (u, g, "nobody".to_owned())
            }
        },
    };
    if uid == 0 {
        return Err(LiveError::Other(
            "refusing to 'drop' privileges to root; use --no-drop to keep them".into(),
        ));
    }
    // SAFETY: setgroups/setgid/setuid with plain values; each result is checked.
    unsafe {
        if libc::setgroups(0, std::ptr::null()) != 0
            || libc::setgid(gid) != 0
            || libc::setuid(uid) != 0
            || libc::getuid() != uid
            || libc::geteuid() != uid
        {
            return Err(LiveError::Other(format!(
                "cannot drop privileges to {who}: {}",
                errno()
            )));
        }
    }
    clear_capabilities();
    Ok(who)
}

impl LiveSource {
    /// Opens the interface, drops privileges, then opens the output file.
    pub fn open(opts: &LiveOptions, stop: Arc<AtomicBool>) -> Result<Self, LiveError> {
        let name = opts
            .iface
            .clone()
            .unwrap_or_else(|| DEFAULT_INTERFACE.to_owned());
        let all = datalink::interfaces();
        if name == ANY {
            let fd = any_socket()?;
            let _ = receive_time(fd);
            let loopback = all.iter().find(|i| i.is_loopback()).map(|i| i.index);
            return Self::finish_open(
                opts,
                stop,
                Rx::Any { loopback },
                fd,
                name,
                linktype::LINUX_SLL2,
            );
        }
        let names = |up_only: bool| -> Vec<String> {
            std::iter::once(ANY.to_owned())
                .chain(
                    all.iter()
                        .filter(|i| !up_only || i.is_up())
                        .map(|i| i.name.clone()),
                )
                .collect()
        };
        let iface: NetworkInterface = match all.iter().find(|i| i.name == name) {
            Some(i) => i.clone(),
            None => {
                return Err(LiveError::NoInterface {
                    name,
                    available: names(false),
                });
            }
        };
        if !iface.is_up() {
            return Err(LiveError::Down {
                name,
                available: names(true),
            });
        }
        let fd = packet_socket(&name, iface.is_loopback())?;
        // The first SIOCGSTAMPNS turns time stamping on (it answers ENOENT).
        let _ = receive_time(fd);
        let config = Config {
            read_timeout: Some(POLL),
            read_buffer_size: READ_BUFFER,
            socket_fd: Some(fd),
            ..Config::default()
        };
        let rx = match datalink::channel(&iface, config) {
            Ok(Channel::Ethernet(_tx, rx)) => rx,
            Ok(_) => {
                return Err(LiveError::Other(format!(
                    "{name}: unsupported channel type"
                )));
            }
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
                return Err(LiveError::Permission { iface: name });
            }
            Err(e) => return Err(LiveError::Other(format!("cannot capture on {name}: {e}"))),
        };
        // Linux gives Ethernet framing on `lo` and Ethernet interfaces alike.
        Self::finish_open(opts, stop, Rx::Pnet(rx), fd, name, linktype::ETHERNET)
    }

    /// Drops privileges, then opens the output file.
    fn finish_open(
        opts: &LiveOptions,
        stop: Arc<AtomicBool>,
        rx: Rx,
        fd: libc::c_int,
        name: String,
        linktype: u32,
    ) -> Result<Self, LiveError> {
        let running_as = if opts.no_drop {
            "unchanged privileges (--no-drop)".to_owned()
        } else {
            drop_privileges(opts.user.as_deref())?
        };
        let writer = match &opts.write {
            Some(p) => Some(open_writer(p, &running_as, linktype)?),
            None => None,
        };
        let write_stdout = opts.write.as_deref().is_some_and(|p| p.as_os_str() == "-");
        Ok(LiveSource {
            rx,
            fd,
            iface: name,
            linktype,
            buf: Vec::with_capacity(READ_BUFFER),
            number: 0,
            stop,
            deadline: opts.duration.map(|d| Instant::now() + d),
            count: opts.count,
            writer,
            write_stdout,
            write_path: opts.write.clone(),
            stats: LiveStats::default(),
            running_as,
        })
    }

    pub fn interface(&self) -> &str {
        &self.iface
    }

    /// Flushes the output file and reads the kernel's drop counter.
    pub fn finish(&mut self) -> Result<LiveStats, String> {
        if let Some(w) = self.writer.take() {
            let mut inner = w.into_inner();
            std::io::Write::flush(&mut inner).map_err(|e| {
                format!(
                    "{}: cannot write: {e}",
                    self.write_path
                        .as_deref()
                        .map_or(Path::new("-"), |p| p)
                        .display()
                )
            })?;
        }
        let mut st = [0u32; 2];
        let mut len = std::mem::size_of_val(&st) as libc::socklen_t;
        // SAFETY: PACKET_STATISTICS fills a tpacket_stats (two u32) at the pointer.
        let r = unsafe {
            libc::getsockopt(
                self.fd,
                SOL_PACKET,
                PACKET_STATISTICS,
                st.as_mut_ptr().cast(),
                &mut len,
            )
        };
        if r == 0 {
            self.stats.dropped = u64::from(st[1]);
        }
        Ok(self.stats)
    }

    fn done(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
            || self.deadline.is_some_and(|d| Instant::now() >= d)
            || self.count.is_some_and(|c| self.number >= c)
    }
}

/// The `-w` file (`-`: standard output), opened as the user the capture
/// runs as.
fn open_writer(
    p: &Path,
    running_as: &str,
    linktype: u32,
) -> Result<PcapWriter<BufWriter<Box<dyn std::io::Write + Send>>>, LiveError> {
    let f: Box<dyn std::io::Write + Send> = if p.as_os_str() == "-" {
        Box::new(std::io::stdout())
    } else {
        Box::new(File::create(p).map_err(|e| {
            LiveError::Write(format!(
                "{}: cannot create: {e} (it is opened as {running_as}, after privileges are dropped: write where that user may, or keep root with --no-drop or --user root)",
                p.display()
            ))
        })?)
    };
    let header = PcapHeader {
        version_major: 2,
        version_minor: 4,
        ts_correction: 0,
        ts_accuracy: 0,
        snaplen: READ_BUFFER as u32,
        datalink: DataLink::from(linktype),
        ts_resolution: PcapTsResolution::NanoSecond,
        endianness: Endianness::native(),
    };
    PcapWriter::with_header(BufWriter::new(f), header)
        .map_err(|e| LiveError::Write(format!("{}: cannot write: {e}", p.display())))
}

impl FrameSource for LiveSource {
    fn next_frame(&mut self) -> Option<Result<Frame<'_>, CaptureError>> {
        loop {
            if self.done() {
                return None;
            }
            let got = match &mut self.rx {
                Rx::Pnet(rx) => rx.next().map(|pkt| {
                    let n = pkt.len().min(READ_BUFFER);
                    self.buf.clear();
                    self.buf.extend_from_slice(&pkt[..n]);
                    (n, n)
                }),
                Rx::Any { loopback } => match read_cooked(self.fd, &mut self.buf, *loopback) {
                    Ok(Some(lens)) => Ok(lens),
                    // Loopback's outgoing copy: its incoming twin follows.
                    Ok(None) => continue,
                    Err(e) => Err(e),
                },
            };
            match got {
                Ok((kept, orig_len)) => {
                    let ts = receive_time(self.fd).unwrap_or_else(now);
                    self.number += 1;
                    self.stats.captured += 1;
                    if let Some(w) = &mut self.writer {
                        let d = Duration::new(ts.secs.max(0) as u64, ts.nanos);
                        match PcapPacket::new(d, orig_len as u32, &self.buf[..kept]) {
                            Ok(p)
                                if w.write_packet(&p).is_ok()
                                    && (!self.write_stdout || w.flush().is_ok()) =>
                            {
                                self.stats.written += 1
                            }
                            _ => {
                                return Some(Err(CaptureError {
                                    message: format!(
                                        "cannot write to {}",
                                        self.write_path
                                            .as_deref()
                                            .map_or(Path::new("-"), |p| p)
                                            .display()
                                    ),
                                    offset: 0,
                                    frame: Some(self.number),
                                }));
                            }
                        }
                    }
                    return Some(Ok(Frame {
                        number: self.number,
                        kind: FrameKind::Packet,
                        ts,
                        linktype: self.linktype,
                        interface: 0,
                        orig_len: orig_len as u32,
                        data: &self.buf[..kept],
                        offset: 0,
                    }));
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::TimedOut
                            | std::io::ErrorKind::Interrupted
                            | std::io::ErrorKind::WouldBlock
                    ) => {}
                Err(e) => {
                    return Some(Err(CaptureError {
                        message: format!("capture on {} failed: {e}", self.iface),
                        offset: 0,
                        frame: Some(self.number + 1),
                    }));
                }
            }
        }
    }
}
