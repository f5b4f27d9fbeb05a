//! Deserializers that never fail on a wrong JSON type: real CloudTrail records put nulls, numbers and objects where strings are expected.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// A scalar read as text: strings as they are, numbers and booleans spelled out, anything else absent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Text<'a>(pub Option<Cow<'a, str>>);

impl<'a> Text<'a> {
    /// The value, or `None` when absent or blank.
    pub fn get(&self) -> Option<&str> {
        self.0.as_deref().filter(|s| !is_blank(s))
    }

    pub fn is(&self, expected: &str) -> bool {
        self.get()
            .is_some_and(|s| s.trim().eq_ignore_ascii_case(expected))
    }
}

struct TextVisitor;

impl<'de> Visitor<'de> for TextVisitor {
    type Value = Text<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Text(Some(Cow::Borrowed(v))))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Text(Some(Cow::Owned(v.to_owned()))))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Text(Some(Cow::Owned(v))))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Text(Some(Cow::Borrowed(if v { "true" } else { "false" }))))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Text(Some(Cow::Owned(v.to_string()))))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Text(Some(Cow::Owned(v.to_string()))))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Text(Some(Cow::Owned(v.to_string()))))
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Text(None))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Text(None))
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Text(None))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Text(None))
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let Text(value) = d.deserialize_any(TextVisitor)?;
        Ok(Text(value))
    }
}

/// An object read as `T`; any other JSON type (null, string, array…) reads as absent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Object<T>(pub Option<T>);

impl<T> Default for Object<T> {
    fn default() -> Self {
        Object(None)
    }
}

impl<T> Object<T> {
    pub fn get(&self) -> Option<&T> {
        self.0.as_ref()
    }
}

struct ObjectVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjectVisitor<T> {
    type Value = Object<T>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        T::deserialize(de::value::MapAccessDeserializer::new(map)).map(|v| Object(Some(v)))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Object(None))
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Object(None))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Object(None))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Object(None))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Object(None))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Object(None))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Object(None))
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(Object(None))
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ObjectVisitor(PhantomData))
    }
}

/// The scalar members of a free-form object (`responseElements`, `additionalEventData`, …) and of the objects
/// directly inside it, the latter under dotted keys (`credentials.accessKeyId`, `taskPolicyArn.arn`); deeper
/// values and arrays are skipped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pairs<'a>(pub Vec<(Cow<'a, str>, Cow<'a, str>)>);

impl Pairs<'_> {
    /// The value under `key`, compared case-insensitively because AWS is not consistent (`MFAUsed`, `MfaUsed`).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_ref())
            .filter(|v| !is_blank(v))
    }
}

/// Whether `s` is empty or only whitespace (as `trim` sees it), looking no further than its first other character:
/// every field a record is read for passes here.
fn is_blank(s: &str) -> bool {
    s.chars().all(char::is_whitespace)
}

/// How deep `Pairs` looks: the object itself and the objects directly inside it.
const PAIRS_DEPTH: u8 = 2;

struct PairsVisitor<'p, 'de> {
    out: &'p mut Vec<(Cow<'de, str>, Cow<'de, str>)>,
    prefix: Option<Cow<'de, str>>,
    depth: u8,
}

impl<'de> Visitor<'de> for PairsVisitor<'_, 'de> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(Text(key)) = map.next_key::<Text<'de>>()? {
            let Some(key) = key else {
                map.next_value::<IgnoredAny>()?;
                continue;
            };
            let key = match &self.prefix {
                Some(prefix) => Cow::Owned(format!("{prefix}.{key}")),
                None => key,
            };
            map.next_value_seed(PairSeed {
                out: &mut *self.out,
                key,
                depth: self.depth,
            })?;
        }
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(())
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
}

/// One member's value: a scalar is kept under `key`, an object is read one level further (within the depth).
struct PairSeed<'p, 'de> {
    out: &'p mut Vec<(Cow<'de, str>, Cow<'de, str>)>,
    key: Cow<'de, str>,
    depth: u8,
}

impl<'de> de::DeserializeSeed<'de> for PairSeed<'_, 'de> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for PairSeed<'_, 'de> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        if self.depth <= 1 {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            return Ok(());
        }
        PairsVisitor {
            out: self.out,
            prefix: Some(self.key),
            depth: self.depth - 1,
        }
        .visit_map(map)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(())
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<(), E> {
        self.out.push((self.key, Cow::Borrowed(v)));
        Ok(())
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        self.out.push((self.key, Cow::Owned(v.to_owned())));
        Ok(())
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<(), E> {
        self.out.push((self.key, Cow::Owned(v)));
        Ok(())
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<(), E> {
        self.out
            .push((self.key, Cow::Borrowed(if v { "true" } else { "false" })));
        Ok(())
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
        self.out.push((self.key, Cow::Owned(v.to_string())));
        Ok(())
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
        self.out.push((self.key, Cow::Owned(v.to_string())));
        Ok(())
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
        self.out.push((self.key, Cow::Owned(v.to_string())));
        Ok(())
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Pairs<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut out = Vec::new();
        d.deserialize_any(PairsVisitor {
            out: &mut out,
            prefix: None,
            depth: PAIRS_DEPTH,
        })?;
        Ok(Pairs(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize, Default)]
    #[serde(default)]
    struct Probe<'a> {
        #[serde(borrow)]
        text: Text<'a>,
        #[serde(borrow)]
        pairs: Pairs<'a>,
    }

    #[test]
    fn wrong_types_read_as_absent_not_errors() {
        for input in [
            r#"{"text": {"a": [1, 2]}, "pairs": "x"}"#,
            r#"{"text": null, "pairs": null}"#,
            r#"{"text": [1], "pairs": [1, {"b": 2}]}"#,
        ] {
            let probe: Probe = serde_json::from_str(input).unwrap();
            assert_eq!(probe.text.get(), None, "{input}");
            assert!(probe.pairs.0.is_empty(), "{input}");
        }
    }

    #[test]
    fn scalars_read_as_text_and_keys_match_any_case() {
        let probe: Probe = serde_json::from_str(
            r#"{"text": 42, "pairs": {"MfaUsed": "YES", "nested": {"x": 1}, "flag": true}}"#,
        )
        .unwrap();
        assert_eq!(probe.text.get(), Some("42"));
        assert_eq!(probe.pairs.get("MFAUsed"), Some("YES"));
        assert_eq!(probe.pairs.get("flag"), Some("true"));
        assert_eq!(probe.pairs.get("nested"), None);
        assert_eq!(probe.pairs.get("nested.x"), Some("1"));
    }

    #[test]
    fn nested_objects_are_read_one_level_deep_and_no_further() {
        let probe: Probe = serde_json::from_str(
            r#"{"pairs": {"credentials": {"accessKeyId": "ASIA", "deeper": {"x": "no"}}, "list": [{"a": 1}]}}"#,
        )
        .unwrap();
        assert_eq!(probe.pairs.get("credentials.accessKeyId"), Some("ASIA"));
        assert_eq!(probe.pairs.get("credentials.deeper.x"), None);
        assert_eq!(probe.pairs.0.len(), 1);
    }
}
