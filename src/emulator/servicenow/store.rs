//! The table engine's storage: interned strings in columns, a sys_id index per table, and
//! sort orders kept up to date on every write so a sorted list page of a 100,000-row table costs
//! one pass, not a sort.
//!
//! Every ServiceNow value is a string on the wire, so every cell is a [`Sym`]: an index into one
//! interner shared by all tables. Equal strings share one symbol, so equality is an integer
//! comparison and the hundred mostly-empty fields of a ticket cost four bytes each.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::schema::{FieldType, TableSchema};

/// An interned string.
pub type Sym = u32;

/// The symbol of the empty string.
pub const EMPTY: Sym = 0;

/// HashMap with foldhash's fixed-seed hasher: the world build hashes millions of short strings,
/// where SipHash's DoS resistance buys nothing, and a fixed seed keeps runs identical.
pub type FxMap<K, V> = HashMap<K, V, foldhash::fast::FixedState>;

/// HashSet with the same hasher.
pub type FxSet<T> = std::collections::HashSet<T, foldhash::fast::FixedState>;

/// One copy of every string any table holds.
pub struct Interner {
    map: FxMap<Arc<str>, Sym>,
    strs: Vec<Arc<str>>,
}

impl Interner {
    fn new() -> Self {
        let mut i = Interner { map: FxMap::default(), strs: Vec::new() };
        i.intern("");
        i
    }

    /// Makes room for `n` more strings at once (the world build knows roughly how many).
    pub fn reserve(&mut self, n: usize) {
        self.map.reserve(n);
        self.strs.reserve(n);
    }

    /// The symbol for `s`, adding it if new.
    pub fn intern(&mut self, s: &str) -> Sym {
        if let Some(&sym) = self.map.get(s) {
            return sym;
        }
        let arc: Arc<str> = Arc::from(s);
        let sym = self.strs.len() as Sym;
        self.strs.push(arc.clone());
        self.map.insert(arc, sym);
        sym
    }

    /// The symbol for `s` if some cell ever held it.
    pub fn lookup(&self, s: &str) -> Option<Sym> {
        self.map.get(s).copied()
    }

    /// The string of a symbol.
    pub fn get(&self, sym: Sym) -> &str {
        self.strs.get(sym as usize).map(|s| &**s).unwrap_or("")
    }
}

/// A row position inside a table (stable: deleted rows leave a hole).
pub type RowId = u32;

/// One table: columns of symbols, liveness, a sys_id index and cached sort orders.
pub struct Table {
    /// The table's fields.
    pub schema: Arc<TableSchema>,
    cols: Vec<Vec<Sym>>,
    live: Vec<bool>,
    live_count: usize,
    by_sys_id: FxMap<Sym, RowId>,
    /// Cached ascending orders per column (ties broken by row id), built on first use and
    /// maintained on every write afterwards.
    sorted: Mutex<FxMap<usize, Arc<Vec<RowId>>>>,
    /// Equality indexes (column → value → rows) for the columns lookups go through:
    /// journal entries by record, approvals by document, users by user name.
    indexes: FxMap<usize, FxMap<Sym, Vec<RowId>>>,
    /// Highest number issued so far (for `INC0010001`-style numbers).
    pub last_number: u64,
}

impl Table {
    fn new(schema: TableSchema) -> Self {
        let n = schema.fields.len();
        Table {
            schema: Arc::new(schema),
            cols: vec![Vec::new(); n],
            live: Vec::new(),
            live_count: 0,
            by_sys_id: FxMap::default(),
            sorted: Mutex::new(FxMap::default()),
            indexes: FxMap::default(),
            last_number: 0,
        }
    }

    /// Makes room for `n` more rows.
    pub fn reserve(&mut self, n: usize) {
        for c in &mut self.cols {
            c.reserve(n);
        }
        self.live.reserve(n);
        self.by_sys_id.reserve(n);
    }

