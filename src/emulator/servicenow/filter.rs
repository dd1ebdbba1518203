//! Evaluating encoded queries against the tables: conditions are compiled once per request into
//! tests on interned symbols (a set of accepted symbols for `=`/`IN`, a lowercase needle for
//! `LIKE`…), so a scan of 100,000 rows is a tight loop over integer columns.

use std::borrow::Cow;
use std::cmp::Ordering;

use chrono::{DateTime, Utc};

use super::query::{self, Cond, Context, Op, OrderBy, Parsed};
use super::schema::FieldType;
use super::store::{Db, EMPTY, FxSet, RowId, Sym, Table, cmp_values};

/// A field reached from a table, possibly through references (`caller_id.department.name`).
#[derive(Debug, Clone)]
pub struct Path {
    /// `(table index, column)` of each reference followed, then of the final field.
    hops: Vec<(usize, usize)>,
}

impl Path {
    /// Resolves `field` (dot-walked) from `table`; `None` when any part is unknown.
    pub fn resolve(db: &Db, table: usize, field: &str) -> Option<Path> {
        let mut hops = Vec::new();
        let mut t = table;
        let mut parts = field.split('.').peekable();
        while let Some(part) = parts.next() {
            let schema = &db.table_at(t).schema;
            let col = schema.col(part)?;
            hops.push((t, col));
            if parts.peek().is_some() {
                let FieldType::Reference(target) = schema.fields[col].ty else { return None };
                // `task` references walk into the incident table's schema: every ticket table
                // shares the task fields, and the row lookup below finds the right table.
                let target = if target == "task" { "incident" } else { target };
                t = db.table_index(target)?;
            }
        }
        Some(Path { hops })
    }

    /// The field type at the end of the path.
    pub fn ty<'a>(&self, db: &'a Db) -> &'a FieldType {
        let (t, c) = self.last();
        &db.table_at(t).schema.fields[c].ty
    }

    /// `(table, column)` of the final field.
    pub fn last(&self) -> (usize, usize) {
        self.hops[self.hops.len() - 1]
    }

    /// True when the path is a plain column of its table.
    pub fn is_direct(&self) -> bool {
        self.hops.len() == 1
    }

    /// The value at the end of the path for `row` (empty when a reference on the way is empty
    /// or dangling).
    pub fn value(&self, db: &Db, row: RowId) -> Sym {
        let (t0, c0) = self.hops[0];
        let mut sym = db.table_at(t0).cell(row, c0);
        for i in 1..self.hops.len() {
            if sym == EMPTY {
                return EMPTY;
            }
            let (pt, pc) = self.hops[i - 1];
            let FieldType::Reference(target) = db.table_at(pt).schema.fields[pc].ty else { return EMPTY };
            let Some((nt, nrow)) = db.resolve(target, sym) else { return EMPTY };
            let (t, c) = self.hops[i];
            let col = if nt == t {
                c
            } else {
                // A `task` reference may land in any ticket table: find the field by name there.
                match db.table_at(nt).schema.col(db.table_at(t).schema.fields[c].name) {
                    Some(col) => col,
                    None => return EMPTY,
                }
            };
            sym = db.table_at(nt).cell(nrow, col);
        }
        sym
    }
}

/// The display value of a cell: choice label, referenced record's display field, else the value.
pub fn display<'a>(db: &'a Db, ty: &FieldType, sym: Sym) -> Cow<'a, str> {
    let value = db.strings.get(sym);
    match ty {
        FieldType::Choice { choices, .. } => {
            Cow::Borrowed(choices.iter().find(|c| c.value == value).map(|c| c.label).unwrap_or(value))
        }
        FieldType::Reference(target) => {
            if sym == EMPTY {
                return Cow::Borrowed("");
            }
            match db.resolve(target, sym) {
                Some((t, row)) => {
                    let table = db.table_at(t);
                    Cow::Borrowed(db.strings.get(table.cell(row, table.schema.display_col())))
                }
                // Dangling references (and `global`, the default domain) show their value.
                None => Cow::Borrowed(value),
            }
        }
        _ => Cow::Borrowed(value),
    }
}

