//! How long a reply took, told on the reply's own step: "pong 1.203 ms
//! after frame 10: network 45 µs, server 1.158 ms".

use std::fmt::Write as _;

use super::story::Story;
use crate::proto::latency::Reply;
use crate::report::flows::human_secs;

/// The reply's time, added to its step (and to its arrow's label).
pub(super) fn told(r: &Reply, story: &mut Story) {
    if !story.annotates() {
        return;
    }
    story.annotate(
        r.to_frame,
        r.asked_by.other(),
        &format!("; {}", sentence(r)),
        &format!(" ({})", human_secs(r.seconds.max(0.0))),
    );
}

/// "pong 1.203 ms after frame 10: network 45 µs, server 1.158 ms".
pub fn sentence(r: &Reply) -> String {
    let mut t = format!(
        "{} {} after frame {}",
        r.kind.reply_word(),
        signed_secs(r.seconds),
        r.from_frame
    );
    if let (Some(n), Some(k)) = (r.network, r.think) {
        let _ = write!(
            t,
            ": network {}, {} {}",
            human_secs(n),
            r.asked_by.other().sender(),
            signed_secs(k)
        );
    }
    if let Some(h) = r.head_seconds {
        let _ = write!(t, " (its head after {})", signed_secs(h));
    }
    if r.late {
        t.push_str(" ⚠ later than the ping timeout: the server would have closed the session");
    }
    t
}

/// Seconds as a person reads them, negative ones too (a clock that went back).
fn signed_secs(s: f64) -> String {
    if s < 0.0 {
        format!("−{}", human_secs(-s))
    } else {
        human_secs(s)
    }
}
