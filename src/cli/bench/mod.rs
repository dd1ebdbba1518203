//! `grantdesk bench`: the product's own hot paths on the seeded world, each figure beside the
//! target the issues set. Everything runs in this process against the built-in emulator, on a
//! store in a temporary folder that is removed afterwards:
//!
//! 1. the first sync of the world (the engine's `sync`), then an incremental one after 100
//!    changes, and a full one into a second, fresh store under Okta's default rate limits (the
//!    store's share of it);
//! 2. start to first frame from that warm store (a child `grantdesk` process, so its memory is
//!    the console's alone), keystroke → frame and the fuzzy filter over the whole queue (the
//!    console's `update` and `render` on ratatui's off-screen `TestBackend`);
//! 3. bulk approval of `okta`-route requests under a configured Okta rate-limit budget
//!    (`grantdesk approve`'s code);
//! 4. audit appends into that store up to 1,000,000 events, `audit verify` over them, and
//!    `history --user` among them.
//!
//! Figures are printed with min/median/p99 where there are samples. Timings are never asserted
//! in tests; `--check` turns a missed target into exit code 1 for a release gate.

mod audit;
mod bulk;
pub mod console;
mod sync;

use std::io::Write as _;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use serde::Serialize;
use serde_json::json;

use super::Globals;
use super::demo::emulator_engine;
use crate::emulator::world::Persona;
use crate::emulator::{self, EmulatorOptions, Scale};
use crate::store::Store;

/// The benchmarks, by the name `--only` takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Which {
    /// Keystroke → frame on the queue of every cached ticket, 160×48.
    Keystroke,
    /// Fuzzy filter keystroke over every cached ticket.
    Filter,
    /// Start to first frame from the warm store, and resident memory then.
    FirstFrame,
    /// First (full) sync of the world from the emulator.
    SyncFull,
    /// A full sync into a fresh store under Okta's default rate limits: the store's share.
    SyncLimited,
    /// Incremental sync after 100 changes.
    SyncIncremental,
    /// Audit appends in batches.
    AuditAppend,
    /// `audit verify` over the whole log.
    AuditVerify,
    /// `history --user` among the audit events.
    History,
    /// Bulk approval of okta-route requests under a rate-limit budget.
    Bulk,
}

impl Which {
    fn name(self) -> &'static str {
        match self {
            Which::Keystroke => "keystroke",
            Which::Filter => "filter",
            Which::FirstFrame => "first-frame",
            Which::SyncFull => "sync-full",
            Which::SyncLimited => "sync-limited",
            Which::SyncIncremental => "sync-incremental",
            Which::AuditAppend => "audit-append",
            Which::AuditVerify => "audit-verify",
            Which::History => "history",
            Which::Bulk => "bulk",
        }
    }
}

/// Options of `grantdesk bench`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Benchmarks (--only): keystroke, filter, first-frame, sync-full, sync-limited, \
sync-incremental, audit-append, audit-verify, history, bulk.\n\n--scale large is the world the targets are set for: \
100,000 tickets and 50,000 people, a second full sync under Okta's default rate limits (about 4 \
minutes), 1,000,000 audit events, 1,000 bulk approvals under a budget of 400 a minute (about 10 \
minutes in all). --scale demo runs the same code on the small world in well under a \
minute, as a smoke test; its figures are not the targets' conditions.\n\nStores live in a temporary \
folder, removed afterwards unless --keep: --db and GRANTDESK_DB are never touched.")]
pub struct BenchArgs {
    /// Size of the world and of the workloads.
    #[arg(long, value_enum, default_value = "large")]
    pub scale: Scale,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Exit with code 1 when a figure misses its target (a release gate).
    #[arg(long)]
    pub check: bool,
    /// Only these benchmarks (what they need, such as the first sync, still runs).
    #[arg(long, value_enum, num_args = 1.., value_name = "NAME")]
    pub only: Vec<Which>,
    /// Keep the temporary folder with the bench's store and print where it is (to profile
    /// `grantdesk audit verify --db` or the console against the synced store).
    #[arg(long)]
    pub keep: bool,
    /// The first-frame child: open this store and report the first frame (internal).
    #[arg(long, hide = true, value_name = "DB")]
    pub first_frame_of: Option<String>,
    /// The first-frame child's operator (internal).
    #[arg(long = "as", hide = true, value_name = "USER", default_value = "dana.desk")]
    pub as_user: String,
    /// The first-frame child's operator's sys_id (internal).
    #[arg(long = "as-sys-id", hide = true, value_name = "SYS_ID", default_value = "")]
    pub as_sys_id: String,
}

