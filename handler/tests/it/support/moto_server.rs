//! The one moto launcher of both crates' tests (the CLI's `tests/it/support` includes this file).
//!
//! `scripts/test.sh` starts moto once for the whole run and exports `LOGIN_ALERT_TEST_MOTO`; a plain
//! `cargo test` has none, and the first test to ask starts one here, the same way the script does
//! (`scripts/moto-fixed.py`, moto with its corrections, on a free loopback port), once per test binary.

use std::net::{TcpListener, TcpStream};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

/// The moto server the test command started, if it did.
pub fn from_env() -> Option<String> {
    std::env::var("LOGIN_ALERT_TEST_MOTO")
        .ok()
        .map(|url| url.trim_end_matches('/').to_owned())
}

/// moto with the test bed's corrections (see the file: each cites the API reference it follows), in the
/// workspace's `scripts/` (the package including this file is the workspace root or `handler/`).
fn launcher() -> std::path::PathBuf {
    let package = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    [package, package.parent().unwrap_or(package)]
        .iter()
        .map(|dir| dir.join("scripts/moto-fixed.py"))
        .find(|path| path.exists())
        .expect("scripts/moto-fixed.py in the workspace")
}

/// A moto server of this test binary's own.
pub struct Server {
    pub url: String,
    /// moto runs under a shell that stops it when this pipe closes: when the server is dropped, or when the
    /// test binary exits, which it does without dropping statics (where the servers live).
    lifeline: Option<ChildStdin>,
    shell: Child,
}

impl Drop for Server {
    fn drop(&mut self) {
        drop(self.lifeline.take());
        let _ = self.shell.wait();
    }
}

/// Starts `python3 -m moto.server` on a free loopback port, recording requests if `recording` (the tests that
/// count write calls read the recording back). The recorder's file goes to the temporary directory, not the
/// test's working directory (the package's).
pub fn start(recording: bool) -> Server {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port();
    let mut shell = Command::new("sh");
    shell
        .arg("-c")
        .arg(r#"python3 "$2" -H 127.0.0.1 -p "$1" & moto=$!; read -r _; kill "$moto""#)
        .arg("moto")
        .arg(port.to_string())
        .arg(launcher())
        // moto records whenever the variable is set at all (`bool(os.environ.get(…))`: "False" is on too).
        .env_remove("MOTO_ENABLE_RECORDING")
        .env(
            "MOTO_RECORDER_FILEPATH",
            std::env::temp_dir().join(format!("login-alert-moto-{port}.jsonl")),
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if recording {
        shell.env("MOTO_ENABLE_RECORDING", "True");
    }
    let mut shell = shell.spawn().expect("cannot run sh to start moto");
    let server = Server {
        url: format!("http://127.0.0.1:{port}"),
        lifeline: shell.stdin.take(),
        shell,
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "moto did not start on port {port} within 30 s: run the tests with `scripts/test.sh` (it installs \
             moto[server]), or set LOGIN_ALERT_TEST_MOTO to a running one"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    server
}
