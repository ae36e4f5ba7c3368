//! The command line, in one place.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::proto::Protocol;
use crate::proto::tls::keylog::KeyLog;
pub use crate::report::Format;
pub use crate::report::layers::FrameRange;
pub use crate::report::style::ColorChoice;
pub use crate::report::walk::WalkFormat;
use crate::run::{Filter, RunOptions};
pub use crate::sample::SampleName;
use std::sync::Arc;

const AFTER_HELP: &str = "\
Examples:
  osiscope demo                                   a first look: the bundled WebSocket sample
  osiscope walk capture.pcap                      every TCP connection told step by step
  osiscope flows capture.pcap                     one row per connection
  osiscope packets capture.pcap --port 8080       one row per packet
  osiscope messages capture.pcap --event save     every Socket.IO \"save\" and how long its ack took
  sudo osiscope live                              watch loopback as it happens

Exit status:
  0  success
  1  the capture could not be read to its end (everything before the fault is printed)
  2  usage error (unknown option, bad value)
  3  live capture not permitted (needs root or CAP_NET_RAW)";

#[derive(Parser, Debug)]
#[command(
    name = "osiscope",
    version = crate::VERSION,
    about = "Explains a packet capture layer by layer, along the OSI model",
    long_about = "Explains a packet capture layer by layer, along the OSI model.\n\n\
        Reads pcap and pcapng files (or - for standard input) and shows every \
        packet with each of its layers labelled: L1 physical (the frame), \
        L2 data link, L3 network, L4 transport, up to L7 application.",
    after_help = AFTER_HELP,
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// The story of each TCP connection: handshake, data, teardown, each step with its OSI layer, and a ladder diagram
    #[command(after_help = "\
Examples:
  osiscope walk captures/ws-echo.pcap
  osiscope walk captures/socketio-upgrade.pcap --connection 2 --brief
  osiscope walk captures/ws-echo.pcap --format svg > ladder.svg    (open it in a browser)
  osiscope walk big.pcap -q --port 8080                             (one summary per connection)

Exit status: 0 ok, 1 capture unreadable past some point (connections read so far are still told), 2 usage.")]
    Walk(WalkArgs),

    /// One row per TCP connection: endpoints, state, history, handshake RTT, packets and bytes each way
    #[command(after_help = "\
Examples:
  osiscope flows captures/socketio-upgrade.pcap
  osiscope flows big.pcap --format json | jq 'select(.state == \"reset\")'
  osiscope flows big.pcap --port 443 --host 10.0.0.5

History letters (uppercase: sent by the client, lowercase: by the server):
  S SYN  H SYN-ACK  A pure ACK  D data  F FIN  R RST  Q SYN with FIN/RST
  T retransmission  W zero window  G gap in the stream (T, W and G repeat at 1, 10, 100... times)

Exit status: 0 ok, 1 capture unreadable past some point, 2 usage.")]
    Flows(FlowsArgs),

    /// Capture live (loopback by default) and explain what happens as it happens
    #[command(after_help = "\
Examples:
  sudo osiscope live                         walk through every connection on lo as it happens
  sudo osiscope live --port 8080 -w app.pcap also save the packets for later
  sudo osiscope live packets -c 20           the first 20 packets, one row each
  osiscope live --list                       the interfaces

Capturing needs root or CAP_NET_RAW: run with sudo, or once
  sudo setcap cap_net_raw+ep $(which osiscope)
Once the socket is open, osiscope gives up root (to the sudo user, else nobody,
or --user) and all capabilities before it reads a packet; the -w file is created
after that, so its directory must be writable by that user.
Ctrl-C, -c and --duration end the capture cleanly: the file is complete and open
connections are summarised.

Exit status: 0 ok, 1 capture or write error, 2 usage or unknown interface,
3 capture not permitted.")]
    Live(LiveArgs),

    /// One line per packet: frame, time, source → destination and what it carries (on a terminal, a table with one column per OSI layer)
    #[command(after_help = "\
Examples:
  osiscope packets captures/ws-echo.pcap
  osiscope packets captures/ws-echo.pcap --format json | head -3
  osiscope packets big.pcap --connection 3 -w conn3.pcap   (save one connection)
  tcpdump -i lo -w - | osiscope packets -

