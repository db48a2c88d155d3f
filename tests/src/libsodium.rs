//! libsodium's `crypto_sign_verify_detached`, the Ed25519 check of Cardano's nodes (through
//! cardano-crypto-class) and of many C and C++ projects: a small C program linked with the
//! system's libsodium, built once per test binary and fed signatures on its standard input.
//! libsodium 1.0.18 to 1.0.22 (the versions whose verify code is 1.0.18's) is a second reference
//! for the `strict` rule; Debian 12 ships 1.0.18. To compare another build, point the compiler
//! at it: `CPATH=$PREFIX/include LIBRARY_PATH=$PREFIX/lib` (a static-only build links as is).
//!
//! With `VERA_REQUIRE_LIBSODIUM=1` (as `scripts/test-all` sets after installing libsodium-dev) a
//! missing compiler or library fails the test instead of skipping it.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// The environment variable that makes a missing libsodium a test failure.
pub const REQUIRE_ENV: &str = "VERA_REQUIRE_LIBSODIUM";

const PROGRAM: &str = r#"
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Reads lines "pk sig msg" (hex; msg may be empty) and prints 1 or 0 per line: whether
   crypto_sign_verify_detached accepts. The first line printed is libsodium's version. */
static int unhex(const char *hex, size_t hex_len, unsigned char *out, size_t max, size_t *len) {
    return sodium_hex2bin(out, max, hex, hex_len, NULL, len, NULL);
}

int main(void) {
    if (sodium_init() < 0) return 2;
    printf("%s\n", sodium_version_string());
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, stdin)) > 0) {
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = 0;
        char *a = strtok(line, " "), *b = strtok(NULL, " "), *c = strtok(NULL, " ");
        unsigned char pk[32], sig[64];
        size_t pk_len, sig_len, msg_len = 0;
        unsigned char *msg = malloc(c ? strlen(c) / 2 + 1 : 1);
        if (!a || !b || !msg || unhex(a, strlen(a), pk, 32, &pk_len) || pk_len != 32 ||
            unhex(b, strlen(b), sig, 64, &sig_len) || sig_len != 64 ||
            (c && unhex(c, strlen(c), msg, strlen(c) / 2 + 1, &msg_len))) {
            fprintf(stderr, "malformed line\n");
            return 3;
        }
        printf("%d\n", crypto_sign_verify_detached(sig, msg, msg_len, pk) == 0);
        free(msg);
    }
    free(line);
    return 0;
}
"#;

/// Whether libsodium must be tested (`VERA_REQUIRE_LIBSODIUM=1`).
pub fn required() -> bool {
    std::env::var(REQUIRE_ENV).is_ok_and(|v| v == "1")
}

/// Builds the helper, or says why it cannot be built.
fn build() -> Result<PathBuf, String> {
    let dir = std::env::temp_dir().join(format!("vera-libsodium-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let src = dir.join("verify.c");
    let bin = dir.join("verify");
    std::fs::write(&src, PROGRAM).map_err(|e| e.to_string())?;
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let out = Command::new(&cc)
        .arg("-O2")
        .arg(&src)
        .arg("-o")
        .arg(&bin)
        .arg("-lsodium")
        .output()
        .map_err(|e| format!("{cc}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{cc} -lsodium failed (is libsodium-dev installed?):\n{}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(bin)
}

/// libsodium's verdicts for `(pk, msg, sig)` in order, and its version; `None` where libsodium
/// cannot be used and is not required (the reason is printed). Panics where it is required.
pub fn verify_detached(items: &[([u8; 32], Vec<u8>, [u8; 64])]) -> Option<(String, Vec<bool>)> {
    static HELPER: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let bin = match HELPER.get_or_init(build) {
        Ok(bin) => bin,
        Err(why) if required() => panic!("{REQUIRE_ENV}=1 but libsodium is unusable: {why}"),
        Err(why) => {
            eprintln!("skipping the libsodium comparison: {why}");
            return None;
        }
    };
    let mut input = String::new();
    for (pk, msg, sig) in items {
        input += &format!(
            "{} {} {}\n",
            hex::encode(pk),
            hex::encode(sig),
            hex::encode(msg)
        );
    }
    let mut child = Command::new(bin)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("the libsodium helper starts");
    let mut stdin = child.stdin.take().expect("piped");
    // Written from another thread: the helper answers as it reads, and both pipes are bounded.
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child
        .wait_with_output()
        .expect("the libsodium helper finishes");
    writer
        .join()
        .expect("writer")
        .expect("the helper reads every line");
    assert!(
        out.status.success(),
        "libsodium helper failed: {:?}",
        out.status
    );
    let text = String::from_utf8(out.stdout).expect("ASCII");
    let mut lines = text.lines();
    let version = lines.next().expect("the version line").to_string();
    let verdicts: Vec<bool> = lines
        .map(|l| match l {
            "1" => true,
            "0" => false,
            other => panic!("libsodium helper printed {other:?}"),
        })
        .collect();
    assert_eq!(verdicts.len(), items.len(), "one verdict per signature");
    Some((version, verdicts))
}
