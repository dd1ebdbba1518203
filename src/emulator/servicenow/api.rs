//! The REST surface under `/api/now`: Table API, Aggregate API and Batch API, as one dispatcher
//! over plain request/response values so the Batch API can run its items through exactly the
//! same code as top-level requests.

use base64::Engine as _;
use serde_json::{Map, Value};

use super::filter::{Filter, Path, display};
use super::query::{self, Cond, Context, Op};
use super::render::{self, DisplayMode, Fields, RenderOptions};
use super::schema::FieldType;
use super::store::{Db, RowId};
use super::write::{self, Actor, ApiError};

/// The authenticated caller.
#[derive(Debug, Clone)]
pub struct Principal {
    /// `sys_user.sys_id`.
    pub sys_id: String,
    /// `sys_user.user_name`.
    pub user_name: String,
}

/// A request as the dispatcher sees it.
pub struct Req {
    /// HTTP method, upper case.
    pub method: String,
    /// Path after `/api/now/` (`table/incident`, `v1/batch`…).
    pub path: String,
    /// Decoded query parameters, in order.
    pub params: Vec<(String, String)>,
    /// Request headers (lower-case names).
    pub headers: Vec<(String, String)>,
    /// Body bytes.
    pub body: Vec<u8>,
}

impl Req {
    /// Builds a request from a path with an optional `?query`.
    pub fn new(method: &str, path_and_query: &str, headers: Vec<(String, String)>, body: Vec<u8>) -> Req {
        let (path, raw_query) = path_and_query.split_once('?').unwrap_or((path_and_query, ""));
        let params = url::form_urlencoded::parse(raw_query.as_bytes()).into_owned().collect();
        let path = path.trim_start_matches('/').trim_start_matches("api/now/").trim_end_matches('/');
        let path = percent_encoding::percent_decode_str(path).decode_utf8_lossy().into_owned();
        Req { method: method.to_ascii_uppercase(), path, params, headers, body }
    }

    fn param(&self, name: &str) -> Option<&str> {
        self.params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).filter(|v| !v.is_empty())
    }

    fn flag(&self, name: &str) -> bool {
        self.param(name).is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// A response as the dispatcher produces it.
#[derive(Debug)]
pub struct Resp {
    /// HTTP status.
    pub status: u16,
    /// Headers besides the standard ones.
    pub headers: Vec<(String, String)>,
    /// Body (`None`: no body at all, as for 204).
    pub body: Option<String>,
}

impl Resp {
    fn json(status: u16, body: String) -> Resp {
        Resp { status, headers: Vec::new(), body: Some(body) }
    }
}

/// ServiceNow's error body: `{"error":{"message","detail"},"status":"failure"}`.
pub fn error_body(message: &str, detail: Option<&str>) -> String {
    serde_json::json!({"error": {"message": message, "detail": detail}, "status": "failure"}).to_string()
}

impl From<ApiError> for Resp {
    fn from(e: ApiError) -> Resp {
        Resp::json(e.status, error_body(&e.message, e.detail.as_deref()))
    }
}

fn bad_uri() -> Resp {
    Resp::json(400, error_body("Requested URI does not represent any resource", None))
}

fn invalid_table(name: &str) -> Resp {
    Resp::json(400, error_body(&format!("Invalid table {name}"), None))
}

fn not_found() -> Resp {
    Resp::json(404, error_body("No Record found", Some("Record doesn't exist or ACL restricts the record retrieval")))
}

/// What a dispatch may need besides the request.
pub struct Env<'a> {
    /// Links point here.
    pub base_url: &'a str,
    /// The caller.
    pub principal: &'a Principal,
    /// Now.
    pub now: chrono::DateTime<chrono::Utc>,
}

/// Whether a request changes data (takes the write lock).
pub fn is_write(req: &Req) -> bool {
    let method = effective_method(req);
    !matches!(method.as_str(), "GET" | "HEAD") || req.path.ends_with("batch")
}

