//! A feature's properties turned into vector tile tags as serde writes
//! them: each key and value goes straight into the layer's tables, so a
//! tile of thousands of features makes no JSON object and no copy of any
//! property per feature. Written by hand because a serde data format is
//! the only way to see a `Serialize` type's fields without building a
//! `serde_json::Value` of them (what this replaces).
//!
//! Values are what `tags` makes of JSON: strings, booleans, integers and
//! doubles as themselves, enums by their names, nulls left out, and
//! arrays or objects as their JSON text.

use serde::Serialize;
use serde::ser::{self, Impossible};
use std::fmt;

/// Serializer methods that refuse what they are given: what a kind of
/// value cannot be (a tag value cannot be an array, a key must be text).
macro_rules! refuse {
    ($ok:ty; $($method:ident)*) => { $(refuse!(@ $ok; $method);)* };
    (@ $ok:ty; bool) => { fn serialize_bool(self, _: bool) -> Result<$ok, NotATag> { Err(NotATag) } };
    (@ $ok:ty; i8) => { fn serialize_i8(self, _: i8) -> Result<$ok, NotATag> { Err(NotATag) } };
    (@ $ok:ty; i16) => { fn serialize_i16(self, _: i16) -> Result<$ok, NotATag> { Err(NotATag) } };
    (@ $ok:ty; i32) => { fn serialize_i32(self, _: i32) -> Result<$ok, NotATag> { Err(NotATag) } };
    (@ $ok:ty; i64) => { fn serialize_i64(self, _: i64) -> Result<$ok, NotATag> { Err(NotATag) } };
    (@ $ok:ty; u8) => { fn serialize_u8(self, _: u8) -> Result<$ok, NotATag> { Err(NotATag) } };
    (@ $ok:ty; u16) => { fn serialize_u16(self, _: u16) -> Result<$ok, NotATag> { Err(NotATag) } };
    (@ $ok:ty; u32) => { fn serialize_u32(self, _: u32) -> Result<$ok, NotATag> { Err(NotATag) } };
    (@ $ok:ty; u64) => { fn serialize_u64(self, _: u64) -> Result<$ok, NotATag> { Err(NotATag) } };
    (@ $ok:ty; f32) => { fn serialize_f32(self, _: f32) -> Result<$ok, NotATag> { Err(NotATag) } };
    (@ $ok:ty; f64) => { fn serialize_f64(self, _: f64) -> Result<$ok, NotATag> { Err(NotATag) } };
    (@ $ok:ty; char) => { fn serialize_char(self, _: char) -> Result<$ok, NotATag> { Err(NotATag) } };
    (@ $ok:ty; str) => { fn serialize_str(self, _: &str) -> Result<$ok, NotATag> { Err(NotATag) } };
    (@ $ok:ty; bytes) => { fn serialize_bytes(self, _: &[u8]) -> Result<$ok, NotATag> { Err(NotATag) } };
    (@ $ok:ty; none) => { fn serialize_none(self) -> Result<$ok, NotATag> { Err(NotATag) } };
    (@ $ok:ty; some) => {
        fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result<$ok, NotATag> { Err(NotATag) }
    };
    (@ $ok:ty; unit) => { fn serialize_unit(self) -> Result<$ok, NotATag> { Err(NotATag) } };
    (@ $ok:ty; unit_struct) => {
        fn serialize_unit_struct(self, _: &'static str) -> Result<$ok, NotATag> { Err(NotATag) }
    };
    (@ $ok:ty; unit_variant) => {
        fn serialize_unit_variant(self, _: &'static str, _: u32, _: &'static str) -> Result<$ok, NotATag> {
            Err(NotATag)
        }
    };
    (@ $ok:ty; newtype_struct) => {
        fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, _: &T) -> Result<$ok, NotATag> {
            Err(NotATag)
        }
    };
    (@ $ok:ty; newtype_variant) => {
        fn serialize_newtype_variant<T: Serialize + ?Sized>(
            self, _: &'static str, _: u32, _: &'static str, _: &T,
        ) -> Result<$ok, NotATag> {
            Err(NotATag)
        }
    };
    (@ $ok:ty; seq) => {
        fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, NotATag> { Err(NotATag) }
    };
    (@ $ok:ty; tuple) => {
        fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, NotATag> { Err(NotATag) }
    };
    (@ $ok:ty; tuple_struct) => {
        fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeTupleStruct, NotATag> {
            Err(NotATag)
        }
    };
    (@ $ok:ty; tuple_variant) => {
        fn serialize_tuple_variant(
            self, _: &'static str, _: u32, _: &'static str, _: usize,
        ) -> Result<Self::SerializeTupleVariant, NotATag> {
            Err(NotATag)
        }
    };
    (@ $ok:ty; map) => {
        fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, NotATag> { Err(NotATag) }
    };
    (@ $ok:ty; struct) => {
        fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct, NotATag> {
            Err(NotATag)
        }
    };
    (@ $ok:ty; struct_variant) => {
        fn serialize_struct_variant(
            self, _: &'static str, _: u32, _: &'static str, _: usize,
        ) -> Result<Self::SerializeStructVariant, NotATag> {
            Err(NotATag)
        }
    };
}