Exit status: 0 ok, 1 capture unreadable past some point (all packets before it are printed), 2 usage.")]
    Packets(PacketsArgs),

    /// Every WebSocket message and Socket.IO packet in time order, across connections, with how long each reply took
    #[command(after_help = "\
Examples:
  osiscope messages captures/ws-echo.pcap
  osiscope messages captures/socketio-slow.pcap --event save     the saves and their acks
  osiscope messages big.pcap --grep error --format json | jq .text

A message that carries Engine.IO is listed as the Engine.IO or Socket.IO
packet inside it; pings, pongs and closes are listed too. A reply (pong,
close reply, Socket.IO ack, Engine.IO pong) says how long after its request
it came, as `walk` does.

Exit status: 0 ok, 1 capture unreadable past some point (rows before it are printed) or the filters match no connection, 2 usage.")]
    Messages(MessagesArgs),

    /// Write tables other tools read: Zeek-style logs as JSON Lines or Parquet, a HAR file; many captures at once
    #[command(after_help = "\
Examples:
  osiscope export captures/ws-echo.pcap --out logs
  osiscope export captures/ --out logs --as parquet        every capture in the directory, on every core
  osiscope export captures/ws-echo.pcap --har ws-echo.har  open it in a browser's network panel
  duckdb -c \"SELECT * FROM 'logs/conn/*/*.parquet'\"

Five tables, each in DIR/TABLE/file=NAME/part.EXT (one partition per capture):
  conn             one row per TCP connection (Zeek's conn.log fields, then osiscope's)
  websocket        one row per WebSocket handshake (Zeek's websocket.log fields, then more)
  ws_messages      one row per WebSocket message and control frame
  socketio_events  one row per Socket.IO and Engine.IO packet
  http             one row per HTTP request and response (Zeek's http.log fields)
Rows are joined by `uid` (the connection) and `community_id` (conn). Columns are
listed in the README (\"Export\").

Exit status: 0 ok, 1 a capture unreadable past some point (its rows before the
fault are written; the other captures are exported) or a file not writable,
2 usage.")]
    Export(ExportArgs),

    /// Take packets apart field by field, like Wireshark's detail pane, with a hex dump
    #[command(after_help = "\
Examples:
  osiscope layers captures/ws-echo.pcap --frame 1
  osiscope layers captures/ws-echo.pcap --frame 4-6 --frame 10
  osiscope layers captures/ws-echo.pcap --frame 8      a WebSocket frame and its message
  osiscope layers captures/ws-echo.pcap --frame 1 --format json

After L4 come the application units the frame carries or completes: HTTP heads
(every header), WebSocket frames (FIN, RSV, opcode, mask, length and its
encoding, masking key, unmasked payload), permessage-deflate, WebSocket
messages, Engine.IO and Socket.IO packets. In the hex dump each byte is
coloured by the layer it belongs to; without colour a row of layer numbers
under each line says the same (1 frame, 2 data link, 3 network, 4 transport,
6 presentation, 7 application, - not decoded).

Exit status: 0 ok, 1 capture unreadable past some point or no such frame, 2 usage.")]
    Layers(LayersArgs),

    /// Walk through a capture built into osiscope: a first look without a capture of your own
    #[command(after_help = "\
Examples:
  osiscope demo                      the WebSocket sample, step by step
  osiscope demo socketio --brief     the Socket.IO sample, steps without explanations
  osiscope demo --format svg > ladder.svg

`osiscope walk` with no file shows the same WebSocket sample. The samples were
recorded on loopback from real servers and clients (captures/ in the source).")]
    Demo(DemoArgs),

    /// Print a shell completion script
    #[command(after_help = "\
Examples:
  osiscope completions bash > ~/.local/share/bash-completion/completions/osiscope
  osiscope completions zsh > ~/.zfunc/_osiscope     (with fpath+=~/.zfunc in ~/.zshrc)
  osiscope completions fish > ~/.config/fish/completions/osiscope.fish
  osiscope completions powershell >> $PROFILE")]
    Completions(CompletionsArgs),

    /// Print the manual page (roff)
    #[command(after_help = "\
Examples:
  osiscope man > osiscope.1 && man -l osiscope.1
  osiscope man | sudo tee /usr/local/share/man/man1/osiscope.1 >/dev/null")]
    Man,
}

#[derive(Args, Debug, Clone)]
pub struct InputArgs {
    /// Capture file (pcap or pcapng); - reads standard input. Without one: standard input when it is a pipe or a file, else the bundled sample (see `osiscope demo`)
    #[arg(value_name = "FILE")]
    pub file: Option<PathBuf>,

    /// Capture file, as tcpdump/tshark's -r
    #[arg(
        short = 'r',
        long = "read",
        value_name = "FILE",
        conflicts_with = "file"
    )]
    pub read: Option<PathBuf>,

    /// Stop after this many packets that pass the filters (all packets when there are none), as tcpdump's -c
    #[arg(short = 'c', long = "count", value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub count: Option<u64>,

    /// Accepted (also as -nn) for tcpdump/tshark habits; osiscope never resolves names or ports
    #[arg(short = 'n', action = clap::ArgAction::Count)]
    pub numeric: u8,

    /// Threads: one reads, decodes and follows TCP, one prints, and the work of decoding HTTP/WebSocket/Socket.IO and rendering is shared where the view allows; 1 does all on one. The output is the same [default: the CPUs available, at most 8]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(1..=MAX_THREADS))]
    pub threads: Option<u8>,

    /// No progress bar (it is shown only on a terminal, while the output goes to a file or pipe, for files of 16 MiB or more)
    #[arg(long)]
    pub no_progress: bool,
}

