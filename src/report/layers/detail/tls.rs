//! The TLS records a frame completed, as layers: TLS rides on the
//! reassembled stream, so a record is shown in the frame whose bytes
//! completed it (as Wireshark shows it), with no byte range of its own.

use super::{Keep, LayerDetail, layer};
use crate::proto::stack::AppEvent;
use crate::proto::tls::names;
use crate::proto::tls::record::TlsEvent;

/// Adds a layer per TLS record among `app`, the events of one frame. The
/// frame's payload is then TLS's: shown at L6, not as L7 data.
pub fn add_records<'a>(layers: &mut Vec<LayerDetail>, app: impl Iterator<Item = &'a AppEvent>) {
    let records = records(app);
    if records.is_empty() {
        return;
    }
    if let Some(data) = layers
        .iter_mut()
        .rev()
        .find(|l| l.osi == 7 && l.name == "Data")
    {
        data.osi = 6;
        data.name = "TLS";
    }
    layers.extend(records);
}

fn records<'a>(app: impl Iterator<Item = &'a AppEvent>) -> Vec<LayerDetail> {
    let mut out = Vec::new();
    for e in app {
        let AppEvent::Tls(TlsEvent::Record(r)) = e else {
            continue;
        };
        let mut l = layer(Keep::All, 6, "TLS record", 0, 0);
        l.reassembled = true;
        let type_name = names::content_type_name(r.content_type);
        l.fields
            .add("content_type", "Content type", r.content_type)
            .means(type_name);
        l.fields
            .add("version", "Version", r.version)
            .text(format_args!("{:#06x}", r.version))
            .means(names::version_name(r.version));
        l.fields.add("length", "Length", r.length);
        l.summary = format!("TLS {type_name} {} bytes", r.length);
        if let Some(inner) = r.inner_type {
            let inner_name = names::content_type_name(inner);
            l.fields
                .add("decrypted_type", "Decrypted content type", inner)
                .means(inner_name);
            if inner != r.content_type {
                l.summary = format!("{} (decrypted: {inner_name})", l.summary);
            } else {
                l.summary.push_str(" (decrypted)");
            }
        }
        l.summary = format!("{} · {}", l.summary, r.dir.sender());
        out.push(l);
    }
    out
}
