//! Colour: on only when writing to a terminal, unless asked otherwise, and
//! never when `NO_COLOR` is set (https://no-color.org).

use std::io::IsTerminal;

use anstyle::{AnsiColor, Style};

/// When to colour the output.
#[derive(Copy, Clone, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

pub fn use_color(choice: ColorChoice) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::io::stdout().is_terminal()
                && std::env::var_os("TERM").is_none_or(|t| t != "dumb")
        }
    }
}

/// The colour of each OSI layer, the same in every view.
pub fn layer_style(osi: u8) -> Style {
    let c = match osi {
        1 => AnsiColor::BrightBlack,
        2 => AnsiColor::Blue,
        3 => AnsiColor::Green,
        4 => AnsiColor::Yellow,
        5 => AnsiColor::Cyan,
        6 => AnsiColor::BrightMagenta,
        7 => AnsiColor::Magenta,
        _ => AnsiColor::Red,
    };
    Style::new().fg_color(Some(c.into()))
}

pub fn warn_style() -> Style {
    Style::new().fg_color(Some(AnsiColor::Red.into())).bold()
}

/// Wraps `text` in a style when colour is on.
pub fn paint(on: bool, style: Style, text: &str) -> String {
    if on {
        format!("{style}{text}{style:#}")
    } else {
        text.to_owned()
    }
}

pub fn osi_name(osi: u8) -> &'static str {
    match osi {
        1 => "Physical",
        2 => "Data link",
        3 => "Network",
        4 => "Transport",
        5 => "Session",
        6 => "Presentation",
        7 => "Application",
        _ => "?",
    }
}

/// A table with column rules and a header rule only, so that the chunks of
/// a streamed table stack without seams.
pub fn stacking_table() -> comfy_table::Table {
    use comfy_table::{ContentLineStyle, LineStyle, TableStyle};
    let mut t = comfy_table::Table::new();
    t.load_style(
        TableStyle::new()
            .header_lines(ContentLineStyle::none().junction('│'))
            .header_separator(LineStyle::none().fill('─').junction('┼'))
            .content_lines(ContentLineStyle::none().junction('│')),
    );
    t
}
