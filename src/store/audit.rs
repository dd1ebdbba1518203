//! The audit log in the store: appends that keep one linear chain even with several writers,
//! verification, listing and export.

use std::io::Write;

use chrono::{DateTime, SecondsFormat, Utc};
use futures::TryStreamExt as _;
use serde_json::{Value, json};

use super::{QueryContext as _, Store, StoreError, WriteTx, on_pool, on_tx};
use crate::domain::audit::{
    AuditEvent, AuditRecord, ChainBreak, ChainHash, ChainVerifier, Checkpoint, RecordRef, seal_chain,
};

/// Key of the PostgreSQL advisory lock that serialises audit appends across every console
/// sharing the database ("grantdk" in ASCII).
pub(crate) const AUDIT_LOCK_KEY: i64 = 0x0067_7261_6e74_646b;

/// Below this many events one sequential pass is quicker than starting parallel segments.
const PARALLEL_THRESHOLD: i64 = 20_000;

/// Records per aggregated fetch on the verification fast path: texts of some 100 kB, which the
/// allocators reuse from one fetch to the next (at 10,000 — several MB — every fetch had fresh
/// pages zeroed by the kernel: a fifth of the time).
const VERIFY_CHUNK: i64 = 1_000;

/// Separates the values of one column in [`COLUMNS_SQLITE`]'s aggregates: the ASCII unit
/// separator, which canonical JSON never holds raw and real names and ids do not. A literal for
/// `concat!`, so the queries and the splitter ([`UNIT`]) cannot disagree.
macro_rules! unit {
    () => {
        "\u{1f}"
    };
}

/// [`unit!`] as the byte the splitter looks for.
const UNIT: u8 = unit!().as_bytes()[0];

/// The verification query for one backend: the count, then `$agg(column, US$order)` for the
/// time (as `$time`), the eight text fields and the two hashes, over records `$1..=$2`.
macro_rules! aggregated_columns {
    ($agg:literal, $order:literal, $time:literal) => {
        aggregated_columns!(@ $agg, $order; $time, "a.operator", "action", "subject", "object", "ticket",
            "request_id", "outcome", "details", "prev_hash", "hash")
    };
    (@ $agg:literal, $order:literal; $($col:literal),+) => {
        concat!(
            "SELECT count(*)",
            $(", ", $agg, "(", $col, ", '", unit!(), "'", $order, ")",)*
            " FROM audit_log a WHERE seq >= $1 AND seq <= $2"
        )
    };
}

/// Records `$1..=$2` column by column: their count, then each column's values joined by
/// [`unit!`], in rowid (= seq) order — every aggregate of one query reads the rows in the same
/// pass. The database appends each value to its column's text and does nothing else per row:
/// building one text per record (lengths, separators, `concat`) cost it twice as much.
///
/// A value holding the separator only adds pieces: each row contributes exactly one value per
/// column, so a column split into more pieces than the count fails the fast path (which falls
/// back to the exact one), and can never be misread as another row's value.
const COLUMNS_SQLITE: &str = aggregated_columns!("group_concat", "", "time_us");

/// The same for PostgreSQL, which needs the order spelled out (and `operator` qualified).
const COLUMNS_POSTGRES: &str = aggregated_columns!("string_agg", " ORDER BY seq", "time_us::text");

/// The aggregated columns of [`COLUMNS_SQLITE`] after the count: time, the eight text fields,
/// prev_hash, hash.
const AGGREGATED: usize = 11;

/// One segment of the parallel verification: records must follow each other from `lo` on.
struct Segment {
    lo: u64,
    verifier: Option<ChainVerifier>,
    first_prev: ChainHash,
    last: Option<(u64, ChainHash)>,
}

impl Segment {
    fn new(lo: i64) -> Segment {
        Segment { lo: u64::try_from(lo).unwrap_or(0), verifier: None, first_prev: ChainHash::GENESIS, last: None }
    }

    /// Whether the next record continues the segment's chain.
    fn check(&mut self, record: &RecordRef<'_>) -> bool {
        let first_prev = &mut self.first_prev;
        let v = self.verifier.get_or_insert_with(|| {
            *first_prev = record.prev_hash;
            ChainVerifier::for_segment(self.lo, record.prev_hash)
        });
        if !v.check_ref(record) {
            return false;
        }
        self.last = Some((record.seq, record.hash));
        true
    }