#[derive(Debug)]
enum Test {
    /// Value in the set (`=`, `IN`); negated for `!=`/`NOT IN` (empty values then excluded
    /// for references and choices, included otherwise, as the operator reference describes).
    In {
        set: FxSet<Sym>,
        neg: bool,
        keep_empty_on_neg: bool,
    },
    Empty(bool),
    Text {
        kind: TextKind,
        needle: String,
        neg: bool,
        on_display: bool,
    },
    Cmp {
        ord: Ordering,
        or_equal: bool,
        rhs: String,
        numeric: bool,
    },
    Between {
        lo: String,
        hi: String,
        numeric: bool,
    },
    Field {
        other: Path,
        ords: &'static [Ordering],
        numeric: bool,
    },
    Const(bool),
}

#[derive(Debug, Clone, Copy)]
enum TextKind {
    Contains,
    Starts,
    Ends,
}

#[derive(Debug)]
enum Pred {
    Test(Path, Test),
    /// Keyword search over the text columns of the table.
    Search(usize, Vec<usize>, String),
}

/// A compiled query: OR of groups, each an AND of clauses, each an OR of predicates. An empty
/// list of groups matches everything.
#[derive(Debug)]
pub struct Filter {
    groups: Vec<Vec<Vec<Pred>>>,
    /// Sort keys that resolved.
    pub order: Vec<(Path, bool)>,
}

fn lower(s: &str) -> String {
    s.to_ascii_lowercase()
}

fn text_match(hay: &str, needle: &str, kind: TextKind) -> bool {
    let h = hay.as_bytes();
    let n = needle.as_bytes();
    if n.len() > h.len() {
        return false;
    }
    let eq = |a: &[u8]| a.iter().zip(n).all(|(x, y)| x.to_ascii_lowercase() == *y);
    match kind {
        TextKind::Starts => eq(&h[..n.len()]),
        TextKind::Ends => eq(&h[h.len() - n.len()..]),
        TextKind::Contains => n.is_empty() || h.windows(n.len()).any(eq),
    }
}

fn num_cmp(a: &str, b: &str, numeric: bool) -> Option<Ordering> {
    if numeric {
        let (x, y) = (a.parse::<f64>().ok()?, b.parse::<f64>().ok()?);
        x.partial_cmp(&y)
    } else {
        Some(a.cmp(b))
    }
}

/// Symbols a reference condition value stands for: the sys_id itself and the sys_ids of records
/// whose display value is the value (the platform accepts both).
fn reference_syms(db: &Db, target: &str, value: &str, out: &mut FxSet<Sym>) {
    if let Some(sym) = db.strings.lookup(value) {
        out.insert(sym);
        let tables: Vec<&str> = if target == "task" { super::schema::TASK_TABLES.to_vec() } else { vec![target] };
        for t in tables {
            let Some(table) = db.table(t) else { continue };
            let dcol = table.schema.display_col();
            let id_col = table.schema.col("sys_id").unwrap_or(0);
            for row in table.rows() {
                if table.cell(row, dcol) == sym {
                    out.insert(table.cell(row, id_col));
                }
            }
        }
    }
}

/// Operators that an empty value never satisfies: a dot-walked condition with one of them can
/// be answered by the referenced records alone (a semi-join).
fn positive(c: &Cond) -> bool {
    matches!(
        c.op,
        Op::Eq
            | Op::In
            | Op::Like
            | Op::StartsWith
            | Op::EndsWith
            | Op::Lt
            | Op::Le
            | Op::Gt
            | Op::Ge
            | Op::Between
            | Op::IsNotEmpty
    ) && !(matches!(c.op, Op::Eq | Op::Like | Op::StartsWith | Op::EndsWith) && c.value.is_empty())
}

