//! The console's figures: keystroke → frame and the fuzzy filter over the cached queue (the
//! console's own `update` and `render`, on ratatui's off-screen `TestBackend`), and start to
//! first frame from a warm store, timed in a child process so its memory is the console's alone.

use std::process::{ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use chrono::Utc;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use tokio::io::AsyncBufReadExt as _;

use super::{Figure, Samples, Target};
use crate::domain::catalog::Catalog;
use crate::engine::{Engine, EngineParts, Operator};
use crate::store::{QueueFilter, QueueOrder, Store};
use crate::tui::action::Action;
use crate::tui::effect::{DataSource, EffectHandler as _, Reply, SavedView};
use crate::tui::handler::{EngineHandler, queue_row};
use crate::tui::{ColorDepth, ConsoleConfig, State, update, view};

/// The terminal size of the console figures.
pub const WIDTH: u16 = 160;
/// The terminal size of the console figures.
pub const HEIGHT: u16 = 48;

/// One keystroke as the console's loop handles it: `update`, then a frame if it asks for one.
pub fn frame(state: &mut State, terminal: &mut Terminal<TestBackend>, action: Action) {
    let fx = update(state, action);
    if fx.render {
        terminal.draw(|f| view::render(f, state)).expect("an off-screen terminal draws");
    }
}

/// A key without modifiers.
pub fn key(c: KeyCode) -> Action {
    Action::Key(KeyEvent::new(c, KeyModifiers::NONE))
}

fn config(operator: &str) -> ConsoleConfig {
    let mut c = ConsoleConfig::new(operator, "bench");
    c.themes_dir = None;
    c.theme = Some("default".into());
    c.color_depth = ColorDepth::TrueColor;
    c.initial_view = SavedView::AllOpen;
    c
}

/// The console at 160×48 showing every cached ticket (open and closed: the whole queue of the
/// world, 100,000 tickets at `--scale large`), with a first frame drawn.
pub async fn loaded_console(store: &Store, operator: &str) -> anyhow::Result<(State, Terminal<TestBackend>, usize)> {
    let rows: Vec<_> =
        store.queue_all(&QueueFilter::default(), QueueOrder::Newest).await?.into_iter().map(queue_row).collect();
    let n = rows.len();
    let mut state = State::new(&config(operator), Utc::now(), WIDTH, HEIGHT)?;
    let mut terminal = Terminal::new(TestBackend::new(WIDTH, HEIGHT))?;
    update(&mut state, Action::Start);
    update(&mut state, Action::QueueLoaded { view: SavedView::AllOpen, rows, source: DataSource::Live });
    anyhow::ensure!(state.queue.shown() == n, "the queue shows {} of {n} tickets", state.queue.shown());
    frame(&mut state, &mut terminal, Action::Resize { width: WIDTH, height: HEIGHT });
    Ok((state, terminal, n))
}

/// Keystroke → frame while moving through the queue (`j j PgDn k PgUp`, over and over).
pub fn keystroke(state: &mut State, terminal: &mut Terminal<TestBackend>, tickets: usize, n: usize) -> Figure {
    let moves = [KeyCode::Char('j'), KeyCode::Char('j'), KeyCode::PageDown, KeyCode::Char('k'), KeyCode::PageUp];
    let mut samples = Samples::default();
    for i in 0..n {
        let t = Instant::now();
        frame(state, terminal, key(moves[i % moves.len()]));
        samples.push(t.elapsed());
    }
    Figure::timing(
        "keystroke",
        format!("keystroke -> frame, queue of {tickets} tickets, {WIDTH}x{HEIGHT}"),
        &samples,
        Some(Target::p99_ms(2.0, "issue 5")),
    )
}

/// The fuzzy filter: the first keystroke after `/` (with its frame), and the same keystroke
/// until every ticket has been searched (the runtime searches the rest between keystrokes).
pub fn filter(state: &mut State, terminal: &mut Terminal<TestBackend>, tickets: usize, n: usize) -> Vec<Figure> {
    frame(state, terminal, key(KeyCode::Char('/')));
    let mut first = Samples::default();
    for _ in 0..n {
        let t = Instant::now();
        frame(state, terminal, key(KeyCode::Char('r')));
        first.push(t.elapsed());
        frame(state, terminal, key(KeyCode::Backspace));
    }
    let mut all = Samples::default();
    for _ in 0..n.div_ceil(3) {
        let t = Instant::now();
        frame(state, terminal, key(KeyCode::Char('r')));
        while state.searching() {
            frame(state, terminal, Action::ContinueSearch);
        }
        all.push(t.elapsed());
        frame(state, terminal, key(KeyCode::Backspace));
    }
    frame(state, terminal, key(KeyCode::Esc));
    vec![
        Figure::timing(
            "filter",
            format!("filter keystroke -> frame over {tickets} tickets"),
            &first,
            Some(Target::median_ms(5.0, "issue 5")),
        ),
        Figure::timing("filter", format!("filter keystroke, all {tickets} searched (+frames)"), &all, None),
    ]
}

/// What the child process reports.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct FirstFrame {
    /// From the child's entry to the first frame showing the queue, in ms.
    inside_ms: f64,
    /// From the child's entry to the store being open, in ms.
    store_open_ms: f64,
    /// From the child's entry to the first rows being applied (the preview's), in ms.
    first_rows_ms: f64,
    /// From the child's entry to the whole queue being applied (filter and sort ready), in ms.
    queue_loaded_ms: f64,
    rows: usize,
    /// `/proc/self/status` fields (kB) after the store opened and after the frame.
    memory_at_open: Memory,
    memory: Memory,
}

