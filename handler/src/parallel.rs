//! Work on many items at once: the rendering steps after the first pass (sign-ins worded once their verdict is
//! known, root sessions worded naming their opener) spread their items over the machine's cores.

/// Fewer items than this per thread are done on the calling thread: a thread costs more than they do.
const MIN_PER_THREAD: usize = 64;

/// More threads than this gain nothing on the machines the function and the CLI run on.
const MAX_THREADS: usize = 4;

/// Items are handed out this many at a time: small enough that the threads finish together when some items take
/// longer than others, large enough that taking the next block costs nothing next to working on it.
const BLOCK: usize = 32;

/// Runs `work` on every item, the items handed out a block at a time to up to one thread per core (the calling
/// thread works too). If no thread can be started, the calling thread works on every item: none is skipped.
pub fn each_mut<T: Send>(items: &mut [T], work: impl Fn(&mut T) + Sync) {
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, MAX_THREADS)
        .min(items.len() / MIN_PER_THREAD)
        .max(1);
    if threads == 1 {
        items.iter_mut().for_each(&work);
        return;
    }
    let blocks = std::sync::Mutex::new(items.chunks_mut(BLOCK));
    // A poisoned lock (a panic in `work` on another thread) ends that worker; the scope then re-raises the panic.
    let drain = || {
        while let Some(block) = blocks.lock().ok().and_then(|mut blocks| blocks.next()) {
            block.iter_mut().for_each(&work);
        }
    };
    std::thread::scope(|scope| {
        for _ in 1..threads {
            // A thread that cannot be started leaves its blocks to the others.
            let _ = std::thread::Builder::new()
                .name("render".into())
                .spawn_scoped(scope, drain);
        }
        drain();
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_item_is_worked_on_once_whatever_the_count() {
        for count in [0, 1, 127, 128, 129, 1000, 4097] {
            let mut items = vec![0u32; count];
            each_mut(&mut items, |n| *n += 1);
            assert!(items.iter().all(|&n| n == 1), "{count} items");
        }
    }
}
