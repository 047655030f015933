//! A row as read: each value's exact JSON text by key, in one buffer kept from row to row, so
//! that reading a row allocates nothing once the buffer has grown to the rows' size.

use std::{borrow::Cow, fmt, ops::Range};

use serde::de::{self, DeserializeSeed, MapAccess, Visitor};
use serde_json::value::RawValue;

/// A row object as read: each key with its value's exact JSON text, to be checked against its
/// column. Where a key repeats, its last value counts, as in a map.
#[derive(Debug, Default)]
pub(crate) struct RawRow {
    /// The object's text, then (unescaped) the keys that were escaped in it.
    text: String,
    /// Each key once, with its value, as ranges of `text`, in the object's order.
    entries: Vec<(Range<usize>, Range<usize>)>,
    /// The escaped keys while the object is read.
    side: String,
}

impl RawRow {
    /// Reads `json`, one object (white space around it allowed), in place of what `self` held;
    /// the error is serde_json's.
    pub(crate) fn read(&mut self, json: &str) -> Result<(), serde_json::Error> {
        self.text.clear();
        self.entries.clear();
        self.side.clear();
        let mut de = serde_json::Deserializer::from_str(json);
        Fill {
            json,
            side: &mut self.side,
            entries: &mut self.entries,
        }
        .deserialize(&mut de)?;
        de.end()?;
        self.text.push_str(json);
        self.text.push_str(&self.side);
        Ok(())
    }

    /// How many keys it has.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Its keys, in the object's order.
    pub(crate) fn keys(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|(k, _)| self.at(k))
    }

    /// The JSON text of the value of the `i`th key (in the object's order).
    pub(crate) fn value(&self, i: usize) -> Option<&str> {
        self.entries.get(i).map(|(_, v)| self.at(v))
    }

    /// The JSON text of `key`'s value.
    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(k, _)| self.at(k) == key)
            .map(|(_, v)| self.at(v))
    }

    fn at(&self, range: &Range<usize>) -> &str {
        self.text.get(range.clone()).unwrap_or_default()
    }
}

/// Fills a row's entries while serde_json reads the object from `json`: a key or value
/// that is a slice of `json` (serde_json lends every value, and each key without escapes)
/// as its range there; any other (an escaped key) copied to `side`, whose text will follow
/// `json`'s.
struct Fill<'r, 'de> {
    json: &'de str,
    side: &'r mut String,
    entries: &'r mut Vec<(Range<usize>, Range<usize>)>,
}

impl Fill<'_, '_> {
    fn range(&mut self, s: &str) -> Range<usize> {
        let start = (s.as_ptr() as usize).wrapping_sub(self.json.as_ptr() as usize);
        if start <= self.json.len() && s.len() <= self.json.len() - start {
            return start..start + s.len();
        }
        let start = self.json.len() + self.side.len();
        self.side.push_str(s);
        start..start + s.len()
    }

    fn at(&self, range: &Range<usize>) -> &str {
        let side = |r: &Range<usize>| {
            let n = self.json.len();
            self.side.get(r.start - n..r.end - n)
        };
        if range.start < self.json.len() {
            self.json.get(range.clone())
        } else {
            side(range)
        }
        .unwrap_or_default()
    }
}

impl<'de> DeserializeSeed<'de> for Fill<'_, 'de> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
        de.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Fill<'_, 'de> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a map")
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key_seed(Key)? {
            let value: &'de RawValue = map.next_value()?;
            let key = self.range(&key);
            let value = self.range(value.get());
            let name = self.at(&key);
            match self.entries.iter().position(|(k, _)| self.at(k) == name) {
                Some(i) => self.entries[i].1 = value,
                None => self.entries.push((key, value)),
            }
        }
        Ok(())
    }
}

/// A key, lent by the input where it has no escapes.
struct Key;

impl<'de> DeserializeSeed<'de> for Key {
    type Value = Cow<'de, str>;

    fn deserialize<D: de::Deserializer<'de>>(self, de: D) -> Result<Self::Value, D::Error> {
        de.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(s))
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(json: &str) -> Result<Vec<(String, String)>, String> {
        let mut row = RawRow::default();
        row.read(json).map_err(|e| e.to_string())?;
        assert_eq!(row.keys().count(), row.len());
        Ok(row
            .keys()
            .map(|k| (k.to_owned(), row.get(k).unwrap().to_owned()))
            .collect())
    }

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn keys_and_exact_value_texts() {
        assert_eq!(
            read(r#" {"b": [1, {"x": "}"}], "a":"s\"q" , "c":  null} "#),
            Ok(pairs(&[
                ("b", r#"[1, {"x": "}"}]"#),
                ("a", r#""s\"q""#),
                ("c", "null")
            ]))
        );
        assert_eq!(read("{}"), Ok(vec![]));
    }

    #[test]
    fn escaped_keys_are_unescaped_and_a_repeated_key_keeps_its_last_value() {
        assert_eq!(
            read(r#"{"t\u0065nant": 1, "a\"b": 2, "tenant": 3, "z": 4}"#),
            Ok(pairs(&[("tenant", "3"), ("a\"b", "2"), ("z", "4")]))
        );
        let mut row = RawRow::default();
        row.read(r#"{"\u00e9": "x"}"#).unwrap();
        assert_eq!(row.get("é"), Some(r#""x""#));
        assert_eq!(row.get("e"), None);
    }

    #[test]
    fn the_buffer_is_reused_and_left_clean() {
        let mut row = RawRow::default();
        row.read(r#"{"a": 1, "b": 2}"#).unwrap();
        assert!(row.read(r#"{"c": 1"#).is_err());
        row.read(r#"{"c": 3}"#).unwrap();
        assert_eq!(
            (row.len(), row.get("a"), row.get("c")),
            (1, None, Some("3"))
        );
    }

    #[test]
    fn not_an_object_is_refused_by_serde_json() {
        assert!(read("[1]").unwrap_err().contains("invalid type"));
        assert!(
            read(r#"{"a": 1} x"#)
                .unwrap_err()
                .contains("trailing characters")
        );
        assert!(read(r#"{"a" 1}"#).unwrap_err().contains("expected `:`"));
    }
}
