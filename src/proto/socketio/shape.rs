//! What [`super::parse_shape`] reads of an EVENT's or ACK's payload: whether
//! it is an array, and its first element. The JSON goes through serde_json's
//! `deserialize_any`, as a [`serde_json::Value`] does, so the same texts are
//! refused with the same messages; nothing but the event name is kept.

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

use super::{QUOTED, RESERVED_EVENTS, SioType, expected_payload};
use crate::text::clip_chars;

/// What [`super::check_payload`] and [`super::event_name`] read of an EVENT's
/// or ACK's payload, taken without building it. Read through
/// `deserialize_any`, as a [`serde_json::Value`] is, so that the same texts
/// are refused: numbers out of range, bad escapes, nesting past 128.
pub(super) enum Shape {
    /// An array, and its first element.
    Array(Option<First>),
    Other,
}

/// An array's first element, as far as an EVENT's check reads it.
pub(super) enum First {
    Name(String),
    Number,
    Other,
}

impl Shape {
    /// [`super::check_payload`] and then [`super::event_name`], for an EVENT
    /// or an ACK.
    pub(super) fn check(self, t: SioType) -> Result<Option<String>, String> {
        let event = matches!(t, SioType::Event | SioType::BinaryEvent);
        match self {
            Shape::Array(Some(First::Name(name))) if event => {
                if RESERVED_EVENTS.contains(&name.as_str()) {
                    return Err(format!(
                        "reserved event name {:?}",
                        clip_chars(&name, QUOTED)
                    ));
                }
                Ok(Some(name))
            }
            Shape::Array(Some(First::Number)) if event => Ok(None),
            Shape::Array(_) if !event => Ok(None),
            _ => Err(format!(
                "{} payload must be {}",
                t.name(),
                expected_payload(t)
            )),
        }
    }
}

/// Any JSON value, checked and dropped.
struct Skip;

impl<'de> Deserialize<'de> for Skip {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Skip, D::Error> {
        d.deserialize_any(Kind::Skip).map(|_| Skip)
    }
}

impl<'de> Deserialize<'de> for First {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<First, D::Error> {
        d.deserialize_any(Kind::First).map(|s| match s {
            Shape::Array(Some(f)) => f,
            _ => First::Other,
        })
    }
}

impl<'de> Deserialize<'de> for Shape {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Shape, D::Error> {
        d.deserialize_any(Kind::Top)
    }
}

/// What a visit is for: the whole payload, the first element of an array
/// (its name or number kept, in `Shape::Array`), or anything inside.
#[derive(Clone, Copy)]
enum Kind {
    Top,
    First,
    Skip,
}

impl<'de> Visitor<'de> for Kind {
    type Value = Shape;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<Shape, E> {
        Ok(Shape::Other)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Shape, E> {
        Ok(self.number())
    }
    fn visit_u64<E>(self, _: u64) -> Result<Shape, E> {
        Ok(self.number())
    }
    fn visit_f64<E>(self, _: f64) -> Result<Shape, E> {
        Ok(self.number())
    }
    fn visit_str<E>(self, v: &str) -> Result<Shape, E> {
        Ok(match self {
            Kind::First => Shape::Array(Some(First::Name(v.to_owned()))),
            _ => Shape::Other,
        })
    }
    fn visit_unit<E>(self) -> Result<Shape, E> {
        Ok(Shape::Other)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Shape, A::Error> {
        let first = match self {
            Kind::Top => seq.next_element::<First>()?,
            _ => None,
        };
        while seq.next_element::<Skip>()?.is_some() {}
        Ok(match self {
            Kind::Top => Shape::Array(first),
            _ => Shape::Other,
        })
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Shape, A::Error> {
        while map.next_entry::<Skip, Skip>()?.is_some() {}
        Ok(Shape::Other)
    }
}

impl Kind {
    fn number(self) -> Shape {
        match self {
            Kind::First => Shape::Array(Some(First::Number)),
            _ => Shape::Other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{SioPacket, parse, parse_shape};

    /// [`parse_shape`] accepts and refuses what [`parse`] does, with the
    /// same message, and gives the same packet but for the values, on
    /// payloads that are hard for a JSON reader: numbers past f64, escapes
    /// that are not text, nesting past serde_json's limit, trailing bytes.
    #[test]
    fn the_shape_parse_agrees_with_the_full_one() {
        let deep = |n: usize| format!("2[\"e\",{}1{}]", "[".repeat(n), "]".repeat(n));
        let mut cases: Vec<String> = [
            r#"2["chat",{"a":1,"b":[true,null,"x"]}]"#,
            r#"2[42,"numbered"]"#,
            r#"2[-1.5e3]"#,
            r#"2[["nested"],1]"#,
            r#"2[{"k":"v"}]"#,
            r#"2[null]"#,
            r#"2[]"#,
            r#"2{"not":"an array"}"#,
            r#"2"just a string""#,
            r#"2["disconnect"]"#,
            r#"2["newListener",1]"#,
            r#"2["caf\u00e9 \ud83d\ude00",1]"#,
            r#"2["lone \ud800"]"#,
            r#"2["bad \q escape"]"#,
            r#"2["e",1e400]"#,
            r#"2["e",-1e400]"#,
            r#"2["e",18446744073709551616]"#,
            r#"2["e",01]"#,
            r#"2["e",{"k":1,"k":2}]"#,
            r#"2["e",{1:2}]"#,
            r#"2["e",]"#,
            r#"2["e"] trailing"#,
            r#"2["e"]  "#,
            r#"2["e""#,
            r#"2/admin,7["e",{}]"#,
            "2[\"e\",\"tab\tinside\"]",
            r#"3[]"#,
            r#"312["ok",{"n":1}]"#,
            r#"3{"not":"an array"}"#,
            r#"3/admin,5[1e999]"#,
            r#"3"#,
            r#"2"#,
        ]
        .map(str::to_owned)
        .to_vec();
        cases.extend([deep(126), deep(127), deep(128), deep(200)]);
        for c in &cases {
            let (full, shape) = (parse(c), parse_shape(c));
            match (&full, &shape) {
                (Ok(f), Ok(s)) => {
                    assert_eq!(s.data, None, "{c}");
                    let f = SioPacket {
                        data: None,
                        ..f.clone()
                    };
                    assert_eq!(&f, s, "{c}");
                }
                _ => assert_eq!(full, shape, "{c}"),
            }
        }
        // Some of each kind, so that the comparison above compares something.
        let oks = cases.iter().filter(|c| parse(c).is_ok()).count();
        assert!(
            oks >= 10 && cases.len() - oks >= 10,
            "{oks} of {}",
            cases.len()
        );
        assert_eq!(
            parse_shape(r#"2["chat",1]"#).map(|p| p.event),
            Ok(Some("chat".into()))
        );
    }
}