/// Most threads `--threads` takes.
pub const MAX_THREADS: i64 = 16;
/// Threads used unless told: past this many, the reading thread is the limit
/// (it reads, decodes and follows TCP for all the others).
pub const DEFAULT_MAX_THREADS: usize = 8;

/// One thread per CPU available, at most [`DEFAULT_MAX_THREADS`].
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().min(DEFAULT_MAX_THREADS))
}

impl InputArgs {
    /// Threads to use: as asked, else one per CPU (see [`default_threads`]).
    pub fn threads(&self) -> usize {
        self.threads
            .map(usize::from)
            .unwrap_or_else(default_threads)
    }

    /// The options of a run over a file with these filters.
    pub fn run_options(&self, filter: &FilterArgs) -> RunOptions {
        RunOptions {
            progress: !self.no_progress,
            count: self.count,
            ..filter.run_options()
        }
    }

    /// The file to read; None for the bundled sample.
    pub fn path(&self) -> Option<PathBuf> {
        self.read.clone().or_else(|| self.file.clone())
    }
}

#[derive(Args, Debug, Clone)]
pub struct OutputArgs {
    /// Output format: a table for people, JSON Lines for scripts
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,

    /// When to colour the output (NO_COLOR in the environment means never)
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,
}

/// Which packets and connections to show. Tracking still sees every packet,
/// so stream numbers are the same with and without a filter.
#[derive(Args, Debug, Clone, Default)]
pub struct FilterArgs {
    /// Only packets and connections with this port on either side (repeatable)
    #[arg(long = "port", value_name = "PORT")]
    pub ports: Vec<u16>,
    /// Only packets and connections with this address, or an address in this block (10.0.0.0/8, fe80::/10), on either side (repeatable)
    #[arg(long = "host", value_name = "ADDR[/BITS]")]
    pub hosts: Vec<crate::run::HostBlock>,
    /// Only this TCP connection, by its number (tshark's tcp.stream; repeatable)
    #[arg(long = "connection", value_name = "N")]
    pub connections: Vec<u64>,
    /// Most TCP connections tracked at once; beyond it the least recently seen are finished early
    #[arg(long, value_name = "N", default_value_t = crate::flow::MAX_CONNECTIONS)]
    pub max_connections: usize,
    /// Decode connections on this port as PROTO from their first byte: websocket (frames without a captured handshake, marked as inferred), http or tls (repeatable)
    #[arg(long = "decode-as", value_name = "PORT=PROTO", value_parser = parse_decode_as)]
    pub decode_as: Vec<(u16, Protocol)>,
    /// The same as --decode-as PORT=websocket
    #[arg(long = "assume-websocket", value_name = "PORT")]
    pub assume_websocket: Vec<u16>,
    /// Decrypt TLS with this NSS key log (what SSLKEYLOGFILE makes browsers, curl, Node and Python write) [default: $SSLKEYLOGFILE when set]
    #[arg(long, value_name = "FILE")]
    pub keylog: Option<PathBuf>,
    /// The key log, once read (by main, before the run).
    #[arg(skip)]
    pub keylog_read: Option<Arc<KeyLog>>,
}

