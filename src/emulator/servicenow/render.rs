//! Records as the Table API writes them: every value a JSON string, empty fields `""`,
//! references `{link, value}`, and the three `sysparm_display_value` modes.
//!
//! JSON is written straight into one buffer: a page of 100 incidents is ~8,000 fields, and
//! building a `serde_json::Value` tree for it would cost more than finding the rows.

use super::filter::{Path, display};
use super::schema::{FieldDef, FieldType};
use super::store::{Db, EMPTY, RowId, Sym};

/// `sysparm_display_value`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DisplayMode {
    /// Stored values (default).
    Value,
    /// Display values only.
    Display,
    /// Both, as `{"display_value", "value"}`.
    All,
}

impl DisplayMode {
    /// Reads the parameter (case-insensitive; anything unknown is the default).
    pub fn parse(v: Option<&str>) -> Self {
        match v.map(str::to_ascii_lowercase).as_deref() {
            Some("true") => DisplayMode::Display,
            Some("all") => DisplayMode::All,
            _ => DisplayMode::Value,
        }
    }
}

/// How to render records.
pub struct RenderOptions<'a> {
    /// Display-value mode.
    pub mode: DisplayMode,
    /// `sysparm_exclude_reference_link`.
    pub exclude_links: bool,
    /// The instance URL links point at.
    pub base_url: &'a str,
}

/// The fields to write: all of the table's, or the requested (possibly dot-walked) ones.
pub enum Fields {
    /// Every field in schema order.
    All,
    /// `(key, path)` pairs; unknown names were dropped.
    Some(Vec<(String, Path)>),
}

impl Fields {
    /// Reads `sysparm_fields` for `table`: invalid fields are ignored, as documented.
    pub fn parse(db: &Db, table: usize, param: Option<&str>) -> Fields {
        let Some(list) = param.map(str::trim).filter(|s| !s.is_empty()) else { return Fields::All };
        let mut out: Vec<(String, Path)> = Vec::new();
        for name in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            if out.iter().any(|(k, _)| k == name) {
                continue;
            }
            if let Some(path) = Path::resolve(db, table, name) {
                out.push((name.to_string(), path));
            }
        }
        Fields::Some(out)
    }
}

/// Appends `s` as a JSON string literal (runs of plain characters copied at once).
pub fn push_str(out: &mut String, s: &str) {
    out.push('"');
    let mut plain = 0;
    for (i, b) in s.bytes().enumerate() {
        let escaped = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0..0x20 => "",
            _ => continue,
        };
        out.push_str(&s[plain..i]);
        if escaped.is_empty() {
            out.push_str(&format!("\\u{b:04x}"));
        } else {
            out.push_str(escaped);
        }
        plain = i + 1;
    }
    out.push_str(&s[plain..]);
    out.push('"');
}

fn push_key(out: &mut String, key: &str) {
    push_str(out, key);
    out.push(':');
}

/// The journal of a record rendered as the platform shows it with display values: newest
/// first, each entry `"<when> - <who> (<Label>)\n<text>\n\n"`.
pub fn journal_text(db: &Db, table: &str, sys_id: Sym, elements: &[&str]) -> String {
    let Some(jt) = db.table("sys_journal_field") else { return String::new() };
    let s = &jt.schema;
    let (Some(c_elem), Some(c_name), Some(c_val), Some(c_on), Some(c_by), Some(c_id)) = (
        s.col("element"),
        s.col("name"),
        s.col("value"),
        s.col("sys_created_on"),
        s.col("sys_created_by"),
        s.col("element_id"),
    ) else {
        return String::new();
    };
    let mut rows: Vec<RowId> = jt
        .indexed_rows(c_id, sys_id)
        .into_iter()
        .filter(|&r| {
            db.strings.get(jt.cell(r, c_name)) == table && elements.contains(&db.strings.get(jt.cell(r, c_elem)))
        })
        .collect();
    rows.sort_by(|&a, &b| db.strings.get(jt.cell(b, c_on)).cmp(db.strings.get(jt.cell(a, c_on))).then(b.cmp(&a)));
    let users = db.table("sys_user");
    let mut out = String::new();
    for r in rows {
        let by = db.strings.get(jt.cell(r, c_by));
        let who = users
            .and_then(|u| {
                let un = u.schema.col("user_name")?;
                let name = u.schema.col("name")?;
                let sym = db.strings.lookup(by)?;
                u.indexed_rows(un, sym).first().map(|&row| db.strings.get(u.cell(row, name)))
            })
            .unwrap_or(by);
        let label =
            if db.strings.get(jt.cell(r, c_elem)) == "work_notes" { "Work notes" } else { "Additional comments" };
        out.push_str(&format!(
            "{} - {} ({})\n{}\n\n",
            db.strings.get(jt.cell(r, c_on)),
            who,
            label,
            db.strings.get(jt.cell(r, c_val))
        ));
    }
    out
}

