//! Crash consistency: the real `login-alert apply` killed (SIGKILL) inside a step, after its k-th
//! write request, for every k of a whole apply — in both trail modes. The next `apply` converges
//! (`plan --detailed-exitcode` exits 0 after it) and `destroy` leaves nothing tagged.
//!
//! The cut is made by a loopback proxy in front of moto (`support::cutoff`) that forwards the first
//! k writes and holds the next one unanswered; the test kills the process while it waits.
//! These tests use a moto server of their own with recording off: their dozens of CreateFunction
//! calls would otherwise grow the shared recording the write-counting tests download.
//!
//! Where moto differs from AWS:
//! - `HeadBucket` ignores `ExpectedBucketOwner` (AWS answers 403 for a bucket of another account),
//!   and `CreateBucketConfiguration.Tags` is ignored: the bucket is tagged by `PutBucketTagging`,
//!   whose gap after `CreateBucket` is exactly what these tests cut into.
//! - CloudTrail never delivers into the bucket, so the adopted bucket is always empty; a bucket
//!   holding only `AWSLogs/<account>/…` keys is adopted the same way (unit-tested in `bucket.rs`).

use crate::support;

use std::path::Path;
use std::time::{Duration, Instant};

use predicates::str::contains;
use support::cutoff::Cutoff;
use support::{Account, fresh_account_in, private_moto, workdir};

const TRAIL: &str = "audit-trail";
const HOME: &str = "eu-west-1";
/// Far more than any apply against moto takes to reach its next write.
const PATIENCE: Duration = Duration::from_secs(180);

#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode {
    CreateTrail,
    AdoptTrail,
}

async fn configured(mode: Mode, dir: &Path) -> Account {
    let account = fresh_account_in(private_moto()).await;
    let init = match mode {
        Mode::CreateTrail => vec!["--create-trail", "--region", HOME],
        Mode::AdoptTrail => {
            account.seed_single_region_trail(HOME, TRAIL).await;
            vec!["--trail", TRAIL]
        }
    };
    account
        .cli(dir)
        .args(["init", "--yes", "--email", "secops@example.com"])
        .args(init)
        .assert()
        .success();
    account
}

/// Runs `apply --yes` through a proxy that lets `k` writes through; kills it once it waits on the
/// next. Returns `None` when it was killed, or the number of writes when it finished on its own.
async fn apply_cut_after(account: &Account, dir: &Path, k: usize) -> Option<usize> {
    let cutoff = Cutoff::start(&account.url, k).await;
    let mut child = account
        .cli_at(dir, &cutoff.url)
        .args(["apply", "--yes"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start apply");
    let deadline = Instant::now() + PATIENCE;
    loop {
        if cutoff.holding() {
            child.kill().expect("SIGKILL the apply");
            child.wait().expect("reap it");
            return None;
        }
        if let Some(status) = child.try_wait().expect("poll the apply") {
            assert!(
                status.success(),
                "apply cut after {k} writes failed on its own"
            );
            return Some(cutoff.writes());
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("apply cut after {k} writes neither finished nor reached another write");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Kills `apply` after each of its writes in turn, on a fresh account each time, and checks that
/// the next `apply` finishes the job and `destroy` then leaves nothing tagged.
async fn every_cut_converges(mode: Mode) -> usize {
    let mut k = 0;
    loop {
        let dir = workdir();
        let dir = dir.path();
        let account = configured(mode, dir).await;
        let finished = apply_cut_after(&account, dir, k).await;

        let apply = account.cli(dir).args(["apply", "--yes"]).assert().success();
        let shown = String::from_utf8_lossy(&apply.get_output().stdout).into_owned();
        if mode == Mode::CreateTrail && k == 1 {
            // The first write is CreateBucket: the cut falls before PutBucketTagging.
            assert!(
                shown.contains("adopting the untagged S3 bucket"),
                "cut after CreateBucket: {shown}"
            );
        }
        account
            .cli(dir)
            .args(["plan", "--detailed-exitcode"])
            .assert()
            .code(0);
        account
            .cli(dir)
            .args(["destroy", "--yes"])
            .assert()
            .success()
            .stdout(contains("Destroy complete"));
        assert_eq!(
            account.tagged(HOME).await,
            Vec::<String>::new(),
            "{mode:?}, cut after {k} writes: destroy leaves nothing tagged"
        );
        if mode == Mode::AdoptTrail {
            let trail = aws_sdk_cloudtrail::Client::new(&account.sdk(HOME))
                .get_trail()
                .name(TRAIL)
                .send()
                .await
                .expect("the user's trail is kept")
                .trail
                .expect("trail");
            assert_eq!(
                (
                    trail.is_multi_region_trail,
                    trail
                        .cloud_watch_logs_log_group_arn
                        .filter(|a| !a.is_empty())
                ),
                (Some(false), None),
                "cut after {k} writes: the user's trail is restored"
            );
        }
        if let Some(writes) = finished {
            assert_eq!(writes, k, "the uncut apply made exactly {k} writes");
            eprintln!(
                "{mode:?}: killed after each of the apply's first {k} writes, every time converged"
            );
            return writes;
        }
        k += 1;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn create_trail_apply_killed_after_any_write_is_finished_by_the_next() {
    let writes = every_cut_converges(Mode::CreateTrail).await;
    assert!(writes >= 15, "a whole create-trail apply: {writes} writes");
}

#[tokio::test(flavor = "multi_thread")]
async fn adopt_trail_apply_killed_after_any_write_is_finished_by_the_next() {
    let writes = every_cut_converges(Mode::AdoptTrail).await;
    assert!(writes >= 15, "a whole adopt-trail apply: {writes} writes");
}

/// Ctrl-C while `apply` waits on a write (held by the proxy): it stops with the line that says
/// what happened and what to do, and the next `apply` finishes the job.
#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_inside_apply_says_it_was_interrupted_and_to_run_apply_again() {
    let dir = workdir();
    let dir = dir.path();
    let account = configured(Mode::AdoptTrail, dir).await;
    let cutoff = Cutoff::start(&account.url, 3).await;
    let child = account
        .cli_at(dir, &cutoff.url)
        .args(["apply", "--yes"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start apply");
    let deadline = Instant::now() + PATIENCE;
    while !cutoff.holding() {
        assert!(
            Instant::now() < deadline,
            "apply never reached its 4th write"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let sent = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(sent.success());
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().expect("reap it"))
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "apply ends with an error, not death by SIGINT: {stderr}"
    );
    assert!(
        stderr.contains(
            "interrupted: apply stopped part-way. Run `login-alert apply` again to finish"
        ),
        "{stderr}"
    );
    drop(cutoff);
    account.cli(dir).args(["apply", "--yes"]).assert().success();
    account
        .cli(dir)
        .args(["plan", "--detailed-exitcode"])
        .assert()
        .code(0);
}