/// Where tags go: a layer's tables of distinct keys and values, each
/// answering the index of what it is given (adding it when new).
pub(super) trait TagTables {
    fn key(&mut self, key: &str) -> u32;
    fn text(&mut self, text: &str) -> u32;
    fn int(&mut self, i: i64) -> u32;
    fn double(&mut self, f: f64) -> u32;
    fn boolean(&mut self, b: bool) -> u32;
}

/// The tags (key and value indices, in pairs) of a flat object, keys in
/// `skip` left out. A property that cannot be a tag is left out too.
pub(super) fn tags_of(
    layer: &mut dyn TagTables,
    properties: &impl Serialize,
    skip: &[&str],
) -> Vec<u32> {
    let mut tags = Vec::new();
    // Only an object has tags; anything else (never given) has none.
    let _ = properties.serialize(Properties {
        layer,
        tags: &mut tags,
        skip,
        key: None,
    });
    tags
}

/// Not a tag: a composite value (written as JSON text instead), or not
/// an object at the top.
#[derive(Debug)]
struct NotATag;

impl fmt::Display for NotATag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not a tag")
    }
}

impl std::error::Error for NotATag {}

impl ser::Error for NotATag {
    fn custom<T: fmt::Display>(_: T) -> Self {
        NotATag
    }
}

/// The object being written: its keys and values become tags.
struct Properties<'a> {
    layer: &'a mut dyn TagTables,
    tags: &'a mut Vec<u32>,
    skip: &'a [&'a str],
    /// The key written last, unless it is skipped.
    key: Option<u32>,
}

impl Properties<'_> {
    fn entry<T: Serialize + ?Sized>(&mut self, key: &str, value: &T) {
        if self.skip.contains(&key) {
            return;
        }
        let k = self.layer.key(key);
        self.value(k, value);
    }

    fn value<T: Serialize + ?Sized>(&mut self, key: u32, value: &T) {
        let v = match value.serialize(Value { layer: self.layer }) {
            Ok(Some(v)) => v,
            Ok(None) => return,
            // An array or an object: its JSON text, as `tags` has it.
            Err(NotATag) => match serde_json::to_string(value) {
                Ok(text) => self.layer.text(&text),
                Err(_) => return,
            },
        };
        self.tags.extend([key, v]);
    }
}

impl ser::SerializeMap for Properties<'_> {
    type Ok = ();
    type Error = NotATag;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), NotATag> {
        self.key = key.serialize(Key {
            layer: &mut *self.layer,
            skip: self.skip,
        })?;
        Ok(())
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), NotATag> {
        if let Some(k) = self.key.take() {
            self.value(k, value);
        }
        Ok(())
    }

    fn end(self) -> Result<(), NotATag> {
        Ok(())
    }
}

impl ser::SerializeStruct for Properties<'_> {
    type Ok = ();
    type Error = NotATag;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), NotATag> {
        self.entry(key, value);
        Ok(())
    }

    fn end(self) -> Result<(), NotATag> {
        Ok(())
    }
}

/// Writes the top-level object into [`Properties`].
impl<'a> ser::Serializer for Properties<'a> {
    type Ok = ();
    type Error = NotATag;
    type SerializeSeq = Impossible<(), NotATag>;
    type SerializeTuple = Impossible<(), NotATag>;
    type SerializeTupleStruct = Impossible<(), NotATag>;
    type SerializeTupleVariant = Impossible<(), NotATag>;
    type SerializeMap = Self;
    type SerializeStruct = Self;
    type SerializeStructVariant = Impossible<(), NotATag>;

    fn serialize_map(self, _: Option<usize>) -> Result<Self, NotATag> {
        Ok(self)
    }

    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self, NotATag> {
        Ok(self)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<(), NotATag> {
        value.serialize(self)
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), NotATag> {
        value.serialize(self)
    }

    refuse!(();
        bool i8 i16 i32 i64 u8 u16 u32 u64 f32 f64 char str bytes none unit unit_struct
        unit_variant newtype_variant seq tuple tuple_struct tuple_variant struct_variant);
}

/// A key becomes the index of a tag key, or `None` when it is skipped.
struct Key<'a> {
    layer: &'a mut dyn TagTables,
    skip: &'a [&'a str],
}