/// A target: a bound on one statistic of a figure, and the issue that set it.
#[derive(Debug, Clone, Serialize)]
pub struct Target {
    /// `value`, `median` or `p99`.
    pub on: &'static str,
    /// `<=` or `>=`.
    pub cmp: &'static str,
    /// The bound, in the figure's unit.
    pub bound: f64,
    /// Where it comes from.
    pub source: String,
}

impl Target {
    /// The figure's value at most `bound`.
    pub fn at_most(bound: f64, source: &str) -> Target {
        Target { on: "value", cmp: "<=", bound, source: source.into() }
    }
    /// The figure's value at least `bound`.
    pub fn at_least(bound: f64, source: &str) -> Target {
        Target { on: "value", cmp: ">=", bound, source: source.into() }
    }
    /// A p99 of at most `ms`.
    pub fn p99_ms(ms: f64, source: &str) -> Target {
        Target { on: "p99", cmp: "<=", bound: ms, source: source.into() }
    }
    /// A median of at most `ms`.
    pub fn median_ms(ms: f64, source: &str) -> Target {
        Target { on: "median", cmp: "<=", bound: ms, source: source.into() }
    }

    fn met(&self, f: &Figure) -> bool {
        let v = match self.on {
            "median" => f.median,
            "p99" => f.p99,
            _ => Some(f.value),
        };
        match v {
            Some(v) if v.is_finite() => {
                if self.cmp == "<=" {
                    v <= self.bound
                } else {
                    v >= self.bound
                }
            }
            _ => false,
        }
    }
}

/// One measured figure.
#[derive(Debug, Clone, Serialize)]
pub struct Figure {
    /// The benchmark (`--only` name).
    pub bench: &'static str,
    /// What was measured.
    pub what: String,
    /// The headline value (the median, for timings).
    pub value: f64,
    /// Its unit.
    pub unit: &'static str,
    /// Fewest samples' statistics, when there are samples.
    pub min: Option<f64>,
    /// Median.
    pub median: Option<f64>,
    /// 99th percentile.
    pub p99: Option<f64>,
    /// Samples taken.
    pub samples: Option<usize>,
    /// The target, if one was set.
    pub target: Option<Target>,
    /// Whether the target was met.
    pub met: Option<bool>,
    /// Anything else worth knowing (counts, per-source times).
    pub details: serde_json::Value,
}

impl Figure {
    /// A single value.
    pub fn value(bench: &'static str, what: String, value: f64, unit: &'static str, target: Option<Target>) -> Figure {
        Figure {
            bench,
            what,
            value,
            unit,
            min: None,
            median: None,
            p99: None,
            samples: None,
            target,
            met: None,
            details: json!({}),
        }
    }

    /// Timing samples, in milliseconds.
    pub fn timing(bench: &'static str, what: String, samples: &Samples, target: Option<Target>) -> Figure {
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        Figure {
            min: Some(ms(samples.min())),
            median: Some(ms(samples.median())),
            p99: Some(ms(samples.quantile(0.99))),
            samples: Some(samples.len()),
            ..Figure::value(bench, what, ms(samples.median()), "ms", target)
        }
    }

    fn judged(mut self) -> Figure {
        self.met = self.target.as_ref().map(|t| t.met(&self));
        self
    }
}

/// Durations measured one at a time.
#[derive(Debug, Clone, Default)]
pub struct Samples(Vec<Duration>);

