use std::io::{self, Write};
use std::path::Path;
use std::process::ExitCode;

use clap::Parser;

use osiscope::analyze::{self, Limits, RunError};
use osiscope::cli::{Cli, Command};
use osiscope::report::escape::escape;
use osiscope::report::layers::LayersView;
use osiscope::report::packets::PacketsView;
use osiscope::report::style::use_color;

/// Exit status when the capture cannot be read to its end.
const EXIT_BAD_INPUT: u8 = 1;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let stdout = io::stdout();
    let out = io::BufWriter::with_capacity(64 * 1024, stdout.lock());
    let (path, res) = match cli.command {
        Command::Packets(a) => {
            let path = a.input.path();
            let mut view = PacketsView::new(out, a.output.format, use_color(a.output.color));
            let limits = Limits {
                count: a.count,
                last_frame: None,
            };
            let res = analyze::run(&path, &mut view, limits);
            (path, res)
        }
        Command::Layers(a) => {
            let path = a.input.path();
            let mut view =
                LayersView::new(out, a.output.format, use_color(a.output.color), a.frames);
            let limits = Limits {
                count: None,
                last_frame: view.last_wanted(),
            };
            let res = analyze::run(&path, &mut view, limits);
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