fn effective_method(req: &Req) -> String {
    req.header("x-http-method-override").map(str::to_ascii_uppercase).unwrap_or_else(|| req.method.clone())
}

enum Route<'p> {
    Table { version: Option<&'p str>, table: &'p str, sys_id: Option<&'p str> },
    Stats { table: &'p str },
    Batch,
}

fn route(path: &str) -> Option<Route<'_>> {
    let parts: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let (version, rest) = match parts.first() {
        Some(v) if v.len() >= 2 && v.starts_with('v') && v[1..].bytes().all(|b| b.is_ascii_digit()) => {
            (Some(*v), &parts[1..])
        }
        _ => (None, &parts[..]),
    };
    match rest {
        ["table", t] => Some(Route::Table { version, table: t, sys_id: None }),
        ["table", t, id] => Some(Route::Table { version, table: t, sys_id: Some(id) }),
        ["stats", t] => Some(Route::Stats { table: t }),
        ["batch"] if version.is_some() => Some(Route::Batch),
        _ => None,
    }
}

/// Read-only dispatch (GET/HEAD outside the Batch API).
pub fn read(db: &Db, req: &Req, env: &Env<'_>) -> Resp {
    match route(&req.path) {
        Some(Route::Table { version, table, sys_id }) => table_read(db, req, env, version, table, sys_id),
        Some(Route::Stats { table }) => stats(db, req, env, table),
        _ => bad_uri(),
    }
}

/// Dispatch that may write.
pub fn write(db: &mut Db, req: &Req, env: &Env<'_>) -> Resp {
    let method = effective_method(req);
    match route(&req.path) {
        Some(Route::Batch) if method == "POST" => batch(db, req, env),
        Some(Route::Table { version, table, sys_id }) => match (method.as_str(), sys_id) {
            ("GET" | "HEAD", _) => table_read(db, req, env, version, table, sys_id),
            ("POST", None) => table_insert(db, req, env, table),
            ("PATCH" | "PUT", Some(id)) => table_update(db, req, env, table, id),
            ("DELETE", Some(id)) => table_delete(db, table, id),
            _ => Resp::json(405, error_body("Method not Supported", Some(&format!("{method} is not supported here")))),
        },
        Some(Route::Stats { table }) if method == "GET" => stats(db, req, env, table),
        _ => bad_uri(),
    }
}

fn table_index(db: &Db, name: &str) -> Result<usize, Resp> {
    // `task` reads resolve through its child tables.
    db.table_index(if name == "task" { "incident" } else { name }).ok_or_else(|| invalid_table(name))
}

fn render_opts<'a>(req: &Req, env: &'a Env<'_>) -> RenderOptions<'a> {
    RenderOptions {
        mode: DisplayMode::parse(req.param("sysparm_display_value")),
        exclude_links: req.flag("sysparm_exclude_reference_link"),
        base_url: env.base_url,
    }
}

fn find(db: &Db, table: &str, sys_id: &str) -> Option<(usize, RowId)> {
    let sym = db.strings.lookup(sys_id)?;
    db.resolve(table, sym)
}

/// The query of a list or stats request: `sysparm_query` AND-ed with name-value pairs (which
/// accept choice labels, e.g. `state=closed`).
fn parsed_query(db: &Db, table: usize, req: &Req) -> query::Parsed {
    let mut parsed = query::parse(req.param("sysparm_query").unwrap_or(""));
    let schema = &db.table_at(table).schema;
    let mut extra = Vec::new();
    for (k, v) in &req.params {
        if k.starts_with("sysparm_") || k.is_empty() {
            continue;
        }
        let mut value = v.clone();
        if let Some(FieldType::Choice { choices, .. }) = schema.field(k).map(|f| &f.ty) {
            if !choices.iter().any(|c| c.value == value) {
                if let Some(c) = choices.iter().find(|c| c.label.eq_ignore_ascii_case(&value)) {
                    value = c.value.to_string();
                }
            }
        }
        extra.push(vec![Cond { field: k.clone(), op: Op::Eq, value }]);
    }
    if !extra.is_empty() {
        if parsed.groups.is_empty() {
            parsed.groups.push(Vec::new());
        }
        for g in &mut parsed.groups {
            g.extend(extra.iter().cloned());
        }
    }
    parsed
}

