//! The UI task: wait for a message, drain all that are ready, settle, draw at most once per
//! frame budget (at once after a key, so typing never waits for a frame slot).

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use ratatui::Terminal;
use ratatui::backend::Backend;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};

use super::app::App;
use super::effects::Effects;
use super::msg::{Cmd, Msg};
use super::theme::Theme;

pub struct RunOptions {
    /// Shortest time between frames drawn for watch updates alone: live data at 10 frames
    /// a second, so a busy cluster cannot keep the loop from keys.
    pub data_budget: Duration,
    /// How often highlights and ages are refreshed.
    pub tick: Duration,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            data_budget: Duration::from_millis(100),
            tick: Duration::from_millis(250),
        }
    }
}

/// What a drawn frame reports (benchmarks measure key-to-frame latency from it).
#[derive(Debug, Clone, Copy)]
pub struct FrameInfo {
    pub at: Instant,
    /// Keys handled before this frame, counted from the start.
    pub keys: u64,
    pub draw_time: Duration,
}

const MAX_BATCH: usize = 20_000;

#[allow(clippy::too_many_arguments)]
pub async fn run<B: Backend>(
    terminal: &mut Terminal<B>,
    app: &mut App,
    rx: &mut UnboundedReceiver<Msg>,
    tx: &UnboundedSender<Msg>,
    effects: &mut dyn Effects,
    theme: &Theme,
    clock: &dyn Fn() -> DateTime<Utc>,
    opts: &RunOptions,
    on_frame: &mut dyn FnMut(FrameInfo),
) -> Result<(), B::Error> {
    let mut tick = tokio::time::interval(opts.tick);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut last_draw = Instant::now() - opts.data_budget;
    let mut last_data = last_draw;
    let mut keys: u64 = 0;
    if let Ok(size) = terminal.size() {
        app.size = (size.width, size.height);
    }
    loop {
        let mut key_in_batch = false;
        // Watch data has its own cadence, apart from key frames.
        let deadline = tokio::time::Instant::from_std(last_data + opts.data_budget);
        let first = tokio::select! {
            m = rx.recv() => match m {
                Some(m) => Some(m),
                None => break,
            },
            _ = tick.tick() => Some(Msg::Tick),
            _ = tokio::time::sleep_until(deadline), if app.dirty => None,
        };
        let now = clock();
        let mut cmds = Vec::new();
        let mut batch = 0;
        let mut next = first;
        while let Some(msg) = next.take() {
            if matches!(msg, Msg::Key(_)) {
                key_in_batch = true;
                keys += 1;
            }
            cmds.extend(app.update(msg, now));
            batch += 1;
            if batch < MAX_BATCH {
                next = rx.try_recv().ok();
            }
        }
        for cmd in cmds {
            match cmd {
                Cmd::Quit => app.quit = true,
                other => effects.handle(other, tx),
            }
        }
        if app.quit {
            break;
        }
        // A key draws at once; watch updates alone wait for the data budget.
        let due = key_in_batch || last_data.elapsed() >= opts.data_budget;
        if app.dirty && due {
            let started = Instant::now();
            // A key's frame folds in no watch data (unless it has waited far too long), so a
            // key never waits behind a rebuild it did not ask for; data frames come on
            // their own wake-ups, at most once per data budget.
            let waited = last_data.elapsed();
            let with_data =
                (!key_in_batch && waited >= opts.data_budget) || waited >= opts.data_budget * 5;
            if with_data {
                last_data = started;
            }
            let pending = app.settle_with(now, with_data);
            super::draw_app(terminal, app, theme, now)?;
            app.dirty = pending;
            last_draw = Instant::now();
            on_frame(FrameInfo {
                at: last_draw,
                keys,
                draw_time: last_draw - started,
            });
        }
    }
    Ok(())
}