    /// Whether records `from..=to`, as [`COLUMNS_SQLITE`] returns them (`count`, then each
    /// column's joined values), continue the chain.
    fn check_columns(&mut self, from: i64, to: i64, count: i64, columns: [Option<&str>; AGGREGATED]) -> bool {
        if count != to - from + 1 {
            return false;
        }
        let Some(first) = u64::try_from(from).ok() else { return false };
        let mut pieces = columns.map(|c| c.map(|text| Pieces(Some(text))));
        let mut next = |k: usize| pieces[k].as_mut().and_then(Iterator::next);
        for seq in first..first + count as u64 {
            let record = (|| {
                let time_us = next(0)?.parse().ok()?;
                let mut fields = [""; 8];
                for (k, f) in fields.iter_mut().enumerate() {
                    *f = next(k + 1)?;
                }
                let prev_hash = ChainHash::from_hex(next(9)?)?;
                let hash = ChainHash::from_hex(next(10)?)?;
                Some(RecordRef { seq, time_us, fields, prev_hash, hash })
            })();
            if !record.is_some_and(|r| self.check(&r)) {
                return false;
            }
        }
        // Every column ends with the last record: a piece more means a value held the separator.
        pieces.iter_mut().all(|p| p.as_mut().is_some_and(|p| p.next().is_none()))
    }

    /// [`Segment::check_columns`] on a row of [`COLUMNS_SQLITE`] (or its PostgreSQL twin), its
    /// texts read where the driver holds them, not copied out.
    fn check_row<'r, R>(&mut self, from: i64, to: i64, row: &'r R) -> Result<bool, StoreError>
    where
        R: sqlx::Row,
        usize: sqlx::ColumnIndex<R>,
        &'r str: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
        i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    {
        let mut columns = [None; AGGREGATED];
        for (k, c) in columns.iter_mut().enumerate() {
            *c = row.try_get::<Option<&str>, _>(k + 1).ctx("reading the audit log")?;
        }
        let count = row.try_get::<i64, _>(0).ctx("reading the audit log")?;
        Ok(self.check_columns(from, to, count, columns))
    }

    /// `(first record's prev_hash, last record's hash)` when the segment reached `hi`.
    fn finish(self, hi: i64) -> Option<(ChainHash, ChainHash)> {
        match self.last {
            Some((seq, hash)) if Some(seq) == u64::try_from(hi).ok() => Some((self.first_prev, hash)),
            _ => None,
        }
    }
}

/// The values of one aggregated column, split at [`unit!`] (with `memchr`: the splitting reads
/// every byte of the log, and `str::split` took a tenth of the verification's time).
struct Pieces<'a>(Option<&'a str>);

impl<'a> Iterator for Pieces<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let rest = self.0?;
        match memchr::memchr(UNIT, rest.as_bytes()) {
            Some(i) => {
                self.0 = Some(&rest[i + 1..]);
                Some(&rest[..i])
            }
            None => self.0.take(),
        }
    }
}

/// How many records after a break are read to explain it.
const DIAGNOSIS_WINDOW: usize = 512;

/// The columns of an [`AuditRow`], in order, as a literal for `concat!`.
macro_rules! audit_columns {
    () => {
        "seq, time_us, operator, action, subject, object, ticket, request_id, outcome, details, prev_hash, hash"
    };
}

const INSERT_ONE: &str = concat!(
    "INSERT INTO audit_log (",
    audit_columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
);

/// Many records in one statement: PostgreSQL unnests one array per column.
const INSERT_MANY_PG: &str = concat!(
    "INSERT INTO audit_log (",
    audit_columns!(),
    ") SELECT * FROM UNNEST($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], \
     $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[])"
);

/// Rows a multi-row `INSERT … VALUES` appends on SQLite (12 bound values each: 6,000 of
/// SQLite's 32,766 parameters). Binding every value beats handing SQLite one JSON array of rows
/// to unpack: `json_each` and twelve `->>` a row spent a tenth of the append parsing JSON text.
const SQLITE_ROWS_PER_INSERT: usize = 500;

/// `INSERT INTO audit_log (…) VALUES (?, …), … ` for `rows` rows: fixed text, every value bound.
fn insert_many_sqlite(rows: usize) -> String {
    let one = format!("({})", ["?"; 12].join(", "));
    format!("INSERT INTO audit_log ({}) VALUES {}", audit_columns!(), vec![one; rows].join(", "))
}

const SELECT_HEAD: &str = "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1";

#[derive(sqlx::FromRow)]
struct AuditRow {
    seq: i64,
    time_us: i64,
    operator: String,
    action: String,
    subject: String,
    object: String,
    ticket: String,
    request_id: String,
    outcome: String,
    details: String,
    prev_hash: String,
    hash: String,
}

/// A stored hash that is not 64 hex digits (only possible by editing the database) becomes a
/// value no real SHA-256 produces in practice, so the record fails verification as changed.
fn stored_hash(s: &str) -> ChainHash {
    ChainHash::from_hex(s).unwrap_or(ChainHash([0xff; 32]))
}

