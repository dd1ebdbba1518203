//! The runtime: owns the terminal, runs the loop, and always gives the terminal back as it was —
//! on quit, on error, on panic, and when the SSH session hangs up.
//!
//! The loop waits on four things: terminal input, answers from effect handlers, a one-second
//! clock, and (only while something changed and is not drawn yet) the render deadline. Every
//! pending action is applied before drawing, and a frame is drawn at most every 10 ms (yazi's
//! throttle), never on a fixed frame clock; an idle console draws nothing. Effects run on their
//! own tokio tasks, so a slow service never holds up a keystroke.

use std::io::{self, Stdout, Write as _};
use std::panic;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context as _;
use chrono::Utc;
use crossterm::event::{
    DisableBracketedPaste, DisableMouseCapture, EnableBracketedPaste, EnableMouseCapture, Event, EventStream,
    KeyEventKind,
};
use crossterm::terminal::{
    BeginSynchronizedUpdate, EndSynchronizedUpdate, EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode,
    enable_raw_mode,
};
use futures::StreamExt as _;
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::tui::ConsoleConfig;
use crate::tui::action::Action;
use crate::tui::effect::{EffectHandler, Reply};
use crate::tui::state::State;
use crate::tui::update::update;
use crate::tui::view;

/// Shortest time between two frames.
const FRAME_GAP: Duration = Duration::from_millis(10);
/// Answers waiting to be applied before a handler has to wait.
const ACTION_QUEUE: usize = 4096;

/// True while the terminal is in raw mode on the alternate screen.
static ACTIVE: AtomicBool = AtomicBool::new(false);

/// Puts the terminal back: raw mode off, main screen, cursor shown. Safe to call twice.
fn restore_terminal() {
    if ACTIVE.swap(false, Ordering::SeqCst) {
        let mut out = io::stdout();
        let _ = crossterm::execute!(
            out,
            EndSynchronizedUpdate,
            DisableMouseCapture,
            DisableBracketedPaste,
            LeaveAlternateScreen,
            crossterm::cursor::Show
        );
        let _ = disable_raw_mode();
        let _ = out.flush();
    }
}

fn install_panic_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            // The message must land on the normal screen, not vanish with the alternate one.
            restore_terminal();
            previous(info);
        }));
    });
}

/// Holds the terminal; dropping it restores the terminal whatever happened.
struct TerminalGuard;

impl TerminalGuard {
    fn enter(mouse: bool) -> io::Result<TerminalGuard> {
        install_panic_hook();
        enable_raw_mode()?;
        ACTIVE.store(true, Ordering::SeqCst);
        let guard = TerminalGuard;
        let mut out = io::stdout();
        // Cleared by hand: ratatui's `clear` asks the terminal where its cursor is, a round trip
        // that a slow SSH link (or a terminal that never answers) turns into a stall.
        crossterm::execute!(
            out,
            EnterAlternateScreen,
            crossterm::terminal::Clear(crossterm::terminal::ClearType::All),
            EnableBracketedPaste
        )?;
        if mouse {
            crossterm::execute!(out, EnableMouseCapture)?;
        }
        Ok(guard)
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore_terminal();
    }
}

fn draw(terminal: &mut Terminal<CrosstermBackend<Stdout>>, state: &State) -> io::Result<()> {
    crossterm::queue!(terminal.backend_mut(), BeginSynchronizedUpdate)?;
    terminal.draw(|f| view::render(f, state))?;
    crossterm::execute!(terminal.backend_mut(), EndSynchronizedUpdate)?;
    Ok(())
}

fn to_action(event: Event) -> Option<Action> {
    match event {
        Event::Key(k) if k.kind != KeyEventKind::Release => Some(Action::Key(k)),
        Event::Mouse(m) => Some(Action::Mouse(m)),
        Event::Paste(p) => Some(Action::Paste(p)),
        Event::Resize(width, height) => Some(Action::Resize { width, height }),
        _ => None,
    }
}

/// Runs the console until the operator quits. Configuration problems (`[keys]`, themes) are
/// reported before the terminal is touched. Must be called inside a tokio runtime.
pub async fn run<H: EffectHandler>(config: ConsoleConfig, handler: H) -> anyhow::Result<()> {
    let (width, height) = crossterm::terminal::size().context("the console needs a terminal (is stdout a tty?)")?;
    let mut state = State::new(&config, Utc::now(), width, height)?;
    let handler = Arc::new(handler);
    let (tx, mut rx) = mpsc::channel::<Action>(ACTION_QUEUE);
    let reply = Reply::new(tx);

    let guard = TerminalGuard::enter(config.mouse).context("setting up the terminal")?;
    let mut terminal = Terminal::new(CrosstermBackend::new(io::stdout())).context("setting up the terminal")?;

    let mut hangup = signal(tokio::signal::unix::SignalKind::hangup());
    let mut terminate = signal(tokio::signal::unix::SignalKind::terminate());
    let mut events = EventStream::new();
    let mut clock = tokio::time::interval(Duration::from_secs(1));
    clock.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);

    let mut dirty = apply(&mut state, Action::Start, &handler, &reply);
    let mut last_frame = Instant::now() - FRAME_GAP;
    while !state.quit {
        let due = last_frame + FRAME_GAP;
        tokio::select! {
            biased;
            event = events.next() => match event {
                Some(Ok(ev)) => if let Some(action) = to_action(ev) {
                    dirty |= apply(&mut state, action, &handler, &reply);
                },
                Some(Err(e)) => return Err(e).context("reading the terminal"),
                None => break,
            },
            Some(action) = rx.recv() => dirty |= apply(&mut state, action, &handler, &reply),
            _ = clock.tick() => dirty |= apply(&mut state, Action::Tick(Utc::now()), &handler, &reply),
            _ = tokio::time::sleep_until(due), if dirty => {}
            _ = recv_signal(&mut hangup) => break,
            _ = recv_signal(&mut terminate) => break,
            // Lowest priority: more of a large filter, only when nothing else is ready.
            _ = std::future::ready(()), if state.searching() => {
                dirty |= apply(&mut state, Action::ContinueSearch, &handler, &reply);
            }
        }
        // Apply everything already waiting, then draw once.
        while let Ok(action) = rx.try_recv() {
            dirty |= apply(&mut state, action, &handler, &reply);
        }
        if dirty && !state.quit && Instant::now() >= last_frame + FRAME_GAP {
            draw(&mut terminal, &state).context("drawing")?;
            last_frame = Instant::now();
            dirty = false;
        }
    }
    drop(terminal);
    drop(guard);
    Ok(())
}

fn apply<H: EffectHandler>(state: &mut State, action: Action, handler: &Arc<H>, reply: &Reply) -> bool {
    let fx = update(state, action);
    for effect in fx.effects {
        let handler = Arc::clone(handler);
        let reply = reply.clone();
        tokio::spawn(async move { handler.handle(effect, reply).await });
    }
    fx.render
}

fn signal(kind: tokio::signal::unix::SignalKind) -> Option<tokio::signal::unix::Signal> {
    tokio::signal::unix::signal(kind).ok()
}

async fn recv_signal(s: &mut Option<tokio::signal::unix::Signal>) {
    match s {
        Some(s) => {
            s.recv().await;
        }
        None => std::future::pending().await,
    }
}
