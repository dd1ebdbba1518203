//! Table API records as they arrive: a map of field names to values, where a value is a plain
//! string (value mode, or links excluded), or an object with `value`, `display_value` and
//! `link` (references, and every field with `sysparm_display_value=all`).

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Deserialize;

use crate::domain::Reference;

/// One field value on the wire.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum FieldValue {
    /// A plain string (every value mode field, and references with links excluded).
    Text(String),
    /// `{value, display_value, link}`, any of them present.
    Object {
        /// Stored value (sys_id for references).
        #[serde(default)]
        value: Option<String>,
        /// Display value.
        #[serde(default)]
        display_value: Option<String>,
        /// Table API link of the referenced record.
        #[serde(default)]
        link: Option<String>,
    },
    /// Anything else (numbers, booleans, null): tolerated, read as text.
    Other(serde_json::Value),
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