impl From<AuditRow> for AuditRecord {
    fn from(r: AuditRow) -> Self {
        AuditRecord {
            // A negative sequence can only come from tampering; it then fails verification.
            seq: u64::try_from(r.seq).unwrap_or(0),
            time_us: r.time_us,
            operator: r.operator,
            action: r.action,
            subject: r.subject,
            object: r.object,
            ticket: r.ticket,
            request_id: r.request_id,
            outcome: r.outcome,
            details: r.details,
            prev_hash: stored_hash(&r.prev_hash),
            hash: stored_hash(&r.hash),
        }
    }
}

/// A time window; either end open. `since` is inclusive, `until` exclusive.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimeRange {
    /// From this time on.
    pub since: Option<DateTime<Utc>>,
    /// Before this time.
    pub until: Option<DateTime<Utc>>,
}

impl TimeRange {
    fn bounds(&self) -> (i64, i64) {
        (self.since.map_or(i64::MIN, |t| t.timestamp_micros()), self.until.map_or(i64::MAX, |t| t.timestamp_micros()))
    }
}

/// Which audit records to list, newest first.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    /// Only events about this Okta login.
    pub subject: Option<String>,
    /// Only events on this group, app or ticket.
    pub object: Option<String>,
    /// Only events on this ticket.
    pub ticket: Option<String>,
    /// Only this operator's events.
    pub operator: Option<String>,
    /// Only events whose operator, action, subject, object, ticket or outcome contains this text
    /// (case-insensitive; `%` and `_` are plain characters) — the console's audit filter.
    pub text: Option<String>,
    /// Only events before this sequence number (paging backwards).
    pub before_seq: Option<u64>,
    /// Time window.
    pub range: TimeRange,
    /// At most this many (0 means 100).
    pub limit: u32,
}

/// The result of verifying the whole chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    /// The number of intact events, or the first break.
    pub result: Result<u64, ChainBreak>,
    /// The head of the part that verified.
    pub head: Option<Checkpoint>,
    /// How many segments were verified in parallel (1: one sequential pass).
    pub segments: usize,
}

/// Export formats of `grantdesk audit export`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    /// Comma-separated values for auditors, one event per row with a header.
    Csv,
    /// JSON lines shaped like Okta System Log events, for a SIEM.
    Jsonl,
}

impl Store {
    /// Appends one event at the head of the chain and returns it sealed.
    pub async fn append_audit(&self, event: &AuditEvent) -> Result<AuditRecord, StoreError> {
        let mut tx = self.begin_write().await?;
        let mut records = append_in_tx(&mut tx, std::slice::from_ref(event)).await?;
        tx.commit().await?;
        records.pop().ok_or_else(|| StoreError::Corrupt("an append returned no record".into()))
    }

    /// Appends events in one transaction (the fast path for bulk work) and returns the new head.
    pub async fn append_audit_batch(&self, events: &[AuditEvent]) -> Result<Option<Checkpoint>, StoreError> {
        if events.is_empty() {
            return self.audit_head().await;
        }
        let mut tx = self.begin_write().await?;
        let records = append_in_tx(&mut tx, events).await?;
        tx.commit().await?;
        Ok(records.last().map(|r| Checkpoint { seq: r.seq, hash: r.hash }))
    }

    /// The current head of the chain (sequence and hash of the last event), `None` when empty.
    pub async fn audit_head(&self) -> Result<Option<Checkpoint>, StoreError> {
        let row: Option<(i64, String)> =
            on_pool!(self, p => sqlx::query_as(SELECT_HEAD).fetch_optional(p).await.ctx("reading the audit head"))?;
        Ok(row.map(|(seq, hash)| Checkpoint { seq: u64::try_from(seq).unwrap_or(0), hash: stored_hash(&hash) }))
    }

