//! The SCIM-like expressions Okta accepts in `search`, `filter` (users, groups, apps, System
//! Log) and OIG's `filter`: `attr op "value"`, `attr pr`, `and`, `or`, `not(…)`, parentheses.

use super::model::parse_time;

/// A parsed expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Cmp { attr: String, op: Op, value: Value },
    Present(String),
}

/// Comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Sw,
    Co,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

/// A literal.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(String),
    Bool(bool),
    Num(f64),
    Null,
}

/// Parses an expression; `Err` carries a short reason.
pub fn parse(input: &str) -> Result<Expr, String> {
    let toks = tokenize(input)?;
    let mut p = Parser { toks, pos: 0 };
    let e = p.or()?;
    if p.pos != p.toks.len() {
        return Err(format!("unexpected `{}`", p.toks[p.pos].text()));
    }
    Ok(e)
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Str(String),
    LParen,
    RParen,
}

impl Tok {
    fn text(&self) -> String {
        match self {
            Tok::Word(w) => w.clone(),
            Tok::Str(s) => format!("\"{s}\""),
            Tok::LParen => "(".into(),
            Tok::RParen => ")".into(),
        }
    }
}

fn tokenize(s: &str) -> Result<Vec<Tok>, String> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' => {
                chars.next();
                out.push(Tok::LParen);
            }
            ')' => {
                chars.next();
                out.push(Tok::RParen);
            }
            '"' => {
                chars.next();
                let mut v = String::new();
                let mut closed = false;
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => {
                            if let Some(n) = chars.next() {
                                v.push(n);
                            }
                        }
                        '"' => {
                            closed = true;
                            break;
                        }
                        c => v.push(c),
                    }
                }
                if !closed {
                    return Err("unterminated string".into());
                }
                out.push(Tok::Str(v));
            }
            _ => {
                let mut w = String::new();
                while let Some(&c) = chars.peek() {
                    if c.is_whitespace() || c == '(' || c == ')' || c == '"' {
                        break;
                    }
                    w.push(c);
                    chars.next();
                }
                out.push(Tok::Word(w));
            }
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
}

impl Parser {
    fn peek_word(&self, w: &str) -> bool {
        matches!(self.toks.get(self.pos), Some(Tok::Word(x)) if x.eq_ignore_ascii_case(w))
    }

