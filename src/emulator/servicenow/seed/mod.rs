//! ServiceNow's half of the seeded world (WORLD.md): users from the shared people, departments,
//! locations, assignment groups and memberships, the catalog, incidents, service-catalog
//! requests and requested items with their approvals and tasks, journals, and `sys_choice`.
//!
//! Deterministic: the ServiceNow side draws from ChaCha8 streams 2..=9 of the world seed (2: the
//! access history, 3: incidents, 4: journals, 5: other catalog requests), every time derives from
//! the epoch, and sys_ids are a hash of (seed, table, ordinal) — so adding a table never shifts
//! another table's ids.

pub mod access;

use chrono::{DateTime, Duration, Utc};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::schema::{self, FieldType};
use super::store::{Db, EMPTY, RowId, Sym};
use crate::emulator::world::{Department, Employment, People, Person, Persona, Scale, WorldSpec};
use access::{AccessRequest, Decision, EntryKind, Outcome};

/// A deterministic 32-hex sys_id for the `n`th record of `table` in the world of `seed`.
pub fn sys_id(seed: u64, table: &str, n: u64) -> String {
    fn mix(mut z: u64) -> u64 {
        z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    let mut t = 0xcbf2_9ce4_8422_2325u64;
    for b in table.bytes() {
        t = (t ^ b as u64).wrapping_mul(0x100_0000_01b3);
    }
    let a = mix(seed ^ mix(t ^ mix(n)));
    let b = mix(a ^ 0x5851_F42D_4C95_7F2D);
    format!("{a:016x}{b:016x}")
}

/// The platform's `yyyy-MM-dd HH:mm:ss`, written by hand: chrono's formatter parses its
/// pattern on every call, and the large world formats a million timestamps.
pub fn fmt(t: DateTime<Utc>) -> String {
    use chrono::{Datelike as _, Timelike as _};
    let mut s = String::with_capacity(19);
    let two = |s: &mut String, n: u32| {
        s.push(char::from(b'0' + (n / 10) as u8));
        s.push(char::from(b'0' + (n % 10) as u8));
    };
    let y = t.year().clamp(0, 9999) as u32;
    two(&mut s, y / 100);
    two(&mut s, y % 100);
    s.push('-');
    two(&mut s, t.month());
    s.push('-');
    two(&mut s, t.day());
    s.push(' ');
    two(&mut s, t.hour());
    s.push(':');
    two(&mut s, t.minute());
    s.push(':');
    two(&mut s, t.second());
    s
}

/// A row being built: cells by column, interned as they are set.
struct Rec {
    table: usize,
    cells: Vec<Sym>,
}

impl Rec {
    fn new(db: &Db, table: &str) -> Rec {
        let table = db.table_index(table).unwrap_or(0);
        Rec { table, cells: vec![EMPTY; db.table_at(table).schema.fields.len()] }
    }

    fn set(&mut self, db: &mut Db, field: &str, value: &str) -> &mut Self {
        match db.table_at(self.table).schema.col(field) {
            Some(col) => self.cells[col] = db.strings.intern(value),
            None => debug_assert!(false, "seed sets unknown field {field}"),
        }
        self
    }

    fn push(self, db: &mut Db) -> RowId {
        db.push_cells(self.table, self.cells)
    }
}

/// Who the ServiceNow side knows: people by index, with their sys_ids.
struct Org<'a> {
    people: &'a People,
    user_ids: Vec<String>,
    groups: Groups,
    company: String,
}

/// The assignment groups' sys_ids and members (people indices).
struct Groups {
    service_desk: (String, Vec<usize>),
    iam: (String, Vec<usize>),
    network: (String, Vec<usize>),
    euc: (String, Vec<usize>),
    secops: (String, Vec<usize>),
}