/// `ref.rest OP value` as "ref is one of the records matching `rest OP value`": one pass over
/// the (small) referenced table instead of a reference lookup per row.
fn semi_join(db: &Db, table: usize, c: &Cond, ctx: &Context<'_>) -> Option<Pred> {
    let (head, rest) = c.field.split_once('.')?;
    let schema = &db.table_at(table).schema;
    let col = schema.col(head)?;
    let FieldType::Reference(target) = schema.fields[col].ty else { return None };
    let targets: Vec<&str> = if target == "task" { super::schema::TASK_TABLES.to_vec() } else { vec![target] };
    let mut set = FxSet::default();
    for t in targets {
        let ti = db.table_index(t)?;
        let sub = Cond { field: rest.to_string(), op: c.op.clone(), value: c.value.clone() };
        let filter = Filter { groups: vec![vec![vec![compile_cond(db, ti, &sub, ctx)?]]], order: Vec::new() };
        let id_col = db.table_at(ti).schema.col("sys_id")?;
        for row in filter.run(db, ti) {
            set.insert(db.table_at(ti).cell(row, id_col));
        }
    }
    Some(Pred::Test(Path { hops: vec![(table, col)] }, Test::In { set, neg: false, keep_empty_on_neg: false }))
}

fn compile_cond(db: &Db, table: usize, c: &Cond, ctx: &Context<'_>) -> Option<Pred> {
    let t = db.table_at(table);
    if c.field.contains('.') && positive(c) {
        if let Some(p) = semi_join(db, table, c, ctx) {
            return Some(p);
        }
    }
    if c.op == Op::TextSearch {
        let cols = t
            .schema
            .fields
            .iter()
            .enumerate()
            .filter(|(_, f)| matches!(f.ty, FieldType::String) && f.name != "sys_tags")
            .map(|(i, _)| i)
            .collect();
        return Some(Pred::Search(table, cols, lower(&c.value)));
    }
    let path = Path::resolve(db, table, &c.field)?;
    let ty = path.ty(db).clone();
    let is_ref = matches!(ty, FieldType::Reference(_));
    let is_choice = matches!(ty, FieldType::Choice { .. });
    let numeric = ty.is_numeric();
    let value = |raw: &str| query::resolve_value(raw, ctx);
    let syms = |values: &[String]| -> FxSet<Sym> {
        let mut set = FxSet::default();
        for v in values {
            if let FieldType::Reference(target) = ty {
                reference_syms(db, target, v, &mut set);
            } else if let Some(sym) = db.strings.lookup(v) {
                set.insert(sym);
            } else if ty.is_numeric() || matches!(ty, FieldType::Boolean) {
                // `priority=01` or `active=TRUE` mean the same value.
                let norm = if let Ok(n) = v.parse::<i64>() { n.to_string() } else { v.to_ascii_lowercase() };
                if let Some(sym) = db.strings.lookup(&norm) {
                    set.insert(sym);
                }
            }
        }
        set
    };
    let test = match c.op {
        Op::Eq | Op::Ne => {
            let v = value(&c.value)?;
            Test::In { set: syms(&[v]), neg: c.op == Op::Ne, keep_empty_on_neg: !(is_ref || is_choice) }
        }
        Op::In | Op::NotIn => {
            let vals: Option<Vec<String>> = c.value.split(',').map(|v| value(v.trim())).collect();
            Test::In { set: syms(&vals?), neg: c.op == Op::NotIn, keep_empty_on_neg: false }
        }
        Op::Dynamic => {
            // The stock "Me" dynamic filter options; any other dynamic filter is unknown here.
            const ME: [&str; 2] = ["90d1921e5f510100a9ad2572f2b477fe", "54635e965f510100a9ad2572f2b4774c"];
            if !ME.contains(&c.value.as_str()) {
                return None;
            }
            Test::In { set: syms(&[ctx.user_sys_id.to_string()]), neg: false, keep_empty_on_neg: false }
        }
        Op::IsEmpty | Op::EmptyString => Test::Empty(false),
        Op::IsNotEmpty => Test::Empty(true),
        Op::Anything => Test::Const(true),
        Op::Like | Op::NotLike | Op::StartsWith | Op::EndsWith => {
            let kind = match c.op {
                Op::StartsWith => TextKind::Starts,
                Op::EndsWith => TextKind::Ends,
                _ => TextKind::Contains,
            };
            Test::Text { kind, needle: lower(&value(&c.value)?), neg: c.op == Op::NotLike, on_display: is_ref }
        }
        Op::Lt | Op::Le | Op::Gt | Op::Ge => {
            let ord = if matches!(c.op, Op::Lt | Op::Le) { Ordering::Less } else { Ordering::Greater };
            Test::Cmp { ord, or_equal: matches!(c.op, Op::Le | Op::Ge), rhs: value(&c.value)?, numeric }
        }
        Op::Between => {
            let (lo, hi) = c.value.split_once('@')?;
            Test::Between { lo: value(lo)?, hi: value(hi)?, numeric }
        }
        Op::On => {
            let mut parts = c.value.splitn(3, '@');
            let _label = parts.next()?;
            Test::Between { lo: value(parts.next()?)?, hi: value(parts.next()?)?, numeric: false }
        }
        Op::NotOn => return None,
        Op::RelativeGt | Op::RelativeLt => {
            let at = query::relative_instant(&c.value, ctx.now)?.format(query::DATE_TIME).to_string();
            let ord = if c.op == Op::RelativeGt { Ordering::Greater } else { Ordering::Less };
            Test::Cmp { ord, or_equal: false, rhs: at, numeric: false }
        }
        Op::SameAs | Op::NSameAs | Op::GtField | Op::LtField | Op::GeField | Op::LeField => {
            let other = Path::resolve(db, table, &c.value)?;
            let ords: &'static [Ordering] = match c.op {
                Op::SameAs => &[Ordering::Equal],
                Op::NSameAs => &[Ordering::Less, Ordering::Greater],
                Op::GtField => &[Ordering::Greater],
                Op::LtField => &[Ordering::Less],
                Op::GeField => &[Ordering::Greater, Ordering::Equal],
                _ => &[Ordering::Less, Ordering::Equal],
            };
            Test::Field { other, ords, numeric }
        }
        Op::TextSearch | Op::Invalid => return None,
    };
    Some(Pred::Test(path, test))
}