/// Start to first frame: `runs` times, a fresh `grantdesk` process opens the warm store at `db`
/// and draws the console (saved view `all`, the largest queue) on an off-screen terminal; the
/// time runs from spawning the process to its word that the first frame is drawn, and on to its
/// report that the whole queue is in (what filtering and sorting work on).
pub async fn first_frame(db: &str, operator: &Operator, runs: usize) -> anyhow::Result<Vec<Figure>> {
    let exe = std::env::current_exe().context("finding the grantdesk binary")?;
    let mut wall = Samples::default();
    let mut whole = Samples::default();
    let mut inside = Samples::default();
    let mut opened = Samples::default();
    let mut first_rows = Samples::default();
    let mut queued = Samples::default();
    let mut last: Option<FirstFrame> = None;
    let ms = |v: f64| Duration::from_secs_f64(v / 1e3);
    for _ in 0..runs {
        let started = Instant::now();
        let mut child = tokio::process::Command::new(&exe)
            .args(["bench", "--first-frame-of", db, "--as", &operator.user_name, "--as-sys-id", &operator.sys_id])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .context("starting a grantdesk process")?;
        let stdout = child.stdout.take().context("the child's output")?;
        let mut lines = tokio::io::BufReader::new(stdout).lines();
        let drawn = lines.next_line().await?.unwrap_or_default();
        wall.push(started.elapsed());
        anyhow::ensure!(drawn == FRAME_DRAWN, "the child said {drawn:?}");
        let line = lines.next_line().await?.unwrap_or_default();
        whole.push(started.elapsed());
        let status = child.wait().await?;
        anyhow::ensure!(status.success(), "the first-frame process failed ({status})");
        let report: FirstFrame = serde_json::from_str(&line).with_context(|| format!("the child said {line:?}"))?;
        inside.push(ms(report.inside_ms));
        opened.push(ms(report.store_open_ms));
        first_rows.push(ms(report.first_rows_ms));
        queued.push(ms(report.queue_loaded_ms));
        last = Some(report);
    }
    let last = last.context("no run")?;
    let what = format!("start -> first frame, warm store, queue of {} tickets (process start included)", last.rows);
    let mut time = Figure::timing("first-frame", what, &wall, Some(Target::median_ms(100.0, "issue 5")));
    time.details = serde_json::json!({
        "inside_process_ms": inside.summary_ms(),
        "store_open_ms": opened.summary_ms(),
        "first_rows_ms": first_rows.summary_ms(),
        "queue_loaded_ms": queued.summary_ms(),
        "rows": last.rows,
    });
    let what = format!("start -> the whole queue of {} tickets loaded (filter and sort ready)", last.rows);
    let whole = Figure::timing("first-frame", what, &whole, None);
    let mut rss = Figure::value(
        "first-frame",
        "resident memory with the whole queue loaded (VmRSS)".into(),
        last.memory.mb("VmRSS"),
        "MB",
        Some(Target::at_most(150.0, "issue 5")),
    );
    rss.details =
        serde_json::json!({ "with_the_queue_loaded_mb": last.memory, "after_store_open_mb": last.memory_at_open });
    Ok(vec![time, whole, rss])
}