impl Org<'_> {
    fn uid(&self, i: usize) -> &str {
        &self.user_ids[i]
    }
    fn person(&self, i: usize) -> &Person {
        &self.people.people[i]
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Team {
    ServiceDesk,
    Iam,
    Network,
    Euc,
    SecOps,
}

impl Groups {
    fn get(&self, t: Team) -> &(String, Vec<usize>) {
        match t {
            Team::ServiceDesk => &self.service_desk,
            Team::Iam => &self.iam,
            Team::Network => &self.network,
            Team::Euc => &self.euc,
            Team::SecOps => &self.secops,
        }
    }
}

/// Builds every ServiceNow table of the world, and returns the access history the requested
/// items were written from.
pub fn build(spec: &WorldSpec, people: &People) -> (Db, Vec<AccessRequest>) {
    let mut db = Db::new(schema::all());
    let (users, tickets) = (
        people.people.len(),
        match spec.scale {
            Scale::Demo => 1_000,
            Scale::Large => 100_000,
        },
    );
    db.strings.reserve(users * 4 + tickets * 12);
    for (t, n) in [
        ("sys_user", users),
        ("incident", tickets),
        ("sys_journal_field", tickets * 2),
        ("sysapproval_approver", tickets / 5),
    ] {
        if let Some(i) = db.table_index(t) {
            db.table_mut(i).reserve(n);
        }
    }
    let org = org(&mut db, spec, people);
    choices(&mut db, spec.seed);
    let history = access::history(spec, people);
    let counts = requests(&mut db, spec, &org, &history);
    incidents(&mut db, spec, &org, counts);
    (db, history)
}

fn sys_fields(rec: &mut Rec, db: &mut Db, created: &str, created_by: &str, updated: &str, updated_by: &str, mods: u32) {
    rec.set(db, "sys_created_on", created)
        .set(db, "sys_created_by", created_by)
        .set(db, "sys_updated_on", updated)
        .set(db, "sys_updated_by", updated_by)
        .set(db, "sys_mod_count", &mods.to_string());
}

const LOCATIONS: &[(&str, &str, &str)] = &[
    ("London", "1 Finsbury Avenue", "United Kingdom"),
    ("New York", "200 Park Avenue South", "USA"),
    ("San Francisco", "500 Howard Street", "USA"),
    ("Berlin", "Friedrichstrasse 68", "Germany"),
    ("Singapore", "1 Raffles Place", "Singapore"),
    ("Remote", "", ""),
];

fn org<'a>(db: &mut Db, spec: &WorldSpec, people: &'a People) -> Org<'a> {
    let seed = spec.seed;
    let epoch = spec.epoch;
    let setup = fmt(epoch - Duration::days(3 * 365));
    let company = sys_id(seed, "core_company", 0);
    let mut r = Rec::new(db, "core_company");
    r.set(db, "sys_id", &company)
        .set(db, "name", "Example Corp")
        .set(db, "stock_symbol", "EXMP")
        .set(db, "city", "London")
        .set(db, "country", "United Kingdom")
        .set(db, "website", "https://example.com")
        .set(db, "customer", "false")
        .set(db, "vendor", "false");
    sys_fields(&mut r, db, &setup, "admin", &setup, "admin", 0);
    r.push(db);

    let mut location_ids = Vec::new();
    for (i, (name, street, country)) in LOCATIONS.iter().enumerate() {
        let id = sys_id(seed, "cmn_location", i as u64);
        let mut r = Rec::new(db, "cmn_location");
        r.set(db, "sys_id", &id)
            .set(db, "name", name)
            .set(db, "full_name", name)
            .set(db, "street", street)
            .set(db, "city", if *name == "Remote" { "" } else { name })
            .set(db, "country", country)
            .set(db, "company", &company);
        sys_fields(&mut r, db, &setup, "admin", &setup, "admin", 0);
        r.push(db);
        location_ids.push((*name, id));
    }

    let user_ids: Vec<String> = (0..people.people.len()).map(|i| sys_id(seed, "sys_user", i as u64)).collect();
    let mut dept_ids = Vec::new();
    for (i, d) in Department::ALL.iter().enumerate() {
        let id = sys_id(seed, "cmn_department", i as u64);
        let head = access::department_head(people, *d);
        let count = people.people.iter().filter(|p| p.department == *d).count();
        let mut r = Rec::new(db, "cmn_department");
        r.set(db, "sys_id", &id)
            .set(db, "name", d.name())
            .set(db, "id", &format!("D{:03}", i + 1))
            .set(db, "description", &format!("{} department of Example Corp", d.name()))
            .set(db, "dept_head", head.map(|h| user_ids[h].as_str()).unwrap_or(""))
            .set(db, "head_count", &count.to_string())
            .set(db, "company", &company)
            .set(db, "cost_center", &format!("CC-{}", 100 + i * 10));
        sys_fields(&mut r, db, &setup, "admin", &setup, "admin", 0);
        r.push(db);
        dept_ids.push((*d, id));
    }

    let sys_user = db.table_index("sys_user").unwrap_or(0);
    for p in &people.people {
        let created = fmt(p.hired);
        let updated = fmt((p.hired + Duration::days(30)).min(epoch - Duration::days(1)).max(p.hired));
        let active = p.contract_end.is_none_or(|end| end > epoch);
        let dept = dept_ids.iter().find(|(d, _)| *d == p.department).map(|(_, id)| id.as_str()).unwrap_or("");
        let loc = location_ids.iter().find(|(n, _)| *n == p.location).map(|(_, id)| id.as_str()).unwrap_or("");
        let roles = match p.department {
            Department::It | Department::Security => "itil",
            _ => "",
        };
        let mut r = Rec::new(db, "sys_user");
        r.set(db, "sys_id", &user_ids[p.index])
            .set(db, "user_name", &p.user_name)
            .set(db, "first_name", &p.first_name)
            .set(db, "last_name", &p.last_name)
            .set(db, "name", &p.name())
            .set(db, "email", &p.email)
            .set(db, "title", &p.title)
            .set(db, "manager", p.manager.map(|m| user_ids[m].as_str()).unwrap_or(""))
            .set(db, "department", dept)
            .set(db, "location", loc)
            .set(db, "company", &company)
            .set(db, "active", if active { "true" } else { "false" })
            .set(db, "locked_out", "false")
            .set(db, "vip", if p.manager.is_none() { "true" } else { "false" })
            .set(db, "employee_number", &format!("EMP{:06}", p.index + 1))
            .set(db, "phone", &p.phone)
            .set(db, "time_zone", "GMT")
            .set(db, "roles", roles)
            .set(db, "source", "okta")
            .set(db, "notification", "2")
            .set(db, "sys_domain", "global")
            .set(db, "sys_domain_path", "/")
            .set(db, "sys_class_name", "sys_user");
        sys_fields(&mut r, db, &created, "okta.integration", &updated, "okta.integration", 1);
        debug_assert_eq!(r.table, sys_user);
        r.push(db);
    }

    // Assignment groups: deterministic members (the first people of the right titles).
    let pick = |dept: Department, titles: &[&str], n: usize, persona: Option<Persona>| -> Vec<usize> {
        let mut v: Vec<usize> = persona.map(|p| p.index()).into_iter().collect();
        v.extend(
            people
                .people
                .iter()
                .filter(|p| {
                    p.persona.is_none()
                        && p.department == dept
                        && p.employment == Employment::Employee
                        && titles.contains(&p.title.as_str())
                })
                .take(n)
                .map(|p| p.index),
        );
        v
    };
    let big = spec.scale == Scale::Large;
    let it_head = access::department_head(people, Department::It);
    let sec_head = access::department_head(people, Department::Security);
    let defs: [(&str, &str, Vec<usize>, Option<usize>); 5] = [
        (
            "Service Desk",
            "First line: every ticket lands here",
            pick(Department::It, &["Service Desk Analyst"], if big { 40 } else { 8 }, Some(Persona::Dana)),
            it_head,
        ),
        (
            "IAM",
            "Identity and access management: Okta groups, apps and access requests",
            pick(Department::It, &["Systems Administrator"], if big { 12 } else { 4 }, Some(Persona::Alex)),
            Some(Persona::Alex.index()),
        ),
        (
            "Network",
            "Network, VPN and Wi-Fi",
            pick(Department::It, &["Network Engineer"], if big { 15 } else { 5 }, None),
            it_head,
        ),
        (
            "End User Computing",
            "Laptops, peripherals, printers and desktop software",
            pick(Department::It, &["Endpoint Engineer"], if big { 20 } else { 6 }, None),
            it_head,
        ),
        (
            "Security Operations",
            "Phishing reports, suspicious activity, security reviews",
            pick(
                Department::Security,
                &["Security Analyst", "Security Engineer"],
                if big { 12 } else { 5 },
                Some(Persona::Sam),
            ),
            sec_head,
        ),
    ];
    let mut built: Vec<(String, Vec<usize>)> = Vec::new();
    let mut member_n = 0u64;
    for (i, (name, desc, mut members, manager)) in defs.into_iter().enumerate() {
        if members.is_empty() {
            // A tiny world may lack the titles; the service desk's agent covers.
            members.push(Persona::Dana.index());
        }
        let id = sys_id(seed, "sys_user_group", i as u64);
        let mut r = Rec::new(db, "sys_user_group");
        r.set(db, "sys_id", &id)
            .set(db, "name", name)
            .set(db, "description", desc)
            .set(db, "manager", manager.map(|m| user_ids[m].as_str()).unwrap_or(""))
            .set(db, "email", &format!("{}@example.com", name.to_ascii_lowercase().replace(' ', "-")))
            .set(db, "active", "true")
            .set(db, "type", "itil")
            .set(db, "roles", "itil")
            .set(db, "include_members", "false")
            .set(db, "exclude_manager", "false");
        sys_fields(&mut r, db, &setup, "admin", &setup, "admin", 0);
        r.push(db);
        for &m in &members {
            let mut r = Rec::new(db, "sys_user_grmember");
            r.set(db, "sys_id", &sys_id(seed, "sys_user_grmember", member_n))
                .set(db, "user", &user_ids[m])
                .set(db, "group", &id);
            let since = fmt(people.people[m].hired.max(epoch - Duration::days(3 * 365)));
            sys_fields(&mut r, db, &since, "admin", &since, "admin", 0);
            r.push(db);
            member_n += 1;
        }
        built.push((id, members));
    }
    let mut it = built.into_iter();
    let mut next = || it.next().unwrap_or_default();
    let groups = Groups { service_desk: next(), iam: next(), network: next(), euc: next(), secops: next() };

    // The catalog: one item per default-catalog entry, and a few non-access items.
    let mut r_n = 0u64;
    for e in access::CATALOG.iter() {
        let (name, desc) = match e.kind {
            EntryKind::OktaGroup => {
                (format!("Access: {}", e.name), format!("Membership of the Okta group {} (approval required)", e.name))
            }
            EntryKind::OktaApp => {
                ("Access: Salesforce".to_string(), "Assignment to the Okta app Salesforce".to_string())
            }
        };
        cat_item(db, seed, r_n, &name, &desc, "Access", &setup);
        r_n += 1;
    }
    for (name, desc) in HARDWARE {
        cat_item(db, seed, r_n, name, desc, "Hardware", &setup);
        r_n += 1;
    }

    Org { people, user_ids, groups, company }
}