/// Whose journal a journal field shows: the record's table and sys_id.
type Owner<'a> = Option<(&'a str, Sym)>;

/// Writes the value of one field. Journal fields show the owner's journal with display values
/// and `""` in value mode.
fn push_field(out: &mut String, db: &Db, field: &FieldDef, sym: Sym, owner: Owner<'_>, opts: &RenderOptions<'_>) {
    let ty = &field.ty;
    let value = db.strings.get(sym);
    match ty {
        FieldType::Reference(target) => {
            if sym == EMPTY {
                match opts.mode {
                    DisplayMode::All => out.push_str(r#"{"display_value":"","value":""}"#),
                    _ => out.push_str("\"\""),
                }
                return;
            }
            let link = format!("{}/api/now/table/{}/{}", opts.base_url, target, value);
            match (opts.mode, opts.exclude_links) {
                (DisplayMode::Value, true) => push_str(out, value),
                (DisplayMode::Value, false) => {
                    out.push_str("{\"link\":");
                    push_str(out, &link);
                    out.push_str(",\"value\":");
                    push_str(out, value);
                    out.push('}');
                }
                (DisplayMode::Display, true) => push_str(out, &display(db, ty, sym)),
                (DisplayMode::Display, false) => {
                    out.push_str("{\"display_value\":");
                    push_str(out, &display(db, ty, sym));
                    out.push_str(",\"link\":");
                    push_str(out, &link);
                    out.push('}');
                }
                (DisplayMode::All, exclude) => {
                    out.push_str("{\"display_value\":");
                    push_str(out, &display(db, ty, sym));
                    if !exclude {
                        out.push_str(",\"link\":");
                        push_str(out, &link);
                    }
                    out.push_str(",\"value\":");
                    push_str(out, value);
                    out.push('}');
                }
            }
        }
        FieldType::Journal | FieldType::JournalList => {
            let text = match (opts.mode, owner) {
                (DisplayMode::Value, _) | (_, None) => String::new(),
                (_, Some((table, id))) => {
                    if matches!(ty, FieldType::JournalList) {
                        journal_text(db, table, id, &["comments", "work_notes"])
                    } else {
                        journal_text(db, table, id, &[field.name])
                    }
                }
            };
            match opts.mode {
                DisplayMode::Value => out.push_str("\"\""),
                DisplayMode::Display => push_str(out, &text),
                DisplayMode::All => {
                    out.push_str("{\"display_value\":");
                    push_str(out, &text);
                    out.push_str(",\"value\":\"\"}");
                }
            }
        }
        _ => match opts.mode {
            DisplayMode::Value => push_str(out, value),
            DisplayMode::Display => push_str(out, &display(db, ty, sym)),
            DisplayMode::All => {
                out.push_str("{\"display_value\":");
                push_str(out, &display(db, ty, sym));
                out.push_str(",\"value\":");
                push_str(out, value);
                out.push('}');
            }
        },
    }
}

/// Writes one record as a JSON object.
pub fn record(out: &mut String, db: &Db, table: usize, row: RowId, fields: &Fields, opts: &RenderOptions<'_>) {
    let t = db.table_at(table);
    let id_col = t.schema.col("sys_id").unwrap_or(0);
    let owner = Some((t.schema.name, t.cell(row, id_col)));
    out.push('{');
    match fields {
        Fields::All => {
            for (col, f) in t.schema.fields.iter().enumerate() {
                if col > 0 {
                    out.push(',');
                }
                push_key(out, f.name);
                push_field(out, db, f, t.cell(row, col), owner, opts);
            }
        }
        Fields::Some(list) => {
            for (i, (key, path)) in list.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                push_key(out, key);
                let (pt, pc) = path.last();
                let f = &db.table_at(pt).schema.fields[pc];
                push_field(out, db, f, path.value(db, row), if path.is_direct() { owner } else { None }, opts);
            }
        }
    }
    out.push('}');
}