impl ser::Serializer for Key<'_> {
    type Ok = Option<u32>;
    type Error = NotATag;
    type SerializeSeq = Impossible<Option<u32>, NotATag>;
    type SerializeTuple = Impossible<Option<u32>, NotATag>;
    type SerializeTupleStruct = Impossible<Option<u32>, NotATag>;
    type SerializeTupleVariant = Impossible<Option<u32>, NotATag>;
    type SerializeMap = Impossible<Option<u32>, NotATag>;
    type SerializeStruct = Impossible<Option<u32>, NotATag>;
    type SerializeStructVariant = Impossible<Option<u32>, NotATag>;

    fn serialize_str(self, key: &str) -> Result<Option<u32>, NotATag> {
        Ok((!self.skip.contains(&key)).then(|| self.layer.key(key)))
    }

    refuse!(Option<u32>;
        bool i8 i16 i32 i64 u8 u16 u32 u64 f32 f64 char bytes none some unit unit_struct
        unit_variant newtype_struct newtype_variant seq tuple tuple_struct tuple_variant map
        struct struct_variant);
}

/// A value becomes the index of a tag value, or `None` for a null.
struct Value<'a> {
    layer: &'a mut dyn TagTables,
}

impl ser::Serializer for Value<'_> {
    type Ok = Option<u32>;
    type Error = NotATag;
    type SerializeSeq = Impossible<Option<u32>, NotATag>;
    type SerializeTuple = Impossible<Option<u32>, NotATag>;
    type SerializeTupleStruct = Impossible<Option<u32>, NotATag>;
    type SerializeTupleVariant = Impossible<Option<u32>, NotATag>;
    type SerializeMap = Impossible<Option<u32>, NotATag>;
    type SerializeStruct = Impossible<Option<u32>, NotATag>;
    type SerializeStructVariant = Impossible<Option<u32>, NotATag>;

    fn serialize_bool(self, v: bool) -> Result<Option<u32>, NotATag> {
        Ok(Some(self.layer.boolean(v)))
    }
    fn serialize_i8(self, v: i8) -> Result<Option<u32>, NotATag> {
        self.serialize_i64(i64::from(v))
    }
    fn serialize_i16(self, v: i16) -> Result<Option<u32>, NotATag> {
        self.serialize_i64(i64::from(v))
    }
    fn serialize_i32(self, v: i32) -> Result<Option<u32>, NotATag> {
        self.serialize_i64(i64::from(v))
    }
    fn serialize_i64(self, v: i64) -> Result<Option<u32>, NotATag> {
        Ok(Some(self.layer.int(v)))
    }
    fn serialize_u8(self, v: u8) -> Result<Option<u32>, NotATag> {
        self.serialize_i64(i64::from(v))
    }
    fn serialize_u16(self, v: u16) -> Result<Option<u32>, NotATag> {
        self.serialize_i64(i64::from(v))
    }
    fn serialize_u32(self, v: u32) -> Result<Option<u32>, NotATag> {
        self.serialize_i64(i64::from(v))
    }
    fn serialize_u64(self, v: u64) -> Result<Option<u32>, NotATag> {
        match i64::try_from(v) {
            Ok(i) => self.serialize_i64(i),
            // As JSON has it: beyond i64, a double.
            Err(_) => self.serialize_f64(v as f64),
        }
    }
    fn serialize_f32(self, v: f32) -> Result<Option<u32>, NotATag> {
        self.serialize_f64(f64::from(v))
    }
    fn serialize_f64(self, v: f64) -> Result<Option<u32>, NotATag> {
        // JSON has no NaN or infinity: serde_json writes them as null.
        Ok(v.is_finite().then(|| self.layer.double(v)))
    }
    fn serialize_char(self, v: char) -> Result<Option<u32>, NotATag> {
        self.serialize_str(v.encode_utf8(&mut [0; 4]))
    }
    fn serialize_str(self, v: &str) -> Result<Option<u32>, NotATag> {
        Ok(Some(self.layer.text(v)))
    }
    fn serialize_none(self) -> Result<Option<u32>, NotATag> {
        Ok(None)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Option<u32>, NotATag> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<Option<u32>, NotATag> {
        Ok(None)
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<Option<u32>, NotATag> {
        Ok(None)
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<Option<u32>, NotATag> {
        self.serialize_str(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<Option<u32>, NotATag> {
        value.serialize(self)
    }
    refuse!(Option<u32>;
        bytes newtype_variant seq tuple tuple_struct tuple_variant map struct struct_variant);
}