/// What the child prints the moment its first frame is drawn, before its report.
const FRAME_DRAWN: &str = "frame drawn";

/// The child: opens the store, starts the console's state and its real effect handler over the
/// engine (no services: the queue comes from the store, as when `grantdesk` starts), applies
/// answers until the queue is loaded, draws that frame, and prints one JSON line.
pub async fn first_frame_child(db: &str, user_name: &str, sys_id: &str) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let ms = |t: Instant| t.elapsed().as_secs_f64() * 1e3;
    let store = Store::open(db).await?;
    let (store_open_ms, memory_at_open) = (ms(started), Memory::now());
    let operator = Operator {
        user_name: user_name.into(),
        sys_id: sys_id.into(),
        login: format!("{user_name}@example.com"),
        name: user_name.into(),
    };
    let engine = Engine::new(EngineParts {
        store,
        servicenow: None,
        okta: None,
        operator,
        read_only: true,
        catalog: Catalog::default(),
    });
    let handler = std::sync::Arc::new(EngineHandler::new(engine));
    let mut state = State::new(&config(user_name), Utc::now(), WIDTH, HEIGHT)?;
    let mut terminal = Terminal::new(TestBackend::new(WIDTH, HEIGHT))?;
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Action>(4096);
    let reply = Reply::new(tx);
    let spawn = |fx: crate::tui::Effects| {
        for effect in fx.effects {
            let (handler, reply) = (handler.clone(), reply.clone());
            tokio::spawn(async move { handler.handle(effect, reply).await });
        }
    };
    // The first frame is drawn as soon as rows are on screen: the top of the queue (a preview)
    // or the whole of it, whichever comes first — as the console's loop would draw it.
    let mut first: Option<(f64, f64)> = None;
    spawn(update(&mut state, Action::Start));
    while let Some(action) = rx.recv().await {
        let loaded = matches!(action, Action::QueueLoaded { .. } | Action::QueueLoadFailed { .. });
        let fx = update(&mut state, action);
        let render = fx.render;
        spawn(fx);
        if first.is_none() && render && state.queue.shown() > 0 {
            let rows_ms = ms(started);
            terminal.draw(|f| view::render(f, &state))?;
            first = Some((rows_ms, ms(started)));
            println!("{FRAME_DRAWN}");
        }
        if loaded {
            break;
        }
    }
    anyhow::ensure!(state.queue.error.is_none(), "the queue did not load: {:?}", state.queue.error);
    let queue_loaded_ms = ms(started);
    let (first_rows_ms, inside_ms) = match first {
        Some(f) => f,
        None => {
            terminal.draw(|f| view::render(f, &state))?;
            println!("{FRAME_DRAWN}");
            (queue_loaded_ms, ms(started))
        }
    };
    let report = FirstFrame {
        inside_ms,
        store_open_ms,
        first_rows_ms,
        queue_loaded_ms,
        rows: state.queue.shown(),
        memory_at_open,
        memory: Memory::now(),
    };
    println!("{}", serde_json::to_string(&report)?);
    Ok(ExitCode::SUCCESS)
}

/// Memory figures of this process from `/proc/self/status`, in MB: resident (`VmRSS`), its
/// peak (`VmHWM`), and the resident split into anonymous memory (heap: caches, rows) and file
/// pages (the binary and libraries).
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Memory(std::collections::BTreeMap<String, f64>);

impl Memory {
    /// Read now (empty where `/proc` is not there).
    pub fn now() -> Memory {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let fields = ["VmRSS", "VmHWM", "RssAnon", "RssFile"];
        Memory(
            status
                .lines()
                .filter_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    let kb: f64 = v.trim().trim_end_matches("kB").trim().parse().ok()?;
                    fields.contains(&k).then(|| (k.to_string(), kb / 1024.0))
                })
                .collect(),
        )
    }

    /// One field in MB (0 when unknown).
    pub fn mb(&self, field: &str) -> f64 {
        self.0.get(field).copied().unwrap_or(0.0)
    }
}