impl Samples {
    /// Adds one.
    pub fn push(&mut self, d: Duration) {
        self.0.push(d);
    }
    /// How many.
    pub fn len(&self) -> usize {
        self.0.len()
    }
    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// The `q` quantile (nearest rank below), zero when empty.
    pub fn quantile(&self, q: f64) -> Duration {
        let mut v = self.0.clone();
        v.sort();
        if v.is_empty() {
            return Duration::ZERO;
        }
        v[((v.len() - 1) as f64 * q.clamp(0.0, 1.0)) as usize]
    }
    /// The shortest.
    pub fn min(&self) -> Duration {
        self.quantile(0.0)
    }
    /// The median.
    pub fn median(&self) -> Duration {
        self.quantile(0.5)
    }
    /// The longest.
    pub fn max(&self) -> Duration {
        self.quantile(1.0)
    }
    /// `{min, median, p99, max}` in milliseconds.
    pub fn summary_ms(&self) -> serde_json::Value {
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        json!({ "min": ms(self.min()), "median": ms(self.median()), "p99": ms(self.quantile(0.99)), "max": ms(self.max()) })
    }
    /// One line: `name  n=…  median … ms  p99 … ms  max … ms` (what `cargo bench --bench tui`
    /// prints before criterion's figures).
    pub fn line(&self, name: &str) -> String {
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        format!(
            "{name:<44} n={:<6} median {:>8.3} ms   p99 {:>8.3} ms   max {:>8.3} ms",
            self.len(),
            ms(self.median()),
            ms(self.quantile(0.99)),
            ms(self.max())
        )
    }
}

/// The sizes of one scale.
struct Sizes {
    keystrokes: usize,
    filter_keystrokes: usize,
    first_frame_runs: usize,
    audit_events: usize,
    verify_runs: usize,
    history_people: usize,
    bulk: bulk::Plan,
}

impl Sizes {
    fn of(scale: Scale) -> Sizes {
        match scale {
            Scale::Demo => Sizes {
                keystrokes: 2_000,
                filter_keystrokes: 100,
                first_frame_runs: 3,
                audit_events: 20_000,
                verify_runs: 3,
                history_people: 50,
                bulk: bulk::Plan { requests: 100, budget: 40, window_secs: 5 },
            },
            Scale::Large => Sizes {
                keystrokes: 10_000,
                filter_keystrokes: 300,
                first_frame_runs: 5,
                audit_events: 1_000_000,
                verify_runs: 3,
                history_people: 500,
                bulk: bulk::Plan { requests: 1_000, budget: 400, window_secs: 60 },
            },
        }
    }
}

/// A budget no run comes near: the first sync measures grantdesk, not the emulator's rate limits
/// (the rate-limited sync and the bulk figure are the ones run under a budget).
pub(super) const UNLIMITED: u32 = 100_000_000;

/// The machine the figures were taken on.
fn machine() -> serde_json::Value {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name").and_then(|r| r.split_once(':')).map(|(_, v)| v.trim().to_string()))
        .unwrap_or_default();
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load: Vec<&str> = load.split_whitespace().take(3).collect();
    json!({
        "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        "cpu": cpu,
        "load_average": load.join(" "),
    })
}

