//! `packets -q`: no row per packet, only how many passed the filters, as a
//! line a script can read (`22 packets`).

use std::io::{self, Write};

use super::{FrameEvent, View};

pub struct CountView<W: Write> {
    out: W,
    frames: u64,
}

impl<W: Write> CountView<W> {
    pub fn new(out: W) -> Self {
        CountView { out, frames: 0 }
    }
}

impl<W: Write> View for CountView<W> {
    fn frame(&mut self, _ev: &FrameEvent<'_, '_>) -> io::Result<()> {
        self.frames += 1;
        Ok(())
    }

    fn finish(&mut self) -> io::Result<()> {
        let s = if self.frames == 1 { "" } else { "s" };
        writeln!(self.out, "{} packet{s}", self.frames)?;
        self.out.flush()
    }
}