impl FilterArgs {
    /// The options of a run with these filters.
    pub fn run_options(&self) -> RunOptions {
        let mut decode_as = self.decode_as.clone();
        decode_as.extend(
            self.assume_websocket
                .iter()
                .map(|p| (*p, Protocol::WebSocket)),
        );
        RunOptions {
            filter: Filter {
                ports: self.ports.clone(),
                hosts: self.hosts.clone(),
                connections: self.connections.clone(),
            },
            max_connections: Some(self.max_connections),
            decode_as,
            keylog: self.keylog_read.clone(),
            ..RunOptions::default()
        }
    }
}

/// `PORT=PROTO` of `--decode-as`.
fn parse_decode_as(s: &str) -> Result<(u16, Protocol), String> {
    let names = || {
        Protocol::ALL
            .iter()
            .map(|(n, _)| *n)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let (port, proto) = s
        .split_once('=')
        .ok_or_else(|| format!("'{s}' is not PORT=PROTO (PROTO one of {})", names()))?;
    let port = port
        .trim()
        .parse::<u16>()
        .map_err(|_| format!("'{port}' is not a port number"))?;
    let proto = Protocol::from_name(proto.trim())
        .ok_or_else(|| format!("unknown protocol '{proto}' (one of {})", names()))?;
    Ok((port, proto))
}

impl Command {
    /// The filters and decoding options of a command that reads packets.
    pub fn filter_mut(&mut self) -> Option<&mut FilterArgs> {
        match self {
            Command::Walk(a) => Some(&mut a.filter),
            Command::Flows(a) => Some(&mut a.filter),
            Command::Packets(a) => Some(&mut a.filter),
            Command::Layers(a) => Some(&mut a.filter),
            Command::Messages(a) => Some(&mut a.filter),
            Command::Export(a) => Some(&mut a.filter),
            Command::Demo(a) => Some(&mut a.filter),
            Command::Live(a) => Some(&mut a.filter),
            Command::Completions(_) | Command::Man => None,
        }
    }
}

#[derive(Args, Debug)]
pub struct WalkArgs {
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub opts: WalkOpts,
    #[command(flatten)]
    pub filter: FilterArgs,
}

/// How `walk` and `demo` tell the story.
#[derive(Args, Debug, Clone)]
pub struct WalkOpts {
    /// text: the walkthrough and a ladder diagram; json: one object per connection; mermaid: a sequence diagram; svg: the ladder as a standalone picture for a browser
    #[arg(long, value_enum, default_value_t = WalkFormat::Text)]
    pub format: WalkFormat,
    /// When to colour the output (NO_COLOR in the environment means never)
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,
    /// Steps without their explanations
    #[arg(long)]
    pub brief: bool,
    /// Text format: only each connection's summary (its header), no steps, ladder or bytes by layer
    #[arg(short = 'q', long)]
    pub quiet: bool,
}

#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Which bundled capture to walk through
    #[arg(value_enum, default_value_t = SampleName::Websocket)]
    pub sample: SampleName,
    #[command(flatten)]
    pub opts: WalkOpts,
    #[command(flatten)]
    pub filter: FilterArgs,
}

