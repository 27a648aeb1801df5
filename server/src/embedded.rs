//! The embedded default database: a private PostgreSQL cluster that the server starts
//! from the machine's PostgreSQL binaries under its data directory, so that a newcomer
//! needs no database setup.
//!
//! - The cluster lives in `<data-dir>/postgres` (initdb on first start) and listens on
//!   a unix socket only, in a directory only its owner can enter, so no other user or
//!   host can reach it. Settings are PostgreSQL's durable defaults (fsync on).
//! - Run as root, every PostgreSQL command runs as the `postgres` OS user (PostgreSQL
//!   refuses to run as root), which then owns the cluster and socket directories.
//! - A cluster already running (another `tierdesk` process, e.g. a CLI command beside
//!   the server) is reused and left running; one we started is stopped cleanly by
//!   [`EmbeddedPostgres::stop`]. A stale `postmaster.pid` from a crash is removed.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use tokio::process::Command;

const SUPERUSER: &str = "tierdesk";
const DATABASE: &str = "tierdesk";
const PORT: u16 = 5432;
/// Unix socket paths are limited to 107 bytes; longer data dirs use a socket under /tmp.
const SOCKET_PATH_LENGTH_MAX: usize = 100;
const START_TIMEOUT_SECONDS: u32 = 60;

#[derive(Debug, thiserror::Error)]
pub enum EmbeddedError {
    #[error(
        "PostgreSQL server binaries (initdb, pg_ctl) were not found on PATH or in \
         /usr/lib/postgresql/*/bin. Install them (Debian/Ubuntu: `apt-get install postgresql`) \
         or set DATABASE_URL to use an existing PostgreSQL server."
    )]
    BinariesNotFound,
    #[error(
        "running as root, but there is no `postgres` OS user to run PostgreSQL as (install the `postgresql` package)"
    )]
    NoPostgresUser,
    #[error("{step} failed: {detail}")]
    Command { step: &'static str, detail: String },
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("could not connect to the embedded database: {0}")]
    Connect(#[from] sqlx::Error),
}

#[derive(Debug)]
pub struct EmbeddedPostgres {
    bin_dir: PathBuf,
    cluster_dir: PathBuf,
    socket_dir: PathBuf,
    run_as_postgres: bool,
    /// True when this process started the cluster and so must stop it.
    owned: bool,
}

impl EmbeddedPostgres {
    /// Starts (or reuses) the cluster under `data_dir` and makes sure the application
    /// database exists.
    pub async fn start(data_dir: &Path) -> Result<Self, EmbeddedError> {
        let bin_dir = find_binaries().ok_or(EmbeddedError::BinariesNotFound)?;
        std::fs::create_dir_all(data_dir)?;
        let data_dir = data_dir.canonicalize()?;
        let run_as_postgres = running_as_root();
        if run_as_postgres && !postgres_user_exists().await {
            return Err(EmbeddedError::NoPostgresUser);
        }
        let cluster_dir = data_dir.join("postgres");
        let socket_dir = socket_dir_for(&data_dir);
        let mut embedded = EmbeddedPostgres {
            bin_dir,
            cluster_dir,
            socket_dir,
            run_as_postgres,
            owned: false,
        };
        embedded.prepare_directories().await?;
        if !embedded.cluster_dir.join("PG_VERSION").exists() {
            embedded.initdb().await?;
        }
        if embedded.is_reachable().await {
            tracing::info!(cluster = %embedded.cluster_dir.display(), "reusing the running embedded PostgreSQL");
        } else {
            embedded.remove_stale_pid_file();
            embedded.pg_ctl_start().await?;
            embedded.owned = true;
        }
        embedded.create_database().await?;
        Ok(embedded)
    }

    /// The connection URL of the application database (unix socket).
    pub fn database_url(&self) -> String {
        self.url_for(DATABASE)
    }

    fn url_for(&self, database: &str) -> String {
        format!(
            "postgres://{SUPERUSER}@localhost:{PORT}/{database}?host={}",
            self.socket_dir.display()
        )
    }

    /// Stops the cluster if this process started it (fast shutdown: sessions are ended,
    /// committed data is safe).
    pub async fn stop(self) -> Result<(), EmbeddedError> {
        if !self.owned {
            return Ok(());
        }
        let cluster = self.cluster_dir.display().to_string();
        match self
            .run(
                "pg_ctl stop",
                "pg_ctl",
                &["-D", &cluster, "-m", "fast", "-w", "stop"],
            )
            .await
        {
            Ok(_) => {
                tracing::info!("embedded PostgreSQL stopped");
                Ok(())
            }
            // Already stopped (for example by a signal sent to the whole process group).
            Err(_) if !self.cluster_dir.join("postmaster.pid").exists() => Ok(()),
            Err(error) => Err(error),
        }
    }

    async fn prepare_directories(&self) -> Result<(), EmbeddedError> {
        for dir in [&self.cluster_dir, &self.socket_dir] {
            std::fs::create_dir_all(dir)?;
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
            if self.run_as_postgres {
                let status = Command::new("chown")
                    .arg("postgres:")
                    .arg(dir)
                    .status()
                    .await?;
                if !status.success() {
                    return Err(EmbeddedError::Command {
                        step: "chown",
                        detail: format!("{status}"),
                    });
                }
            }
        }
        if self.run_as_postgres {
            // Fail early with a clear message if a parent directory is closed to `postgres`.
            let probe = self.cluster_dir.display().to_string();
            let output = Command::new("runuser")
                .args(["-u", "postgres", "--", "test", "-w", &probe])
                .output()
                .await?;
            if !output.status.success() {
                return Err(EmbeddedError::Command {
                    step: "access check",
                    detail: format!(
                        "the `postgres` OS user cannot write {probe}; choose a --data-dir whose parent \
                         directories it can enter (for example under /var/lib or /srv)"
                    ),
                });
            }
        }
        Ok(())
    }

