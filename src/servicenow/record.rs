//! Table API records as they arrive: a map of field names to values, where a value is a plain
//! string (value mode, or links excluded), or an object with `value`, `display_value` and
//! `link` (references, and every field with `sysparm_display_value=all`).

use std::collections::BTreeMap;

use std::fmt;

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use crate::domain::Reference;

/// One field value on the wire.
///
/// Decoded by hand rather than with `#[serde(untagged)]`: untagged buffers every value into
/// serde's `Content` and retries each variant, which was a tenth of a 10,000-record page's
/// decoding time; this visitor reads each value once, straight from the JSON.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldValue {
    /// A plain string (every value mode field, and references with links excluded).
    Text(String),
    /// `{value, display_value, link}`, any of them present.
    Object {
        /// Stored value (sys_id for references).
        value: Option<String>,
        /// Display value.
        display_value: Option<String>,
        /// Table API link of the referenced record.
        link: Option<String>,
    },
    /// Anything else (numbers, booleans, null): tolerated, read as text.
    Other(serde_json::Value),
}

impl<'de> Deserialize<'de> for FieldValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(FieldValueVisitor)
    }
}

struct FieldValueVisitor;

impl<'de> Visitor<'de> for FieldValueVisitor {
    type Value = FieldValue;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string or an object with value, display_value and link")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<FieldValue, E> {
        Ok(FieldValue::Text(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<FieldValue, E> {
        Ok(FieldValue::Text(v))
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<FieldValue, E> {
        Ok(FieldValue::Other(Value::Bool(v)))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<FieldValue, E> {
        Ok(FieldValue::Other(Value::from(v)))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<FieldValue, E> {
        Ok(FieldValue::Other(Value::from(v)))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<FieldValue, E> {
        Ok(FieldValue::Other(Value::from(v)))
    }

    fn visit_unit<E: de::Error>(self) -> Result<FieldValue, E> {
        Ok(FieldValue::Other(Value::Null))
    }

    fn visit_none<E: de::Error>(self) -> Result<FieldValue, E> {
        Ok(FieldValue::Other(Value::Null))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<FieldValue, A::Error> {
        Value::deserialize(de::value::SeqAccessDeserializer::new(seq)).map(FieldValue::Other)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<FieldValue, A::Error> {
        let (mut value, mut display_value, mut link) = (None, None, None);
        // Everything else is kept only to hand the whole object back as `Other` when one of
        // the three is not a string (the platform never does that; a proxy might).
        let (mut rest, mut odd) = (Map::new(), false);
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            let slot = match key.as_ref() {
                "value" => &mut value,
                "display_value" => &mut display_value,
                "link" => &mut link,
                _ => {
                    rest.insert(key.into_owned(), map.next_value()?);
                    continue;
                }
            };
            match map.next_value::<Value>()? {
                Value::String(s) => *slot = Some(s),
                Value::Null => {}
                other => {
                    odd = true;
                    rest.insert(key.into_owned(), other);
                }
            }
        }
        if !odd {
            return Ok(FieldValue::Object { value, display_value, link });
        }
        for (k, v) in [("value", value), ("display_value", display_value), ("link", link)] {
            if let Some(v) = v {
                rest.insert(k.to_owned(), Value::String(v));
            }
        }
        Ok(FieldValue::Other(Value::Object(rest)))
    }
}

impl FieldValue {
    /// The stored value (falls back to the display value when only that was sent).
    pub fn value(&self) -> &str {
        match self {
            FieldValue::Text(s) => s,
            FieldValue::Object { value: Some(v), .. } => v,
            FieldValue::Object { display_value: Some(d), .. } => d,
            FieldValue::Object { .. } => "",
            FieldValue::Other(serde_json::Value::String(s)) => s,
            FieldValue::Other(_) => "",
        }
    }

    /// The display value (falls back to the stored value).
    pub fn display(&self) -> &str {
        match self {
            FieldValue::Object { display_value: Some(d), .. } => d,
            other => other.value(),
        }
    }
}

/// One record: field name → value. Dot-walked fields arrive as literal `"a.b"` keys.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(transparent)]
pub struct Record(pub BTreeMap<String, FieldValue>);

/// A date-time the platform writes in value mode (`yyyy-MM-dd HH:mm:ss`, UTC).
pub fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S")
        .ok()
        .map(|n| n.and_utc())
        .or_else(|| DateTime::parse_from_rfc3339(s).ok().map(|d| d.with_timezone(&Utc)))
}

impl Record {
    /// The stored value of `field` (`""` when absent).
    pub fn value(&self, field: &str) -> &str {
        self.0.get(field).map(FieldValue::value).unwrap_or("")
    }

    /// The display value of `field` (`""` when absent).
    pub fn display(&self, field: &str) -> &str {
        self.0.get(field).map(FieldValue::display).unwrap_or("")
    }

    /// Whether the record carries `field` at all (ACLs hide fields by leaving them out).
    pub fn has(&self, field: &str) -> bool {
        self.0.contains_key(field)
    }

    /// `sys_id`.
    pub fn sys_id(&self) -> &str {
        self.value("sys_id")
    }

    /// A reference field as a [`Reference`] (sys_id and, when sent, display value).
    pub fn reference(&self, field: &str) -> Reference {
        match self.0.get(field) {
            None => Reference::default(),
            Some(FieldValue::Object { value, display_value, link }) => {
                // With display values only, the sys_id is the last segment of the link.
                let sys_id = match (value, link) {
                    (Some(v), _) => v.clone(),
                    (None, Some(l)) => l.rsplit('/').next().unwrap_or("").to_string(),
                    (None, None) => String::new(),
                };
                Reference { sys_id, display: display_value.clone().unwrap_or_default() }
            }
            Some(v) => Reference { sys_id: v.value().to_string(), display: String::new() },
        }
    }

    /// A `yyyy-MM-dd HH:mm:ss` field as UTC, `None` when empty or unreadable.
    pub fn time(&self, field: &str) -> Option<DateTime<Utc>> {
        parse_time(self.value(field))
    }

    /// `"true"` (any case) as true.
    pub fn flag(&self, field: &str) -> bool {
        self.value(field).eq_ignore_ascii_case("true")
    }

    /// A whole-number field, `None` when empty.
    pub fn number(&self, field: &str) -> Option<u64> {
        self.value(field).trim().parse::<f64>().ok().filter(|n| *n >= 0.0).map(|n| n as u64)
    }
}

/// One row of an Aggregate API answer (`/api/now/stats/{table}`): the statistics of one group
/// (or of everything, without `sysparm_group_by`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct StatsRow {
    /// The statistics.
    pub stats: Stats,
    /// The group's values, one per `sysparm_group_by` field.
    #[serde(default)]
    pub groupby_fields: Vec<GroupValue>,
}

/// Aggregates, every number a string as the platform sends them (`"1.2500"`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Stats {
    /// `sysparm_count=true`.
    #[serde(default)]
    pub count: Option<String>,
    /// Averages by field.
    #[serde(default)]
    pub avg: BTreeMap<String, String>,
    /// Minimums by field.
    #[serde(default)]
    pub min: BTreeMap<String, String>,
    /// Maximums by field.
    #[serde(default)]
    pub max: BTreeMap<String, String>,
    /// Sums by field.
    #[serde(default)]
    pub sum: BTreeMap<String, String>,
}

/// The value of one group-by field.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct GroupValue {
    /// The field.
    pub field: String,
    /// Its stored value (empty for "no value").
    #[serde(default)]
    pub value: String,
    /// Its display value, when asked for.
    #[serde(default)]
    pub display_value: Option<String>,
}

impl StatsRow {
    /// The count, when it was asked for.
    pub fn count(&self) -> Option<u64> {
        self.stats.count.as_deref().and_then(|c| c.trim().parse().ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(json: &str) -> Record {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn values_arrive_as_strings_objects_or_anything_else() {
        let r = record(
            r#"{"number":"INC0010001",
                "caller_id":{"value":"abc","display_value":"Riley Requester","link":"https://x/api/now/table/sys_user/abc"},
                "assigned_to":{"display_value":"Dana Desk","link":"https://x/api/now/table/sys_user/def"},
                "opened_by":{"value":"ghi","display_value":null},
                "reassignment_count":3,"active":true,"parent":null,"tags":["a",1],
                "odd":{"value":7,"display_value":"seven","extra":"kept"}}"#,
        );
        assert_eq!(r.value("number"), "INC0010001");
        assert_eq!(r.display("caller_id"), "Riley Requester");
        assert_eq!(r.reference("caller_id"), Reference { sys_id: "abc".into(), display: "Riley Requester".into() });
        // Display values only: the sys_id comes from the link.
        assert_eq!(r.reference("assigned_to").sys_id, "def");
        assert_eq!(r.value("opened_by"), "ghi");
        assert_eq!(r.display("opened_by"), "ghi");
        assert_eq!(r.0["reassignment_count"], FieldValue::Other(Value::from(3)));
        assert_eq!(r.0["active"], FieldValue::Other(Value::Bool(true)));
        assert_eq!(r.0["parent"], FieldValue::Other(Value::Null));
        assert_eq!(r.0["tags"], FieldValue::Other(serde_json::json!(["a", 1])));
        assert_eq!(
            r.0["odd"],
            FieldValue::Other(serde_json::json!({"value": 7, "display_value": "seven", "extra": "kept"}))
        );
        assert_eq!(r.value("odd"), "");
        assert!(r.has("parent") && !r.has("missing"));
    }

    #[test]
    fn escaped_keys_and_values_decode() {
        let r = record(r#"{"short_\u0064escription":"line\nbreak \"quoted\"","x":{"value":"\u00e9"}}"#);
        assert_eq!(r.value("short_description"), "line\nbreak \"quoted\"");
        assert_eq!(r.value("x"), "é");
    }
}