const HARDWARE: [(&str, &str); 4] = [
    ("Standard Laptop", "14-inch laptop with the standard software image"),
    ("27-inch Monitor", "External monitor with USB-C dock"),
    ("Headset", "Noise-cancelling headset for calls"),
    ("Adobe Acrobat Pro licence", "One named-user licence"),
];

fn cat_item(db: &mut Db, seed: u64, n: u64, name: &str, desc: &str, category: &str, when: &str) {
    let mut r = Rec::new(db, "sc_cat_item");
    r.set(db, "sys_id", &sys_id(seed, "sc_cat_item", n))
        .set(db, "name", name)
        .set(db, "short_description", desc)
        .set(db, "description", desc)
        .set(db, "category", category)
        .set(db, "active", "true")
        .set(db, "price", "0")
        .set(db, "sys_class_name", "sc_cat_item");
    sys_fields(&mut r, db, when, "admin", when, "admin", 0);
    r.push(db);
}

/// `sys_choice` rows for every choice field of every table, from the schemas.
fn choices(db: &mut Db, seed: u64) {
    let mut rows = Vec::new();
    for t in db.tables() {
        for f in &t.schema.fields {
            if let FieldType::Choice { choices, .. } = &f.ty {
                for (i, c) in choices.iter().enumerate() {
                    rows.push((t.schema.name, f.name, c.value, c.label, (i + 1) * 100));
                }
            }
        }
    }
    let when = "2020-01-01 00:00:00";
    for (n, (table, element, value, label, seq)) in rows.into_iter().enumerate() {
        let mut r = Rec::new(db, "sys_choice");
        r.set(db, "sys_id", &sys_id(seed, "sys_choice", n as u64))
            .set(db, "name", table)
            .set(db, "element", element)
            .set(db, "value", value)
            .set(db, "label", label)
            .set(db, "sequence", &seq.to_string())
            .set(db, "inactive", "false")
            .set(db, "language", "en");
        sys_fields(&mut r, db, when, "admin", when, "admin", 0);
        r.push(db);
    }
}

/// Defaults every seeded ticket shares (the values the official samples show).
fn task_defaults(r: &mut Rec, db: &mut Db, table: &str, company: &str) {
    r.set(db, "sys_class_name", table)
        .set(db, "sys_domain", "global")
        .set(db, "sys_domain_path", "/")
        .set(db, "escalation", "0")
        .set(db, "upon_approval", "proceed")
        .set(db, "upon_reject", "cancel")
        .set(db, "knowledge", "false")
        .set(db, "reassignment_count", "0")
        .set(db, "company", company);
}

/// Priority from impact × urgency (the stock data lookup).
pub fn priority(impact: u8, urgency: u8) -> u8 {
    match impact + urgency {
        2 => 1,
        3 => 2,
        4 => 3,
        5 => 4,
        _ => 5,
    }
}

/// Hours to the resolution SLA by priority.
fn sla_hours(priority: u8) -> i64 {
    match priority {
        1 => 4,
        2 => 8,
        3 => 24,
        4 => 72,
        _ => 120,
    }
}

/// Journal entries written as the world is built, with their own ordinal for sys_ids.
struct Journal {
    n: u64,
    seed: u64,
}