impl Filter {
    /// Compiles a parsed query for `table`. Invalid conditions are dropped (the platform's
    /// default); a group left empty by that is dropped too unless it was the only one.
    pub fn compile(db: &Db, table: usize, parsed: &Parsed, ctx: &Context<'_>) -> Filter {
        let mut groups = Vec::new();
        for group in &parsed.groups {
            let mut clauses = Vec::new();
            for clause in group {
                let mut preds = Vec::new();
                for c in clause {
                    if c.op == Op::NotOn {
                        // Expand NOTON into two predicates OR-ed in this clause.
                        let mut parts = c.value.splitn(3, '@');
                        let _ = parts.next();
                        let bounds = parts
                            .next()
                            .and_then(|lo| query::resolve_value(lo, ctx))
                            .zip(parts.next().and_then(|hi| query::resolve_value(hi, ctx)));
                        if let (Some((lo, hi)), Some(path)) = (bounds, Path::resolve(db, table, &c.field)) {
                            preds.push(Pred::Test(
                                path.clone(),
                                Test::Cmp { ord: Ordering::Less, or_equal: false, rhs: lo, numeric: false },
                            ));
                            preds.push(Pred::Test(
                                path,
                                Test::Cmp { ord: Ordering::Greater, or_equal: false, rhs: hi, numeric: false },
                            ));
                        }
                        continue;
                    }
                    if let Some(p) = compile_cond(db, table, c, ctx) {
                        preds.push(p);
                    }
                }
                if !preds.is_empty() {
                    clauses.push(preds);
                }
            }
            groups.push(clauses);
        }
        // A group whose every condition was invalid would match everything; drop it when other
        // groups remain so `a=1^NQbogus=2` does not turn into "all rows".
        if groups.len() > 1 {
            groups.retain(|g: &Vec<Vec<Pred>>| !g.is_empty());
        }
        let order = parsed
            .order
            .iter()
            .filter_map(|OrderBy { field, desc }| Path::resolve(db, table, field).map(|p| (p, *desc)))
            .collect();
        Filter { groups, order }
    }

    /// Whether `row` matches.
    pub fn matches(&self, db: &Db, row: RowId) -> bool {
        if self.groups.is_empty() {
            return true;
        }
        self.groups.iter().any(|g| g.iter().all(|clause| clause.iter().any(|p| eval(db, p, row))))
    }