    /// The table name.
    pub fn name(&self) -> &'static str {
        self.schema.name
    }

    /// Number of live rows.
    pub fn len(&self) -> usize {
        self.live_count
    }

    /// True when the table holds no live rows.
    pub fn is_empty(&self) -> bool {
        self.live_count == 0
    }

    /// One past the highest row id ever used.
    pub fn capacity(&self) -> usize {
        self.live.len()
    }

    /// Whether `row` exists and was not deleted.
    pub fn is_live(&self, row: RowId) -> bool {
        self.live.get(row as usize).copied().unwrap_or(false)
    }

    /// Live row ids in storage (insertion) order.
    pub fn rows(&self) -> impl Iterator<Item = RowId> + '_ {
        self.live.iter().enumerate().filter(|(_, l)| **l).map(|(i, _)| i as RowId)
    }

    /// The cell of `row` in column `col`.
    #[inline]
    pub fn cell(&self, row: RowId, col: usize) -> Sym {
        self.cols[col][row as usize]
    }

    /// The row holding `sys_id`.
    pub fn find(&self, sys_id: Sym) -> Option<RowId> {
        self.by_sys_id.get(&sys_id).copied()
    }

    fn sys_id_col(&self) -> usize {
        self.schema.col("sys_id").unwrap_or(0)
    }

    /// Appends a row (cells in schema order). The caller guarantees a fresh sys_id.
    pub fn push(&mut self, cells: Vec<Sym>, strings: &Interner) -> RowId {
        debug_assert_eq!(cells.len(), self.cols.len());
        let row = self.live.len() as RowId;
        let id_col = self.sys_id_col();
        self.by_sys_id.insert(cells[id_col], row);
        for (col, index) in self.indexes.iter_mut() {
            index.entry(cells[*col]).or_default().push(row);
        }
        for (col, sym) in cells.into_iter().enumerate() {
            self.cols[col].push(sym);
        }
        self.live.push(true);
        self.live_count += 1;
        let sorted = self.sorted.get_mut().unwrap_or_else(|e| e.into_inner());
        for (col, order) in sorted.iter_mut() {
            let order = Arc::make_mut(order);
            let pos = order.partition_point(|&r| cmp_rows(&self.schema, &self.cols, strings, *col, r, row).is_lt());
            order.insert(pos, row);
        }
        row
    }

    /// Sets one cell, keeping the sort orders right.
    pub fn set(&mut self, row: RowId, col: usize, sym: Sym, strings: &Interner) {
        let old = self.cols[col][row as usize];
        if old == sym {
            return;
        }
        if let Some(index) = self.indexes.get_mut(&col) {
            if let Some(rows) = index.get_mut(&old) {
                rows.retain(|&r| r != row);
            }
            let rows = index.entry(sym).or_default();
            let pos = rows.partition_point(|&r| r < row);
            rows.insert(pos, row);
        }
        let sorted = self.sorted.get_mut().unwrap_or_else(|e| e.into_inner());
        let mut order = sorted.remove(&col);
        if let Some(order) = order.as_mut() {
            let order = Arc::make_mut(order);
            if let Some(pos) = position(&self.schema, &self.cols, strings, order, col, row) {
                order.remove(pos);
            }
        }
        self.cols[col][row as usize] = sym;
        if let Some(mut order) = order {
            let o = Arc::make_mut(&mut order);
            let pos = o.partition_point(|&r| cmp_rows(&self.schema, &self.cols, strings, col, r, row).is_lt());
            o.insert(pos, row);
            sorted.insert(col, order);
        }
    }

    /// Deletes a row.
    pub fn delete(&mut self, row: RowId, strings: &Interner) {
        if !self.is_live(row) {
            return;
        }
        let sorted = self.sorted.get_mut().unwrap_or_else(|e| e.into_inner());
        for (col, order) in sorted.iter_mut() {
            let order = Arc::make_mut(order);
            if let Some(pos) = position(&self.schema, &self.cols, strings, order, *col, row) {
                order.remove(pos);
            }
        }
        for (col, index) in self.indexes.iter_mut() {
            if let Some(rows) = index.get_mut(&self.cols[*col][row as usize]) {
                rows.retain(|&r| r != row);
            }
        }
        let id = self.cols[self.sys_id_col()][row as usize];
        self.by_sys_id.remove(&id);
        self.live[row as usize] = false;
        self.live_count -= 1;
    }

    /// Keeps an equality index on `col` from now on.
    pub fn add_index(&mut self, col: usize) {
        let mut index: FxMap<Sym, Vec<RowId>> = FxMap::default();
        for row in self.rows() {
            index.entry(self.cell(row, col)).or_default().push(row);
        }
        self.indexes.insert(col, index);
    }

    /// Whether `col` has an equality index.
    pub fn is_indexed(&self, col: usize) -> bool {
        self.indexes.contains_key(&col)
    }

    /// Live rows whose `col` holds `sym`, in row order (an index lookup when there is one).
    pub fn indexed_rows(&self, col: usize, sym: Sym) -> Vec<RowId> {
        match self.indexes.get(&col) {
            Some(index) => index.get(&sym).cloned().unwrap_or_default(),
            None => self.rows().filter(|&r| self.cell(r, col) == sym).collect(),
        }
    }

    /// Live rows sorted ascending by `col` (ties by row id), cached.
    pub fn sorted_by(&self, col: usize, strings: &Interner) -> Arc<Vec<RowId>> {
        let mut cache = self.sorted.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(order) = cache.get(&col) {
            return order.clone();
        }
        let mut order: Vec<RowId> = self.rows().collect();
        order.sort_by(|&a, &b| cmp_rows(&self.schema, &self.cols, strings, col, a, b));
        let order = Arc::new(order);
        cache.insert(col, order.clone());
        order
    }

    /// Compares two rows by one column the way ORDERBY does.
    pub fn compare(&self, strings: &Interner, col: usize, a: RowId, b: RowId) -> Ordering {
        cmp_values(&self.schema.fields[col].ty, strings, self.cell(a, col), self.cell(b, col))
    }
}