impl Journal {
    /// Appends an entry on `on` = (table, record sys_id).
    fn add(&mut self, db: &mut Db, on: (&str, &str), element: &str, value: &str, at: &str, by: &str) {
        let (table, element_id) = on;
        let mut r = Rec::new(db, "sys_journal_field");
        r.set(db, "sys_id", &sys_id(self.seed, "sys_journal_field", self.n))
            .set(db, "element", element)
            .set(db, "element_id", element_id)
            .set(db, "name", table)
            .set(db, "value", value)
            .set(db, "sys_created_on", at)
            .set(db, "sys_created_by", by);
        r.push(db);
        self.n += 1;
    }
}

/// How many tickets of each catalog kind exist, so incidents can fill up to the scale's total.
struct Counts {
    catalog_tickets: usize,
    journal: Journal,
}

fn person_name(org: &Org<'_>, i: usize) -> String {
    org.person(i).name()
}

/// A catalog task to write once every requested item is known (numbers follow time).
struct Task {
    opened: DateTime<Utc>,
    item: usize,
    ritm_id: String,
    req_id: String,
    hardware_item: bool,
    fulfiller: usize,
}

/// A requested item's content, whichever kind it is.
struct ItemRecord {
    who: usize,
    opened_by: usize,
    opened: DateTime<Utc>,
    cat: usize,
    short: String,
    description: String,
    outcome: Outcome,
    last: DateTime<Utc>,
    steps: Vec<StepRow>,
}

/// One approval row: (order, approver, state, asked at, decided/updated at).
type StepRow = (usize, usize, &'static str, DateTime<Utc>, DateTime<Utc>);

/// One requested item to write: an access request from the history, or a hardware order.
enum Item<'h> {
    Access(&'h AccessRequest),
    Hardware { who: usize, item: usize, opened: DateTime<Utc>, approved: Option<(bool, DateTime<Utc>)> },
}

impl Item<'_> {
    fn opened(&self) -> DateTime<Utc> {
        match self {
            Item::Access(r) => r.opened_at,
            Item::Hardware { opened, .. } => *opened,
        }
    }
}

