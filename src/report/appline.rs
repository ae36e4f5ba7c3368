//! One short line per application event, for the packets table and the
//! packet JSON (`app`). Each protocol's narration (`walk/`) writes its own
//! ([`super::walk::app_line`]).

use serde::Serialize;

#[derive(Clone, Debug, Serialize)]
pub struct AppLine {
    pub osi: u8,
    pub protocol: &'static str,
    pub text: String,
}