fn table_read(db: &Db, req: &Req, env: &Env<'_>, version: Option<&str>, table: &str, sys_id: Option<&str>) -> Resp {
    let ti = match table_index(db, table) {
        Ok(t) => t,
        Err(r) => return r,
    };
    let opts = render_opts(req, env);
    if let Some(id) = sys_id {
        let Some((t, row)) = find(db, table, id) else { return not_found() };
        let fields = Fields::parse(db, t, req.param("sysparm_fields"));
        let mut out = String::from("{\"result\":");
        render::record(&mut out, db, t, row, &fields, &opts);
        out.push('}');
        return Resp::json(200, out);
    }
    if table == "task" {
        return invalid_table(table);
    }
    let ctx = Context { now: env.now, user_sys_id: &env.principal.sys_id, user_name: &env.principal.user_name };
    let filter = Filter::compile(db, ti, &parsed_query(db, ti, req), &ctx);
    let rows = filter.run(db, ti);
    let total = rows.len();
    let limit =
        req.param("sysparm_limit").and_then(|v| v.trim().parse::<usize>().ok()).filter(|&l| l > 0).unwrap_or(10_000);
    let offset = req.param("sysparm_offset").and_then(|v| v.trim().parse::<usize>().ok()).unwrap_or(0);
    let page = &rows[offset.min(total)..(offset.saturating_add(limit)).min(total)];
    if page.is_empty() && version == Some("v1") {
        return Resp::json(404, error_body("No Record found", Some("Records not found")));
    }
    let fields = Fields::parse(db, ti, req.param("sysparm_fields"));
    let mut out = String::with_capacity(page.len() * 2048 + 16);
    out.push_str("{\"result\":[");
    for (i, &row) in page.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        render::record(&mut out, db, ti, row, &fields, &opts);
    }
    out.push_str("]}");
    let mut resp = Resp::json(200, out);
    if !req.flag("sysparm_no_count") {
        resp.headers.push(("X-Total-Count".into(), total.to_string()));
    }
    if !req.flag("sysparm_suppress_pagination_header") && total > 0 {
        resp.headers.push(("Link".into(), link_header(env.base_url, req, offset, limit, total)));
    }
    resp
}

/// `Link` with `first`, `prev`, `next`, `last`: absolute URLs repeating every parameter of the
/// request with the page's `sysparm_offset` and `sysparm_limit`.
fn link_header(base: &str, req: &Req, offset: usize, limit: usize, total: usize) -> String {
    let url = |off: usize| {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in &req.params {
            if k != "sysparm_offset" && k != "sysparm_limit" {
                q.append_pair(k, v);
            }
        }
        q.append_pair("sysparm_offset", &off.to_string());
        q.append_pair("sysparm_limit", &limit.to_string());
        format!("<{base}/api/now/{}?{}>", req.path, q.finish())
    };
    let last = (total - 1) / limit * limit;
    let mut links = vec![format!("{};rel=\"first\"", url(0))];
    if offset > 0 {
        links.push(format!("{};rel=\"prev\"", url(offset.saturating_sub(limit))));
    }
    if offset + limit < total {
        links.push(format!("{};rel=\"next\"", url(offset + limit)));
    }
    links.push(format!("{};rel=\"last\"", url(last)));
    links.join(",")
}

