use std::io::{self, Write};
use std::path::Path;
use std::process::ExitCode;

use clap::Parser;

use osiscope::analyze::{self, Filter, Limits, RunError};
use osiscope::cli::{Cli, Command, FilterArgs};
use osiscope::report::escape::escape;
use osiscope::report::flows::FlowsView;
use osiscope::report::layers::LayersView;
use osiscope::report::packets::PacketsView;
use osiscope::report::style::use_color;
use osiscope::report::walk::WalkView;

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
    use osiscope::cli::{Format, LiveFormat, LiveView, WalkFormat};

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
                LiveError::NoInterface { .. } | LiveError::Down { .. } => EXIT_USAGE,
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
    let color = use_color(a.color);
    let l = Limits {
        live: true,
        detail: a.view == LiveView::Walk,
        ..limits(a.filter)
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
                let r = analyze::run_reader(source, &mut v, l);
                let _ = osiscope::report::View::finish(&mut v);
                r
            }
            LiveView::Packets => {
                let f = if json { Format::Json } else { Format::Table };
                let mut v = PacketsView::new(out, f, color).live();
                let r = analyze::run_reader(source, &mut v, l);
                let _ = osiscope::report::View::finish(&mut v);
                r
            }
            LiveView::Flows => {
                let f = if json { Format::Json } else { Format::Table };
                let mut v = FlowsView::new(out, f).live();
                let r = analyze::run_reader(source, &mut v, l);
                let _ = osiscope::report::View::finish(&mut v);
                r
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

fn limits(f: FilterArgs) -> Limits {
    Limits {
        filter: Filter {
            ports: f.ports,
            hosts: f.hosts,
            connections: f.connections,
        },
        max_connections: Some(f.max_connections),
        assume_websocket: f.assume_websocket,
        ..Limits::default()
    }
}

/// Limits for reading a file: as [`limits`], with the progress bar as asked.
fn file_limits(f: FilterArgs, input: &osiscope::cli::InputArgs) -> Limits {
    Limits {
        progress: !input.no_progress,
        ..limits(f)
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let stdout = io::stdout();
    let out = io::BufWriter::with_capacity(64 * 1024, stdout.lock());
    let (path, res) = match cli.command {
        Command::Live(a) => return live(a, out),
        Command::Walk(a) => {
            let path = a.input.path();
            let threads = a.input.threads();
            let mut view = WalkView::new(out, a.format, use_color(a.color), a.brief);
            let l = Limits {
                detail: true,
                ..file_limits(a.filter, &a.input)
            };
            let res = analyze::run(&path, &mut view, l, threads);
            (path, res)
        }
        Command::Flows(a) => {
            let path = a.input.path();
            let threads = a.input.threads();
            let mut view = FlowsView::new(out, a.output.format);
            let res = analyze::run(&path, &mut view, file_limits(a.filter, &a.input), threads);
            (path, res)
        }
        Command::Packets(a) => {
            let path = a.input.path();
            let threads = a.input.threads();
            let mut view = PacketsView::new(out, a.output.format, use_color(a.output.color));
            let l = Limits {
                count: a.count,
                ..file_limits(a.filter, &a.input)
            };
            let res = analyze::run(&path, &mut view, l, threads);
            (path, res)
        }
        Command::Layers(a) => {
            let path = a.input.path();
            let threads = a.input.threads();
            let mut view =
                LayersView::new(out, a.output.format, use_color(a.output.color), a.frames);
            let l = Limits {
                last_frame: view.last_wanted(),
                ..file_limits(a.filter, &a.input)
            };
            let res = analyze::run(&path, &mut view, l, threads);
            (path, res)
        }
    };
    report(&path, res)
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
    }
}

/// glibc's allocator slows down as a long run fragments its heap (measured on
/// the 1 GiB benchmark capture); mimalloc keeps the cost of the many small,
/// short-lived buffers flat.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
