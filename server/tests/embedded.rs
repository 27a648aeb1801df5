//! The embedded default database: created on first start, data kept across restarts,
//! a stale pid file from a crash does not prevent the next start.

use std::path::PathBuf;

use tierdesk::embedded::EmbeddedPostgres;

fn scratch_dir() -> PathBuf {
    // Under the system temp dir: when the tests run as root, PostgreSQL runs as the
    // `postgres` user, which must be able to reach the directory.
    let dir = std::env::temp_dir().join(format!(
        "tierdesk-embedded-test-{}",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test]
async fn the_embedded_cluster_keeps_data_across_restarts_and_crashes() {
    let data_dir = scratch_dir();

    let first = EmbeddedPostgres::start(&data_dir).await.unwrap();
    let db = domain::db::connect(&first.database_url()).await.unwrap();
    domain::db::migrate(&db).await.unwrap();
    domain::demo::seed(&db).await.unwrap();
    db.close().await;
    first.stop().await.unwrap();
    assert!(
        !data_dir.join("postgres/postmaster.pid").exists(),
        "stopped cleanly"
    );

    // A crash leaves a pid file naming a process that no longer exists.
    std::fs::write(data_dir.join("postgres/postmaster.pid"), "999999\n").unwrap();

    let second = EmbeddedPostgres::start(&data_dir).await.unwrap();
    let db = domain::db::connect(&second.database_url()).await.unwrap();
    domain::db::migrate(&db).await.unwrap();
    assert!(
        !domain::demo::is_empty(&db).await.unwrap(),
        "data survived the restart"
    );

    // A second process finds the cluster running, reuses it and leaves it running.
    let beside = EmbeddedPostgres::start(&data_dir).await.unwrap();
    beside.stop().await.unwrap();
    domain::db::ping(&db).await.unwrap();

    db.close().await;
    second.stop().await.unwrap();
    let _ = std::fs::remove_dir_all(&data_dir);
}