    /// Rows that can match, from an equality index, when one AND-ed condition is `=`/`IN` on
    /// an indexed column (journal entries of a record, approvals of a document…).
    fn candidates(&self, db: &Db, table: usize) -> Option<Vec<RowId>> {
        let [group] = self.groups.as_slice() else { return None };
        let t = db.table_at(table);
        for clause in group {
            let [Pred::Test(path, Test::In { set, neg: false, .. })] = clause.as_slice() else { continue };
            let (_, col) = path.last();
            if path.is_direct() && t.is_indexed(col) {
                let mut rows: Vec<RowId> = set.iter().flat_map(|&sym| t.indexed_rows(col, sym)).collect();
                rows.sort_unstable();
                rows.dedup();
                return Some(rows);
            }
        }
        None
    }

    /// Matching rows of `table` in the requested order (storage order when unsorted).
    pub fn run(&self, db: &Db, table: usize) -> Vec<RowId> {
        let t = db.table_at(table);
        if let Some(cands) = self.candidates(db, table) {
            let mut rows: Vec<RowId> = cands.into_iter().filter(|&r| self.matches(db, r)).collect();
            self.sort(db, &mut rows);
            return rows;
        }
        match self.order.as_slice() {
            [] => t.rows().filter(|&r| self.matches(db, r)).collect(),
            [(path, desc)] if path.is_direct() && !matches!(path.ty(db), FieldType::Reference(_)) => {
                let (_, col) = path.last();
                let order = t.sorted_by(col, &db.strings);
                let (lo, hi) = self.range_on(db, t, col, &order);
                let mut rows: Vec<RowId> = order[lo..hi].iter().copied().filter(|&r| self.matches(db, r)).collect();
                if *desc {
                    reverse_keeping_ties(t, col, &mut rows);
                }
                rows
            }
            _ => {
                let mut rows: Vec<RowId> = t.rows().filter(|&r| self.matches(db, r)).collect();
                self.sort(db, &mut rows);
                rows
            }
        }
    }

    /// The slice of a column's sorted order that range conditions AND-ed on that same column
    /// allow (`sys_updated_on>=…^ORDERBYsys_updated_on`: a sync reads only what changed).
    fn range_on(&self, db: &Db, t: &Table, col: usize, order: &[RowId]) -> (usize, usize) {
        let (mut lo, mut hi) = (0, order.len());
        let [group] = self.groups.as_slice() else { return (lo, hi) };
        let ty = &t.schema.fields[col].ty;
        let cmp = |row: RowId, rhs: &str| -> Ordering {
            let v = db.strings.get(t.cell(row, col));
            if ty.is_numeric() {
                match (v.parse::<f64>(), rhs.parse::<f64>()) {
                    (Ok(a), Ok(b)) => a.partial_cmp(&b).unwrap_or(Ordering::Equal),
                    (Err(_), Ok(_)) => Ordering::Less,
                    (Ok(_), Err(_)) => Ordering::Greater,
                    _ => v.cmp(rhs),
                }
            } else {
                v.cmp(rhs)
            }
        };
        for clause in group {
            let [Pred::Test(path, test)] = clause.as_slice() else { continue };
            if !path.is_direct() || path.last().1 != col {
                continue;
            }
            match test {
                Test::Cmp { ord: Ordering::Greater, or_equal, rhs, .. } => {
                    let p = order.partition_point(|&r| match cmp(r, rhs) {
                        Ordering::Less => true,
                        Ordering::Equal => !*or_equal,
                        Ordering::Greater => false,
                    });
                    lo = lo.max(p);
                }
                Test::Cmp { ord: Ordering::Less, or_equal, rhs, .. } => {
                    let p = order.partition_point(|&r| match cmp(r, rhs) {
                        Ordering::Less => true,
                        Ordering::Equal => *or_equal,
                        Ordering::Greater => false,
                    });
                    hi = hi.min(p);
                }
                Test::Between { lo: a, hi: b, .. } => {
                    lo = lo.max(order.partition_point(|&r| cmp(r, a) == Ordering::Less));
                    hi = hi.min(order.partition_point(|&r| cmp(r, b) != Ordering::Greater));
                }
                _ => {}
            }
        }
        (lo, hi.max(lo))
    }