#[derive(Args, Debug)]
pub struct CompletionsArgs {
    /// The shell to complete for
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum LiveView {
    Walk,
    Packets,
    Flows,
    Messages,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum LiveFormat {
    #[value(alias = "table")]
    Text,
    Json,
}

#[derive(Args, Debug)]
pub struct LiveArgs {
    /// What to show: each step as it happens (walk), one row per packet, one row per connection as it ends, or one row per WebSocket message and Socket.IO packet
    #[arg(value_enum, default_value_t = LiveView::Walk)]
    pub view: LiveView,
    /// messages: only these (--grep TEXT, --event NAME)
    #[command(flatten)]
    pub select: MessageSelect,
    /// Interface to capture on; `any` for every interface at once (Linux cooked v2 frames, as tcpdump -i any)
    #[arg(
        short = 'i',
        long = "interface",
        value_name = "IFACE",
        default_value = "lo"
    )]
    pub interface: String,
    /// List the interfaces and exit
    #[arg(long)]
    pub list: bool,
    /// Stop after this many packets (all captured ones, before the filters)
    #[arg(short = 'c', long = "count", value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub count: Option<u64>,
    /// Stop after this many seconds
    #[arg(long, value_name = "SECS")]
    pub duration: Option<f64>,
    /// Also write every captured packet (before filtering) to this pcap file; `-` writes the pcap to standard output (flushed per packet, for a pipe) and the view prints nothing
    #[arg(short = 'w', long = "write", value_name = "FILE")]
    pub write: Option<PathBuf>,
    /// Accepted (also as -nn) for tcpdump/tshark habits; osiscope never resolves names or ports
    #[arg(short = 'n', action = clap::ArgAction::Count)]
    pub numeric: u8,
    /// User to switch to once the socket is open (default: the sudo user, else nobody)
    #[arg(long, value_name = "NAME")]
    pub user: Option<String>,
    /// Keep root and capabilities (not recommended: packet bytes are hostile)
    #[arg(long)]
    pub no_drop: bool,
    /// text for people, json for scripts (one object per connection or packet)
    #[arg(long, value_enum, default_value_t = LiveFormat::Text)]
    pub format: LiveFormat,
    /// When to colour the output (NO_COLOR in the environment means never)
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,
    /// walk: steps without their explanations
    #[arg(long)]
    pub brief: bool,
    #[command(flatten)]
    pub filter: FilterArgs,
}

#[derive(Args, Debug)]
pub struct FlowsArgs {
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub filter: FilterArgs,
}

#[derive(Args, Debug)]
pub struct PacketsArgs {
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub filter: FilterArgs,
    /// Write the packets that pass the filters to this pcap file (- for standard output) instead of printing them, as `tcpdump -r IN -w OUT`
    #[arg(short = 'w', long = "write", value_name = "FILE")]
    pub write: Option<PathBuf>,
    /// No row per packet, only the count at the end
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// Lay the table out for this many columns (default: the terminal's width). Below 160, one row per packet; below 100, without the time
    #[arg(long, value_name = "COLS", value_parser = clap::value_parser!(u16).range(40..))]
    pub width: Option<u16>,
    /// Print the table even when standard output is not a terminal (a file or pipe otherwise gets one line per packet, as from tcpdump), with every layer's column unless --width is given
    #[arg(long)]
    pub table: bool,
}

#[derive(Args, Debug)]
pub struct MessagesArgs {
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub select: MessageSelect,
    #[command(flatten)]
    pub filter: FilterArgs,
}

#[derive(Args, Debug)]
pub struct ExportArgs {
    /// Capture files, or directories to read for them (.pcap, .pcapng, .cap, also .gz and .zst; sorted, subdirectories included)
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,
    /// Write the tables under this directory (made if missing; a capture's earlier files there are replaced)
    #[arg(
        short = 'o',
        long = "out",
        value_name = "DIR",
        required_unless_present = "har"
    )]
    pub out: Option<PathBuf>,
    /// Table format
    #[arg(long = "as", value_enum, default_value_t = crate::export::table::Form::Jsonl, value_name = "FORMAT")]
    pub form: crate::export::table::Form,
    /// Also write the HTTP requests and WebSocket messages as a HAR 1.2 file (one capture only)
    #[arg(long, value_name = "OUT.har")]
    pub har: Option<PathBuf>,
    /// Captures exported at once, one per worker [default: the CPUs available]
    #[arg(short = 'j', long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: Option<u16>,
    /// Threads for a capture exported alone (as in the other commands) [default: the CPUs available, at most 8]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(1..=MAX_THREADS))]
    pub threads: Option<u8>,
    #[command(flatten)]
    pub filter: FilterArgs,
}

/// Which messages `messages` lists.
#[derive(Args, Debug, Clone, Default)]
pub struct MessageSelect {
    /// Only messages whose text (or Socket.IO event name or arguments) contains TEXT
    #[arg(long, value_name = "TEXT")]
    pub grep: Option<String>,
    /// Only Socket.IO packets of this event, and the acks that answer them
    #[arg(long, value_name = "NAME")]
    pub event: Option<String>,
}

