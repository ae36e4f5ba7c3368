//! A record's shared part written as the first members of a JSON object
//! that the caller finishes: `walk` writes `flows`' connection record and
//! adds its own members, replacing a few, without building a JSON tree of
//! it (serialising into a `serde_json::Value`, editing it and writing it
//! back took 9 % of `walk`'s instructions on the 100 MB benchmark capture).
//!
//! Only a struct (serde's derive, flattened members included) or a map
//! with string keys can be written so; anything else is an error.

use std::io;

use serde::Serialize;
use serde::ser::{self, Impossible, SerializeMap, SerializeStruct, Serializer};

use super::json_write;

/// Writes `{` and the members of `v` as [`json_write::write`] would, leaving
/// the object open. Before each member but the first, `hook` is called
/// with the buffer and the member's key: when it returns true it has
/// written that member itself, starting with its comma, or left it out;
/// otherwise the member is written as serde writes it.
pub fn open<T, F>(out: &mut Vec<u8>, v: &T, hook: F) -> io::Result<()>
where
    T: Serialize + ?Sized,
    F: FnMut(&mut Vec<u8>, &str) -> io::Result<bool>,
{
    out.push(b'{');
    let mut m = Members {
        out,
        hook,
        first: true,
        key: Vec::new(),
    };
    v.serialize(&mut m).map_err(io::Error::from)
}

struct Members<'o, F> {
    out: &'o mut Vec<u8>,
    hook: F,
    first: bool,
    /// The key of a map entry, as JSON, until its value comes.
    key: Vec<u8>,
}

impl<F> Members<'_, F>
where
    F: FnMut(&mut Vec<u8>, &str) -> io::Result<bool>,
{
    /// One member, its key already JSON in `self.key`.
    fn member<V: Serialize + ?Sized>(&mut self, value: &V) -> Result<(), serde_json::Error> {
        if !self.first {
            // Keys are written by serde: a plain one is its name in quotes.
            let name = self
                .key
                .get(1..self.key.len().saturating_sub(1))
                .and_then(|k| std::str::from_utf8(k).ok())
                .unwrap_or_default();
            if (self.hook)(self.out, name).map_err(serde_json::Error::io)? {
                return Ok(());
            }
            self.out.push(b',');
        }
        self.first = false;
        self.out.extend_from_slice(&self.key);
        self.out.push(b':');
        json_write::write(&mut *self.out, value).map_err(serde_json::Error::io)
    }
}

fn not_an_object() -> serde_json::Error {
    ser::Error::custom("only a struct or a map opens a record")
}

/// Every kind of value but a struct or a map is refused.
macro_rules! refuse {
    ($($name:ident($($t:ty),*)),* $(,)?) => {
        $(fn $name(self, $(_: $t),*) -> Result<(), serde_json::Error> {
            Err(not_an_object())
        })*
    };
}