fn requests(db: &mut Db, spec: &WorldSpec, org: &Org<'_>, history: &[AccessRequest]) -> Counts {
    let seed = spec.seed;
    let epoch = spec.epoch;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(5);
    let hardware = match spec.scale {
        Scale::Demo => 15,
        Scale::Large => 1_500,
    };
    let mut items: Vec<Item<'_>> = history.iter().map(Item::Access).collect();
    for _ in 0..hardware {
        let who = rng.random_range(Persona::ALL.len()..org.people.people.len());
        let opened = epoch - Duration::minutes(rng.random_range(60..42 * 24 * 60));
        let decided = opened + Duration::minutes(rng.random_range(30..3 * 24 * 60));
        let approved = if org.person(who).manager.is_none() {
            None
        } else if decided < epoch {
            Some((!rng.random_ratio(1, 10), decided))
        } else {
            None
        };
        let item = access::CATALOG.len() + rng.random_range(0..HARDWARE.len());
        items.push(Item::Hardware { who, item, opened, approved });
    }
    // Numbers follow the order records were opened in, as on a real instance.
    let mut order: Vec<usize> = (0..items.len()).collect();
    order.sort_by_key(|&i| (items[i].opened(), i));

    let mut journal = Journal { n: 0, seed };
    let mut approval_n = 0u64;
    let mut tasks: Vec<Task> = Vec::new();
    let iam = org.groups.get(Team::Iam).clone();
    let euc = org.groups.get(Team::Euc).clone();
    let ritm_t = db.table_index("sc_req_item").unwrap_or(0);
    let req_t = db.table_index("sc_request").unwrap_or(0);
    for (pos, &i) in order.iter().enumerate() {
        let number = 10_001 + pos as u64;
        let req_id = sys_id(seed, "sc_request", i as u64);
        let ritm_id = sys_id(seed, "sc_req_item", i as u64);
        let record = match &items[i] {
            Item::Access(r) => {
                let who = r.requested_for;
                let cat = access::CATALOG.iter().position(|e| e.name == r.entry.name).unwrap_or(0);
                let short = format!("Access request: {} for {}", r.entry.name, person_name(org, who));
                let dur = match r.duration_hours {
                    Some(h) if h >= 24 => format!("{} days", h / 24),
                    Some(h) => format!("{h} hours"),
                    None => "permanent".into(),
                };
                let description = format!(
                    "Justification: {}\nRequested duration: {}{}",
                    r.justification,
                    dur,
                    if r.via_oig { "\nRaised in Okta Identity Governance" } else { "" }
                );
                let mut rows = Vec::new();
                let mut last_t = r.opened_at;
                for (s, step) in r.steps.iter().enumerate() {
                    for &a in &step.approvers {
                        let (state, at) = match (step.asked_at, step.decision) {
                            (None, _) => ("not requested", r.opened_at),
                            (Some(asked), None) => ("requested", asked),
                            (Some(_), Some((d, by, at))) if by == a => {
                                (if d == Decision::Approved { "approved" } else { "rejected" }, at)
                            }
                            (Some(_), Some((_, _, at))) => ("not_required", at),
                        };
                        last_t = last_t.max(at);
                        rows.push((s + 1, a, state, step.asked_at.unwrap_or(r.opened_at), at));
                    }
                }
                let last = r.granted_at.unwrap_or(last_t).max(last_t);
                ItemRecord {
                    who,
                    opened_by: r.opened_by,
                    opened: r.opened_at,
                    cat,
                    short,
                    description,
                    outcome: r.outcome,
                    last,
                    steps: rows,
                }
            }
            Item::Hardware { who, item, opened, approved } => {
                let hw = HARDWARE[*item - access::CATALOG.len()];
                let short = format!("{} for {}", hw.0, person_name(org, *who));
                let mgr = org.person(*who).manager.unwrap_or(0);
                let (outcome, last, rows): (Outcome, DateTime<Utc>, Vec<StepRow>) = match approved {
                    Some((true, at)) => (Outcome::Approved, *at, vec![(1, mgr, "approved", *opened, *at)]),
                    Some((false, at)) => (Outcome::Rejected, *at, vec![(1, mgr, "rejected", *opened, *at)]),
                    None => (Outcome::Pending, *opened, vec![(1, mgr, "requested", *opened, *opened)]),
                };
                ItemRecord {
                    who: *who,
                    opened_by: *who,
                    opened: *opened,
                    cat: *item,
                    short,
                    description: hw.1.to_string(),
                    outcome,
                    last,
                    steps: rows,
                }
            }
        };
        let ItemRecord { who, opened_by, opened, cat, short, description, outcome, last, steps: steps_done } = record;
        let hardware_item = matches!(items[i], Item::Hardware { .. });
        let closed = outcome != Outcome::Pending;
        let (approval, state, stage, req_state) = match outcome {
            Outcome::Pending => ("requested", "1", "waiting_for_approval", "requested"),
            Outcome::Approved => ("approved", "3", "complete", "closed_complete"),
            Outcome::Rejected => ("rejected", "4", "Request Cancelled", "closed_rejected"),
        };
        let team = if hardware_item { &euc } else { &iam };
        let fulfiller = team.1[(i * 7) % team.1.len().max(1)];
        let opened_s = fmt(opened);
        let last_s = fmt(last);
        let last_by = match outcome {
            Outcome::Approved => org.person(fulfiller).user_name.clone(),
            Outcome::Rejected => steps_done
                .iter()
                .find(|s| s.2 == "rejected")
                .map(|s| org.person(s.1).user_name.clone())
                .unwrap_or_else(|| "system".into()),
            Outcome::Pending => "system".into(),
        };
        let opener = org.person(opened_by).user_name.clone();

        // sc_request
        let mut r = Rec::new(db, "sc_request");
        task_defaults(&mut r, db, "sc_request", &org.company);
        r.set(db, "sys_id", &req_id)
            .set(db, "number", &format!("REQ{number:07}"))
            .set(db, "short_description", &short)
            .set(db, "description", &description)
            .set(db, "requested_for", org.uid(who))
            .set(db, "opened_by", org.uid(opened_by))
            .set(db, "opened_at", &opened_s)
            .set(db, "state", state)
            .set(db, "active", if closed { "false" } else { "true" })
            .set(db, "request_state", req_state)
            .set(db, "stage", stage)
            .set(db, "approval", approval)
            .set(db, "impact", "3")
            .set(db, "urgency", "2")
            .set(db, "priority", "4")
            .set(db, "price", "0")
            .set(db, "made_sla", "true")
            .set(db, "contact_type", if opened_by == who { "self-service" } else { "phone" })
            .set(db, "closed_at", if closed { &last_s } else { "" })
            .set(db, "requested_date", &(opened + Duration::days(5)).format("%Y-%m-%d").to_string());
        sys_fields(&mut r, db, &opened_s, &opener, &last_s, &last_by, if closed { 2 } else { 0 });
        debug_assert_eq!(r.table, req_t);
        r.push(db);

        // sc_req_item
        let mut r = Rec::new(db, "sc_req_item");
        task_defaults(&mut r, db, "sc_req_item", &org.company);
        r.set(db, "sys_id", &ritm_id)
            .set(db, "number", &format!("RITM{number:07}"))
            .set(db, "short_description", &short)
            .set(db, "description", &description)
            .set(db, "request", &req_id)
            .set(db, "parent", &req_id)
            .set(db, "cat_item", &sys_id(seed, "sc_cat_item", cat as u64))
            .set(db, "requested_for", org.uid(who))
            .set(db, "opened_by", org.uid(opened_by))
            .set(db, "opened_at", &opened_s)
            .set(db, "quantity", "1")
            .set(db, "state", state)
            .set(db, "active", if closed { "false" } else { "true" })
            .set(db, "stage", stage)
            .set(db, "approval", approval)
            .set(db, "impact", "3")
            .set(db, "urgency", "2")
            .set(db, "priority", "4")
            .set(db, "price", "0")
            .set(db, "billable", "false")
            .set(db, "backordered", "false")
            .set(db, "made_sla", "true")
            .set(db, "assignment_group", &team.0)
            .set(db, "assigned_to", if outcome == Outcome::Approved { org.uid(fulfiller) } else { "" })
            .set(db, "closed_at", if closed { &last_s } else { "" })
            .set(db, "closed_by", if outcome == Outcome::Approved { org.uid(fulfiller) } else { "" })
            .set(db, "approval_set", &fmt(steps_done.first().map(|s| s.3).unwrap_or(opened)));
        sys_fields(&mut r, db, &opened_s, &opener, &last_s, &last_by, steps_done.len() as u32 + u32::from(closed));
        debug_assert_eq!(r.table, ritm_t);
        r.push(db);

        // Approval rows, one per approver per step.
        for (order_no, approver, state, asked, at) in &steps_done {
            let id = sys_id(seed, "sysapproval_approver", approval_n);
            approval_n += 1;
            let decided = matches!(*state, "approved" | "rejected");
            let mut r = Rec::new(db, "sysapproval_approver");
            r.set(db, "sys_id", &id)
                .set(db, "approver", org.uid(*approver))
                .set(db, "sysapproval", &ritm_id)
                .set(db, "document_id", &ritm_id)
                .set(db, "source_table", "sc_req_item")
                .set(db, "state", state)
                .set(db, "order", &order_no.to_string())
                .set(db, "iteration", "1")
                .set(db, "approval_column", "approval")
                .set(db, "approval_journal_column", "approval_history")
                .set(db, "due_date", &fmt(*asked + Duration::days(3)))
                .set(db, "sys_domain", "global");
            let by = if decided { org.person(*approver).user_name.clone() } else { "system".into() };
            sys_fields(&mut r, db, &fmt(*asked), "system", &fmt(*at), &by, u32::from(*state != "requested"));
            r.push(db);
            if *state == "rejected" {
                let reason = match &items[i] {
                    Item::Access(req) => access::rejection_reason(req),
                    Item::Hardware { .. } => "Please reuse the equipment you already have",
                };
                journal.add(db, ("sysapproval_approver", &id), "comments", reason, &fmt(*at), &by);
            }
        }
        if outcome == Outcome::Approved {
            tasks.push(Task {
                opened: last,
                item: i,
                ritm_id: ritm_id.clone(),
                req_id: req_id.clone(),
                hardware_item,
                fulfiller,
            });
        }
        // Journal on the RITM: the requester's comment, and the fulfiller's note.
        journal.add(db, ("sc_req_item", &ritm_id), "comments", &description, &opened_s, &opener);
        if let (Outcome::Approved, Item::Access(r)) = (outcome, &items[i]) {
            let note = match r.entry.kind {
                EntryKind::OktaGroup => format!("Added {} to Okta group {}", person_name(org, who), r.entry.name),
                EntryKind::OktaApp => format!("Assigned Okta app Salesforce to {}", person_name(org, who)),
            };
            let note = if r.via_oig { format!("{note} (fulfilled by Okta Identity Governance)") } else { note };
            journal.add(db, ("sc_req_item", &ritm_id), "work_notes", &note, &last_s, &org.person(fulfiller).user_name);
        }
    }

    // Catalog tasks for approved items, numbered in the order they were opened.
    tasks.sort_by_key(|t| (t.opened, t.item));
    for (pos, Task { opened, item: i, ritm_id, req_id, hardware_item, fulfiller }) in tasks.iter().enumerate() {
        let closed_at = opened;
        let id = sys_id(seed, "sc_task", *i as u64);
        let team = if *hardware_item { &euc } else { &iam };
        let opened_s = fmt(*opened - Duration::minutes(1));
        let closed_s = fmt(*closed_at);
        let what = match &items[*i] {
            Item::Access(r) => format!("Provision {} for {}", r.entry.name, person_name(org, r.requested_for)),
            Item::Hardware { who, item, .. } => {
                format!("Prepare {} for {}", HARDWARE[*item - access::CATALOG.len()].0, person_name(org, *who))
            }
        };
        let by = org.person(*fulfiller).user_name.clone();
        let mut r = Rec::new(db, "sc_task");
        task_defaults(&mut r, db, "sc_task", &org.company);
        r.set(db, "sys_id", &id)
            .set(db, "number", &format!("SCTASK{:07}", 10_001 + pos))
            .set(db, "short_description", &what)
            .set(db, "request_item", ritm_id)
            .set(db, "request", req_id)
            .set(db, "parent", ritm_id)
            .set(db, "assignment_group", &team.0)
            .set(db, "assigned_to", org.uid(*fulfiller))
            .set(db, "opened_at", &opened_s)
            .set(db, "opened_by", org.uid(*fulfiller))
            .set(db, "state", "3")
            .set(db, "active", "false")
            .set(db, "approval", "not requested")
            .set(db, "impact", "3")
            .set(db, "urgency", "2")
            .set(db, "priority", "4")
            .set(db, "made_sla", "true")
            .set(db, "closed_at", &closed_s)
            .set(db, "closed_by", org.uid(*fulfiller))
            .set(db, "close_notes", "Completed");
        sys_fields(&mut r, db, &opened_s, "system", &closed_s, &by, 2);
        r.push(db);
    }
    Counts { catalog_tickets: items.len() * 2 + tasks.len(), journal }
}

