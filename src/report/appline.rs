//! One short line per application event, for the packets table and the
//! packet JSON (`app`). Each protocol's narration (`walk/`) writes its own.

use serde::Serialize;

use crate::proto::stack::AppEvent;

#[derive(Clone, Debug, Serialize)]
pub struct AppLine {
    pub osi: u8,
    pub protocol: &'static str,
    pub text: String,
}

pub fn line(e: &AppEvent) -> Option<AppLine> {
    super::walk::app_line(e)
}
