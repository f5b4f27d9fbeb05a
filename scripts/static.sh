# Sourced, not run: how the release is linked, in one place. scripts/dist.sh builds the release with
# `static_cargo build --release`; scripts/test.sh builds and runs the tests with `static_cargo test`, so the CLI
# the tests run (CARGO_BIN_EXE_login-alert), the one tests/it/empty_root puts in an empty chroot among them, is
# linked exactly as the release is, only less optimised.
#
# Static glibc (`+crt-static`, as build.rs builds `bootstrap`) needs nothing from the host at run time: no
# libc.so, no dynamic loader, no NSS module for `files` or `dns` (glibc >= 2.34 has both inside libc).
# With an explicit --target, RUSTFLAGS reach only the target's code, never build scripts or proc-macros.
STATIC_TARGET=x86_64-unknown-linux-gnu
STATIC_RUSTFLAGS='-C target-feature=+crt-static'

# `static_cargo SUBCOMMAND ARGS…`: --target goes right after the subcommand, before any `--`.
static_cargo() {
  local subcommand=$1
  shift
  RUSTFLAGS=$STATIC_RUSTFLAGS cargo "$subcommand" --target "$STATIC_TARGET" "$@"
}