impl MessageSelect {
    pub fn filter(&self) -> crate::report::messages::MessageFilter {
        crate::report::messages::MessageFilter {
            grep: self.grep.clone(),
            event: self.event.clone(),
        }
    }
}

#[derive(Args, Debug)]
pub struct LayersArgs {
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub output: OutputArgs,
    /// Frame number or range to show (N, N-M, N-); repeat for more. Default: every frame
    #[arg(long = "frame", short = 'f', value_name = "N|N-M", value_parser = parse_range)]
    pub frames: Vec<FrameRange>,
    #[command(flatten)]
    pub filter: FilterArgs,
}

/// The manual page: clap's page for the whole command (name, synopsis,
/// options, the list of subcommands, exit status), then one section per
/// subcommand with its synopsis, options and examples, so `man osiscope`
/// holds everything `--help` says.
pub fn man_page(out: &mut dyn std::io::Write) -> std::io::Result<()> {
    use clap::CommandFactory;
    use clap_mangen::Man;

    let cmd = Cli::command();
    let mut top = Vec::new();
    Man::new(cmd.clone()).render(&mut top)?;
    // clap_mangen calls the after-help text EXTRA; here it is examples and the exit status.
    // Subcommands are sections of this page, not pages of their own.
    let mut top =
        String::from_utf8_lossy(&top).replace(".SH EXTRA", ".SH \"EXAMPLES AND EXIT STATUS\"");
    // clap adds a `help` subcommand when it builds the command.
    let names = cmd
        .get_subcommands()
        .map(|c| c.get_name().to_owned())
        .chain(["help".to_owned()]);
    for name in names {
        let to = if name == "help" {
            "\\fBosiscope help\\fR".to_owned()
        } else {
            format!(
                "\\fBosiscope {name}\\fR (section OSISCOPE {})",
                name.to_uppercase()
            )
        };
        top = top.replace(&format!("osiscope\\-{name}(1)"), &to);
    }
    out.write_all(top.as_bytes())?;
    for sub in cmd.get_subcommands() {
        let name = sub.get_name();
        let man = Man::new(sub.clone().bin_name(format!("osiscope {name}")));
        let mut buf = Vec::new();
        man.render_synopsis_section(&mut buf)?;
        man.render_description_section(&mut buf)?;
        man.render_options_section(&mut buf)?;
        if sub.get_after_help().is_some() {
            man.render_extra_section(&mut buf)?;
        }
        // The subcommand's sections become subsections of its own section.
        let text = String::from_utf8_lossy(&buf)
            .replace(".SH EXTRA", ".SS \"EXAMPLES AND NOTES\"")
            .replace(".SH ", ".SS ");
        writeln!(out, ".SH \"OSISCOPE {}\"", name.to_uppercase())?;
        out.write_all(text.as_bytes())?;
    }
    Ok(())
}

fn parse_frame_number(s: &str) -> Result<u64, String> {
    match s.trim().parse::<u64>() {
        Ok(0) => Err("frame numbers start at 1".into()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("'{s}' is not a frame number")),
    }
}

fn parse_range(s: &str) -> Result<FrameRange, String> {
    match s.split_once('-') {
        None => {
            let n = parse_frame_number(s)?;
            Ok(FrameRange {
                first: n,
                last: Some(n),
            })
        }
        Some((a, b)) => {
            let first = parse_frame_number(a)?;
            let last = if b.trim().is_empty() {
                None
            } else {
                Some(parse_frame_number(b)?)
            };
            if last.is_some_and(|l| l < first) {
                return Err(format!("range {s} ends before it starts"));
            }
            Ok(FrameRange { first, last })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(
            parse_range("5"),
            Ok(FrameRange {
                first: 5,
                last: Some(5)
            })
        );
        assert_eq!(
            parse_range("3-7"),
            Ok(FrameRange {
                first: 3,
                last: Some(7)
            })
        );
        assert_eq!(
            parse_range("9-"),
            Ok(FrameRange {
                first: 9,
                last: None
            })
        );
        assert!(parse_range("0").is_err());
        assert!(parse_range("7-3").is_err());
        assert!(parse_range("x").is_err());
        assert!(
            FrameRange {
                first: 9,
                last: None
            }
            .contains(1_000_000)
        );
    }

    #[test]
    fn cli_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
