//! Console speed: keystroke → frame (update + render on an off-screen terminal) and the fuzzy
//! filter, on a queue of 100,000 tickets at 160×48.
//!
//! `cargo bench --bench tui` prints per-keystroke percentiles first (criterion reports means and
//! medians, and the targets are a p99 and a median), then runs the criterion benchmarks.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::Criterion;
use crossterm::event::KeyCode;
use grantdesk::cli::bench::Samples;
use grantdesk::cli::bench::console::{frame, key};
use grantdesk::tui::action::Action;
use grantdesk::tui::effect::{DataSource, SavedView};
use grantdesk::tui::fixture::{FixtureData, Harness, fixed_now};
use grantdesk::tui::{ColorDepth, State, update, view};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const TICKETS: usize = 100_000;

fn big_queue() -> State {
    let config = Harness::config("default", ColorDepth::TrueColor);
    let mut state = State::new(&config, fixed_now(), 160, 48).expect("console starts");
    let data = FixtureData::generate(TICKETS, 7, fixed_now());
    update(&mut state, Action::Start);
    update(&mut state, Action::DashboardLoaded(Box::new(data.dashboard())));
    update(&mut state, Action::QueueLoaded { view: SavedView::AllOpen, rows: data.rows, source: DataSource::Live });
    assert_eq!(state.queue.shown(), TICKETS);
    state
}

fn percentiles(name: &str, samples: Vec<Duration>) {
    let mut s = Samples::default();
    samples.into_iter().for_each(|d| s.push(d));
    println!("{}", s.line(name));
}

/// Times single keystrokes the way an operator makes them.
fn keystroke_percentiles() {
    let mut state = big_queue();
    let mut terminal = Terminal::new(TestBackend::new(160, 48)).expect("terminal");
    frame(&mut state, &mut terminal, Action::Resize { width: 160, height: 48 });
    let moves = [KeyCode::Char('j'), KeyCode::Char('j'), KeyCode::PageDown, KeyCode::Char('k'), KeyCode::PageUp];
    let mut samples = Vec::new();
    for i in 0..20_000 {
        let k = moves[i % moves.len()];
        let t = Instant::now();
        frame(&mut state, &mut terminal, key(k));
        samples.push(t.elapsed());
    }
    percentiles("keystroke -> frame, 100k queue, 160x48", samples);

    let mut samples = Vec::new();
    frame(&mut state, &mut terminal, key(KeyCode::Char('/')));
    for _ in 0..300 {
        let t = Instant::now();
        frame(&mut state, &mut terminal, key(KeyCode::Char('r')));
        samples.push(t.elapsed());
        frame(&mut state, &mut terminal, key(KeyCode::Backspace));
    }
    percentiles("filter first keystroke `r` over 100k (+frame)", samples);

    let mut samples = Vec::new();
    for _ in 0..300 {
        frame(&mut state, &mut terminal, key(KeyCode::Char('r')));
        frame(&mut state, &mut terminal, key(KeyCode::Char('i')));
        let t = Instant::now();
        frame(&mut state, &mut terminal, key(KeyCode::Char('l')));
        samples.push(t.elapsed());
        for _ in 0..3 {
            frame(&mut state, &mut terminal, key(KeyCode::Backspace));
        }
    }
    percentiles("filter next keystroke `ri`->`ril` (+frame)", samples);

    // The same keystroke until every one of the 100,000 items has been searched (the runtime
    // does the chunks after the first between keystrokes).
    let mut samples = Vec::new();
    for _ in 0..100 {
        let t = Instant::now();
        frame(&mut state, &mut terminal, key(KeyCode::Char('r')));
        while state.searching() {
            frame(&mut state, &mut terminal, Action::ContinueSearch);
        }
        samples.push(t.elapsed());
        frame(&mut state, &mut terminal, key(KeyCode::Backspace));
    }
    percentiles("filter `r`, all 100k searched (+frames)", samples);

    let mut samples = Vec::new();
    frame(&mut state, &mut terminal, key(KeyCode::Char('r')));
    frame(&mut state, &mut terminal, key(KeyCode::Char('i')));
    for _ in 0..300 {
        frame(&mut state, &mut terminal, key(KeyCode::Char('l')));
        let t = Instant::now();
        frame(&mut state, &mut terminal, key(KeyCode::Backspace));
        samples.push(t.elapsed());
    }
    percentiles("filter backspace `ril`->`ri` (+frame)", samples);
}

fn criterion_benches(c: &mut Criterion) {
    let mut state = big_queue();
    let mut terminal = Terminal::new(TestBackend::new(160, 48)).expect("terminal");
    let mut down = true;
    c.bench_function("keystroke_to_frame_100k_160x48", |b| {
        b.iter(|| {
            // Down to the middle and back, so every frame scrolls.
            let k = if down { KeyCode::Char('j') } else { KeyCode::Char('k') };
            down = !down;
            frame(&mut state, &mut terminal, key(k));
        })
    });
    frame(&mut state, &mut terminal, key(KeyCode::Char('/')));
    c.bench_function("filter_first_keystroke_100k", |b| {
        b.iter(|| {
            frame(&mut state, &mut terminal, key(KeyCode::Char('r')));
            black_box(state.queue.shown());
            frame(&mut state, &mut terminal, key(KeyCode::Backspace));
        })
    });
    c.bench_function("render_only_queue_160x48", |b| {
        b.iter(|| terminal.draw(|f| view::render(f, &state)).expect("draws").area)
    });
}

/// `TUI_BENCH_COUNT=N`: only type N first filter keystrokes (for instruction counts under
/// `valgrind --tool=callgrind`, steady on a busy machine: compare N=0 with N=10).
fn count_only(n: usize) {
    let mut state = big_queue();
    let mut terminal = Terminal::new(TestBackend::new(160, 48)).expect("terminal");
    frame(&mut state, &mut terminal, key(KeyCode::Char('/')));
    // `TUI_BENCH_PREFIX=ri`: typed once first, so the keystrokes counted narrow it.
    let prefix = std::env::var("TUI_BENCH_PREFIX").unwrap_or_default();
    for c in prefix.chars() {
        frame(&mut state, &mut terminal, key(KeyCode::Char(c)));
    }
    if std::env::var("TUI_BENCH_MOVE").is_ok() {
        // Movement keys on the plain queue instead of filter keystrokes.
        frame(&mut state, &mut terminal, key(KeyCode::Esc));
        for i in 0..n {
            frame(&mut state, &mut terminal, key(if i % 2 == 0 { KeyCode::Char('j') } else { KeyCode::PageDown }));
        }
        black_box(state.queue.cursor);
        return;
    }
    let next = if prefix.is_empty() { 'r' } else { 'l' };
    for _ in 0..n {
        frame(&mut state, &mut terminal, key(KeyCode::Char(next)));
        frame(&mut state, &mut terminal, key(KeyCode::Backspace));
    }
    black_box(state.queue.shown());
}

fn main() {
    if let Some(n) = std::env::var("TUI_BENCH_COUNT").ok().and_then(|v| v.parse().ok()) {
        return count_only(n);
    }
    keystroke_percentiles();
    let mut c = Criterion::default().configure_from_args().sample_size(50);
    criterion_benches(&mut c);
    c.final_summary();
}