fn body_object(req: &Req) -> Result<Map<String, Value>, Resp> {
    let invalid =
        || Resp::json(400, error_body("Exception while reading request", Some("The payload is not valid JSON.")));
    if req.body.iter().all(|b| b.is_ascii_whitespace()) {
        return Ok(Map::new());
    }
    let value: Value = match serde_json::from_slice(&req.body) {
        Ok(v) => v,
        // The platform also reads the single-quoted JSON its own docs use in curl examples.
        Err(_) => {
            match std::str::from_utf8(&req.body).ok().and_then(|s| serde_json::from_str(&single_to_double(s)).ok()) {
                Some(v) => v,
                None => return Err(invalid()),
            }
        }
    };
    match value {
        Value::Object(m) => Ok(m),
        // Only the first of several records is processed, as documented.
        Value::Array(mut a) if !a.is_empty() => match a.swap_remove(0) {
            Value::Object(m) => Ok(m),
            _ => Err(invalid()),
        },
        _ => Err(invalid()),
    }
}

/// Rewrites `{'a':'b'}` as `{"a":"b"}` (escaping double quotes inside single-quoted strings).
fn single_to_double(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_single = false;
    let mut in_double = false;
    let mut escaped = false;
    for c in s.chars() {
        if escaped {
            out.push(c);
            escaped = false;
            continue;
        }
        match c {
            '\\' => {
                out.push(c);
                escaped = true;
            }
            '\'' if !in_double => {
                out.push('"');
                in_single = !in_single;
            }
            '"' if in_single => out.push_str("\\\""),
            '"' => {
                out.push(c);
                in_double = !in_double;
            }
            c => out.push(c),
        }
    }
    out
}

fn written(db: &Db, req: &Req, env: &Env<'_>, t: usize, row: RowId, status: u16) -> Resp {
    if req.header("x-no-response-body").is_some_and(|v| v.eq_ignore_ascii_case("true")) {
        return Resp { status, headers: Vec::new(), body: Some(String::new()) };
    }
    let fields = Fields::parse(db, t, req.param("sysparm_fields"));
    let mut out = String::from("{\"result\":");
    render::record(&mut out, db, t, row, &fields, &render_opts(req, env));
    out.push('}');
    Resp::json(status, out)
}

fn actor<'a>(env: &'a Env<'_>, now: &'a str) -> Actor<'a> {
    Actor { sys_id: &env.principal.sys_id, user_name: &env.principal.user_name, now }
}

fn table_insert(db: &mut Db, req: &Req, env: &Env<'_>, table: &str) -> Resp {
    let Some(ti) = db.table_index(table) else { return invalid_table(table) };
    let body = match body_object(req) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let now = super::filter::now_string(env.now);
    match write::insert(db, ti, &body, req.flag("sysparm_input_display_value"), &actor(env, &now)) {
        Ok(row) => {
            let mut resp = written(db, req, env, ti, row, 201);
            let id_col = db.table_at(ti).schema.col("sys_id").unwrap_or(0);
            resp.headers.push((
                "Location".into(),
                format!("{}/api/now/table/{}/{}", env.base_url, table, db.value(ti, row, id_col)),
            ));
            resp
        }
        Err(e) => e.into(),
    }
}

fn table_update(db: &mut Db, req: &Req, env: &Env<'_>, table: &str, sys_id: &str) -> Resp {
    if table_index(db, table).is_err() {
        return invalid_table(table);
    }
    let Some((t, row)) = find(db, table, sys_id) else { return not_found() };
    let body = match body_object(req) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let now = super::filter::now_string(env.now);
    match write::update(db, t, row, &body, req.flag("sysparm_input_display_value"), &actor(env, &now)) {
        Ok(()) => written(db, req, env, t, row, 200),
        Err(e) => e.into(),
    }
}

fn table_delete(db: &mut Db, table: &str, sys_id: &str) -> Resp {
    if table_index(db, table).is_err() {
        return invalid_table(table);
    }
    let Some((t, row)) = find(db, table, sys_id) else { return not_found() };
    write::delete(db, t, row);
    Resp { status: 204, headers: Vec::new(), body: None }
}

/// Numbers in aggregate results: four decimals for averages, as the official sample shows.
fn avg_text(sum: f64, n: usize) -> String {
    if n == 0 { String::new() } else { format!("{:.4}", sum / n as f64) }
}

fn num_text(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 { format!("{}", v as i64) } else { format!("{v:.4}") }
}

