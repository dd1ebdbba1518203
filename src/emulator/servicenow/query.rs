//! Encoded queries (`sysparm_query`), parsed the way the platform reads them.
//!
//! Grammar, from the operator reference (`r_OpAvailableFiltersQueries.md`) and the encoded-query
//! page: terms are separated by `^`; a term starting with `OR` is OR-ed with the condition before
//! it; `NQ` starts a new AND-group (the groups are OR-ed); `ORDERBY<f>` / `ORDERBYDESC<f>` sort.
//! A condition is `<field><OPERATOR><value>` with no separator: the field is the leading run of
//! `[a-z0-9_.]`, the operator the longest known operator after it, the value the rest (it may
//! contain `=`, `@`, anything but `^`). A term that cannot be read is kept as [`Op::Invalid`] so
//! the evaluator can ignore it as ServiceNow does by default.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc};

/// A condition operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// `=`
    Eq,
    /// `!=`
    Ne,
    /// `LIKE` / `*`: contains, case-insensitive.
    Like,
    /// `NOT LIKE` / `!*`
    NotLike,
    /// `STARTSWITH`
    StartsWith,
    /// `ENDSWITH` / `%`
    EndsWith,
    /// `IN` (comma list)
    In,
    /// `NOT IN`
    NotIn,
    /// `ISEMPTY`
    IsEmpty,
    /// `ISNOTEMPTY`
    IsNotEmpty,
    /// `ANYTHING`
    Anything,
    /// `EMPTYSTRING`
    EmptyString,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `BETWEEN a@b`
    Between,
    /// `SAMEAS other_field`
    SameAs,
    /// `NSAMEAS other_field`
    NSameAs,
    /// `GT_FIELD other_field`
    GtField,
    /// `LT_FIELD other_field`
    LtField,
    /// `GT_OR_EQUALS_FIELD other_field`
    GeField,
    /// `LT_OR_EQUALS_FIELD other_field`
    LeField,
    /// `ONToday@start@end`
    On,
    /// `NOTONToday@start@end`
    NotOn,
    /// `RELATIVEGT@unit@ago|ahead@n`
    RelativeGt,
    /// `RELATIVELT@unit@ago|ahead@n`
    RelativeLt,
    /// `DYNAMIC<sys_id of a dynamic filter option>`
    Dynamic,
    /// `123TEXTQUERY321=term`: keyword search over the text fields.
    TextSearch,
    /// A known operator the emulator does not evaluate, or no operator at all: ignored.
    Invalid,
}

/// Operators by their spelling, longest first so `NOT LIKE` wins over `NOT IN`'s prefix and
/// `ISNOTEMPTY` over `ISEMPTY`.
const OPERATORS: &[(&str, Op)] = &[
    ("IN_HIERARCHY_DYNAMIC", Op::Invalid),
    ("GT_OR_EQUALS_FIELD", Op::GeField),
    ("LT_OR_EQUALS_FIELD", Op::LeField),
    ("IN_HIERARCHY", Op::Invalid),
    ("EMPTYSTRING", Op::EmptyString),
    ("DOESNOTHAVE", Op::Invalid),
    ("CHANGESFROM", Op::Invalid),
    ("ISNOTEMPTY", Op::IsNotEmpty),
    ("STARTSWITH", Op::StartsWith),
    ("RELATIVEGT", Op::RelativeGt),
    ("RELATIVELT", Op::RelativeLt),
    ("VALCHANGES", Op::Invalid),
    ("CHANGESTO", Op::Invalid),
    ("EXCLUDING", Op::Invalid),
    ("ENDSWITH", Op::EndsWith),
    ("NOT LIKE", Op::NotLike),
    ("ANYTHING", Op::Anything),
    ("GT_FIELD", Op::GtField),
    ("LT_FIELD", Op::LtField),
    ("DATEPART", Op::Invalid),
    ("MORETHAN", Op::Invalid),
    ("LESSTHAN", Op::Invalid),
    ("BETWEEN", Op::Between),
    ("ISEMPTY", Op::IsEmpty),
    ("NSAMEAS", Op::NSameAs),
    ("DYNAMIC", Op::Dynamic),
    ("NOT IN", Op::NotIn),
    ("SAMEAS", Op::SameAs),
    ("NOTON", Op::NotOn),
    ("LIKE", Op::Like),
    ("ON", Op::On),
    ("IN", Op::In),
    ("!=", Op::Ne),
    ("<=", Op::Le),
    (">=", Op::Ge),
    ("!*", Op::NotLike),
    ("=", Op::Eq),
    ("<", Op::Lt),
    (">", Op::Gt),
    ("*", Op::Like),
    ("%", Op::EndsWith),
];

