use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Tierdesk: points, levels, tags and licenses for multi-tenant products.
#[derive(Debug, Parser)]
#[command(name = "tierdesk", version, about)]
pub struct Cli {
    /// PostgreSQL to use. Without it, Tierdesk starts its own embedded PostgreSQL
    /// cluster under the data directory.
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<String>,

    /// Directory for the embedded database and other state.
    #[arg(
        long,
        env = "TIERDESK_DATA_DIR",
        default_value = "./data",
        global = true
    )]
    pub data_dir: PathBuf,

    /// Address the console listens on (serve).
    #[arg(
        long,
        env = "TIERDESK_ADDR",
        default_value = "127.0.0.1:3000",
        global = true
    )]
    pub addr: SocketAddr,

    /// Mark cookies Secure; set when the console is served over https (serve).
    #[arg(long, env = "TIERDESK_SECURE_COOKIES", global = true)]
    pub secure_cookies: bool,

    /// Do not seed demo data into a new, empty embedded database (serve).
    #[arg(long, env = "TIERDESK_NO_DEMO", global = true)]
    pub no_demo: bool,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the console and API (the default command).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Create a tenant.
    CreateTenant {
        /// Stable code: lower-case letters, digits and dashes.
        #[arg(long)]
        slug: String,
        #[arg(long)]
        name: String,
    },
    /// Create an admin account, optionally a platform admin and/or a member of a tenant.
    CreateAdmin {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// The password (at least 10 characters); prefer the environment variable.
        #[arg(long, env = "TIERDESK_ADMIN_PASSWORD", hide_env_values = true)]
        password: String,
        /// Make the account a platform administrator (creates tenants, acts in all).
        #[arg(long)]
        platform_admin: bool,
        /// Slug of a tenant to add the account to.
        #[arg(long, requires = "role")]
        tenant: Option<String>,
        /// Role in that tenant: tenant_admin, support or viewer.
        #[arg(long, requires = "tenant")]
        role: Option<String>,
    },
    /// Create the demo tenants and accounts (idempotent).
    SeedDemo,
    /// Verify data invariants; exits non-zero listing every violation.
    #[command(subcommand)]
    Check(CheckCommand),
    /// Run a benchmark against the configured database and print figures.
    #[command(subcommand)]
    Bench(BenchCommand),
}

#[derive(Debug, Subcommand)]
pub enum CheckCommand {
    /// The points ledger: gap-free chains, balances, sums, levels.
    Ledger {
        /// Only this tenant (slug); all tenants by default.
        #[arg(long)]
        tenant: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Mixed earn/spend through the domain layer; last line `points_tx_per_s=<n>`.
    Points {
        /// Concurrent clients (each with its own connection).
        #[arg(long, default_value_t = 8)]
        clients: usize,
        /// Duration of the measured run.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// Members in the benchmark tenant.
        #[arg(long, default_value_t = 10_000)]
        members: i64,
    },
    /// Permission checks, uncached then cached; last line
    /// `permission_check_cached_p99_us=<n> uncached_p99_us=<n>`.
    Permissions {
        /// Members in the benchmark tenant.
        #[arg(long, default_value_t = 10_000)]
        members: i64,
        /// Duration of each measured phase.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
    },
    /// Member list pages and searches on a large tenant; prints latency per query.
    Members {
        /// Members in the benchmark tenant.
        #[arg(long, default_value_t = 1_000_000)]
        members: i64,
        /// Repetitions of each query (the median and the worst are printed).
        #[arg(long, default_value_t = 20)]
        runs: usize,
    },
}