/// Orders two values of a field: numbers numerically (empty first), everything else as
/// strings — `yyyy-MM-dd HH:mm:ss` dates sort correctly as strings.
pub fn cmp_values(ty: &FieldType, strings: &Interner, a: Sym, b: Sym) -> Ordering {
    if a == b {
        return Ordering::Equal;
    }
    let (sa, sb) = (strings.get(a), strings.get(b));
    if ty.is_numeric() {
        match (sa.parse::<f64>(), sb.parse::<f64>()) {
            (Ok(x), Ok(y)) => return x.partial_cmp(&y).unwrap_or(Ordering::Equal),
            (Err(_), Ok(_)) => return Ordering::Less,
            (Ok(_), Err(_)) => return Ordering::Greater,
            _ => {}
        }
    }
    sa.cmp(sb)
}

fn cmp_rows(schema: &TableSchema, cols: &[Vec<Sym>], strings: &Interner, col: usize, a: RowId, b: RowId) -> Ordering {
    cmp_values(&schema.fields[col].ty, strings, cols[col][a as usize], cols[col][b as usize]).then(a.cmp(&b))
}

fn position(
    schema: &TableSchema,
    cols: &[Vec<Sym>],
    strings: &Interner,
    order: &[RowId],
    col: usize,
    row: RowId,
) -> Option<usize> {
    let pos = order.partition_point(|&r| cmp_rows(schema, cols, strings, col, r, row).is_lt());
    (order.get(pos) == Some(&row)).then_some(pos)
}

/// Every table and the shared strings.
pub struct Db {
    /// The strings every cell points into.
    pub strings: Interner,
    tables: Vec<Table>,
    index: HashMap<&'static str, usize>,
}

impl Db {
    /// Empty tables for every schema.
    pub fn new(schemas: Vec<TableSchema>) -> Self {
        let tables: Vec<Table> = schemas.into_iter().map(Table::new).collect();
        let index = tables.iter().enumerate().map(|(i, t)| (t.name(), i)).collect();
        Db { strings: Interner::new(), tables, index }
    }

    /// The table named `name`.
    pub fn table(&self, name: &str) -> Option<&Table> {
        self.index.get(name).map(|&i| &self.tables[i])
    }

    /// Index of a table, for the mutable accessors.
    pub fn table_index(&self, name: &str) -> Option<usize> {
        self.index.get(name).copied()
    }

    /// The table at an index.
    pub fn table_at(&self, i: usize) -> &Table {
        &self.tables[i]
    }

    /// Every table in schema order.
    pub fn tables(&self) -> &[Table] {
        &self.tables
    }