/// The Aggregate API: counts, avg/min/max/sum, group by, having on counts, order by.
fn stats(db: &Db, req: &Req, env: &Env<'_>, table: &str) -> Resp {
    let Some(ti) = db.table_index(table) else { return invalid_table(table) };
    let ctx = Context { now: env.now, user_sys_id: &env.principal.sys_id, user_name: &env.principal.user_name };
    let filter = Filter::compile(db, ti, &parsed_query(db, ti, req), &ctx);
    let rows = filter.run(db, ti);
    let list = |name: &str| -> Vec<(String, Path)> {
        req.param(name)
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .filter_map(|f| Path::resolve(db, ti, f).map(|p| (f.to_string(), p)))
                    .collect()
            })
            .unwrap_or_default()
    };
    let count = req.flag("sysparm_count");
    let aggs: Vec<(&str, Vec<(String, Path)>)> = ["avg", "min", "max", "sum"]
        .into_iter()
        .map(|a| (a, list(&format!("sysparm_{a}_fields"))))
        .filter(|(_, f)| !f.is_empty())
        .collect();
    let group_by = list("sysparm_group_by");
    let mode = DisplayMode::parse(req.param("sysparm_display_value"));

    let stats_of = |rows: &[RowId]| -> Value {
        let mut stats = Map::new();
        if count {
            stats.insert("count".into(), Value::String(rows.len().to_string()));
        }
        for (agg, fields) in &aggs {
            let mut m = Map::new();
            for (name, path) in fields {
                let vals: Vec<f64> =
                    rows.iter().filter_map(|&r| db.strings.get(path.value(db, r)).parse::<f64>().ok()).collect();
                let text = match *agg {
                    "avg" => avg_text(vals.iter().sum(), vals.len()),
                    "sum" => num_text(vals.iter().sum()),
                    "min" => vals.iter().cloned().reduce(f64::min).map(num_text).unwrap_or_default(),
                    _ => vals.iter().cloned().reduce(f64::max).map(num_text).unwrap_or_default(),
                };
                m.insert(name.clone(), Value::String(text));
            }
            stats.insert((*agg).into(), Value::Object(m));
        }
        Value::Object(stats)
    };

    if group_by.is_empty() {
        let body = serde_json::json!({"result": {"stats": stats_of(&rows)}});
        return Resp::json(200, body.to_string());
    }
    // Groups in order of first appearance, then sorted as asked.
    let mut keys: Vec<Vec<u32>> = Vec::new();
    let mut members: Vec<Vec<RowId>> = Vec::new();
    let mut index = std::collections::HashMap::new();
    for &r in &rows {
        let key: Vec<u32> = group_by.iter().map(|(_, p)| p.value(db, r)).collect();
        let i = *index.entry(key.clone()).or_insert_with(|| {
            keys.push(key);
            members.push(Vec::new());
            keys.len() - 1
        });
        members[i].push(r);
    }
    let mut groups: Vec<(Vec<u32>, Vec<RowId>)> = keys.into_iter().zip(members).collect();
    if let Some(having) = req.param("sysparm_having") {
        for h in having.split(',') {
            let parts: Vec<&str> = h.split('^').collect();
            if let [agg, _field, op, value] = parts.as_slice() {
                if agg.eq_ignore_ascii_case("count") {
                    if let Ok(v) = value.parse::<usize>() {
                        groups.retain(|(_, m)| match *op {
                            ">" => m.len() > v,
                            "<" => m.len() < v,
                            ">=" => m.len() >= v,
                            "<=" => m.len() <= v,
                            "=" => m.len() == v,
                            "!=" => m.len() != v,
                            _ => true,
                        });
                    }
                }
            }
        }
    }
    if let Some(order) = req.param("sysparm_order_by") {
        let parts: Vec<&str> = order.split('^').collect();
        let desc = parts.last().is_some_and(|p| p.eq_ignore_ascii_case("DESC"));
        if parts.first().is_some_and(|p| p.eq_ignore_ascii_case("COUNT")) {
            groups.sort_by_key(|(_, m)| m.len());
        } else if let Some(i) = group_by.iter().position(|(n, _)| Some(&n.as_str()) == parts.first()) {
            groups.sort_by(|a, b| db.strings.get(a.0[i]).cmp(db.strings.get(b.0[i])));
        }
        if desc {
            groups.reverse();
        }
    }
    let result: Vec<Value> = groups
        .iter()
        .map(|(key, m)| {
            let fields: Vec<Value> = group_by
                .iter()
                .zip(key)
                .map(|((name, path), &sym)| {
                    let mut o = Map::new();
                    o.insert("value".into(), Value::String(db.strings.get(sym).to_string()));
                    o.insert("field".into(), Value::String(name.clone()));
                    if mode != DisplayMode::Value {
                        o.insert("display_value".into(), Value::String(display(db, path.ty(db), sym).into_owned()));
                    }
                    Value::Object(o)
                })
                .collect();
            serde_json::json!({"stats": stats_of(m), "groupby_fields": fields})
        })
        .collect();
    Resp::json(200, serde_json::json!({ "result": result }).to_string())
}

