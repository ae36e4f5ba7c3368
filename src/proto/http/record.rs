//! What the HTTP analyzer reports (events) and records (transactions).

use serde::Serialize;

use super::Head;
use crate::flow::Dir;

/// What the HTTP analyzer reports.
#[derive(Clone, Debug)]
pub enum HttpEvent {
    /// A request, reported once its body (if any) has ended.
    Request {
        dir: Dir,
        head: Head,
        /// The frame that ended the message (`head.frame` without a body).
        end_frame: u64,
        /// Body bytes (after chunked decoding).
        body: u64,
    },
    /// A response, reported once its body (if any) has ended; a 1xx or an
    /// answer to an upgrade offer at once.
    Response {
        dir: Dir,
        head: Head,
        request_frame: Option<u64>,
        end_frame: u64,
        /// Body bytes; None when told before its body (its [`HttpEvent::BodyEnd`]
        /// follows).
        body: Option<u64>,
    },
    /// The body of a response told before it ended (one whose body carries
    /// Engine.IO) ended.
    BodyEnd { dir: Dir, end_frame: u64, len: u64 },
    /// A head, where it was read: only with [`StackOptions::spans`]
    /// (`layers`), which shows it in the frame that completed it.
    ///
    /// [`StackOptions::spans`]: crate::proto::stack::StackOptions::spans
    Head { dir: Dir, head: Head },
    /// A direction's parser stopped (malformed or too long a head).
    Error {
        dir: Dir,
        frame: u64,
        reason: String,
    },
}

impl HttpEvent {
    /// Bytes the event points to.
    pub fn held(&self) -> usize {
        match self {
            HttpEvent::Request { head, .. }
            | HttpEvent::Response { head, .. }
            | HttpEvent::Head { head, .. } => head.head_len,
            HttpEvent::Error { reason, .. } => reason.len(),
            HttpEvent::BodyEnd { .. } => 0,
        }
    }
}

/// One request and its response, as the connection record lists them.
#[derive(Clone, Debug, Serialize)]
pub struct HttpTx {
    /// The frame that ended the request (its body included), as tshark
    /// reports a request's frame.
    pub request_frame: Option<u64>,
    /// The frame that ended the response, body included.
    pub response_frame: Option<u64>,
    /// The frames that ended the heads.
    pub request_head_frame: Option<u64>,
    pub response_head_frame: Option<u64>,
    pub method: Option<String>,
    pub uri: Option<String>,
    pub status: Option<u16>,
    pub reason: Option<String>,
    pub request_body: u64,
    pub response_body: u64,
}
