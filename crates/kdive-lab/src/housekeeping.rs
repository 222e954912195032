//! Giving memory back once a burst is over: the store's history drops events gone stale
//! even when nothing else is written, and after enough has been freed the allocator is
//! asked to return its free pages to the OS (glibc keeps them in its arenas otherwise, so
//! the lab would stay at its peak RSS after the pods are gone).

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio::sync::watch;

use crate::store::Store;

/// How often the history is looked at.
const EVERY: Duration = Duration::from_secs(2);
/// Freed bytes worth a trim: a trim walks every arena, so not after each small deletion.
const TRIM_AFTER: usize = 4 << 20;

/// Runs until `stopped` changes. Memory is released here and on the simulation's thread
/// (`simulation`): an allocator with per-thread heaps (mimalloc) collects the calling
/// thread's, and most of a burst is allocated there.
pub async fn run(
    store: Arc<Store>,
    simulation: Option<tokio::runtime::Handle>,
    mut stopped: watch::Receiver<bool>,
) {
    let mut freed = 0;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(EVERY) => {}
            _ = stopped.changed() => return,
        }
        // The history drops a burst's events last (a fresh duration after the objects
        // went), so what it frees says how much the burst gave back. Trim once most of it
        // is out (this round dropped little of what has piled up), or pages the last events
        // hold would stay; a busy lab's steady trickle still trims now and then.
        let dropped = store.trim_history();
        freed += dropped;
        if freed >= TRIM_AFTER && dropped.saturating_mul(4) <= freed {
            release_free_memory();
            if let Some(sim) = &simulation {
                sim.spawn(async { release_free_memory() });
            }
            freed = 0;
        }
    }
}

/// How the program's global allocator returns free memory, if it has a way (set by the
/// binary: the lab does not choose the allocator).
static ALLOCATOR_RELEASE: OnceLock<fn()> = OnceLock::new();

/// Sets how the global allocator returns free memory (kdive's mimalloc: `mi_collect`).
pub fn set_allocator_release(release: fn()) {
    let _ = ALLOCATOR_RELEASE.set(release);
}

/// Returns the allocator's free memory to the OS where the allocator keeps it.
pub fn release_free_memory() {
    if let Some(release) = ALLOCATOR_RELEASE.get() {
        release();
    }
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free memory of glibc's own heaps; it is safe to
    // call from any thread at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}