fn status_text(code: u16) -> &'static str {
    match code {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        429 => "Too Many Requests",
        _ => "Error",
    }
}

/// The Batch API: runs each item through the same dispatcher as the caller, in order.
fn batch(db: &mut Db, req: &Req, env: &Env<'_>) -> Resp {
    let bad = |d: &str| Resp::json(400, error_body("Exception while reading request", Some(d)));
    let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(&req.body) else {
        return bad("The payload is not valid JSON.");
    };
    let id = match body.get("batch_request_id") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    };
    let Some(Value::Array(items)) = body.get("rest_requests") else {
        return bad("rest_requests is required");
    };
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut serviced = Vec::new();
    for item in items {
        let started = std::time::Instant::now();
        let item_id = match item.get("id") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => String::new(),
        };
        let method = item.get("method").and_then(Value::as_str).unwrap_or("GET");
        let url = item.get("url").and_then(Value::as_str).unwrap_or("");
        let headers: Vec<(String, String)> = item
            .get("headers")
            .and_then(Value::as_array)
            .map(|hs| {
                hs.iter()
                    .filter_map(|h| {
                        Some((h.get("name")?.as_str()?.to_ascii_lowercase(), h.get("value")?.as_str()?.to_string()))
                    })
                    .collect()
            })
            .unwrap_or_default();
        let body_bytes = item
            .get("body")
            .and_then(Value::as_str)
            .map(|s| s.chars().filter(|c| !c.is_whitespace()).collect::<String>())
            .and_then(|s| b64.decode(s).ok())
            .unwrap_or_default();
        let resp = if url.starts_with("/api/now/") {
            let inner = Req::new(method, url, headers, body_bytes);
            if route(&inner.path).is_some_and(|r| matches!(r, Route::Batch)) {
                bad_uri()
            } else {
                write(db, &inner, env)
            }
        } else {
            bad_uri()
        };
        let exclude = item.get("exclude_response_headers").and_then(Value::as_bool).unwrap_or(false);
        let mut hdrs: Vec<Value> = Vec::new();
        if !exclude {
            hdrs.push(serde_json::json!({"name": "Content-Type", "value": "application/json;charset=UTF-8"}));
            for (k, v) in &resp.headers {
                hdrs.push(serde_json::json!({"name": k, "value": v}));
            }
        }
        serviced.push(serde_json::json!({
            "id": item_id,
            "body": b64.encode(resp.body.unwrap_or_default()),
            "status_code": resp.status,
            "status_text": status_text(resp.status),
            "headers": hdrs,
            "execution_time": started.elapsed().as_millis() as u64,
        }));
    }
    let out = serde_json::json!({
        "batch_request_id": id,
        "serviced_requests": serviced,
        "unserviced_requests": [],
    });
    Resp::json(200, out.to_string())
}
