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

fn main() -> ExitCode {
    let cli = Cli::parse();
    let stdout = io::stdout();
    let out = io::BufWriter::with_capacity(64 * 1024, stdout.lock());
    let (path, res) = match cli.command {
        Command::Walk(a) => {
            let path = a.input.path();
            let mut view = WalkView::new(out, a.format, use_color(a.color), a.brief);
            let res = analyze::run(&path, &mut view, limits(a.filter));
            (path, res)
        }
        Command::Flows(a) => {
            let path = a.input.path();
            let mut view = FlowsView::new(out, a.output.format);
            let res = analyze::run(&path, &mut view, limits(a.filter));
            (path, res)
        }
        Command::Packets(a) => {
            let path = a.input.path();
            let mut view = PacketsView::new(out, a.output.format, use_color(a.output.color));
            let l = Limits {
                count: a.count,
                ..limits(a.filter)
            };
            let res = analyze::run(&path, &mut view, l);
            (path, res)
        }
        Command::Layers(a) => {
            let path = a.input.path();
            let mut view =
                LayersView::new(out, a.output.format, use_color(a.output.color), a.frames);
            let l = Limits {
                last_frame: view.last_wanted(),
                ..limits(a.filter)
            };
            let res = analyze::run(&path, &mut view, l);
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