    async fn initdb(&self) -> Result<(), EmbeddedError> {
        tracing::info!(cluster = %self.cluster_dir.display(), "creating the embedded PostgreSQL cluster");
        let cluster = self.cluster_dir.display().to_string();
        let args = [
            "-D",
            &cluster,
            "-U",
            SUPERUSER,
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-locale",
        ];
        self.run("initdb", "initdb", &args).await?;
        Ok(())
    }

    async fn pg_ctl_start(&self) -> Result<(), EmbeddedError> {
        let cluster = self.cluster_dir.display().to_string();
        let log = self.cluster_dir.join("server.log").display().to_string();
        let options = format!(
            "-c listen_addresses='' -c unix_socket_directories='{}' -p {PORT}",
            self.socket_dir.display()
        );
        let timeout = START_TIMEOUT_SECONDS.to_string();
        let args = [
            "-D", &cluster, "-l", &log, "-w", "-t", &timeout, "-o", &options, "start",
        ];
        self.run("pg_ctl start", "pg_ctl", &args)
            .await
            .map_err(|error| match error {
                EmbeddedError::Command { step, detail } => EmbeddedError::Command {
                    step,
                    detail: format!("{detail}\n(see {log})"),
                },
                other => other,
            })?;
        tracing::info!(cluster = %self.cluster_dir.display(), "embedded PostgreSQL started");
        Ok(())
    }

    /// A crash can leave `postmaster.pid` behind; once we know no server answers on our
    /// socket, the file is stale and would only make PostgreSQL refuse to start.
    fn remove_stale_pid_file(&self) {
        let pid_file = self.cluster_dir.join("postmaster.pid");
        if pid_file.exists() {
            tracing::warn!(file = %pid_file.display(), "removing a stale postmaster.pid");
            if let Err(error) = std::fs::remove_file(&pid_file) {
                tracing::warn!(%error, "could not remove the stale postmaster.pid");
            }
        }
    }

    async fn is_reachable(&self) -> bool {
        let url = self.url_for("postgres");
        let connect = async {
            use sqlx::Connection;
            sqlx::PgConnection::connect(&url).await?.close().await
        };
        matches!(
            tokio::time::timeout(Duration::from_secs(3), connect).await,
            Ok(Ok(()))
        )
    }

    async fn create_database(&self) -> Result<(), EmbeddedError> {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(&self.url_for("postgres")).await?;
        let exists: bool =
            sqlx::query_scalar("select exists (select 1 from pg_database where datname = $1)")
                .bind(DATABASE)
                .fetch_one(&mut conn)
                .await?;
        if !exists {
            sqlx::query(&format!("create database {DATABASE}"))
                .execute(&mut conn)
                .await?;
        }
        conn.close().await?;
        Ok(())
    }

    async fn run(
        &self,
        step: &'static str,
        binary: &str,
        args: &[&str],
    ) -> Result<Output, EmbeddedError> {
        let program = self.bin_dir.join(binary);
        let mut command = if self.run_as_postgres {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(&program);
            command
        } else {
            Command::new(&program)
        };
        // pg_ctl start leaves the server running with our stdio otherwise; detach it.
        // Own process group: a Ctrl-C in the terminal reaches the server, which then stops
        // PostgreSQL in order, instead of reaching PostgreSQL directly.
        command
            .args(args)
            .stdin(std::process::Stdio::null())
            .current_dir("/")
            .process_group(0);
        let output = command.output().await?;
        if output.status.success() {
            Ok(output)
        } else {
            let detail = format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
            Err(EmbeddedError::Command {
                step,
                detail: detail.trim().to_owned(),
            })
        }
    }
}

/// The directory holding `initdb` and `pg_ctl`: on PATH, else the newest
/// `/usr/lib/postgresql/<version>/bin` (Debian does not put them on PATH).
fn find_binaries() -> Option<PathBuf> {
    let has_binaries = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    // A directory on PATH may hold symlinks (e.g. /usr/local/bin/initdb); the real
    // directory has every server binary beside them.
    let on_path = std::env::var_os("PATH")
        .and_then(|path| std::env::split_paths(&path).find(|dir| has_binaries(dir)))
        .and_then(|dir| dir.join("initdb").canonicalize().ok())
        .and_then(|initdb| initdb.parent().map(Path::to_path_buf));
    if on_path.is_some() {
        return on_path;
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            has_binaries(&bin).then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

fn running_as_root() -> bool {
    // `/proc/self` belongs to the effective user of this process.
    std::fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false)
}

async fn postgres_user_exists() -> bool {
    Command::new("id")
        .arg("-u")
        .arg("postgres")
        .output()
        .await
        .is_ok_and(|o| o.status.success())
}

fn socket_dir_for(data_dir: &Path) -> PathBuf {
    let preferred = data_dir.join("run");
    let socket_path_length = preferred.as_os_str().len() + "/.s.PGSQL.5432".len();
    if socket_path_length <= SOCKET_PATH_LENGTH_MAX {
        return preferred;
    }
    // A stable, per-data-dir name so restarts find the same socket.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in data_dir.as_os_str().as_encoded_bytes() {
        hash = (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3);
    }
    std::env::temp_dir().join(format!("tierdesk-{hash:016x}"))
}
