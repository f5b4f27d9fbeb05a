//! Work on many items at once: the rendering steps after the first pass (sign-ins worded once their verdict is
//! known, root sessions worded naming their opener) spread their items over the machine's cores.

/// Fewer items than this per thread are done on the calling thread: a thread costs more than they do.
const MIN_PER_THREAD: usize = 64;

/// More threads than this gain nothing on the machines the function and the CLI run on.
const MAX_THREADS: usize = 4;

/// Runs `work` on every item, the items split over up to one thread per core (the calling thread takes the first
/// share). A share whose thread cannot be started is done on the calling thread afterwards: no item is skipped.
pub fn each_mut<T: Send>(items: &mut [T], work: impl Fn(&mut T) + Sync) {
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, MAX_THREADS);
    if threads == 1 || items.len() < 2 * MIN_PER_THREAD {
        items.iter_mut().for_each(&work);
        return;
    }
    let share = items.len().div_ceil(threads).max(MIN_PER_THREAD);
    let mut missed = Vec::new();
    std::thread::scope(|scope| {
        let mut shares = items.chunks_mut(share).enumerate();
        let here = shares.next();
        for (n, items) in shares {
            let work = &work;
            let started = std::thread::Builder::new()
                .name("render".into())
                .spawn_scoped(scope, move || items.iter_mut().for_each(work));
            if started.is_err() {
                missed.push(n);
            }
        }
        if let Some((_, items)) = here {
            items.iter_mut().for_each(&work);
        }
    });
    for n in missed {
        let start = n * share;
        let end = (start + share).min(items.len());
        items[start..end].iter_mut().for_each(&work);
    }
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
