//! The walkthrough as a Mermaid sequence diagram (GitHub renders it).

use std::io::{self, Write};

use super::WalkView;
use super::story::Story;
use crate::flow::{ConnSummary, Dir};
use crate::report::escape::escape;

impl<W: Write> WalkView<W> {
    pub(super) fn write_mermaid(&mut self, s: &ConnSummary, story: &Story) -> io::Result<()> {
        if self.shown > 1 {
            writeln!(self.out)?;
        }
        writeln!(
            self.out,
            "%% connection {}: client {} → server {}",
            s.id, s.client, s.server
        )?;
        writeln!(self.out, "sequenceDiagram")?;
        writeln!(
            self.out,
            "    participant C as client {}",
            mermaid_text(&s.client)
        )?;
        writeln!(
            self.out,
            "    participant S as server {}",
            mermaid_text(&s.server)
        )?;
        for st in &story.steps {
            let frames = match st.last_frame() {
                Some(l) => format!("{}–{}", st.frame, l),
                None => st.frame.to_string(),
            };
            let label = mermaid_text(&format!("{frames} · {} (L{})", st.label(), st.osi));
            match st.from {
                Some(Dir::ClientToServer) => writeln!(self.out, "    C->>S: {label}")?,
                Some(Dir::ServerToClient) => writeln!(self.out, "    S->>C: {label}")?,
                None => writeln!(self.out, "    Note over C,S: {label}")?,
            }
        }
        Ok(())
    }
}

/// Mermaid treats `;` and `#` specially and `<`/`>` as HTML: spell them as
/// entities. Control characters and bidi overrides are escaped first, as on a
/// terminal (a diagram is read in terminals and Markdown files alike).
fn mermaid_text(s: &str) -> String {
    let s = escape(s);
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            ';' => out.push_str("#59;"),
            '#' => out.push_str("#35;"),
            '<' => out.push_str("#lt;"),
            '>' => out.push_str("#gt;"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}