    fn sort(&self, db: &Db, rows: &mut [RowId]) {
        if self.order.is_empty() {
            return;
        }
        // Ties fall back to row order in the direction of the first key, like the cached orders.
        let first_desc = self.order.first().is_some_and(|(_, d)| *d);
        rows.sort_by(|&a, &b| {
            for (path, desc) in &self.order {
                let o = compare_path(db, path, a, b);
                let o = if *desc { o.reverse() } else { o };
                if o != Ordering::Equal {
                    return o;
                }
            }
            if first_desc { b.cmp(&a) } else { a.cmp(&b) }
        });
    }

    /// Number of matching rows.
    pub fn count(&self, db: &Db, table: usize) -> usize {
        match self.candidates(db, table) {
            Some(c) => c.into_iter().filter(|&r| self.matches(db, r)).count(),
            None => db.table_at(table).rows().filter(|&r| self.matches(db, r)).count(),
        }
    }
}

/// Descending order: the ascending order reversed (equal keys newest row first, as an index
/// scan backwards gives them).
fn reverse_keeping_ties(_t: &Table, _col: usize, rows: &mut [RowId]) {
    rows.reverse();
}

/// Compares two rows by a path: references by their display value, others by value.
pub fn compare_path(db: &Db, path: &Path, a: RowId, b: RowId) -> Ordering {
    let ty = path.ty(db);
    let (va, vb) = (path.value(db, a), path.value(db, b));
    if let FieldType::Reference(_) = ty {
        return display(db, ty, va).cmp(&display(db, ty, vb));
    }
    cmp_values(ty, &db.strings, va, vb)
}

fn eval(db: &Db, pred: &Pred, row: RowId) -> bool {
    match pred {
        Pred::Search(table, cols, needle) => {
            let t = db.table_at(*table);
            cols.iter().any(|&c| text_match(db.strings.get(t.cell(row, c)), needle, TextKind::Contains))
        }
        Pred::Test(path, test) => {
            let sym = path.value(db, row);
            match test {
                Test::In { set, neg, keep_empty_on_neg } => {
                    if *neg {
                        !set.contains(&sym) && (sym != EMPTY || *keep_empty_on_neg)
                    } else {
                        set.contains(&sym)
                    }
                }
                Test::Empty(not) => (sym != EMPTY) == *not,
                Test::Const(b) => *b,
                Test::Text { kind, needle, neg, on_display } => {
                    let hit = if *on_display {
                        text_match(&display(db, path.ty(db), sym), needle, *kind)
                    } else {
                        text_match(db.strings.get(sym), needle, *kind)
                    };
                    hit != *neg
                }
                Test::Cmp { ord, or_equal, rhs, numeric } => {
                    if sym == EMPTY {
                        return false;
                    }
                    match num_cmp(db.strings.get(sym), rhs, *numeric) {
                        Some(o) => o == *ord || (*or_equal && o == Ordering::Equal),
                        None => false,
                    }
                }
                Test::Between { lo, hi, numeric } => {
                    if sym == EMPTY {
                        return false;
                    }
                    let v = db.strings.get(sym);
                    matches!(num_cmp(v, lo, *numeric), Some(Ordering::Greater | Ordering::Equal))
                        && matches!(num_cmp(v, hi, *numeric), Some(Ordering::Less | Ordering::Equal))
                }
                Test::Field { other, ords, numeric } => {
                    let o = other.value(db, row);
                    if *numeric {
                        num_cmp(db.strings.get(sym), db.strings.get(o), true).is_some_and(|c| ords.contains(&c))
                    } else {
                        ords.contains(&db.strings.get(sym).cmp(db.strings.get(o)))
                    }
                }
            }
        }
    }
}

/// The "now" used by queries and writes.
pub fn now_string(now: DateTime<Utc>) -> String {
    now.format(query::DATE_TIME).to_string()
}