    /// How many events the log holds.
    pub async fn audit_count(&self) -> Result<u64, StoreError> {
        let n: i64 = on_pool!(self, p => sqlx::query_scalar("SELECT COUNT(*) FROM audit_log")
            .fetch_one(p).await.ctx("counting audit events"))?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Recomputes the whole chain; with a checkpoint, also checks the log still reaches it.
    ///
    /// A large log is verified in parallel segments (each record stores its predecessor's hash, so
    /// segments check independently and their joins are checked after). Anything amiss — or a
    /// small log — goes through one sequential pass, which names the first break exactly.
    pub async fn verify_audit(&self, checkpoint: Option<Checkpoint>) -> Result<Verification, StoreError> {
        if let Some(v) = self.verify_in_segments(checkpoint).await? {
            return Ok(v);
        }
        self.verify_sequentially(checkpoint).await
    }

    /// The parallel fast path: `Some` only when the whole log verified.
    async fn verify_in_segments(&self, checkpoint: Option<Checkpoint>) -> Result<Option<Verification>, StoreError> {
        const SHAPE: &str = "SELECT COUNT(*), COALESCE(MIN(seq), 0), COALESCE(MAX(seq), 0) FROM audit_log";
        let (count, min, max): (i64, i64, i64) =
            on_pool!(self, p => sqlx::query_as(SHAPE).fetch_one(p).await.ctx("measuring the audit log"))?;
        if max < PARALLEL_THRESHOLD || count != max || min != 1 {
            return Ok(None);
        }
        // Two segments a core: while one segment's records are hashed, another's are read.
        let parts = (2 * std::thread::available_parallelism().map_or(2, |n| n.get())).clamp(2, 4) as i64;
        let size = (max + parts - 1) / parts;
        let mut tasks = Vec::new();
        for k in 0..parts {
            let (lo, hi) = (k * size + 1, ((k + 1) * size).min(max));
            if lo > hi {
                break;
            }
            let store = self.clone();
            tasks.push(tokio::spawn(async move { store.verify_segment(lo, hi).await }));
        }
        let segments = tasks.len();
        let mut prev_last = ChainHash::GENESIS;
        for t in tasks {
            let segment = t.await.map_err(|e| StoreError::Corrupt(format!("a verification task failed: {e}")))??;
            match segment {
                Some((first_prev, last)) if first_prev == prev_last => prev_last = last,
                _ => return Ok(None),
            }
        }
        let head = Checkpoint { seq: u64::try_from(max).unwrap_or(0), hash: prev_last };
        if let Some(cp) = checkpoint {
            const AT: &str = "SELECT hash FROM audit_log WHERE seq = $1";
            let seq = i64::try_from(cp.seq).unwrap_or(i64::MAX);
            let hash: Option<String> = on_pool!(self, p => sqlx::query_scalar(AT).bind(seq).fetch_optional(p).await
                .ctx("reading the checkpointed event"))?;
            if hash.map(|h| stored_hash(&h)) != Some(cp.hash) {
                return Ok(None);
            }
        }
        Ok(Some(Verification { result: Ok(head.seq), head: Some(head), segments }))
    }

    /// Verifies records `lo..=hi`: `Some((first record's prev_hash, last record's hash))` when the
    /// segment is intact and complete.
    ///
    /// Records come [`VERIFY_CHUNK`] at a time as one row of aggregated columns (see
    /// [`COLUMNS_SQLITE`]): fetching a million rows one by one costs several times more in the
    /// driver than hashing them (measured on SQLite: 13 s of CPU against 5.5 s). The texts are
    /// only a transport — every field is hashed as split from them, and anything malformed
    /// simply fails the fast path, which then falls back to the exact one.
    async fn verify_segment(&self, lo: i64, hi: i64) -> Result<Option<(ChainHash, ChainHash)>, StoreError> {
        let mut segment = Segment::new(lo);
        let chunks = (lo..=hi).step_by(VERIFY_CHUNK as usize).map(|from| (from, (from + VERIFY_CHUNK - 1).min(hi)));
        match &self.backend {
            super::Backend::Sqlite(p) => {
                // One connection for the whole segment, not one from the pool a chunk.
                let mut conn = p.acquire().await.ctx("reading the audit log")?;
                for (from, to) in chunks {
                    let row = sqlx::query(COLUMNS_SQLITE).bind(from).bind(to).fetch_one(&mut *conn).await;
                    if !segment.check_row(from, to, &row.ctx("reading the audit log")?)? {
                        return Ok(None);
                    }
                }
            }
            super::Backend::Postgres(p) => {
                for (from, to) in chunks {
                    let row = sqlx::query(COLUMNS_POSTGRES).bind(from).bind(to).fetch_one(p).await;
                    if !segment.check_row(from, to, &row.ctx("reading the audit log")?)? {
                        return Ok(None);
                    }
                }
            }
        }
        Ok(segment.finish(hi))
    }

    /// One pass in sequence order, stopping at (and explaining) the first break.
    async fn verify_sequentially(&self, checkpoint: Option<Checkpoint>) -> Result<Verification, StoreError> {
        let mut verifier = ChainVerifier::new();
        if let Some(cp) = checkpoint {
            verifier = verifier.with_checkpoint(cp);
        }
        const ALL: &str = concat!("SELECT ", audit_columns!(), " FROM audit_log ORDER BY seq");
        let broken: Option<ChainBreak> = on_pool!(self, p => {
            let mut rows = sqlx::query_as::<_, AuditRow>(ALL).fetch(p);
            let mut broken = None;
            while let Some(row) = rows.try_next().await.ctx("reading the audit log")? {
                let record = AuditRecord::from(row);
                if !verifier.check(&record) {
                    let mut ahead = Vec::new();
                    while ahead.len() < DIAGNOSIS_WINDOW {
                        match rows.try_next().await.ctx("reading the audit log")? {
                            Some(r) => ahead.push(AuditRecord::from(r)),
                            None => break,
                        }
                    }
                    broken = Some(verifier.diagnose(&record, &ahead));
                    break;
                }
            }
            broken
        });
        let result = match broken {
            Some(b) => Err(b),
            None => verifier.finish(),
        };
        Ok(Verification { result, head: verifier.head(), segments: 1 })
    }

    /// Events matching `query`, newest first.
    pub async fn audit_records(&self, query: &AuditQuery) -> Result<Vec<AuditRecord>, StoreError> {
        const SQL: &str = concat!(
            "SELECT ",
            audit_columns!(),
            " FROM audit_log WHERE ($1 IS NULL OR subject = $1) AND ($2 IS NULL OR object = $2) \
             AND ($3 IS NULL OR ticket = $3) AND ($4 IS NULL OR operator = $4) AND seq < $5 \
             AND time_us >= $6 AND time_us < $7 AND ($9 IS NULL OR lower(operator || ' ' || action || ' ' || subject \
             || ' ' || object || ' ' || ticket || ' ' || outcome) LIKE $9 ESCAPE '\\') ORDER BY seq DESC LIMIT $8"
        );
        // A LIKE pattern that matches the text literally anywhere.
        let pattern = query.text.as_deref().map(str::trim).filter(|t| !t.is_empty()).map(|t| {
            let escaped = t.to_lowercase().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
            format!("%{escaped}%")
        });
        let (since, until) = query.range.bounds();
        let before = query.before_seq.map_or(i64::MAX, |s| i64::try_from(s).unwrap_or(i64::MAX));
        let limit = if query.limit == 0 { 100 } else { i64::from(query.limit) };
        let rows: Vec<AuditRow> = on_pool!(self, p => sqlx::query_as(SQL)
            .bind(query.subject.as_deref())
            .bind(query.object.as_deref())
            .bind(query.ticket.as_deref())
            .bind(query.operator.as_deref())
            .bind(before)
            .bind(since)
            .bind(until)
            .bind(limit)
            .bind(pattern.as_deref())
            .fetch_all(p)
            .await
            .ctx("listing audit events"))?;
        Ok(rows.into_iter().map(AuditRecord::from).collect())
    }

    /// Events about an Okta login (as subject), oldest first — one index range, for grant history.
    pub async fn audit_records_for_subject(&self, subject: &str) -> Result<Vec<AuditRecord>, StoreError> {
        const SQL: &str = concat!("SELECT ", audit_columns!(), " FROM audit_log WHERE subject = $1 ORDER BY seq");
        let rows: Vec<AuditRow> = on_pool!(self, p => sqlx::query_as(SQL).bind(subject).fetch_all(p).await
            .ctx("reading a user's audit events"))?;
        Ok(rows.into_iter().map(AuditRecord::from).collect())
    }

    /// Events on a group, app or ticket (as object), oldest first.
    pub async fn audit_records_for_object(&self, object: &str) -> Result<Vec<AuditRecord>, StoreError> {
        const SQL: &str = concat!("SELECT ", audit_columns!(), " FROM audit_log WHERE object = $1 ORDER BY seq");
        let rows: Vec<AuditRow> = on_pool!(self, p => sqlx::query_as(SQL).bind(object).fetch_all(p).await
            .ctx("reading a group's audit events"))?;
        Ok(rows.into_iter().map(AuditRecord::from).collect())
    }

    /// Writes the events in `range` (in sequence order) to `out`; returns how many were written.
    pub async fn export_audit(
        &self,
        format: ExportFormat,
        range: TimeRange,
        out: &mut (dyn Write + Send),
    ) -> Result<u64, StoreError> {
        const SQL: &str =
            concat!("SELECT ", audit_columns!(), " FROM audit_log WHERE time_us >= $1 AND time_us < $2 ORDER BY seq");
        let (since, until) = range.bounds();
        if format == ExportFormat::Csv {
            out.write_all(csv_header().as_bytes()).map_err(StoreError::Export)?;
        }
        let mut n = 0u64;
        on_pool!(self, p => {
            let mut rows = sqlx::query_as::<_, AuditRow>(SQL).bind(since).bind(until).fetch(p);
            while let Some(row) = rows.try_next().await.ctx("reading the audit log")? {
                let record = AuditRecord::from(row);
                let line = match format {
                    ExportFormat::Csv => csv_line(&record),
                    ExportFormat::Jsonl => jsonl_line(&record),
                };
                out.write_all(line.as_bytes()).map_err(StoreError::Export)?;
                n += 1;
            }
        });
        out.flush().map_err(StoreError::Export)?;
        Ok(n)
    }
}

/// Appends `events` inside `tx`, at the head of the chain. The head is read inside the same
/// transaction after taking the append lock, so two writers can never seal against the same head.
pub(crate) async fn append_in_tx(tx: &mut WriteTx, events: &[AuditEvent]) -> Result<Vec<AuditRecord>, StoreError> {
    if let WriteTx::Postgres(t) = tx {
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(AUDIT_LOCK_KEY)
            .execute(&mut **t)
            .await
            .ctx("locking the audit log for an append")?;
    }
    let head: Option<(i64, String)> =
        on_tx!(tx, c => sqlx::query_as(SELECT_HEAD).fetch_optional(c).await.ctx("reading the audit head"))?;
    let head = head.map(|(seq, hash)| Checkpoint { seq: u64::try_from(seq).unwrap_or(0), hash: stored_hash(&hash) });
    let records = seal_chain(head, events)?;
    match tx {
        WriteTx::Postgres(t) if records.len() > 1 => {
            let mut cols: (Vec<i64>, Vec<i64>, [Vec<String>; 10]) = (Vec::new(), Vec::new(), Default::default());
            for r in &records {
                cols.0.push(seq_i64(r.seq)?);
                cols.1.push(r.time_us);
                for (col, v) in cols.2.iter_mut().zip(text_fields(r)) {
                    col.push(v);
                }
            }
            let [a, b, c, d, e, f, g, h, i, j] = cols.2;
            sqlx::query(INSERT_MANY_PG)
                .bind(cols.0)
                .bind(cols.1)
                .bind(a)
                .bind(b)
                .bind(c)
                .bind(d)
                .bind(e)
                .bind(f)
                .bind(g)
                .bind(h)
                .bind(i)
                .bind(j)
                .execute(&mut **t)
                .await
                .ctx("appending to the audit log")?;
        }
        WriteTx::Sqlite(t) if records.len() > 1 => {
            static FULL: std::sync::LazyLock<String> =
                std::sync::LazyLock::new(|| insert_many_sqlite(SQLITE_ROWS_PER_INSERT));
            for chunk in records.chunks(SQLITE_ROWS_PER_INSERT) {
                let sql = if chunk.len() == SQLITE_ROWS_PER_INSERT {
                    std::borrow::Cow::Borrowed(FULL.as_str())
                } else {
                    std::borrow::Cow::Owned(insert_many_sqlite(chunk.len()))
                };
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                for r in chunk {
                    q = q.bind(seq_i64(r.seq)?).bind(r.time_us);
                    for v in text_fields(r) {
                        q = q.bind(v);
                    }
                }
                q.execute(&mut **t).await.ctx("appending to the audit log")?;
            }
        }
        _ => {
            for r in &records {
                let [a, b, c, d, e, f, g, h, i, j] = text_fields(r);
                on_tx!(tx, conn => sqlx::query(INSERT_ONE)
                    .bind(seq_i64(r.seq)?)
                    .bind(r.time_us)
                    .bind(a)
                    .bind(b)
                    .bind(c)
                    .bind(d)
                    .bind(e)
                    .bind(f)
                    .bind(g)
                    .bind(h)
                    .bind(i)
                    .bind(j)
                    .execute(conn)
                    .await
                    .map(|_| ())
                    .ctx("appending to the audit log"))?;
            }
        }
    }
    Ok(records)
}

fn seq_i64(seq: u64) -> Result<i64, StoreError> {
    i64::try_from(seq).map_err(|_| StoreError::Corrupt(format!("audit sequence {seq} is out of range")))
}

fn text_fields(r: &AuditRecord) -> [String; 10] {
    [
        r.operator.clone(),
        r.action.clone(),
        r.subject.clone(),
        r.object.clone(),
        r.ticket.clone(),
        r.request_id.clone(),
        r.outcome.clone(),
        r.details.clone(),
        r.prev_hash.to_hex(),
        r.hash.to_hex(),
    ]
}

fn rfc3339_us(time_us: i64) -> String {
    DateTime::from_timestamp_micros(time_us)
        .map(|t| t.to_rfc3339_opts(SecondsFormat::Micros, true))
        .unwrap_or_else(|| time_us.to_string())
}

fn csv_header() -> String {
    "sequence,time,operator,action,subject,object,ticket,request_id,outcome,details,prev_hash,hash\n".to_string()
}

/// One RFC 4180 field. A cell a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, CR at
/// the start) gets a leading `'`: remote text must not become a formula on an auditor's screen.
/// The JSON lines export keeps every value exact.
fn csv_field(s: &str, out: &mut String) {
    let guarded = s.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let quote = guarded || s.contains([',', '"', '\n', '\r']);
    if quote {
        out.push('"');
    }
    if guarded {
        out.push('\'');
    }
    for c in s.chars() {
        if c == '"' {
            out.push('"');
        }
        out.push(c);
    }
    if quote {
        out.push('"');
    }
}

fn csv_line(r: &AuditRecord) -> String {
    let mut line = String::with_capacity(256 + r.details.len());
    let seq = r.seq.to_string();
    let time = rfc3339_us(r.time_us);
    let prev = r.prev_hash.to_hex();
    let hash = r.hash.to_hex();
    let fields = [
        seq.as_str(),
        time.as_str(),
        &r.operator,
        &r.action,
        &r.subject,
        &r.object,
        &r.ticket,
        &r.request_id,
        &r.outcome,
        &r.details,
        prev.as_str(),
        hash.as_str(),
    ];
    for (i, f) in fields.into_iter().enumerate() {
        if i > 0 {
            line.push(',');
        }
        csv_field(f, &mut line);
    }
    line.push('\n');
    line
}

/// A stable event uuid derived from the record's hash, so a SIEM deduplicates re-exports.
fn record_uuid(r: &AuditRecord) -> uuid::Uuid {
    let mut b = [0u8; 16];
    b.copy_from_slice(&r.hash.0[..16]);
    uuid::Builder::from_custom_bytes(b).into_uuid()
}

/// One JSON line shaped like an Okta System Log event.
fn jsonl_line(r: &AuditRecord) -> String {
    let details = r.details_json();
    let published = DateTime::from_timestamp_micros(r.time_us)
        .map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true))
        .unwrap_or_else(|| r.time_us.to_string());
    let (result, severity, reason) = match r.outcome.as_str() {
        "success" => ("SUCCESS", "INFO", Value::Null),
        "failure" => ("FAILURE", "WARN", details.get("error").cloned().unwrap_or(Value::Null)),
        "refused" => ("DENY", "WARN", details.get("reason").cloned().unwrap_or(Value::Null)),
        "intent" => ("UNKNOWN", "INFO", json!("intent recorded before the action was applied")),
        _ => ("UNKNOWN", "WARN", Value::Null),
    };
    let mut targets = Vec::new();
    if !r.subject.is_empty() {
        targets.push(json!({"id": r.subject, "type": "User", "alternateId": r.subject, "displayName": r.subject}));
    }
    if !r.object.is_empty() {
        let kind = match details.get("target_kind").and_then(Value::as_str) {
            Some("group") => "UserGroup",
            Some("app") => "AppInstance",
            _ if crate::domain::TicketKind::from_number(&r.object).is_some() => "ServiceNowTicket",
            _ => "Resource",
        };
        targets.push(json!({"id": r.object, "type": kind, "alternateId": r.object, "displayName": r.object}));
    }
    let mut message = r.action.clone();
    if !r.object.is_empty() {
        message.push(' ');
        message.push_str(&r.object);
    }
    if !r.subject.is_empty() {
        message.push_str(" for ");
        message.push_str(&r.subject);
    }
    if !r.ticket.is_empty() {
        message.push_str(" on ");
        message.push_str(&r.ticket);
    }
    let event = json!({
        "uuid": record_uuid(r).to_string(),
        "published": published,
        "eventType": format!("grantdesk.{}", r.action),
        "version": "0",
        "severity": severity,
        "displayMessage": message,
        "actor": {"id": r.operator, "type": "User", "alternateId": r.operator, "displayName": r.operator},
        "outcome": {"result": result, "reason": reason},
        "target": targets,
        "transaction": {"type": "WEB", "id": if r.request_id.is_empty() { Value::Null } else { json!(r.request_id) }},
        "debugContext": {"debugData": {
            "requestId": r.request_id,
            "ticket": r.ticket,
            "sequence": r.seq,
            "hash": r.hash.to_hex(),
            "prevHash": r.prev_hash.to_hex(),
            "details": details,
        }},
    });
    let mut line = event.to_string();
    line.push('\n');
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::audit::{Outcome, action};

    fn record() -> AuditRecord {
        AuditEvent::new("dana.desk", action::GRANT_ADD, Outcome::Success)
            .at(DateTime::from_timestamp_micros(1_700_000_000_123_456).unwrap())
            .subject("riley.requester@example.com")
            .object("=HYPERLINK(\"x\")")
            .ticket("RITM0010001")
            .request_id("abc123")
            .details(json!({"target_kind": "group", "justification": "on call, needs \"prod\""}))
            .seal(7, ChainHash::GENESIS)
            .unwrap()
    }

    #[test]
    fn aggregated_columns_read_back_field_for_field() {
        for (sql, agg) in [(COLUMNS_SQLITE, "group_concat("), (COLUMNS_POSTGRES, "string_agg(")] {
            assert_eq!(sql.matches(agg).count(), AGGREGATED, "{sql}");
            assert_eq!(sql.matches(concat!("'", unit!(), "'")).count(), AGGREGATED, "{sql}");
        }
        let hash = |b: u8| ChainHash([b; 32]);
        let fields = ["dana.desk", "grant.add", "riley@example.com", "aws-prod", "", "r-1", "success", "{}"];
        // Two records, 7 and 8: `columns(k)` is column k's values joined as the database joins them.
        let chain = |second: [&str; 8]| {
            let first = RecordRef { seq: 7, time_us: -1_500, fields, prev_hash: hash(1), hash: hash(0) };
            let first = RecordRef { hash: first.compute_hash(), ..first };
            let next = RecordRef {
                seq: 8,
                time_us: 1_700_000_000_000_000,
                fields: second,
                prev_hash: first.hash,
                hash: hash(0),
            };
            let next = RecordRef { hash: next.compute_hash(), ..next };
            let mut columns: Vec<String> = vec![format!(concat!("{}", unit!(), "{}"), first.time_us, next.time_us)];
            columns.extend((0..8).map(|k| format!(concat!("{}", unit!(), "{}"), first.fields[k], next.fields[k])));
            columns.push(format!(concat!("{}", unit!(), "{}"), first.prev_hash.to_hex(), next.prev_hash.to_hex()));
            columns.push(format!(concat!("{}", unit!(), "{}"), first.hash.to_hex(), next.hash.to_hex()));
            columns
        };
        let check = |columns: &[String], count: i64| {
            let mut segment = Segment::new(7);
            let cols: [Option<&str>; AGGREGATED] = std::array::from_fn(|k| Some(columns[k].as_str()));
            segment.check_columns(7, 8, count, cols) && segment.finish(8).is_some()
        };
        let good = chain(fields);
        assert!(check(&good, 2));
        assert!(!check(&good, 3), "a count that is not the range's");
        // A value holding the separator adds a piece: refused, not misread.
        let mut sneaky = fields;
        sneaky[2] = concat!("riley@example.com", unit!(), "mallory@example.com");
        assert!(!check(&chain(sneaky), 2));
        let mut missing = good.clone();
        missing[3] = fields[1].to_string();
        assert!(!check(&missing, 2), "a column one value short");
        let mut changed = good.clone();
        changed[1] = changed[1].replacen("dana", "erin", 1);
        assert!(!check(&changed, 2));
    }

    #[test]
    fn csv_quotes_and_defuses_formulas() {
        let line = csv_line(&record());
        assert!(line.starts_with("7,2023-11-14T22:13:20.123456Z,dana.desk,grant.add,riley.requester@example.com,"));
        assert!(line.contains(r#","'=HYPERLINK(""x"")","#), "{line}");
        assert!(
            line.contains(r#""{""justification"":""on call, needs \""prod\"""",""target_kind"":""group""}""#),
            "{line}"
        );
    }

    #[test]
    fn jsonl_is_shaped_like_an_okta_log_event() {
        let r = record();
        let v: Value = serde_json::from_str(&jsonl_line(&r)).unwrap();
        assert_eq!(v["eventType"], "grantdesk.grant.add");
        assert_eq!(v["published"], "2023-11-14T22:13:20.123Z");
        assert_eq!(v["actor"]["alternateId"], "dana.desk");
        assert_eq!(v["outcome"]["result"], "SUCCESS");
        assert_eq!(v["target"][0]["type"], "User");
        assert_eq!(v["target"][1]["type"], "UserGroup");
        assert_eq!(v["debugContext"]["debugData"]["requestId"], "abc123");
        assert_eq!(v["debugContext"]["debugData"]["sequence"], 7);
        assert_eq!(v["debugContext"]["debugData"]["hash"], r.hash.to_hex());
        assert_eq!(v["uuid"], record_uuid(&r).to_string());
        assert_eq!(uuid::Uuid::parse_str(v["uuid"].as_str().unwrap()).unwrap().get_version_num(), 8);
    }
}