impl<F> Serializer for &mut Members<'_, F>
where
    F: FnMut(&mut Vec<u8>, &str) -> io::Result<bool>,
{
    type Ok = ();
    type Error = serde_json::Error;
    type SerializeSeq = Impossible<(), serde_json::Error>;
    type SerializeTuple = Impossible<(), serde_json::Error>;
    type SerializeTupleStruct = Impossible<(), serde_json::Error>;
    type SerializeTupleVariant = Impossible<(), serde_json::Error>;
    type SerializeMap = Self;
    type SerializeStruct = Self;
    type SerializeStructVariant = Impossible<(), serde_json::Error>;

    refuse!(
        serialize_bool(bool),
        serialize_i8(i8),
        serialize_i16(i16),
        serialize_i32(i32),
        serialize_i64(i64),
        serialize_u8(u8),
        serialize_u16(u16),
        serialize_u32(u32),
        serialize_u64(u64),
        serialize_f32(f32),
        serialize_f64(f64),
        serialize_char(char),
        serialize_str(&str),
        serialize_bytes(&[u8]),
        serialize_none(),
        serialize_unit(),
        serialize_unit_struct(&'static str),
        serialize_unit_variant(&'static str, u32, &'static str),
    );

    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result<(), Self::Error> {
        Err(not_an_object())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: &T,
    ) -> Result<(), Self::Error> {
        Err(not_an_object())
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<(), Self::Error> {
        Err(not_an_object())
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, Self::Error> {
        Err(not_an_object())
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, Self::Error> {
        Err(not_an_object())
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, Self::Error> {
        Err(not_an_object())
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, Self::Error> {
        Err(not_an_object())
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, Self::Error> {
        Err(not_an_object())
    }

    fn serialize_map(self, _: Option<usize>) -> Result<Self, Self::Error> {
        Ok(self)
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self, Self::Error> {
        Ok(self)
    }
}

impl<F> SerializeMap for &mut Members<'_, F>
where
    F: FnMut(&mut Vec<u8>, &str) -> io::Result<bool>,
{
    type Ok = ();
    type Error = serde_json::Error;

    fn serialize_key<K: Serialize + ?Sized>(&mut self, key: &K) -> Result<(), Self::Error> {
        self.key.clear();
        json_write::write(&mut self.key, key).map_err(serde_json::Error::io)?;
        // serde_json quotes a number that is a key.
        if self.key.first() != Some(&b'"') {
            self.key.insert(0, b'"');
            self.key.push(b'"');
        }
        Ok(())
    }

    fn serialize_value<V: Serialize + ?Sized>(&mut self, value: &V) -> Result<(), Self::Error> {
        self.member(value)
    }

    fn end(self) -> Result<(), Self::Error> {
        Ok(())
    }
}

impl<F> SerializeStruct for &mut Members<'_, F>
where
    F: FnMut(&mut Vec<u8>, &str) -> io::Result<bool>,
{
    type Ok = ();
    type Error = serde_json::Error;

    fn serialize_field<V: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &V,
    ) -> Result<(), Self::Error> {
        self.key.clear();
        json_write::string(&mut self.key, key).map_err(serde_json::Error::io)?;
        self.member(value)
    }

    fn end(self) -> Result<(), Self::Error> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde::Serialize;

    use super::open;
    use crate::report::json_write;

    #[derive(Serialize)]
    struct Inner {
        a: u64,
        #[serde(skip_serializing_if = "Option::is_none")]
        gone: Option<u8>,
        text: &'static str,
    }

    #[derive(Serialize)]
    struct Outer {
        #[serde(flatten)]
        inner: Inner,
        list: Vec<f64>,
        by_number: BTreeMap<u16, bool>,
        last: Option<&'static str>,
    }

    fn outer() -> Outer {
        Outer {
            inner: Inner {
                a: 7,
                gone: None,
                text: "say \"hi\"\u{202e}",
            },
            list: vec![0.1, 1e300, f64::NAN],
            by_number: BTreeMap::from([(443, true), (80, false)]),
            last: None,
        }
    }

    /// Left alone, the members are serde's, flattened ones and numeric keys
    /// included.
    #[test]
    fn members_are_what_serde_writes() {
        let mut serde = Vec::new();
        json_write::write(&mut serde, &outer()).expect("vec");
        let mut ours = Vec::new();
        let mut seen = Vec::new();
        open(&mut ours, &outer(), |_, k| {
            seen.push(k.to_owned());
            Ok(false)
        })
        .expect("open");
        ours.push(b'}');
        assert_eq!(
            String::from_utf8_lossy(&ours),
            String::from_utf8_lossy(&serde)
        );
        // The first member is never handed to the hook.
        assert_eq!(seen, ["text", "list", "by_number", "last"]);
    }

    /// A member the hook writes takes its place; one it leaves out is gone
    /// with its comma.
    #[test]
    fn the_hook_replaces_and_leaves_out() {
        let mut ours = Vec::new();
        open(&mut ours, &outer(), |buf, k| match k {
            "list" => {
                buf.extend_from_slice(b",\"list\":[]");
                Ok(true)
            }
            "by_number" | "last" => Ok(true),
            _ => Ok(false),
        })
        .expect("open");
        ours.push(b'}');
        assert_eq!(
            String::from_utf8_lossy(&ours),
            r#"{"a":7,"text":"say \"hi\"\u202e","list":[]}"#
        );
        let v: serde_json::Value = serde_json::from_slice(&ours).expect("valid JSON");
        assert_eq!(v["a"], 7);
    }

    /// What is not an object is refused, and the hook's error stops it.
    #[test]
    fn only_objects_open() {
        let mut out = Vec::new();
        assert!(open(&mut out, &5_u64, |_, _| Ok(false)).is_err());
        assert!(open(&mut out, &[1, 2], |_, _| Ok(false)).is_err());
        let err = open(&mut out, &outer(), |_, k| {
            if k == "list" {
                Err(std::io::Error::other("full"))
            } else {
                Ok(false)
            }
        })
        .expect_err("hook failed");
        assert_eq!(err.to_string(), "full");
    }
}
