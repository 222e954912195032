//! Giving memory back once a burst is over: the store's history drops events gone stale
//! even when nothing else is written, and after enough has been freed the allocator is
//! asked to return its free pages to the OS (glibc keeps them in its arenas otherwise, so
//! the lab would stay at its peak RSS after the pods are gone).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::store::Store;

/// How often the history is looked at.
const EVERY: Duration = Duration::from_secs(2);
/// Freed bytes worth a trim: a trim walks every arena, so not after each small deletion.
const TRIM_AFTER: usize = 4 << 20;

/// Runs until `stopped` changes.
pub async fn run(store: Arc<Store>, mut stopped: watch::Receiver<bool>) {
    let mut freed = 0;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(EVERY) => {}
            _ = stopped.changed() => return,
        }
        // The history drops a burst's events last (a fresh duration after the objects
        // went), so what it frees says how much the burst gave back.
        freed += store.trim_history();
        if freed >= TRIM_AFTER {
            release_free_memory();
            freed = 0;
        }
    }
}

/// Returns the allocator's free memory to the OS where the allocator keeps it.
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free memory of glibc's own heaps; it is safe to
    // call from any thread at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}
