//! An empty root directory to run a binary in (chroot), and how this machine lets us chroot at all.

use std::ffi::{OsStr, OsString};
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Names mapped to 127.0.0.1 in the root's `/etc/hosts`.
const HOSTS: &str = "127.0.0.1\tlocalhost moto.test runtime.test slack.test\n";
/// Nothing answers DNS there: a name outside `/etc/hosts` cannot resolve.
const RESOLV_CONF: &str = "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n";
const NSSWITCH_CONF: &str = "hosts: files dns\n";

/// Where a root's CA certificates are, if anywhere.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Trust {
    /// No certificate anywhere: what `/etc` holds in a bare root.
    Nothing,
    /// Amazon Linux 2023 (CloudShell, Lambda's `provided.al2023`): the bundle extracted by `update-ca-trust`,
    /// `/etc/pki/tls/certs/ca-bundle.crt` a link to it, `/etc/ssl/certs` a link to `/etc/pki/tls/certs`.
    AmazonLinux2023,
    /// Only `/etc/pki/tls/certs/ca-bundle.crt`, as a plain file.
    PkiCaBundleOnly,
}

/// An empty root directory to chroot into.
pub struct Root {
    dir: tempfile::TempDir,
}

impl Root {
    pub fn new(trust: Trust, ca_pem: &str) -> Root {
        let root = Root {
            dir: tempfile::tempdir().expect("temp dir"),
        };
        root.install("etc/hosts", HOSTS.as_bytes(), 0o644);
        root.install("etc/resolv.conf", RESOLV_CONF.as_bytes(), 0o644);
        root.install("etc/nsswitch.conf", NSSWITCH_CONF.as_bytes(), 0o644);
        match trust {
            Trust::Nothing => {}
            Trust::AmazonLinux2023 => {
                root.install(
                    "etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
                    ca_pem.as_bytes(),
                    0o644,
                );
                root.symlink(
                    "etc/pki/tls/certs/ca-bundle.crt",
                    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
                );
                root.symlink("etc/ssl/certs", "/etc/pki/tls/certs");
            }
            Trust::PkiCaBundleOnly => {
                root.install("etc/pki/tls/certs/ca-bundle.crt", ca_pem.as_bytes(), 0o644)
            }
        }
        root
    }

    pub fn path(&self, inside: &str) -> PathBuf {
        self.dir.path().join(inside.trim_start_matches('/'))
    }

    pub fn install(&self, inside: &str, bytes: &[u8], mode: u32) {
        use std::os::unix::fs::PermissionsExt;
        let path = self.path(inside);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, bytes).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    fn symlink(&self, inside: &str, target: &str) {
        let path = self.path(inside);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(target, path).unwrap();
    }

    /// `program` (a path inside the root) run chrooted, with exactly `env` as its environment.
    pub fn command(&self, program: &str, env: &[(&str, String)]) -> Command {
        let chroot = chroot();
        let mut argv: Vec<OsString> = chroot.privilege.iter().map(OsString::from).collect();
        argv.push(chroot.env.clone().into());
        argv.push("-i".into());
        argv.extend(env.iter().map(|(k, v)| OsString::from(format!("{k}={v}"))));
        argv.push(chroot.chroot.clone().into());
        argv.push(self.dir.path().into());
        argv.push(program.into());
        let mut cmd = Command::new(&argv[0]);
        cmd.args(&argv[1..]);
        cmd
    }
}

struct Chroot {
    /// How we may chroot: as we are (root), `sudo -n`, or in a user namespace.
    privilege: Vec<&'static str>,
    env: PathBuf,
    chroot: PathBuf,
}

/// Finds how this machine lets us chroot: as root directly (CI), else passwordless sudo, else a user namespace.
fn chroot() -> &'static Chroot {
    static CHROOT: OnceLock<Chroot> = OnceLock::new();
    CHROOT.get_or_init(|| {
        let find = |name: &str| {
            let path = std::env::var_os("PATH").unwrap_or_default();
            std::env::split_paths(&path)
                .chain(["/usr/sbin", "/sbin", "/usr/bin", "/bin"].map(PathBuf::from))
                .map(|dir| dir.join(name))
                .find(|p| p.is_file())
                .unwrap_or_else(|| panic!("`{name}` is not installed"))
        };
        let (env, chroot) = (find("env"), find("chroot"));
        let candidates: [&[&'static str]; 3] =
            [&[], &["sudo", "-n"], &["unshare", "--map-root-user"]];
        for privilege in candidates {
            let works = Command::new(privilege.first().map_or(chroot.as_os_str(), OsStr::new))
                .args(privilege.iter().skip(1))
                .args((!privilege.is_empty()).then_some(&chroot))
                .args(["/", "true"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if works {
                return Chroot {
                    privilege: privilege.to_vec(),
                    env,
                    chroot,
                };
            }
        }
        panic!(
            "cannot chroot: these tests need root, passwordless sudo or user namespaces (`unshare --map-root-user`); CI runs them as root"
        );
    })
}

/// Runs `cmd` to its end. The binary was just written into the root: a process another test of this
/// binary forks meanwhile holds the written file open until it execs, and exec then fails with
/// ETXTBSY ("Text file busy", chroot's exit 126). That is the test bed's race, not the binary's: run
/// it again, a few times.
pub fn run(mut cmd: Command, stdin: &[u8]) -> Output {
    let mut tries = 0;
    loop {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the chrooted command");
        child.stdin.take().unwrap().write_all(stdin).unwrap();
        let output = child.wait_with_output().unwrap();
        tries += 1;
        let busy =
            output.status.code() == Some(126) && text(&output.stderr).contains("Text file busy");
        if !busy || tries == 10 {
            return output;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A chrooted process, stopped when the test ends. SIGTERM first: `sudo` passes that on, not SIGKILL.
pub struct Running(pub std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = Command::new("kill")
                .args(["-TERM", &self.0.id().to_string()])
                .status();
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
