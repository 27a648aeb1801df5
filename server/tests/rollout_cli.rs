//! `tierdesk rollout bucket`: the binary prints Unleash's bucket, without a database.

use std::process::Command;

fn bucket(group: &str, key: &str) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_tierdesk"))
        .args(["rollout", "bucket", "--group", group, "--key", key])
        .env_remove("DATABASE_URL")
        .env("TIERDESK_DATA_DIR", "/nonexistent/tierdesk-bucket-test")
        .output()
        .expect("the binary runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("UTF-8")
}

#[test]
fn bucket_prints_unleash_normalized_value() {
    // Unleash client specification 03: user 122 is in group AB12A's bucket 23.
    assert_eq!(bucket("AB12A", "122"), "bucket=23\n");
    assert_eq!(
        bucket("AB12A", "122"),
        format!("bucket={}\n", domain::rollout::bucket("AB12A", "122"))
    );
    // Non-ASCII keys hash their UTF-8 bytes (as Unleash's Rust engine does).
    let value = bucket("g", "会员-1");
    assert_eq!(
        value,
        format!("bucket={}\n", domain::rollout::bucket("g", "会员-1"))
    );
}