/// One condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cond {
    /// Field, possibly dot-walked (`assignment_group.name`).
    pub field: String,
    /// Operator.
    pub op: Op,
    /// Raw value (may be `javascript:…`).
    pub value: String,
}

/// A sort key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderBy {
    /// Field, possibly dot-walked.
    pub field: String,
    /// `ORDERBYDESC`.
    pub desc: bool,
}

/// A parsed encoded query: `groups` are OR-ed (`^NQ`); each group is an AND of clauses; each
/// clause an OR of conditions (`^OR`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Parsed {
    /// The `^NQ`-separated groups.
    pub groups: Vec<Vec<Vec<Cond>>>,
    /// Sort keys, in order.
    pub order: Vec<OrderBy>,
}

/// Reads one condition term (without any `OR`/`NQ` prefix).
pub fn parse_condition(term: &str) -> Cond {
    const TEXT: &str = "123TEXTQUERY321";
    if let Some(rest) = term.strip_prefix(TEXT) {
        let value = rest.strip_prefix('=').unwrap_or(rest);
        return Cond { field: TEXT.to_string(), op: Op::TextSearch, value: value.to_string() };
    }
    let field_len =
        term.bytes().take_while(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'_' || *b == b'.').count();
    let (field, rest) = term.split_at(field_len);
    let invalid = || Cond { field: field.to_string(), op: Op::Invalid, value: rest.to_string() };
    if field.is_empty() || field.starts_with('.') || field.ends_with('.') || field.contains("..") {
        return invalid();
    }
    for (spelling, op) in OPERATORS {
        if let Some(value) = rest.strip_prefix(spelling) {
            return Cond { field: field.to_string(), op: op.clone(), value: value.to_string() };
        }
    }
    invalid()
}

/// Parses a whole `sysparm_query`.
pub fn parse(query: &str) -> Parsed {
    let mut parsed = Parsed::default();
    let mut group: Vec<Vec<Cond>> = Vec::new();
    let mut in_related_list = false;
    for term in query.split('^') {
        if in_related_list {
            // Related-list and join sub-queries are not evaluated; skip to their end.
            in_related_list = !term.starts_with("ENDRLQUERY");
            continue;
        }
        if term.is_empty() || term == "EQ" {
            continue;
        }
        if let Some(field) = term.strip_prefix("ORDERBYDESC") {
            parsed.order.push(OrderBy { field: field.to_string(), desc: true });
            continue;
        }
        if let Some(field) = term.strip_prefix("ORDERBY") {
            parsed.order.push(OrderBy { field: field.to_string(), desc: false });
            continue;
        }
        if term.starts_with("RLQUERY") {
            in_related_list = true;
            continue;
        }
        if term.starts_with("JOIN") || term.starts_with("GROUPBY") {
            continue;
        }
        if let Some(cond) = term.strip_prefix("NQ") {
            if !group.is_empty() {
                parsed.groups.push(std::mem::take(&mut group));
            }
            if !cond.is_empty() {
                group.push(vec![parse_condition(cond)]);
            }
            continue;
        }
        if let Some(cond) = term.strip_prefix("OR") {
            let c = parse_condition(cond);
            match group.last_mut() {
                Some(clause) => clause.push(c),
                None => group.push(vec![c]),
            }
            continue;
        }
        group.push(vec![parse_condition(term)]);
    }
    if !group.is_empty() {
        parsed.groups.push(group);
    }
    parsed
}

/// What a `javascript:` value may refer to.
pub struct Context<'a> {
    /// The emulator's "now".
    pub now: DateTime<Utc>,
    /// sys_id of the authenticated user.
    pub user_sys_id: &'a str,
    /// user_name of the authenticated user.
    pub user_name: &'a str,
}