pub(super) async fn run(args: BenchArgs, _globals: &Globals) -> anyhow::Result<ExitCode> {
    if let Some(db) = &args.first_frame_of {
        return console::first_frame_child(db, &args.as_user, &args.as_sys_id).await;
    }
    let wanted = |w: Which| args.only.is_empty() || args.only.contains(&w);
    let sizes = Sizes::of(args.scale);
    let say = |s: &str| {
        if !args.json {
            eprintln!("{s}");
        }
    };
    let machine_before = machine();
    let dir = tempfile::Builder::new().prefix("grantdesk-bench-").tempdir().context("creating a temporary folder")?;
    let db = dir.path().join("grantdesk.db").display().to_string();
    let mut figures: Vec<Figure> = Vec::new();

    let scale = format!("{:?}", args.scale).to_lowercase();
    say(&format!("building the {scale} world…"));
    let mut opts = EmulatorOptions::local(args.scale, 1);
    opts.okta_rate_limit = Some(UNLIMITED);
    let emu = emulator::start(opts).await.context("starting the emulator")?;
    let store = Store::open(&db).await.context("opening the bench store")?;
    let dana = Persona::Dana.user_name();
    let engine = emulator_engine(&emu, dana, store.clone(), false).await?;

    // Everything else reads the synced store, so the first sync always runs.
    say("first sync…");
    figures.push(sync::full(&emu, &engine).await?);
    if wanted(Which::SyncIncremental) {
        say("incremental sync after 100 changes…");
        figures.extend(sync::incremental(&emu, &engine).await?);
    }
    if wanted(Which::SyncLimited) {
        say("a full sync into a fresh store under Okta's default rate limits (minutes on the large world)…");
        let fresh = Store::open(&dir.path().join("limited.db").display().to_string())
            .await
            .context("opening the rate-limited sync's store")?;
        let limited = emulator_engine(&emu, dana, fresh.clone(), false).await?;
        figures.push(sync::limited(&emu, &limited).await?);
        fresh.close().await;
    }
    if wanted(Which::FirstFrame) {
        say("start to first frame…");
        figures.extend(console::first_frame(&db, engine.operator(), sizes.first_frame_runs).await?);
    }
    if wanted(Which::Keystroke) || wanted(Which::Filter) {
        say("keystrokes…");
        let (mut state, mut terminal, n) = console::loaded_console(&store, dana).await?;
        if wanted(Which::Keystroke) {
            figures.push(console::keystroke(&mut state, &mut terminal, n, sizes.keystrokes));
        }
        if wanted(Which::Filter) {
            figures.extend(console::filter(&mut state, &mut terminal, n, sizes.filter_keystrokes));
        }
    }
    if wanted(Which::Bulk) {
        let plan = sizes.bulk;
        say(&format!("raising {} requests, then approving them under a budget of {}…", plan.requests, plan.budget));
        let raiser = emulator_engine(&emu, bulk::RAISER, store.clone(), false).await?;
        let ids = bulk::raise(&emu, &raiser, dana, plan.requests).await?;
        // The approver starts afresh, as a `grantdesk approve` process would.
        let approver = emulator_engine(&emu, dana, store.clone(), false).await?;
        figures.extend(bulk::approve(&emu, &approver, &ids, plan).await?);
        emu.shared.okta.set_rate_limit(Some(UNLIMITED));
    }
    if wanted(Which::AuditAppend) || wanted(Which::AuditVerify) || wanted(Which::History) {
        let people = {
            let mut p = emu.shared.okta.logins_with_status("ACTIVE");
            p.sort();
            p
        };
        let groups: Vec<String> = engine.catalog().entries.iter().map(|e| e.target.name().to_string()).collect();
        say(&format!("appending {} audit events…", sizes.audit_events));
        let append = audit::append(&store, sizes.audit_events, &people, &groups).await?;
        if wanted(Which::AuditAppend) {
            figures.push(append);
        }
        say("verifying the audit log…");
        let verify = audit::verify(&store, sizes.verify_runs).await?;
        let events = verify.details["events"].as_u64().unwrap_or(0);
        if wanted(Which::AuditVerify) {
            figures.push(verify);
        }
        if wanted(Which::History) {
            figures.push(audit::history(&store, events, &people, sizes.history_people).await?);
        }
    }
    if !wanted(Which::SyncFull) {
        figures.retain(|f| f.bench != Which::SyncFull.name());
    }
    store.close().await;
    emu.shutdown();
    drop(emu);
    if args.keep {
        eprintln!("kept the bench store: {db}");
        let _ = dir.keep();
    } else {
        dir.close().context("removing the temporary folder")?;
    }

    let figures: Vec<Figure> = figures.into_iter().map(Figure::judged).collect();
    let missed = figures.iter().filter(|f| f.met == Some(false)).count();
    let mut out = std::io::stdout().lock();
    if args.json {
        let report = json!({
            "scale": scale,
            "machine": machine_before,
            "load_average_after": machine()["load_average"],
            "figures": figures,
            "missed": missed,
        });
        writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?;
    } else {
        write_table(&mut out, &scale, &machine_before, &figures)?;
    }
    Ok(if args.check && missed > 0 { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

fn number(v: f64) -> String {
    if !v.is_finite() {
        return "—".into();
    }
    let a = v.abs();
    if a >= 1000.0 {
        let s = format!("{:.0}", v);
        // Thousands separated, as the README writes them.
        let (sign, digits) = s.split_at(if v < 0.0 { 1 } else { 0 });
        let mut grouped = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                grouped.push(',');
            }
            grouped.push(c);
        }
        format!("{sign}{grouped}")
    } else if a >= 100.0 || v == v.trunc() {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else if a >= 0.1 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

fn write_table(
    out: &mut impl std::io::Write,
    scale: &str,
    machine: &serde_json::Value,
    figures: &[Figure],
) -> std::io::Result<()> {
    writeln!(
        out,
        "grantdesk bench --scale {scale}: {} CPUs ({}), load average {}",
        machine["cpus"],
        machine["cpu"].as_str().unwrap_or("?"),
        machine["load_average"].as_str().unwrap_or("?")
    )?;
    writeln!(out)?;
    writeln!(
        out,
        "{:<76} {:>10} {:>9} {:>9} {:>9} {:<10} {:<22} ",
        "figure", "value", "min", "median", "p99", "unit", "target"
    )?;
    let opt = |v: Option<f64>| v.map(number).unwrap_or_default();
    for f in figures {
        let target = match &f.target {
            Some(t) => {
                let on = if t.on == "value" { String::new() } else { format!("{} ", t.on) };
                let verdict = match f.met {
                    Some(true) => "met",
                    _ => "MISSED",
                };
                format!("{on}{} {}  {verdict}", t.cmp, number(t.bound))
            }
            None => "—".into(),
        };
        writeln!(
            out,
            "{:<76} {:>10} {:>9} {:>9} {:>9} {:<10} {:<22}",
            crate::domain::text::sanitize_line(&f.what),
            number(f.value),
            opt(f.min),
            opt(f.median),
            opt(f.p99),
            f.unit,
            target
        )?;
    }
    let missed: Vec<&Figure> = figures.iter().filter(|f| f.met == Some(false)).collect();
    writeln!(out)?;
    if missed.is_empty() {
        writeln!(out, "every target met")?;
    } else {
        writeln!(out, "{} target(s) missed", missed.len())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples_1_to_100_ms() -> Samples {
        let mut s = Samples::default();
        for ms in (1..=100).rev() {
            s.push(Duration::from_millis(ms));
        }
        s
    }

    #[test]
    fn samples_give_min_median_p99_whatever_the_order() {
        let s = samples_1_to_100_ms();
        assert_eq!(s.min(), Duration::from_millis(1));
        assert_eq!(s.median(), Duration::from_millis(50));
        assert_eq!(s.quantile(0.99), Duration::from_millis(99));
        assert_eq!(s.max(), Duration::from_millis(100));
        assert_eq!(Samples::default().median(), Duration::ZERO);
    }

    #[test]
    fn a_target_judges_the_statistic_it_names() {
        let f = Figure::timing("keystroke", "k".into(), &samples_1_to_100_ms(), None);
        assert!(Target::median_ms(50.0, "t").met(&f));
        assert!(!Target::p99_ms(50.0, "t").met(&f), "the p99 (99 ms) is over 50");
        assert!(Target::at_least(40.0, "t").met(&f), "value is the median");
        let nothing = Figure::value("bulk", "share".into(), f64::NAN, "%", Some(Target::at_least(95.0, "t")));
        assert_eq!(nothing.judged().met, Some(false), "no figure is never a met target");
        let none = Figure::value("sync-full", "s".into(), 3.0, "s", None).judged();
        assert_eq!(none.met, None);
    }

    #[test]
    fn numbers_read_as_the_readme_writes_them() {
        assert_eq!(number(1_234_567.0), "1,234,567");
        assert_eq!(number(-20_000.0), "-20,000");
        assert_eq!(number(321.4), "321");
        assert_eq!(number(18.0), "18");
        assert_eq!(number(0.66), "0.66");
        assert_eq!(number(f64::NAN), "—");
    }
}
