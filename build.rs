//! Builds the Lambda `bootstrap` from `handler/` and zips it, so the CLI binary carries the function it deploys.
//!
//! The handler is built with the `lambda` profile (release, optimised for size), statically linked (`+crt-static`) for x86_64 Linux, in a target
//! directory of its own (`<target>/lambda`) so its flags never invalidate the host build. A static glibc
//! binary needs no shared library at all, so it runs on Amazon Linux 2023 whatever glibc built it.
//! `LOGIN_ALERT_HANDLER_BOOTSTRAP=/path/to/bootstrap` skips the build and bundles that file instead
//! (for hosts that cannot build a static x86_64 Linux binary, e.g. with `cargo lambda build`).

use std::env;
use std::fs;
use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine;
use sha2::{Digest, Sha256};
use zip::write::SimpleFileOptions;

const LAMBDA_TARGET: &str = "x86_64-unknown-linux-gnu";
/// `[profile.lambda]` in Cargo.toml: release, optimised for size.
const LAMBDA_PROFILE: &str = "lambda";

fn main() {
    println!("cargo:rerun-if-changed=handler/src");
    println!("cargo:rerun-if-changed=handler/Cargo.toml");
    println!("cargo:rerun-if-changed=Cargo.lock");
    println!("cargo:rerun-if-env-changed=LOGIN_ALERT_HANDLER_BOOTSTRAP");

    let manifest_dir =
        PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let out_dir = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));

    let bootstrap = match env::var_os("LOGIN_ALERT_HANDLER_BOOTSTRAP") {
        Some(path) => PathBuf::from(path),
        None => build_handler(&manifest_dir, &out_dir),
    };
    let binary = fs::read(&bootstrap).unwrap_or_else(|err| {
        panic!(
            "cannot read the handler binary {}: {err}",
            bootstrap.display()
        )
    });
    let zip = write_zip(&binary, &out_dir.join("bootstrap.zip"));
    // `--version` names it: the same value `plan` shows and Lambda reports as `CodeSha256`.
    println!(
        "cargo:rustc-env=LOGIN_ALERT_HANDLER_SHA256={}",
        base64::engine::general_purpose::STANDARD.encode(Sha256::digest(&zip))
    );
}

/// `OUT_DIR` is `<target>[/<triple>]/<profile>/build/<pkg>-<hash>/out`; the handler gets `<target>/lambda`,
/// the same directory whether or not the outer build names a `--target` (as `scripts/dist.sh` does), so the
/// test build and the release build share one handler build.
fn lambda_target_dir(out_dir: &Path) -> PathBuf {
    let mut target = out_dir.ancestors().nth(4);
    if let (Some(dir), Ok(triple)) = (target, env::var("TARGET"))
        && dir.file_name().is_some_and(|name| *name == *triple)
    {
        target = dir.parent();
    }
    target
        .map(|target| target.join("lambda"))
        .unwrap_or_else(|| out_dir.join("lambda"))
}

fn build_handler(manifest_dir: &Path, out_dir: &Path) -> PathBuf {
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let target_dir = lambda_target_dir(out_dir);
    let mut cmd = Command::new(cargo);
    cmd.current_dir(manifest_dir)
        .args([
            "build",
            "--profile",
            LAMBDA_PROFILE,
            "-p",
            "login-alert-handler",
            "--bin",
            "bootstrap",
        ])
        .args(["--target", LAMBDA_TARGET])
        .arg("--target-dir")
        .arg(&target_dir)
        // With --target, these flags reach only the handler's own code, not build scripts or proc-macros.
        .env("CARGO_ENCODED_RUSTFLAGS", "-Ctarget-feature=+crt-static");
    // The outer build's settings must not leak into this one (clippy's wrapper, a forced target dir, …).
    for var in [
        "RUSTFLAGS",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "CARGO_BUILD_RUSTFLAGS",
        "CARGO_MAKEFLAGS",
        "MAKEFLAGS",
        "MFLAGS",
    ] {
        cmd.env_remove(var);
    }
    let output = cmd
        .output()
        .unwrap_or_else(|err| panic!("cannot run cargo to build the Lambda handler: {err}"));
    if !output.status.success() {
        panic!(
            "building the Lambda handler (static {LAMBDA_TARGET}) failed:\n{}\n\
             On a host that cannot build it, build `bootstrap` elsewhere (e.g. `cargo lambda build --release`) \
             and set LOGIN_ALERT_HANDLER_BOOTSTRAP=/path/to/bootstrap.",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    target_dir
        .join(LAMBDA_TARGET)
        .join(LAMBDA_PROFILE)
        .join("bootstrap")
}

/// A zip whose bytes depend only on the binary (fixed timestamp and mode), so its SHA-256 — which Lambda
/// reports as `CodeSha256` — says exactly whether the deployed code is ours. Returns the zip's bytes.
fn write_zip(binary: &[u8], path: &Path) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .unix_permissions(0o755)
        .last_modified_time(zip::DateTime::default());
    zip.start_file("bootstrap", options).expect("zip entry");
    zip.write_all(binary).expect("zip write");
    let bytes = zip.finish().expect("zip finish").into_inner();
    fs::write(path, &bytes).unwrap_or_else(|err| panic!("cannot write {}: {err}", path.display()));
    bytes
}
