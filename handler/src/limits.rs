//! Size bounds on what the handler and `preview` read, below every module that enforces or reports them.

/// A decompressed CloudWatch Logs payload larger than this is refused rather than risk running out of memory.
///
/// The function runs with 128 MB (`MEMORY_MB` in the CLI's `resources/function.rs`). Decoding holds the
/// decompressed JSON and, in flight, the log events' messages taken out of it, so the peak is about twice this
/// cap plus the runtime (~20 MB): 32 MiB keeps that under 128 MB. Real batches are far smaller: Lambda accepts at
/// most 1 MB for an asynchronous invocation, and CloudTrail JSON compresses about 10:1, so a full batch is ~10 MB.
pub const MAX_DECOMPRESSED: u64 = 32 * 1024 * 1024;

/// The most `preview` reads from a file or stdin: larger than any event Lambda accepts and than the CloudTrail
/// log files CloudTrail writes (it starts a new file every few minutes), small enough that `/dev/zero` fails fast.
pub const MAX_INPUT: u64 = 64 * 1024 * 1024;