/// The platform's date-time format in value mode.
pub const DATE_TIME: &str = "%Y-%m-%d %H:%M:%S";

fn day_start(d: NaiveDate) -> DateTime<Utc> {
    Utc.from_utc_datetime(&d.and_time(NaiveTime::MIN))
}

fn day_end(d: NaiveDate) -> DateTime<Utc> {
    day_start(d) + Duration::seconds(86_399)
}

/// Resolves a value: plain values as they are; the whitelisted `javascript:gs.*()` calls of the
/// reference to their result; any other script to `None` (the condition is then invalid).
pub fn resolve_value(raw: &str, ctx: &Context<'_>) -> Option<String> {
    let Some(script) = raw.strip_prefix("javascript:") else { return Some(raw.to_string()) };
    let script = script.trim().trim_end_matches(';');
    let script = script.strip_prefix("gs.")?;
    let open = script.find('(')?;
    let close = script.rfind(')')?;
    let name = &script[..open];
    let args: Vec<String> = script[open + 1..close]
        .split(',')
        .map(|a| a.trim().trim_matches(|c| c == '\'' || c == '"').to_string())
        .filter(|a| !a.is_empty())
        .collect();
    let n = |i: usize| -> Option<i64> { args.get(i).map_or(Some(0), |a| a.parse().ok()) };
    let today = ctx.now.date_naive();
    let fmt = |t: DateTime<Utc>| t.format(DATE_TIME).to_string();
    let week_start = today - Duration::days(today.weekday().num_days_from_monday() as i64);
    let month_start = today.with_day(1)?;
    let prev_month_start = (month_start - Duration::days(1)).with_day(1)?;
    let next_month_start = (month_start + Duration::days(32)).with_day(1)?;
    Some(match name {
        "getUserID" => ctx.user_sys_id.to_string(),
        "getUserName" => ctx.user_name.to_string(),
        "now" => today.format("%Y-%m-%d").to_string(),
        "nowDateTime" | "nowNoTZ" => fmt(ctx.now),
        "daysAgo" => fmt(ctx.now - Duration::days(n(0)?)),
        "daysAgoStart" => fmt(day_start(today - Duration::days(n(0)?))),
        "daysAgoEnd" => fmt(day_end(today - Duration::days(n(0)?))),
        "hoursAgo" => fmt(ctx.now - Duration::hours(n(0)?)),
        "hoursAgoStart" => {
            let t = ctx.now - Duration::hours(n(0)?);
            fmt(t - Duration::seconds((t.timestamp()).rem_euclid(3600)))
        }
        "hoursAgoEnd" => {
            let t = ctx.now - Duration::hours(n(0)?);
            fmt(t - Duration::seconds((t.timestamp()).rem_euclid(3600)) + Duration::seconds(3599))
        }
        "minutesAgo" => fmt(ctx.now - Duration::minutes(n(0)?)),
        "beginningOfToday" => fmt(day_start(today)),
        "endOfToday" => fmt(day_end(today)),
        "beginningOfYesterday" => fmt(day_start(today - Duration::days(1))),
        "endOfYesterday" => fmt(day_end(today - Duration::days(1))),
        "beginningOfTomorrow" => fmt(day_start(today + Duration::days(1))),
        "endOfTomorrow" => fmt(day_end(today + Duration::days(1))),
        "beginningOfThisWeek" => fmt(day_start(week_start)),
        "endOfThisWeek" => fmt(day_end(week_start + Duration::days(6))),
        "beginningOfLastWeek" => fmt(day_start(week_start - Duration::days(7))),
        "endOfLastWeek" => fmt(day_end(week_start - Duration::days(1))),
        "beginningOfThisMonth" => fmt(day_start(month_start)),
        "endOfThisMonth" => fmt(day_end(next_month_start - Duration::days(1))),
        "beginningOfLastMonth" => fmt(day_start(prev_month_start)),
        "endOfLastMonth" => fmt(day_end(month_start - Duration::days(1))),
        "dateGenerate" => {
            let date = args.first()?;
            match args.get(1).map(String::as_str) {
                None => date.clone(),
                Some("start") => format!("{date} 00:00:00"),
                Some("end") => format!("{date} 23:59:59"),
                Some(time) => format!("{date} {time}"),
            }
        }
        _ => return None,
    })
}