struct IncidentKind {
    short: &'static str,
    description: &'static str,
    category: &'static str,
    subcategory: &'static str,
    team: Team,
    weight: u32,
    resolution: &'static str,
}

const APPS: &[&str] = &["Salesforce", "GitHub", "the AWS console", "Slack", "Zoom", "NetSuite", "Workday", "Jira"];

const KINDS: &[IncidentKind] = &[
    IncidentKind {
        short: "Locked out of Okta - cannot sign in",
        description: "{caller} is locked out of Okta after several failed sign-in attempts and cannot reach any app.",
        category: "inquiry",
        subcategory: "account",
        team: Team::ServiceDesk,
        weight: 8,
        resolution: "Verified identity by phone and unlocked the Okta account.",
    },
    IncidentKind {
        short: "Password reset request",
        description: "{caller} forgot their password and needs a reset link.",
        category: "inquiry",
        subcategory: "password",
        team: Team::ServiceDesk,
        weight: 10,
        resolution: "Sent a password reset link after identity verification.",
    },
    IncidentKind {
        short: "Lost MFA device - need factor reset",
        description: "{caller} lost the phone with Okta Verify and cannot complete MFA.",
        category: "inquiry",
        subcategory: "mfa",
        team: Team::ServiceDesk,
        weight: 6,
        resolution: "Reset MFA factors; user enrolled a new device.",
    },
    IncidentKind {
        short: "Cannot access {app}",
        description: "{caller} gets an 'app not assigned' error when opening {app} from the Okta dashboard.",
        category: "access",
        subcategory: "application",
        team: Team::Iam,
        weight: 10,
        resolution: "User was missing the group assignment; raised an access request.",
    },
    IncidentKind {
        short: "VPN keeps disconnecting",
        description: "{caller}'s VPN session drops every few minutes when working from home.",
        category: "network",
        subcategory: "vpn",
        team: Team::Network,
        weight: 6,
        resolution: "Updated the VPN client and switched to the nearest gateway.",
    },
    IncidentKind {
        short: "Wi-Fi drops in the {location} office",
        description: "Several people in {location} report Wi-Fi dropping on the third floor.",
        category: "network",
        subcategory: "wireless",
        team: Team::Network,
        weight: 4,
        resolution: "Replaced a faulty access point.",
    },
    IncidentKind {
        short: "Laptop will not boot",
        description: "{caller}'s laptop shows a black screen after the logo.",
        category: "hardware",
        subcategory: "laptop",
        team: Team::Euc,
        weight: 5,
        resolution: "Reimaged the laptop; user data restored from backup.",
    },
    IncidentKind {
        short: "Laptop battery swelling",
        description: "{caller} noticed the laptop case bulging near the trackpad.",
        category: "hardware",
        subcategory: "laptop",
        team: Team::Euc,
        weight: 2,
        resolution: "Swapped the laptop; old unit sent for disposal.",
    },
    IncidentKind {
        short: "Onboarding: accounts for a new starter",
        description: "{caller} starts next Monday and needs Okta, email and laptop ready.",
        category: "inquiry",
        subcategory: "onboarding",
        team: Team::ServiceDesk,
        weight: 4,
        resolution: "Accounts created and laptop handed over.",
    },
    IncidentKind {
        short: "Offboarding: remove access for a leaver",
        description: "{caller} leaves the company this Friday; deactivate accounts at 17:00.",
        category: "access",
        subcategory: "offboarding",
        team: Team::Iam,
        weight: 3,
        resolution: "Okta account deactivated; apps deprovisioned.",
    },
    IncidentKind {
        short: "Outlook not syncing on phone",
        description: "{caller}'s mail stopped syncing on the mobile app yesterday.",
        category: "software",
        subcategory: "email",
        team: Team::ServiceDesk,
        weight: 5,
        resolution: "Re-added the account in the mobile app.",
    },
    IncidentKind {
        short: "Printer on the second floor jammed",
        description: "The shared printer near the kitchen shows a paper jam that cannot be cleared.",
        category: "hardware",
        subcategory: "printer",
        team: Team::Euc,
        weight: 3,
        resolution: "Removed torn paper from the fuser; printer back in service.",
    },
    IncidentKind {
        short: "Suspicious email reported",
        description: "{caller} received an email asking to confirm Okta credentials on an unknown site.",
        category: "inquiry",
        subcategory: "phishing",
        team: Team::SecOps,
        weight: 3,
        resolution: "Phishing confirmed; sender blocked and message purged from mailboxes.",
    },
    IncidentKind {
        short: "{app} is very slow",
        description: "{caller} reports {app} taking over a minute to load pages.",
        category: "software",
        subcategory: "application",
        team: Team::ServiceDesk,
        weight: 4,
        resolution: "Vendor-side degradation; resolved after their fix.",
    },
    IncidentKind {
        short: "Need admin rights to install software",
        description: "{caller} needs a development tool that requires local admin rights.",
        category: "software",
        subcategory: "install",
        team: Team::Euc,
        weight: 3,
        resolution: "Installed the tool through the software portal.",
    },
];