    /// Appends a row given as `(field, value)` pairs; missing fields are empty.
    pub fn insert(&mut self, table: usize, values: &[(&str, &str)]) -> RowId {
        let mut cells = vec![EMPTY; self.tables[table].schema.fields.len()];
        for (name, value) in values {
            if let Some(col) = self.tables[table].schema.col(name) {
                cells[col] = self.strings.intern(value);
            }
        }
        self.push_cells(table, cells)
    }

    /// Appends a row of already interned cells.
    pub fn push_cells(&mut self, table: usize, cells: Vec<Sym>) -> RowId {
        let Db { strings, tables, .. } = self;
        tables[table].push(cells, strings)
    }

    /// Sets a cell to a string.
    pub fn set(&mut self, table: usize, row: RowId, col: usize, value: &str) {
        let sym = self.strings.intern(value);
        let Db { strings, tables, .. } = self;
        tables[table].set(row, col, sym, strings);
    }

    /// Deletes a row.
    pub fn delete(&mut self, table: usize, row: RowId) {
        let Db { strings, tables, .. } = self;
        tables[table].delete(row, strings);
    }

    /// Adds an equality index on `table.field`.
    pub fn add_index(&mut self, table: &str, field: &str) {
        let Some(t) = self.table_index(table) else { return };
        if let Some(col) = self.tables[t].schema.col(field) {
            self.tables[t].add_index(col);
        }
    }

    /// Mutable access to a table's bookkeeping (numbers).
    pub fn table_mut(&mut self, table: usize) -> &mut Table {
        &mut self.tables[table]
    }

    /// The string in a cell.
    pub fn value(&self, table: usize, row: RowId, col: usize) -> &str {
        self.strings.get(self.tables[table].cell(row, col))
    }

    /// Looks a record up by sys_id in `table`; for `task`, in every ticket table.
    pub fn resolve(&self, table: &str, sys_id: Sym) -> Option<(usize, RowId)> {
        if table == "task" {
            return super::schema::TASK_TABLES.iter().find_map(|t| {
                let ti = self.table_index(t)?;
                Some((ti, self.tables[ti].find(sys_id)?))
            });
        }
        let ti = self.table_index(table)?;
        Some((ti, self.tables[ti].find(sys_id)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulator::servicenow::schema;

    fn db() -> (Db, usize) {
        let db = Db::new(schema::all());
        let t = db.table_index("sys_user_group").unwrap();
        (db, t)
    }

    #[test]
    fn sort_orders_follow_inserts_updates_and_deletes() {
        let (mut db, t) = db();
        let name = db.table_at(t).schema.col("name").unwrap();
        for (i, n) in ["m", "c", "x"].iter().enumerate() {
            db.insert(t, &[("sys_id", &format!("{i:032x}")), ("name", n)]);
        }
        let names = |db: &Db| -> Vec<String> {
            let order = db.table_at(t).sorted_by(name, &db.strings);
            order.iter().map(|&r| db.value(t, r, name).to_string()).collect()
        };
        assert_eq!(names(&db), ["c", "m", "x"]);
        db.insert(t, &[("sys_id", &format!("{:032x}", 9)), ("name", "a")]);
        assert_eq!(names(&db), ["a", "c", "m", "x"]);
        db.set(t, 0, name, "z");
        assert_eq!(names(&db), ["a", "c", "x", "z"]);
        db.delete(t, 1);
        assert_eq!(names(&db), ["a", "x", "z"]);
        assert_eq!(db.table_at(t).len(), 3);
    }

    #[test]
    fn numbers_sort_numerically() {
        let (mut db, _) = db();
        let t = db.table_index("incident").unwrap();
        let pri = db.table_at(t).schema.col("reassignment_count").unwrap();
        for (i, n) in ["10", "9", "", "100"].iter().enumerate() {
            db.insert(t, &[("sys_id", &format!("{i:032x}")), ("reassignment_count", n)]);
        }
        let order = db.table_at(t).sorted_by(pri, &db.strings);
        let got: Vec<_> = order.iter().map(|&r| db.value(t, r, pri)).collect();
        assert_eq!(got, ["", "9", "10", "100"]);
    }
}
