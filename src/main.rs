use std::io::{self, Write};
use std::path::Path;
use std::process::ExitCode;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use clap::{CommandFactory, Parser};

use osiscope::capture::write::PcapOut;
use osiscope::cli::{Cli, Command, Format, InputArgs, WalkFormat, WalkOpts};
use osiscope::report::count::CountView;
use osiscope::report::escape::escape;
use osiscope::report::flows::FlowsView;
use osiscope::report::layers::LayersView;
use osiscope::report::messages::MessagesView;
use osiscope::report::packets::PacketsView;
use osiscope::report::style::use_color;
use osiscope::report::walk::WalkView;
use osiscope::run::{self, Progress, RunError, RunOptions};
use osiscope::sample::{self, Sample};

/// Exit status when the capture cannot be read to its end.
const EXIT_BAD_INPUT: u8 = 1;
/// Exit status for a usage error (also an unknown or down interface).
const EXIT_USAGE: u8 = 2;
/// Exit status when live capture is not permitted.
const EXIT_PERMISSION: u8 = 3;

#[cfg(target_os = "linux")]
fn live(a: osiscope::cli::LiveArgs, out: impl Write) -> ExitCode {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    use osiscope::capture::FrameSource;
    use osiscope::capture::live::{LiveError, LiveOptions, LiveSource, list};
    use osiscope::cli::{LiveFormat, LiveView};

    if a.list {
        for l in list() {
            println!("{}", escape(&l));
        }
        return ExitCode::SUCCESS;
    }
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = stop.clone();
        // Ctrl-C and SIGTERM end the capture at the next poll (within 200 ms).
        let _ = ctrlc::set_handler(move || stop.store(true, Ordering::Relaxed));
    }
    let opts = LiveOptions {
        iface: Some(a.interface.clone()),
        user: a.user.clone(),
        no_drop: a.no_drop,
        count: a.count,
        duration: a
            .duration
            .filter(|d| *d > 0.0)
            .map(std::time::Duration::from_secs_f64),
        write: a.write.clone(),
    };
    let mut src = match LiveSource::open(&opts, stop) {
        Ok(s) => s,
        Err(e) => {
            let _ = writeln!(io::stderr(), "osiscope: {}", escape(&e.to_string()));
            return ExitCode::from(match e {
                LiveError::Permission { .. } => EXIT_PERMISSION,
                LiveError::NoInterface { .. } | LiveError::Down { .. } | LiveError::Write(_) => {
                    EXIT_USAGE
                }
                LiveError::Other(_) => EXIT_BAD_INPUT,
            });
        }
    };
    let _ = writeln!(
        io::stderr(),
        "osiscope: capturing on {} as {}; Ctrl-C stops",
        escape(src.interface()),
        escape(&src.running_as)
    );
    // `-w -`: standard output carries the pcap (as tcpdump's), so the view
    // says nothing; the closing counts still go to standard error.
    let to_stdout = a.write.as_deref().is_some_and(|p| p.as_os_str() == "-");
    let out: Box<dyn Write + '_> = if to_stdout {
        Box::new(io::sink())
    } else {
        Box::new(out)
    };
    let color = use_color(a.color) && !to_stdout;
    let l = RunOptions {
        live: true,
        detail: a.view == LiveView::Walk,
        whole_messages: a.view == LiveView::Walk && a.format == LiveFormat::Json,
        ..a.filter.run_options()
    };
    let json = a.format == LiveFormat::Json;
    let res = {
        let source: &mut dyn FrameSource = &mut src;
        match a.view {
            LiveView::Walk => {
                let f = if json {
                    WalkFormat::Json
                } else {
                    WalkFormat::Text
                };
                let mut v = WalkView::new(out, f, color, a.brief).live();
                run::source(source, &mut v, l)
            }
            LiveView::Packets => {
                let f = if json { Format::Json } else { Format::Table };
                let mut v = PacketsView::new(out, f, color).live();
                run::source(source, &mut v, l)
            }
            LiveView::Flows => {
                let f = if json { Format::Json } else { Format::Table };
                let mut v = FlowsView::new(out, f).live();
                run::source(source, &mut v, l)
            }
            LiveView::Messages => {
                let f = if json { Format::Json } else { Format::Table };
                let mut v = MessagesView::new(out, f, a.select.filter()).live();
                let l = RunOptions { texts: true, ..l };
                run::source(source, &mut v, l)
            }
        }
    };
    let stats = src.finish();
    let code = report(std::path::Path::new(src.interface()), res);
    match stats {
        Ok(st) => {
            let mut line = format!("osiscope: {} packets captured", st.captured);
            if let Some(w) = &a.write {
                line.push_str(&format!(
                    ", {} written to {}",
                    st.written,
                    escape(&w.to_string_lossy())
                ));
            }
            line.push_str(&format!(", {} dropped by the kernel", st.dropped));
            let _ = writeln!(io::stderr(), "{line}");
            code
        }
        Err(e) => {
            let _ = writeln!(io::stderr(), "osiscope: {}", escape(&e));
            ExitCode::from(EXIT_BAD_INPUT)
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn live(_a: osiscope::cli::LiveArgs, _out: impl Write) -> ExitCode {
    let _ = writeln!(
        io::stderr(),
        "osiscope: live capture is only available on Linux"
    );
    ExitCode::from(EXIT_USAGE)
}

/// Standard input is a pipe or socket: its bytes come as another program
/// writes them, so the views stream.
fn stdin_is_pipe() -> bool {
    #[cfg(unix)]
    {
        use std::os::fd::AsFd;
        use std::os::unix::fs::FileTypeExt;
        io::stdin()
            .as_fd()
            .try_clone_to_owned()
            .ok()
            .and_then(|fd| std::fs::File::from(fd).metadata().ok())
            .is_some_and(|m| m.file_type().is_fifo() || m.file_type().is_socket())
    }
    #[cfg(not(unix))]
    {
        false
    }
}

/// Standard input is a pipe or a regular file (not a terminal, not
/// /dev/null): bytes are waiting there.
fn stdin_is_data() -> bool {
    #[cfg(unix)]
    {
        use std::os::fd::AsFd;
        use std::os::unix::fs::FileTypeExt;
        let Ok(fd) = io::stdin().as_fd().try_clone_to_owned() else {
            return false;
        };
        match std::fs::File::from(fd).metadata() {
            Ok(m) => m.file_type().is_fifo() || (m.is_file() && m.len() > 0),
            Err(_) => false,
        }
    }
    #[cfg(not(unix))]
    {
        false
    }
}

/// Where a file view reads from.
enum Input {
    File(PathBuf),
    Sample(&'static Sample),
}

impl Input {
    /// The file named, else the bundled sample; but with data piped in and
    /// no file named, the `-` was most likely forgotten: say so (exit 2)
    /// rather than show the sample.
    fn from_args(a: &InputArgs) -> Result<Self, ExitCode> {
        match a.path() {
            Some(p) => Ok(Input::File(p)),
            // A pipe or a file on standard input is what to read, as tcpdump
            // -r - would; the bundled sample is for a person at a terminal.
            None if stdin_is_data() => Ok(Input::File(PathBuf::from("-"))),
            None => Ok(Input::Sample(&sample::WEBSOCKET)),
        }
    }

    /// Standard input is a pipe (`tcpdump -U -w - | osiscope walk -`): the
    /// views tell each step as its packet arrives, as in `live`, instead of
    /// waiting for the end.
    fn streams(&self) -> bool {
        matches!(self, Input::File(p) if p.as_os_str() == "-") && stdin_is_pipe()
    }

    /// The run's options and threads for this input: from a pipe, a view
    /// tells each packet as it arrives (as `live` does), on one thread.
    /// Returns whether the view is to stream.
    fn streaming(&self, l: &mut RunOptions, threads: &mut usize) -> bool {
        let streams = self.streams();
        if streams {
            l.live = true;
            *threads = 1;
        }
        streams
    }

    /// The name error lines use.
    fn name(&self) -> PathBuf {
        match self {
            Input::File(p) => p.clone(),
            Input::Sample(s) => PathBuf::from(format!("{} (bundled sample)", s.file)),
        }
    }

    /// Says it is the bundled sample: first on standard output for the text
    /// views, on standard error where standard output is for a program.
    fn announce(&self, command: &str, on_stdout: bool, out: &mut impl Write) -> io::Result<()> {
        if let Input::Sample(s) = self {
            if on_stdout {
                writeln!(out, "{}\n", s.banner(command))?;
            } else {
                writeln!(io::stderr(), "{}", s.banner(command))?;
            }
        }
        Ok(())
    }

    fn run(
        &self,
        view: &mut dyn osiscope::report::View,
        opts: RunOptions,
        threads: usize,
    ) -> Result<(), RunError> {
        match self {
            Input::File(p) => run::file(p, view, opts, threads),
            Input::Sample(s) => {
                let reader = s.open().map_err(RunError::Capture)?;
                run::capture(reader, Progress::none(), view, opts, threads)
            }
        }
    }
}

/// The input a file view reads, announced when it is the bundled sample (on
/// standard output when `text`, else on standard error).
fn open_input(
    a: &InputArgs,
    command: &str,
    text: bool,
    out: &mut impl Write,
) -> Result<Input, ExitCode> {
    let input = Input::from_args(a)?;
    match input.announce(command, text, out) {
        Ok(()) => Ok(input),
        Err(e) => Err(report(&input.name(), Err(RunError::Output(e)))),
    }
}

fn walk(
    input: Input,
    opts: WalkOpts,
    l: RunOptions,
    threads: usize,
    mut out: impl Write,
) -> (PathBuf, Result<(), RunError>) {
    let text = opts.format == WalkFormat::Text;
    if let Err(e) = input.announce("walk", text, &mut out) {
        return (input.name(), Err(RunError::Output(e)));
    }
    let mut view =
        WalkView::new(out, opts.format, use_color(opts.color), opts.brief).quiet(opts.quiet);
    let streams = input.streams();
    if streams {
        view = view.live();
    }
    let l = RunOptions {
        detail: true,
        whole_messages: opts.format == WalkFormat::Json,
        live: l.live || streams,
        ..l
    };
    let threads = if streams { 1 } else { threads };
    view = view.render_threads(threads);
    (input.name(), input.run(&mut view, l, threads))
}

/// Reads the key log named by `--keylog`, else by `SSLKEYLOGFILE` (said on
/// standard error, since the user did not name it here). Malformed lines are
/// warnings; a key log that cannot be read is a usage error.
fn read_keylog(f: &mut osiscope::cli::FilterArgs, follow: bool) -> Result<(), ExitCode> {
    use osiscope::proto::tls::keylog::KeyLog;
    let (path, from_env) = match &f.keylog {
        Some(p) => (p.clone(), false),
        None => match std::env::var_os("SSLKEYLOGFILE").filter(|v| !v.is_empty()) {
            Some(p) => (PathBuf::from(p), true),
            None => return Ok(()),
        },
    };
    let name = escape(&path.to_string_lossy()).into_owned();
    let log = match KeyLog::open(&path, follow) {
        Ok(l) => l,
        Err(e) => {
            let _ = writeln!(
                io::stderr(),
                "osiscope: {name}: cannot read the key log: {e}"
            );
            return Err(ExitCode::from(EXIT_USAGE));
        }
    };
    let (warnings, count) = log.warnings();
    for w in &warnings {
        let _ = writeln!(io::stderr(), "osiscope: {name}: {}", escape(w));
    }
    if count > warnings.len() as u64 {
        let _ = writeln!(
            io::stderr(),
            "osiscope: {name}: … and {} more lines not read",
            count - warnings.len() as u64
        );
    }
    if from_env {
        let (secrets, sessions) = log.counts();
        let _ = writeln!(
            io::stderr(),
            "osiscope: decrypting TLS with the key log in SSLKEYLOGFILE ({name}: {secrets} secrets for {sessions} sessions)"
        );
    }
    f.keylog_read = Some(std::sync::Arc::new(log));
    Ok(())
}

/// A line for the habits people bring from tcpdump that clap cannot know:
/// a capture named without a view, a filter expression after the file.
fn habit_hint(args: &[String]) -> Option<String> {
    let first = args.get(1)?;
    let is_capture = |a: &str| {
        a.ends_with(".pcap") || a.ends_with(".pcapng") || a.ends_with(".cap") || {
            let p = std::path::Path::new(a);
            p.is_file() && !a.starts_with('-')
        }
    };
    if is_capture(first) {
        let f = escape(first);
        return Some(format!(
            "osiscope: {f} is a capture: name a view first, e.g. `osiscope walk {f}` (or flows, packets, layers)"
        ));
    }
    const WORDS: &[&str] = &[
        "tcp", "udp", "port", "host", "src", "dst", "net", "and", "or", "not", "ip", "ip6",
    ];
    let rest = args.get(2..)?;
    let at = rest
        .iter()
        .position(|a| WORDS.contains(&a.to_ascii_lowercase().as_str()))?;
    let expr = &rest[at..];
    let mut spelled = Vec::new();
    for w in expr.windows(2) {
        match w[0].as_str() {
            "port" => spelled.push(format!("--port {}", escape(&w[1]))),
            "host" | "net" => spelled.push(format!("--host {}", escape(&w[1]))),
            _ => {}
        }
    }
    let with = if spelled.is_empty() {
        "--port PORT, --host ADDR[/BITS], --connection N".to_owned()
    } else {
        spelled.join(" ")
    };
    Some(format!(
        "osiscope: `{}` is a tcpdump filter expression; osiscope reads only TCP and filters with options: {with}",
        escape(&expr.join(" "))
    ))
}

fn main() -> ExitCode {
    return_freed_memory();
    let args: Vec<String> = std::env::args().collect();
    let mut cli = match Cli::try_parse_from(&args) {
        Ok(c) => c,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(
                e.kind(),
                ErrorKind::InvalidSubcommand | ErrorKind::UnknownArgument
            ) && let Some(h) = habit_hint(&args)
            {
                let _ = writeln!(io::stderr(), "{h}");
                return ExitCode::from(EXIT_USAGE);
            }
            e.exit();
        }
    };
    let follow = matches!(cli.command, Command::Live(_));
    if let Some(f) = cli.command.filter_mut()
        && let Err(code) = read_keylog(f, follow)
    {
        return code;
    }
    let stdout = io::stdout();
    let mut out = io::BufWriter::with_capacity(64 * 1024, stdout.lock());
    let (path, res) = match cli.command {
        Command::Live(a) => return live(a, out),
        Command::Completions(a) => {
            clap_complete::generate(a.shell, &mut Cli::command(), "osiscope", &mut out);
            return finish_output(out);
        }
        Command::Man => {
            return match osiscope::cli::man_page(&mut out) {
                Ok(()) => finish_output(out),
                Err(e) => report(Path::new("-"), Err(RunError::Output(e))),
            };
        }
        Command::Demo(a) => walk(
            Input::Sample(Sample::get(a.sample)),
            a.opts,
            a.filter.run_options(),
            osiscope::cli::default_threads(),
            out,
        ),
        Command::Walk(a) => {
            let input = match Input::from_args(&a.input) {
                Ok(i) => i,
                Err(code) => return code,
            };
            let l = a.input.run_options(&a.filter);
            walk(input, a.opts, l, a.input.threads(), out)
        }
        Command::Flows(a) => {
            let text = a.output.format == Format::Table;
            let input = match open_input(&a.input, "flows", text, &mut out) {
                Ok(i) => i,
                Err(code) => return code,
            };
            let mut view = FlowsView::new(out, a.output.format);
            let mut l = a.input.run_options(&a.filter);
            let mut threads = a.input.threads();
            if input.streaming(&mut l, &mut threads) {
                view = view.live();
            }
            (input.name(), input.run(&mut view, l, threads))
        }
        Command::Export(a) => return export(a),
        Command::Messages(a) => {
            let text = a.output.format == Format::Table;
            let input = match open_input(&a.input, "messages", text, &mut out) {
                Ok(i) => i,
                Err(code) => return code,
            };
            let mut view = MessagesView::new(out, a.output.format, a.select.filter());
            let mut l = RunOptions {
                texts: true,
                ..a.input.run_options(&a.filter)
            };
            let mut threads = a.input.threads();
            if input.streaming(&mut l, &mut threads) {
                view = view.live();
            }
            (input.name(), input.run(&mut view, l, threads))
        }
        Command::Packets(a) => {
            // As tcpdump and tshark: with -w the packets go to the file, and
            // no rows are printed.
            let text = a.write.is_none() && (a.quiet || a.output.format == Format::Table);
            let input = match open_input(&a.input, "packets", text, &mut out) {
                Ok(i) => i,
                Err(code) => return code,
            };
            let Some(wpath) = a.write.clone() else {
                let mut l = a.input.run_options(&a.filter);
                let mut threads = a.input.threads();
                let res = if a.quiet {
                    input.run(&mut CountView::new(out), l, threads)
                } else {
                    let mut view =
                        PacketsView::new(out, a.output.format, use_color(a.output.color))
                            .width(a.width)
                            .table(a.table);
                    if input.streaming(&mut l, &mut threads) {
                        view = view.live();
                    }
                    input.run(&mut view, l, threads)
                };
                return report(&input.name(), res);
            };
            // Standard output may be the -w file: let go of it.
            drop(out);
            if let Input::File(r) = &input {
                if same_file(&wpath, r) {
                    let _ = writeln!(
                        io::stderr(),
                        "osiscope: {}: -w names the capture being read; it would be emptied",
                        escape(&r.to_string_lossy())
                    );
                    return ExitCode::from(EXIT_USAGE);
                }
                // A capture that cannot be opened leaves an existing -w file
                // as it was (run reports the error).
                if r.as_os_str() != "-" && std::fs::File::open(r).is_err() {
                    return report(
                        &input.name(),
                        input.run(
                            &mut CountView::new(io::sink()),
                            a.input.run_options(&a.filter),
                            1,
                        ),
                    );
                }
            }
            let writer = match PcapOut::create(&wpath) {
                Ok(p) => Arc::new(Mutex::new(p)),
                Err(e) => {
                    let _ = writeln!(
                        io::stderr(),
                        "osiscope: {}: cannot create: {}",
                        escape(&wpath.to_string_lossy()),
                        e
                    );
                    return ExitCode::from(EXIT_USAGE);
                }
            };
            let l = RunOptions {
                write: Some(writer.clone()),
                ..a.input.run_options(&a.filter)
            };
            let threads = a.input.threads();
            let res = input
                .run(&mut CountView::new(io::sink()), l, threads)
                .and(finish_write(writer, &wpath));
            (input.name(), res)
        }
        Command::Layers(a) => {
            let text = a.output.format == Format::Table;
            let input = match open_input(&a.input, "layers", text, &mut out) {
                Ok(i) => i,
                Err(code) => return code,
            };
            let asked_frames = !a.frames.is_empty();
            let mut view =
                LayersView::new(out, a.output.format, use_color(a.output.color), a.frames);
            let l = RunOptions {
                last_frame: view.last_wanted(),
                units: true,
                ..a.input.run_options(&a.filter)
            };
            let tally = l.tally.clone();
            let mut res = input.run(&mut view, l, a.input.threads());
            if res.is_ok() && asked_frames && view.shown() == 0 {
                let n = tally.frames.load(std::sync::atomic::Ordering::Relaxed);
                res = Err(RunError::Nothing(format!(
                    "no frame {}: the capture has {n} frame{}",
                    view.asked(),
                    if n == 1 { "" } else { "s" }
                )));
            }
            (input.name(), res)
        }
    };
    report(&path, res)
}

/// `osiscope export`: every capture, then one line per capture that failed
/// and a summary on standard error.
fn export(a: osiscope::cli::ExportArgs) -> ExitCode {
    use osiscope::export::run::{self as export, Job};
    use osiscope::export::tables::TABLES;
    let captures = match export::captures(&a.files) {
        Ok(c) if c.is_empty() => {
            let _ = writeln!(io::stderr(), "osiscope: no capture files in what was named");
            return ExitCode::from(EXIT_USAGE);
        }
        Ok(c) => c,
        Err(e) => {
            let _ = writeln!(io::stderr(), "osiscope: {}", escape(&e.to_string()));
            return ExitCode::from(EXIT_USAGE);
        }
    };
    if a.har.is_some() && captures.len() > 1 {
        let _ = writeln!(
            io::stderr(),
            "osiscope: --har writes one capture's HTTP archive; {} captures were named",
            captures.len()
        );
        return ExitCode::from(EXIT_USAGE);
    }
    if let Some((x, y)) = export::clashes(&captures) {
        let _ = writeln!(
            io::stderr(),
            "osiscope: {} and {} have the same name, and would write the same partition: export them to different directories",
            escape(&x.to_string_lossy()),
            escape(&y.to_string_lossy())
        );
        return ExitCode::from(EXIT_USAGE);
    }
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let job = Job {
        jobs: a.jobs.map_or(cpus, usize::from),
        threads: a
            .threads
            .map_or_else(osiscope::cli::default_threads, usize::from),
        opts: a.filter.run_options(),
        captures,
        out: a.out,
        form: a.form,
        har: a.har,
    };
    let outcomes = export::run(&job);
    let mut code = ExitCode::SUCCESS;
    let mut rows = [0u64; 5];
    let n = outcomes.len();
    let mut failed = 0;
    for o in outcomes {
        for (t, r) in rows.iter_mut().zip(o.rows.unwrap_or_default()) {
            *t += r;
        }
        if o.result.is_err() {
            let c = report(&o.capture, o.result);
            if c != ExitCode::SUCCESS {
                code = c;
                failed += 1;
            }
        }
    }
    let mut line = format!(
        "osiscope: exported {} capture{}",
        n,
        if n == 1 { "" } else { "s" },
    );
    if failed > 0 {
        line.push_str(&format!(" ({failed} failed, said above)"));
    }
    if let Some(out) = &job.out {
        let counts: Vec<String> = TABLES
            .iter()
            .zip(rows)
            .map(|((name, _), n)| format!("{name} {n}"))
            .collect();
        line.push_str(&format!(
            " to {}, rows: {}",
            escape(&out.to_string_lossy()),
            counts.join(", ")
        ));
    }
    if let Some(h) = &job.har {
        line.push_str(&format!("; HAR in {}", escape(&h.to_string_lossy())));
    }
    let _ = writeln!(io::stderr(), "{line}");
    code
}

/// Whether two paths name one file (also through links).
#[cfg(unix)]
fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_file(a: &Path, b: &Path) -> bool {
    matches!((a.canonicalize(), b.canonicalize()), (Ok(x), Ok(y)) if x == y)
}

/// Completes the `-w` file and says what went into it.
fn finish_write(w: Arc<Mutex<PcapOut>>, path: &Path) -> Result<(), RunError> {
    let mut w = w.lock().unwrap_or_else(|e| e.into_inner());
    let name = escape(&path.to_string_lossy()).into_owned();
    w.finish()
        .map_err(|e| RunError::Output(io::Error::new(e.kind(), format!("{name}: {e}"))))?;
    let to = if path.as_os_str() == "-" {
        "standard output".to_owned()
    } else {
        name
    };
    let mut line = format!("osiscope: {} packets written to {to}", w.written);
    if w.other_linktype > 0 {
        line.push_str(&format!(
            " ({} left out: their link type differs from the first packet's, and a pcap file has one)",
            w.other_linktype
        ));
    }
    let _ = writeln!(io::stderr(), "{line}");
    Ok(())
}

fn finish_output(mut out: impl Write) -> ExitCode {
    match out.flush() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => report(Path::new("-"), Err(RunError::Output(e))),
    }
}

fn report(path: &Path, res: Result<(), RunError>) -> ExitCode {
    let name = escape(&path.to_string_lossy()).into_owned();
    match res {
        Ok(()) => ExitCode::SUCCESS,
        Err(RunError::Output(e)) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(RunError::Output(e)) => {
            let _ = writeln!(io::stderr(), "osiscope: cannot write output: {e}");
            ExitCode::from(EXIT_BAD_INPUT)
        }
        Err(RunError::Capture(e)) => {
            let _ = writeln!(io::stderr(), "osiscope: {name}: {}", escape(&e.to_string()));
            ExitCode::from(EXIT_BAD_INPUT)
        }
        Err(RunError::Nothing(what)) => {
            let _ = writeln!(io::stderr(), "osiscope: {name}: {what}");
            ExitCode::from(EXIT_BAD_INPUT)
        }
    }
}

/// glibc's allocator slows down as a long run fragments its heap (measured on
/// the 1 GiB benchmark capture); mimalloc keeps the cost of the many small,
/// short-lived buffers flat.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Freed pages go back to the system at once instead of after a second.
/// Kept, they grew the peak RSS of `flows` on 2 threads from 50 MiB (100 MB
/// capture) to 85 MiB (1 GB) over a heap that stays near 40 MB (massif):
/// pages left half used, most likely by memory one thread allocates and the
/// other frees. Given back at once: 37 and 62–68 MiB, in the same time
/// (benches/README.md).
#[cfg(feature = "mimalloc")]
fn return_freed_memory() {
    // SAFETY: a plain setter of a global option, which mimalloc reads when
    // it next purges; any value is valid.
    unsafe { libmimalloc_sys::mi_option_set(mi_options::PURGE_DELAY, 0) };
}

/// mimalloc v3's `mi_option_e` (include/mimalloc.h of libmimalloc-sys
/// 0.1.49, pinned in Cargo.toml; the test checks the numbers by their
/// defaults).
#[cfg(feature = "mimalloc")]
mod mi_options {
    pub const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
    #[cfg(test)]
    pub const ARENA_PURGE_MULT: libmimalloc_sys::mi_option_t = 24;
}

#[cfg(all(test, feature = "mimalloc"))]
mod tests {
    use super::mi_options::*;

    #[test]
    fn the_purge_delay_is_the_option_set() {
        // SAFETY: plain getters of global options.
        let get = |o| unsafe { libmimalloc_sys::mi_option_get(o) };
        // Their defaults in options.c: 1000 ms, and arenas at 1× that.
        assert_eq!(get(PURGE_DELAY), 1000);
        assert_eq!(get(ARENA_PURGE_MULT), 1);
        super::return_freed_memory();
        assert_eq!(get(PURGE_DELAY), 0);
        assert_eq!(get(ARENA_PURGE_MULT), 1);
    }
}

#[cfg(not(feature = "mimalloc"))]
fn return_freed_memory() {}