const PROGRESS_NOTES: &[&str] = &[
    "Called the user, investigating.",
    "Checked the Okta System Log for recent events.",
    "Waiting for the user to confirm.",
    "Escalated to the vendor.",
    "Reproduced the problem.",
];

const CALLER_COMMENTS: &[&str] = &[
    "This is blocking my work, please help.",
    "Any update on this?",
    "I tried restarting, same problem.",
    "Thanks, I can be reached on my mobile.",
];

const CLOSE_CODES: &[&str] =
    &["Solution provided", "Workaround provided", "Resolved by caller", "User error", "Known error"];

fn incidents(db: &mut Db, spec: &WorldSpec, org: &Org<'_>, mut counts: Counts) {
    let seed = spec.seed;
    let epoch = spec.epoch;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(3);
    let mut jrng = ChaCha8Rng::seed_from_u64(seed);
    jrng.set_stream(4);
    let total: usize = match spec.scale {
        Scale::Demo => 1_000,
        Scale::Large => 100_000,
    };
    let n = total.saturating_sub(counts.catalog_tickets).max(50);
    let people = org.people.people.len();
    let span = 42 * 24 * 3600i64;
    // Opening times first, sorted, so numbers follow time; riley's lockout is the newest.
    let mut opened: Vec<i64> = (0..n - 1).map(|_| rng.random_range(50 * 60..span)).collect();
    opened.sort_unstable_by(|a, b| b.cmp(a));
    opened.push(40 * 60);
    let weight_sum: u32 = KINDS.iter().map(|k| k.weight).sum();
    let dana = Persona::Dana.index();
    let riley = Persona::Riley.index();
    let mut dana_assigned = 0;
    let dana_target = if spec.scale == Scale::Large { 30 } else { 5 };
    let inc_t = db.table_index("incident").unwrap_or(0);
    for (k, ago) in opened.into_iter().enumerate() {
        let story = k == n - 1;
        let opened_at = epoch - Duration::seconds(ago);
        let mut pick = rng.random_range(0..weight_sum);
        let kind = KINDS
            .iter()
            .find(|kd| {
                if pick < kd.weight {
                    true
                } else {
                    pick -= kd.weight;
                    false
                }
            })
            .unwrap_or(&KINDS[0]);
        let kind = if story { &KINDS[0] } else { kind };
        let caller = if story { riley } else { rng.random_range(Persona::ALL.len()..people) };
        let app = APPS[rng.random_range(0..APPS.len())];
        let cp = org.person(caller);
        let fill = |s: &str| s.replace("{caller}", &cp.name()).replace("{app}", app).replace("{location}", cp.location);
        let (impact, urgency): (u8, u8) = if story {
            (2, 1)
        } else {
            let i = [1, 2, 2, 2, 3, 3, 3, 3, 3, 3][rng.random_range(0..10)];
            let u = [1, 1, 2, 2, 2, 3, 3, 3, 3, 3][rng.random_range(0..10)];
            (i, u)
        };
        let pri = priority(impact, urgency);
        let age_h = ago / 3600;
        let p_open = match age_h {
            0..48 => 0.9,
            48..168 => 0.6,
            168..504 => 0.35,
            _ => 0.12,
        };
        // A ticket opened minutes ago cannot have been worked and resolved yet.
        let open = story || ago < 30 * 60 || rng.random_bool(p_open);
        let team = org.groups.get(kind.team);
        let member = |rng: &mut ChaCha8Rng| team.1[rng.random_range(0..team.1.len().max(1))];
        let (state, assignee) = if story {
            ("1", None)
        } else if open {
            match rng.random_range(0..20) {
                0..9 => ("1", None),
                9..17 => ("2", Some(member(&mut rng))),
                _ => ("3", Some(member(&mut rng))),
            }
        } else if rng.random_ratio(1, 30) {
            ("8", None)
        } else {
            ("7", Some(member(&mut rng)))
        };
        let assignee = match (state, kind.team) {
            ("2", Team::ServiceDesk) if dana_assigned < dana_target => {
                dana_assigned += 1;
                Some(dana)
            }
            _ => assignee,
        };
        let sla_due = opened_at + Duration::hours(sla_hours(pri));
        let mut resolved_at = None;
        let mut closed_at = None;
        let mut state = state;
        if state == "7" {
            let room = ((ago / 60) - 5).clamp(11, 3 * 24 * 60);
            let r = opened_at + Duration::minutes(rng.random_range(10..room));
            resolved_at = Some(r);
            let c = r + Duration::days(3);
            if c < epoch {
                closed_at = Some(c);
            } else {
                state = "6";
            }
        }
        if state == "8" {
            closed_at = Some((opened_at + Duration::hours(rng.random_range(1..48))).min(epoch - Duration::minutes(1)));
        }
        let made_sla = match resolved_at {
            Some(r) => r <= sla_due,
            None => state == "8" || epoch <= sla_due,
        };
        let self_service = rng.random_ratio(1, 2);
        let contact = if story {
            "phone"
        } else if self_service {
            "self-service"
        } else {
            ["phone", "email"][rng.random_range(0..2)]
        };
        let agent = org.groups.service_desk.1[rng.random_range(0..org.groups.service_desk.1.len().max(1))];
        let opener = if self_service { caller } else { agent };
        let id = sys_id(seed, "incident", k as u64);
        let opened_s = fmt(opened_at);

        // Journal: caller comments, assignee work notes, the resolution note.
        let mut last = opened_at;
        let mut last_by = org.person(opener).user_name.clone();
        let mut mods = 0u32;
        let limit = resolved_at.or(closed_at).unwrap_or(epoch - Duration::minutes(1));
        let mut entries = if story { 0 } else { jrng.random_range(0..3) };
        if let Some(a) = assignee {
            while entries > 0 && last < limit {
                let at = last + Duration::minutes(jrng.random_range(5..240));
                if at >= limit {
                    break;
                }
                let (element, text, by) = if jrng.random_ratio(1, 2) {
                    ("work_notes", PROGRESS_NOTES[jrng.random_range(0..PROGRESS_NOTES.len())], a)
                } else {
                    ("comments", CALLER_COMMENTS[jrng.random_range(0..CALLER_COMMENTS.len())], caller)
                };
                let by_name = org.person(by).user_name.clone();
                counts.journal.add(db, ("incident", &id), element, text, &fmt(at), &by_name);
                last = at;
                last_by = by_name;
                mods += 1;
                entries -= 1;
            }
        }
        let close_code = CLOSE_CODES[rng.random_range(0..CLOSE_CODES.len())];
        if let (Some(r), Some(a)) = (resolved_at, assignee) {
            let by = org.person(a).user_name.clone();
            counts.journal.add(db, ("incident", &id), "work_notes", kind.resolution, &fmt(r), &by);
            last = r;
            last_by = by;
            mods += 2;
        }
        if let Some(c) = closed_at {
            last = last.max(c);
            if state == "7" {
                last_by = "system".into();
            }
            mods += 1;
        }
        if state != "1" && mods == 0 {
            mods = 1;
            last = (opened_at + Duration::minutes(rng.random_range(2..60)))
                .min(epoch - Duration::minutes(1))
                .max(opened_at);
            if let Some(a) = assignee {
                last_by = org.person(a).user_name.clone();
            }
        }

        let mut r = Rec::new(db, "incident");
        task_defaults(&mut r, db, "incident", &org.company);
        r.set(db, "sys_id", &id)
            .set(db, "number", &format!("INC{:07}", 10_001 + k))
            .set(db, "short_description", &fill(kind.short))
            .set(db, "description", &fill(kind.description))
            .set(db, "caller_id", org.uid(caller))
            .set(db, "opened_by", org.uid(opener))
            .set(db, "opened_at", &opened_s)
            .set(db, "category", kind.category)
            .set(db, "subcategory", kind.subcategory)
            .set(db, "state", state)
            .set(db, "incident_state", state)
            .set(db, "active", if matches!(state, "7" | "8") { "false" } else { "true" })
            .set(db, "impact", &impact.to_string())
            .set(db, "urgency", &urgency.to_string())
            .set(db, "priority", &pri.to_string())
            .set(db, "severity", "3")
            .set(db, "notify", "1")
            .set(db, "reopen_count", "0")
            .set(db, "child_incidents", "0")
            .set(db, "contact_type", contact)
            .set(db, "assignment_group", &team.0)
            .set(db, "assigned_to", assignee.map(|a| org.uid(a)).unwrap_or(""))
            .set(db, "approval", "not requested")
            .set(db, "sla_due", &fmt(sla_due))
            .set(db, "made_sla", if made_sla { "true" } else { "false" })
            .set(db, "hold_reason", if state == "3" { "1" } else { "" })
            .set(db, "location", "");
        if let Some(res) = resolved_at {
            let by = assignee.map(|a| org.uid(a)).unwrap_or("");
            r.set(db, "resolved_at", &fmt(res)).set(db, "resolved_by", by).set(db, "close_code", close_code).set(
                db,
                "close_notes",
                kind.resolution,
            );
        }
        if let Some(c) = closed_at {
            r.set(db, "closed_at", &fmt(c)).set(db, "closed_by", assignee.map(|a| org.uid(a)).unwrap_or(""));
            if state == "8" {
                r.set(db, "close_notes", "Canceled: raised in error");
            }
        }
        let creator = org.person(opener).user_name.clone();
        sys_fields(&mut r, db, &opened_s, &creator, &fmt(last), &last_by, mods);
        debug_assert_eq!(r.table, inc_t);
        r.push(db);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn timestamps_match_the_platform_format() {
        for t in [
            Utc.with_ymd_and_hms(2025, 3, 9, 7, 5, 3).unwrap(),
            Utc.with_ymd_and_hms(1999, 12, 31, 23, 59, 59).unwrap(),
            Utc.with_ymd_and_hms(2031, 1, 1, 0, 0, 0).unwrap(),
        ] {
            assert_eq!(fmt(t), t.format("%Y-%m-%d %H:%M:%S").to_string());
        }
    }

    #[test]
    fn sys_ids_are_32_hex_and_distinct() {
        let a = sys_id(1, "incident", 0);
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        assert_ne!(a, sys_id(1, "incident", 1));
        assert_ne!(a, sys_id(1, "sc_task", 0));
        assert_ne!(a, sys_id(2, "incident", 0));
    }
}