    fn or(&mut self) -> Result<Expr, String> {
        let mut left = self.and()?;
        while self.peek_word("or") {
            self.pos += 1;
            let right = self.and()?;
            left = Expr::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, String> {
        let mut left = self.unary()?;
        while self.peek_word("and") {
            self.pos += 1;
            let right = self.unary()?;
            left = Expr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, String> {
        if self.peek_word("not") && self.toks.get(self.pos + 1) == Some(&Tok::LParen) {
            self.pos += 1;
            return Ok(Expr::Not(Box::new(self.primary()?)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr, String> {
        match self.toks.get(self.pos).cloned() {
            Some(Tok::LParen) => {
                self.pos += 1;
                let e = self.or()?;
                if self.toks.get(self.pos) != Some(&Tok::RParen) {
                    return Err("missing `)`".into());
                }
                self.pos += 1;
                Ok(e)
            }
            Some(Tok::Word(attr)) => {
                self.pos += 1;
                let op = match self.toks.get(self.pos) {
                    Some(Tok::Word(op)) => op.to_ascii_lowercase(),
                    _ => return Err(format!("missing operator after `{attr}`")),
                };
                self.pos += 1;
                if op == "pr" {
                    return Ok(Expr::Present(attr));
                }
                let op = match op.as_str() {
                    "eq" => Op::Eq,
                    "ne" => Op::Ne,
                    "sw" => Op::Sw,
                    "co" => Op::Co,
                    "ew" => Op::Ew,
                    "gt" => Op::Gt,
                    "ge" => Op::Ge,
                    "lt" => Op::Lt,
                    "le" => Op::Le,
                    other => return Err(format!("unknown operator `{other}`")),
                };
                let value = match self.toks.get(self.pos).cloned() {
                    Some(Tok::Str(s)) => Value::Str(s),
                    Some(Tok::Word(w)) if w.eq_ignore_ascii_case("true") => Value::Bool(true),
                    Some(Tok::Word(w)) if w.eq_ignore_ascii_case("false") => Value::Bool(false),
                    Some(Tok::Word(w)) if w.eq_ignore_ascii_case("null") => Value::Null,
                    Some(Tok::Word(w)) => Value::Num(w.parse().map_err(|_| format!("bad value `{w}`"))?),
                    _ => return Err(format!("missing value after `{attr}`")),
                };
                self.pos += 1;
                Ok(Expr::Cmp { attr, op, value })
            }
            Some(t) => Err(format!("unexpected `{}`", t.text())),
            None => Err("empty expression".into()),
        }
    }
}

impl Expr {
    /// Every attribute the expression names (for "is this attribute allowed here" checks).
    pub fn attrs(&self) -> Vec<&str> {
        match self {
            Expr::And(a, b) | Expr::Or(a, b) => {
                let mut v = a.attrs();
                v.extend(b.attrs());
                v
            }
            Expr::Not(a) => a.attrs(),
            Expr::Cmp { attr, .. } | Expr::Present(attr) => vec![attr.as_str()],
        }
    }

    /// Every (attr, op) pair.
    pub fn comparisons(&self) -> Vec<(&str, Op)> {
        match self {
            Expr::And(a, b) | Expr::Or(a, b) => {
                let mut v = a.comparisons();
                v.extend(b.comparisons());
                v
            }
            Expr::Not(a) => a.comparisons(),
            Expr::Cmp { attr, op, .. } => vec![(attr.as_str(), *op)],
            Expr::Present(_) => vec![],
        }
    }

    /// True if the expression uses `not`.
    pub fn has_not(&self) -> bool {
        match self {
            Expr::And(a, b) | Expr::Or(a, b) => a.has_not() || b.has_not(),
            Expr::Not(_) => true,
            _ => false,
        }
    }

    /// Evaluates against `get(attr)`; `case_insensitive` for `search` semantics.
    pub fn eval(&self, get: &dyn Fn(&str) -> Option<String>, case_insensitive: bool) -> bool {
        match self {
            Expr::And(a, b) => a.eval(get, case_insensitive) && b.eval(get, case_insensitive),
            Expr::Or(a, b) => a.eval(get, case_insensitive) || b.eval(get, case_insensitive),
            Expr::Not(a) => !a.eval(get, case_insensitive),
            Expr::Present(attr) => get(attr).is_some_and(|v| !v.is_empty()),
            Expr::Cmp { attr, op, value } => {
                let actual = get(attr);
                let want = match value {
                    Value::Str(s) => s.clone(),
                    Value::Bool(b) => b.to_string(),
                    Value::Num(n) => n.to_string(),
                    Value::Null => return matches!(op, Op::Eq) == actual.is_none(),
                };
                let Some(actual) = actual else { return matches!(op, Op::Ne) };
                compare(&actual, *op, &want, case_insensitive)
            }
        }
    }
}

fn compare(actual: &str, op: Op, want: &str, ci: bool) -> bool {
    if matches!(op, Op::Gt | Op::Ge | Op::Lt | Op::Le) {
        let ord = match (parse_time(actual), parse_time(want)) {
            (Some(a), Some(w)) => a.cmp(&w),
            _ => match (actual.parse::<f64>(), want.parse::<f64>()) {
                (Ok(a), Ok(w)) => a.partial_cmp(&w).unwrap_or(std::cmp::Ordering::Equal),
                _ => actual.cmp(want),
            },
        };
        return match op {
            Op::Gt => ord.is_gt(),
            Op::Ge => ord.is_ge(),
            Op::Lt => ord.is_lt(),
            _ => ord.is_le(),
        };
    }
    let (a, w) = if ci { (actual.to_lowercase(), want.to_lowercase()) } else { (actual.to_string(), want.to_string()) };
    match op {
        Op::Eq => a == w,
        Op::Ne => a != w,
        Op::Sw => a.starts_with(&w),
        Op::Co => a.contains(&w),
        Op::Ew => a.ends_with(&w),
        _ => false,
    }
}

/// If the expression is exactly `attr eq "value"`, the value (for index lookups).
pub fn simple_eq<'a>(e: &'a Expr, attr: &str) -> Option<&'a str> {
    match e {
        Expr::Cmp { attr: a, op: Op::Eq, value: Value::Str(v) } if a == attr => Some(v),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(a: &str) -> Option<String> {
        match a {
            "status" => Some("ACTIVE".into()),
            "profile.lastName" => Some("Smith".into()),
            "lastUpdated" => Some("2024-05-01T10:00:00.000Z".into()),
            _ => None,
        }
    }

    #[test]
    fn parses_and_evaluates_okta_expressions() {
        let e = parse(r#"status eq "ACTIVE" and (profile.lastName sw "sm" or profile.lastName eq "x")"#).unwrap();
        assert!(e.eval(&get, true));
        assert!(!e.eval(&get, false), "filter values are case-sensitive");
        let t = parse(r#"lastUpdated gt "2024-04-30T00:00:00Z""#).unwrap();
        assert!(t.eval(&get, false));
        let n = parse("not(parent pr)").unwrap();
        assert!(n.eval(&get, false));
        assert!(parse("status eq").is_err());
        assert!(parse(r#"status xx "A""#).is_err());
        assert!(parse(r#"(status eq "A""#).is_err());
    }

    fn render(e: &Expr) -> String {
        match e {
            Expr::And(a, b) => format!("({} and {})", render(a), render(b)),
            Expr::Or(a, b) => format!("({} or {})", render(a), render(b)),
            Expr::Not(a) => format!("not({})", render(a)),
            Expr::Present(a) => format!("{a} pr"),
            Expr::Cmp { attr, op, value } => {
                let op = match op {
                    Op::Eq => "eq",
                    Op::Ne => "ne",
                    Op::Sw => "sw",
                    Op::Co => "co",
                    Op::Ew => "ew",
                    Op::Gt => "gt",
                    Op::Ge => "ge",
                    Op::Lt => "lt",
                    Op::Le => "le",
                };
                let v = match value {
                    Value::Str(s) => format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\"")),
                    Value::Bool(b) => b.to_string(),
                    Value::Num(n) => n.to_string(),
                    Value::Null => "null".into(),
                };
                format!("{attr} {op} {v}")
            }
        }
    }

    fn arb_expr() -> impl proptest::strategy::Strategy<Value = Expr> {
        use proptest::prelude::*;
        let attr = prop::sample::select(vec!["status", "profile.login", "target.id", "lastUpdated", "parent"]);
        let op = prop::sample::select(vec![Op::Eq, Op::Ne, Op::Sw, Op::Co, Op::Ew, Op::Gt, Op::Ge, Op::Lt, Op::Le]);
        let value = prop_oneof![
            "[a-zA-Z0-9 .@\"\\\\()-]{0,12}".prop_map(Value::Str),
            any::<bool>().prop_map(Value::Bool),
            (0u32..100_000).prop_map(|n| Value::Num(f64::from(n))),
        ];
        let leaf = prop_oneof![
            (attr.clone(), op, value).prop_map(|(a, op, value)| Expr::Cmp { attr: a.to_string(), op, value }),
            attr.prop_map(|a| Expr::Present(a.to_string())),
        ];
        leaf.prop_recursive(4, 24, 2, |inner| {
            prop_oneof![
                (inner.clone(), inner.clone()).prop_map(|(a, b)| Expr::And(Box::new(a), Box::new(b))),
                (inner.clone(), inner.clone()).prop_map(|(a, b)| Expr::Or(Box::new(a), Box::new(b))),
                inner.prop_map(|a| Expr::Not(Box::new(a))),
            ]
        })
    }

    proptest::proptest! {
        #[test]
        fn rendered_expressions_parse_back_to_themselves(e in arb_expr()) {
            let text = render(&e);
            proptest::prop_assert_eq!(parse(&text), Ok(e), "{}", text);
        }

        #[test]
        fn arbitrary_text_never_panics(s in ".{0,60}") {
            let _ = parse(&s);
        }
    }
}