/// The window of a `RELATIVEGT`/`RELATIVELT` value (`@hour@ago@1`): the instant it names.
pub fn relative_instant(value: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let mut parts = value.trim_start_matches('@').split('@');
    let unit = parts.next()?;
    let dir = parts.next()?;
    let n: i64 = parts.next()?.trim().parse().ok()?;
    let d = match unit {
        "second" => Duration::seconds(n),
        "minute" => Duration::minutes(n),
        "hour" => Duration::hours(n),
        "dayofweek" | "day" => Duration::days(n),
        "week" => Duration::weeks(n),
        "month" => Duration::days(30 * n),
        "quarter" => Duration::days(91 * n),
        "year" => Duration::days(365 * n),
        _ => return None,
    };
    match dir {
        "ago" => Some(now - d),
        "ahead" => Some(now + d),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn c(field: &str, op: Op, value: &str) -> Cond {
        Cond { field: field.into(), op, value: value.into() }
    }

    #[test]
    fn reads_the_documented_examples() {
        assert_eq!(parse("active=true").groups, vec![vec![vec![c("active", Op::Eq, "true")]]]);
        assert_eq!(
            parse("roles=itil^ORroles=admin").groups,
            vec![vec![vec![c("roles", Op::Eq, "itil"), c("roles", Op::Eq, "admin")]]]
        );
        assert_eq!(
            parse("short_descriptionISEMPTY^NQdescriptionISNOTEMPTY").groups,
            vec![vec![vec![c("short_description", Op::IsEmpty, "")]], vec![vec![c("description", Op::IsNotEmpty, "")]]]
        );
        let p = parse("active=true^ORDERBYnumber^ORDERBYDESCcategory");
        assert_eq!(
            p.order,
            vec![OrderBy { field: "number".into(), desc: false }, OrderBy { field: "category".into(), desc: true }]
        );
        assert_eq!(parse("short_descriptionNOT LIKESAP").groups[0][0][0], c("short_description", Op::NotLike, "SAP"));
        assert_eq!(
            parse("subcategoryNOT INdb2,sql server").groups[0][0][0],
            c("subcategory", Op::NotIn, "db2,sql server")
        );
        assert_eq!(parse("impactBETWEEN1@2").groups[0][0][0], c("impact", Op::Between, "1@2"));
        assert_eq!(
            parse("sla_dueONToday@javascript:gs.daysAgoStart(0)@javascript:gs.daysAgoEnd(0)").groups[0][0][0],
            c("sla_due", Op::On, "Today@javascript:gs.daysAgoStart(0)@javascript:gs.daysAgoEnd(0)")
        );
        assert_eq!(
            parse("assignment_group.nameLIKEretail").groups[0][0][0],
            c("assignment_group.name", Op::Like, "retail")
        );
        assert_eq!(parse("caller_id=javascript:gs.getUserID()").groups[0][0][0].value, "javascript:gs.getUserID()");
        assert_eq!(parse("short_description=a=b").groups[0][0][0], c("short_description", Op::Eq, "a=b"));
    }

    #[test]
    fn or_binds_to_the_condition_before_it() {
        // a ^ (b OR c)
        let p = parse("a=1^b=2^ORc=3");
        assert_eq!(p.groups, vec![vec![vec![c("a", Op::Eq, "1")], vec![c("b", Op::Eq, "2"), c("c", Op::Eq, "3")]]]);
    }

    #[test]
    fn unreadable_terms_are_kept_as_invalid() {
        let p = parse("active=true^bogus^Caller=x");
        assert_eq!(p.groups[0][1][0].op, Op::Invalid);
        assert_eq!(p.groups[0][2][0].op, Op::Invalid);
    }

    #[test]
    fn related_list_queries_are_skipped() {
        let p = parse("active=true^RLQUERYincident.problem_id,>=1^priority=1^ENDRLQUERY^state=2");
        assert_eq!(p.groups[0].len(), 2);
    }

    #[test]
    fn scripts_resolve_against_the_clock() {
        let now = Utc.with_ymd_and_hms(2025, 3, 12, 15, 30, 0).unwrap();
        let ctx = Context { now, user_sys_id: "abc", user_name: "dana.desk" };
        assert_eq!(resolve_value("javascript:gs.getUserID()", &ctx).unwrap(), "abc");
        assert_eq!(resolve_value("javascript:gs.daysAgoStart(1)", &ctx).unwrap(), "2025-03-11 00:00:00");
        assert_eq!(resolve_value("javascript:gs.daysAgoEnd(0)", &ctx).unwrap(), "2025-03-12 23:59:59");
        assert_eq!(resolve_value("javascript:gs.beginningOfToday()", &ctx).unwrap(), "2025-03-12 00:00:00");
        assert_eq!(
            resolve_value("javascript:gs.dateGenerate('2020-01-01','00:00:00')", &ctx).unwrap(),
            "2020-01-01 00:00:00"
        );
        assert_eq!(
            resolve_value("javascript:gs.dateGenerate(\"2016-01-01 10:00:00\")", &ctx).unwrap(),
            "2016-01-01 10:00:00"
        );
        assert!(resolve_value("javascript:new GlideRecord('x')", &ctx).is_none());
        assert_eq!(relative_instant("@hour@ago@1", now).unwrap(), now - Duration::hours(1));
    }

    fn field() -> impl Strategy<Value = String> {
        "[a-z][a-z_]{0,8}(\\.[a-z][a-z_]{0,6})?"
    }

    fn value() -> impl Strategy<Value = String> {
        // Anything but the separator; values may hold operators, spaces and `=`.
        "[a-zA-Z0-9 =<>!@,._:-]{0,12}"
    }

    fn op() -> impl Strategy<Value = (&'static str, Op)> {
        proptest::sample::select(
            OPERATORS.iter().filter(|(_, op)| *op != Op::Invalid).map(|(s, o)| (*s, o.clone())).collect::<Vec<_>>(),
        )
    }

    fn cond() -> impl Strategy<Value = Cond> {
        (field(), op(), value()).prop_map(|(field, (_, op), value)| Cond { field, op, value })
    }

    /// The spelling a condition is written with (the first operator spelling of its kind).
    fn write(c: &Cond) -> String {
        let spelling = OPERATORS.iter().find(|(_, o)| *o == c.op).map(|(s, _)| *s).unwrap_or("=");
        format!("{}{}{}", c.field, spelling, c.value)
    }

    /// A value must not start with something that reads as a longer operator: the platform has
    /// the same ambiguity (`fieldIN` + `_FIELDx` vs `fieldIN_FIELD…`), so the property only
    /// covers values that cannot extend the operator.
    fn unambiguous(c: &Cond) -> bool {
        let spelling = OPERATORS.iter().find(|(_, o)| *o == c.op).map(|(s, _)| *s).unwrap_or("=");
        let written = format!("{spelling}{}", c.value);
        OPERATORS.iter().find(|(s, _)| written.starts_with(s)).map(|(s, _)| *s) == Some(spelling)
    }

    proptest! {
        #[test]
        fn written_queries_parse_back(groups in prop::collection::vec(
            prop::collection::vec(prop::collection::vec(cond(), 1..3), 1..4), 1..3),
            order in prop::collection::vec((field(), any::<bool>()), 0..3)) {
            prop_assume!(groups.iter().flatten().flatten().all(unambiguous));
            let mut terms = Vec::new();
            for (gi, g) in groups.iter().enumerate() {
                for (ci, clause) in g.iter().enumerate() {
                    for (oi, cnd) in clause.iter().enumerate() {
                        let prefix = if oi > 0 { "OR" } else if gi > 0 && ci == 0 { "NQ" } else { "" };
                        terms.push(format!("{prefix}{}", write(cnd)));
                    }
                }
            }
            for (f, desc) in &order {
                terms.push(format!("{}{f}", if *desc { "ORDERBYDESC" } else { "ORDERBY" }));
            }
            let parsed = parse(&terms.join("^"));
            prop_assert_eq!(parsed.groups, groups);
            let want: Vec<OrderBy> = order.into_iter().map(|(field, desc)| OrderBy { field, desc }).collect();
            prop_assert_eq!(parsed.order, want);
        }

        #[test]
        fn any_input_parses_without_panicking(q in "\\PC{0,80}") {
            let _ = parse(&q);
        }
    }
}
