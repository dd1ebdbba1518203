//! `grantdesk users` and `grantdesk user LOGIN`: Okta identities from the command line.

use std::io::Write as _;
use std::process::ExitCode;

use futures::TryStreamExt as _;
use serde_json::json;

use super::Globals;
use crate::domain::text::sanitize_line;
use crate::okta::{OktaClient, UserQuery};

/// Options of `grantdesk users`.
#[derive(Debug, clap::Args)]
pub struct UsersArgs {
    /// An Okta search expression, e.g. 'profile.department eq "Finance"' or 'status eq "LOCKED_OUT"'
    /// (without it: every user a plain list shows, which leaves out DEPROVISIONED ones).
    #[arg(long, value_name = "EXPR")]
    pub search: Option<String>,
    /// Print a JSON array of users instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Options of `grantdesk user`.
#[derive(Debug, clap::Args)]
pub struct UserArgs {
    /// The user's login (email) or Okta id.
    pub login: String,
    /// Print one JSON object (user, groups, apps, events) instead of text.
    #[arg(long)]
    pub json: bool,
}

fn client(globals: &Globals) -> anyhow::Result<OktaClient> {
    let cfg = globals.load_config()?.okta()?;
    Ok(OktaClient::new(&cfg)?)
}

/// JSON text with every character a terminal could act on written as a `\u` escape: the same
/// data for a script, nothing live for a screen.
pub fn terminal_safe_json(v: &serde_json::Value) -> anyhow::Result<String> {
    let s = serde_json::to_string_pretty(v)?;
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '\u{7f}'..='\u{9f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}') {
            out.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            out.push(c);
        }
    }
    Ok(out)
}

pub(super) async fn run_users(args: UsersArgs, globals: &Globals) -> anyhow::Result<ExitCode> {
    let client = client(globals)?;
    let query = match &args.search {
        Some(s) => UserQuery::search(s.clone()),
        None => UserQuery::all(),
    };
    let mut stream = client.users(&query);
    let mut out = std::io::stdout().lock();
    if args.json {
        let users: Vec<_> = stream.try_collect().await?;
        writeln!(out, "{}", terminal_safe_json(&serde_json::to_value(&users)?)?)?;
        return Ok(ExitCode::SUCCESS);
    }
    // The first page decides whether there is a table at all (a wrong token fails here).
    let mut next = stream.try_next().await?;
    writeln!(out, "{:<40} {:<28} {:<16} {:<12} TITLE", "LOGIN", "NAME", "STATUS", "DEPARTMENT")?;
    let mut n = 0usize;
    while let Some(u) = next {
        writeln!(
            out,
            "{:<40} {:<28} {:<16} {:<12} {}",
            sanitize_line(&u.login),
            sanitize_line(&u.display_name()),
            u.status.as_str(),
            sanitize_line(&u.department),
            sanitize_line(&u.title)
        )?;
        n += 1;
        next = stream.try_next().await?;
    }
    out.flush()?;
    eprintln!("{n} users");
    Ok(ExitCode::SUCCESS)
}

pub(super) async fn run_user(args: UserArgs, globals: &Globals) -> anyhow::Result<ExitCode> {
    let client = client(globals)?;
    let user = client.user(&args.login).await?;
    let (groups, apps, events) = tokio::try_join!(
        client.user_groups(&user.id),
        client.user_app_links(&user.id),
        client.recent_events_about(&user.id, 20),
    )?;
    let mut out = std::io::stdout().lock();
    if args.json {
        let v = json!({ "user": user, "groups": groups, "apps": apps, "events": events });
        writeln!(out, "{}", terminal_safe_json(&v)?)?;
        return Ok(ExitCode::SUCCESS);
    }
    let line = |s: &str| sanitize_line(s).into_owned();
    writeln!(out, "{} <{}>", line(&user.display_name()), line(&user.login))?;
    writeln!(out, "  status      {}", user.status)?;
    writeln!(out, "  id          {}", line(&user.id))?;
    writeln!(out, "  title       {}", line(&user.title))?;
    writeln!(out, "  department  {}", line(&user.department))?;
    writeln!(out, "  type        {}", line(&user.user_type))?;
    if !user.manager_id.is_empty() {
        writeln!(out, "  manager     {}", line(&user.manager_id))?;
    }
    let t = |d: Option<chrono::DateTime<chrono::Utc>>| {
        d.map(|d| d.format("%Y-%m-%d %H:%M UTC").to_string()).unwrap_or("-".into())
    };
    writeln!(out, "  last login  {}", t(user.last_login))?;
    writeln!(out, "  changed     {}", t(user.status_changed))?;
    writeln!(out, "\nGroups ({})", groups.len())?;
    for g in &groups {
        writeln!(out, "  {:<32} {}", line(&g.name), g.kind.as_str())?;
    }
    writeln!(out, "\nApps ({})", apps.len())?;
    for a in &apps {
        writeln!(out, "  {}", line(a.label.as_deref().unwrap_or("?")))?;
    }
    writeln!(out, "\nRecent System Log events ({})", events.len())?;
    for e in &events {
        writeln!(
            out,
            "  {}  {:<32} {:<8} {} {}",
            e.published.format("%Y-%m-%d %H:%M:%S"),
            line(&e.event_type),
            line(&e.outcome),
            line(&e.actor.alternate_id),
            line(&e.display_message)
        )?;
    }
    Ok(ExitCode::SUCCESS)
}
