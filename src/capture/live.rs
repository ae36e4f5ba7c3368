//! Live capture from a network interface with pnet's datalink channel (Linux).
//!
//! The socket is an `AF_PACKET` socket opened here and handed to pnet, so that
//! on the loopback interface outgoing copies can be ignored (every `lo` packet
//! is otherwise seen twice) and the kernel's receive time can be read with
//! `SIOCGSTAMPNS` (pnet reports none). Once the socket is open, privileges are
//! dropped before a single packet is parsed, and only then is the `-w` file
//! opened. The frames feed the same pipeline as a capture file.
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
    datalink::interfaces()
        .into_iter()
        .map(|i| {
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
        })
        .collect()
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

pub struct LiveSource {
    rx: Box<dyn DataLinkReceiver>,
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
        let names = |up_only: bool| -> Vec<String> {
            all.iter()
                .filter(|i| !up_only || i.is_up())
                .map(|i| i.name.clone())
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
        let running_as = if opts.no_drop {
            "unchanged privileges (--no-drop)".to_owned()
        } else {
            drop_privileges(opts.user.as_deref())?
        };
        let writer = match &opts.write {
            Some(p) => Some(open_writer(p, &running_as)?),
            None => None,
        };
        let write_stdout = opts.write.as_deref().is_some_and(|p| p.as_os_str() == "-");
        Ok(LiveSource {
            rx,
            fd,
            iface: name,
            // Linux gives Ethernet framing on `lo` and Ethernet interfaces alike.
            linktype: linktype::ETHERNET,
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
        datalink: DataLink::ETHERNET,
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
            match self.rx.next() {
                Ok(pkt) => {
                    let n = pkt.len().min(READ_BUFFER);
                    self.buf.clear();
                    self.buf.extend_from_slice(&pkt[..n]);
                    let ts = receive_time(self.fd).unwrap_or_else(now);
                    self.number += 1;
                    self.stats.captured += 1;
                    if let Some(w) = &mut self.writer {
                        let d = Duration::new(ts.secs.max(0) as u64, ts.nanos);
                        match PcapPacket::new(d, n as u32, &self.buf[..]) {
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
                        orig_len: n as u32,
                        data: &self.buf,
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
