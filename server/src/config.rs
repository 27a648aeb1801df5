use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{ArgAction, Parser, Subcommand};

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
    #[arg(long, env = "TIERDESK_SECURE_COOKIES", global = true,
          action = ArgAction::SetTrue, value_parser = parse_bool)]
    pub secure_cookies: bool,

    /// Do not seed demo data into a new, empty embedded database (serve).
    #[arg(long, env = "TIERDESK_NO_DEMO", global = true,
          action = ArgAction::SetTrue, value_parser = parse_bool)]
    pub no_demo: bool,

    /// With demo data, decisions a second simulated for every tenant with a running
    /// rollout, so its dashboard is live (0: none) (serve).
    #[arg(
        long,
        env = "TIERDESK_DEMO_TRAFFIC_RPS",
        default_value_t = 20,
        global = true
    )]
    pub demo_traffic_rps: u32,

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
    /// The legacy "user type" model a tenant migrates from.
    #[command(subcommand)]
    Legacy(LegacyCommand),
    /// Licenses: batch assignment from a CSV file.
    #[command(subcommand)]
    Licenses(LicensesCommand),
    /// The legacy migration, step by step (for rehearsals and scripts). Each prints its
    /// report and exits non-zero when it finds problems.
    #[command(subcommand)]
    Migration(MigrationCommand),
    /// The gray rollout: bucketing, status and every move (acting as a tenant admin).
    #[command(subcommand)]
    Rollout(RolloutCommand),
    /// Simulated clients, for demos and rehearsals.
    #[command(subcommand)]
    Simulate(SimulateCommand),
    /// The REST API: its OpenAPI document and API keys.
    #[command(subcommand)]
    Api(ApiCommand),
}

#[derive(Debug, Subcommand)]
pub enum ApiCommand {
    /// Prints the OpenAPI 3.1 document generated from the code (no database needed).
    Openapi,
    /// Creates an API key in a tenant and prints its secret (shown once).
    CreateKey {
        /// Slug of the tenant.
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        name: String,
        /// read or write.
        #[arg(long, default_value = "write")]
        scope: String,
        /// Requests per second (default: the server's default).
        #[arg(long)]
        rate: Option<i32>,
        /// Burst (default: the server's default).
        #[arg(long)]
        burst: Option<i32>,
    },
    /// Lists a tenant's API keys (never their secrets).
    Keys {
        #[arg(long)]
        tenant: String,
    },
    /// Revokes an API key: every server process refuses it once this returns.
    RevokeKey {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        key_id: uuid::Uuid,
    },
}

#[derive(Debug, Subcommand)]
pub enum RolloutCommand {
    /// Prints a member's Unleash bucket: `bucket=<n>` (1–100; in a stage of P % iff n ≤ P).
    Bucket {
        /// The bucketing group (a rollout's group id; by default its id).
        #[arg(long)]
        group: String,
        /// The member's key (their external id).
        #[arg(long)]
        key: String,
    },
    /// The tenant's rollout: stages, modes, scores, what stops the next stage.
    Status {
        #[arg(long)]
        tenant: String,
    },
    /// Creates a rollout (default stages 5,20,50,100, stratified, every decision in shadow).
    Create {
        #[arg(long)]
        tenant: String,
        #[arg(long, default_value = "Gray rollout")]
        name: String,
        /// Stage percentages, increasing, ending at 100.
        #[arg(long, value_delimiter = ',', default_value = "5,20,50,100")]
        stages: Vec<u8>,
        /// Hold time of every stage, minutes.
        #[arg(long, default_value_t = 0)]
        hold_minutes: i32,
        /// Plain Unleash buckets instead of seed 000's stratified mix.
        #[arg(long)]
        unstratified: bool,
        #[arg(long)]
        group: Option<String>,
        #[arg(long, default_value_t = 100)]
        min_sample: i32,
        /// Share of decisions compared, percent.
        #[arg(long, default_value_t = 100.0)]
        sample: f64,
    },
    /// Enters the next stage (refused with the reasons when the gate is closed).
    Advance {
        #[arg(long)]
        tenant: String,
        /// Wait for the stage's migration run and work it here.
        #[arg(long)]
        wait: bool,
    },
    /// Steps back a stage, rolling back the members who joined at it.
    StepBack {
        #[arg(long)]
        tenant: String,
    },
    Pause {
        #[arg(long)]
        tenant: String,
        #[arg(long, default_value = "")]
        reason: String,
    },
    Resume {
        #[arg(long)]
        tenant: String,
    },
    /// The kill switch: every decision of every member to the legacy model, now.
    Kill {
        #[arg(long)]
        tenant: String,
    },
    /// Emergency rollback of every migrated member; the rollout ends.
    Abort {
        #[arg(long)]
        tenant: String,
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Routes a decision for the cohort: off, shadow or live.
    Mode {
        #[arg(long)]
        tenant: String,
        #[arg(long, value_parser = ["permission", "quota", "summary"])]
        decision: String,
        #[arg(long, value_parser = ["off", "shadow", "live"])]
        to: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum SimulateCommand {
    /// Routed decisions of random members at a rate (the realistic mix: 60 %
    /// permission checks, 25 % license quota, 15 % summary), through the one routed
    /// entry point, with the rollout's shadow comparison.
    Traffic {
        #[arg(long)]
        tenant: String,
        /// Decisions per second.
        #[arg(long, default_value_t = 50)]
        rps: u32,
        #[arg(long, default_value_t = 30)]
        seconds: u64,
        /// Share of decisions asked of cohort members (0–1).
        #[arg(long, default_value_t = 0.5)]
        cohort_share: f64,
    },
}

/// Which members a migration step takes (one of the three).
#[derive(Debug, Clone, clap::Args)]
#[group(required = false, multiple = false)]
pub struct SelectionArgs {
    /// Every legacy member (a rollback: every migrated member). The default.
    #[arg(long)]
    pub all: bool,
    /// The members listed in a file: one external id per line (`#` comments).
    #[arg(long, value_name = "FILE")]
    pub members: Option<PathBuf>,
    /// About this percentage (1–100) of them, by a stable hash of the external id.
    #[arg(long, value_name = "P")]
    pub share: Option<i32>,
}

#[derive(Debug, Subcommand)]
pub enum MigrationCommand {
    /// Statistics snapshot of the legacy tables and a checkpoint.
    Preflight {
        #[arg(long)]
        tenant: String,
    },
    /// Computes what a run would do and writes nothing but the report; non-zero when
    /// rows cannot be migrated or members would get a lower license quota.
    DryRun {
        #[arg(long)]
        tenant: String,
        #[command(flatten)]
        selection: SelectionArgs,
    },
    /// Migrates the selection in batches, printing progress; running it again resumes
    /// the tenant's active run. Non-zero when members could not be migrated.
    Run {
        #[arg(long)]
        tenant: String,
        #[command(flatten)]
        selection: SelectionArgs,
    },
    /// Re-applies legacy changes made after members were migrated.
    CatchUp {
        #[arg(long)]
        tenant: String,
    },
    /// Checks migrated members (level, balances, tags, quota); `--fix` repairs what can
    /// be repaired. Non-zero when problems remain.
    Validate {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        fix: bool,
    },
    /// Recomputes the mapping on the legacy source and compares it with the target.
    /// Non-zero on any difference.
    Reconcile {
        #[arg(long)]
        tenant: String,
    },
    /// Prints the blast radius, then with `--yes` rolls back (emergency: everyone,
    /// after switching the tenant to legacy; otherwise gradual).
    Rollback {
        #[arg(long)]
        tenant: String,
        #[command(flatten)]
        selection: SelectionArgs,
        #[arg(long)]
        emergency: bool,
        /// Roll back after printing the blast radius.
        #[arg(long)]
        yes: bool,
    },
    /// Which model answers migrated members: `legacy` (the kill switch) or `new`.
    Switch {
        #[arg(long)]
        tenant: String,
        #[arg(long, value_parser = ["legacy", "new"])]
        to: String,
    },
    /// The switch, the active run and the latest run.
    Status {
        #[arg(long)]
        tenant: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum LegacyCommand {
    /// Write realistic synthetic legacy data (user types and members, a few dirty rows)
    /// into a tenant, replacing generated rows of the same ids.
    Generate {
        /// The tenant (slug).
        #[arg(long)]
        tenant: String,
        /// Legacy members to generate.
        #[arg(long, default_value_t = 10_000)]
        members: i64,
    },
    /// Import legacy CSV files (streamed; any size): user types
    /// (`id,name,permissions,max_licenses`) and/or members
    /// (`external_id,user_type,registered_at,last_login_at,license_count,payment_total`).
    /// Rows are upserted by their id; both files are stored or neither. Prints each
    /// file's report and exits non-zero when a file had bad rows (the good rows are
    /// imported).
    #[command(group(clap::ArgGroup::new("files").required(true).multiple(true).args(["types", "members"])))]
    Import {
        /// The tenant (slug).
        #[arg(long)]
        tenant: String,
        /// The user types file.
        #[arg(long)]
        types: Option<PathBuf>,
        /// The members file.
        #[arg(long)]
        members: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum LicensesCommand {
    /// Preview a CSV file of member external ids (and optionally plan codes), one per
    /// line, and with --apply assign licenses to them. The same file is one batch: a
    /// second run shows (and continues) the first one, never assigning a row twice.
    AssignBatch {
        /// Slug of the tenant.
        #[arg(long)]
        tenant: String,
        /// Code of the plan for rows that name none.
        #[arg(long)]
        plan: Option<String>,
        /// Apply the batch after the preview (progress on stderr).
        #[arg(long)]
        apply: bool,
        /// Refusals listed (with their line numbers) after the counts.
        #[arg(long, default_value_t = 20)]
        show: i64,
        /// The CSV file: `external_id[,plan_code]` per line, optional header, UTF-8.
        file: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum CheckCommand {
    /// The points ledger: gap-free chains, balances, sums, levels.
    Ledger {
        /// Only this tenant (slug); all tenants by default.
        #[arg(long)]
        tenant: Option<String>,
    },
    /// The overview's aggregates (points per day, members per level, level moves per
    /// day), folded plus pending, against the ledger, the profiles and the level history.
    Overview {
        /// Only this tenant (slug); all tenants by default.
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Licenses: seats held per member, live activations per license, one live
    /// assignment per holder, revoked licenses unused.
    Licenses {
        /// Only this tenant (slug); all tenants by default.
        #[arg(long)]
        tenant: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// The REST API over real HTTP: an open loop at a fixed arrival rate (latency from
    /// each request's scheduled time), a closed loop for the maximum rate, batch
    /// ingestion, and single earns against the domain's; last line `api_check_p99_ms=<n>
    /// api_earn_p99_ms=<n> api_max_rps=<n> api_batch_changes_per_s=<n>`.
    Api {
        /// Keep-alive connections (requests in flight at most).
        #[arg(long, default_value_t = 256)]
        connections: usize,
        /// Requests per second offered in the open loop.
        #[arg(long, default_value_t = 10_000)]
        rate: u64,
        /// Seconds of each part.
        #[arg(long, default_value_t = 15)]
        seconds: u64,
        /// Members to create.
        #[arg(long, default_value_t = 10_000)]
        members: i64,
    },
    /// Routed decisions with the shadow comparison on (100 %) and off after a 20 %
    /// cohort is migrated; last line `shadow_overhead_p99_ratio=<r> routed_check_p99_us=<n>`.
    Rollout {
        /// Legacy members to generate.
        #[arg(long, default_value_t = 100_000)]
        members: i64,
        /// Seconds measured with the comparison on, and as many off.
        #[arg(long, default_value_t = 15)]
        seconds: u64,
        /// Concurrent clients.
        #[arg(long, default_value_t = 4)]
        clients: usize,
    },
    /// The legacy migration on a large tenant (pre-flight, dry run, run, validate +
    /// reconcile, emergency rollback) while a client checks permissions; last line
    /// `migration_total_s=<n> check_p99_during_ms=<n> check_errors=<n>`.
    Migration {
        /// Legacy members to generate.
        #[arg(long, default_value_t = 1_000_000)]
        members: i64,
    },
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
    /// A tier save that moves members on a large tenant while writers adjust points;
    /// last line `tier_save_ms=<n> relevel_s=<n> writer_p99_us=<n> writer_max_us=<n>`.
    Tiers {
        /// Members in the benchmark tenant.
        #[arg(long, default_value_t = 1_000_000)]
        members: i64,
        /// Concurrent writers (audited manual adjustments on random members).
        #[arg(long, default_value_t = 4)]
        clients: usize,
    },
    /// Member list pages and searches on a large tenant; prints latency per query.
    Members {
        /// Members in the benchmark tenant.
        #[arg(long, default_value_t = 1_000_000)]
        members: i64,
        /// Repetitions of each query (p50, p99 and the worst are printed).
        #[arg(long, default_value_t = 20)]
        runs: usize,
        /// Measure this existing tenant (slug, printed by an earlier run) as it is,
        /// without seeding.
        #[arg(long)]
        tenant: Option<String>,
    },
    /// The overview on a large tenant: seeds members and ledger rows (spread over the
    /// last 90 days), folds the daily aggregate, prints the overview's latency.
    Overview {
        /// Members in the benchmark tenant.
        #[arg(long, default_value_t = 250_000)]
        members: i64,
        /// Ledger rows of the tenant, at least (about four per member come with the
        /// members; the rest are earn/spend pairs).
        #[arg(long, default_value_t = 10_000_000)]
        ledger_rows: i64,
        /// Repetitions of each range (p50, p99 and the worst are printed).
        #[arg(long, default_value_t = 50)]
        runs: usize,
        /// Measure this existing tenant (slug, printed by an earlier run) as it is,
        /// without seeding.
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Licenses at scale through the domain code: list pages, key-prefix search, a
    /// member's licenses, assign, unassign, activate, validate, and a contention run;
    /// last line `license_list_p99_ms=<n> assign_p99_ms=<n> activate_p99_ms=<n> validate_p99_ms=<n>`.
    Licenses {
        /// Licenses in the benchmark tenant (80 % held).
        #[arg(long, default_value_t = 1_000_000)]
        licenses: i64,
        /// Members in the benchmark tenant.
        #[arg(long, default_value_t = 100_000)]
        members: i64,
        /// Repetitions of each operation.
        #[arg(long, default_value_t = 200)]
        runs: usize,
        /// Clients of the contention run (each activating on the same four licenses).
        #[arg(long, default_value_t = 64)]
        clients: usize,
        /// Duration of the contention run.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
    },
}

/// What every boolean setting accepts, flags' environment variables and environment-only
/// settings alike: 1/0, true/false, yes/no, on/off, in any case.
pub fn parse_bool(value: &str) -> Result<bool, String> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err("expected one of 1/0, true/false, yes/no, on/off".into()),
    }
}

/// An environment-only boolean setting: off when unset or empty, else [`parse_bool`];
/// an unknown spelling is an error naming the variable (never silently off).
pub fn env_bool(name: &str) -> Result<bool, String> {
    match std::env::var(name) {
        Ok(value) if value.trim().is_empty() => Ok(false),
        Ok(value) => parse_bool(&value)
            .map_err(|problem| format!("invalid value '{value}' for {name}: {problem}")),
        Err(std::env::VarError::NotPresent) => Ok(false),
        Err(std::env::VarError::NotUnicode(_)) => Err(format!("{name} is not valid UTF-8")),
    }
}

#[cfg(test)]
mod tests {
    use std::process::Command as Process;

    use clap::CommandFactory;

    use super::*;

    const SPELLINGS: [(&str, bool); 16] = [
        ("1", true),
        ("0", false),
        ("true", true),
        ("false", false),
        ("yes", true),
        ("no", false),
        ("on", true),
        ("off", false),
        ("TRUE", true),
        ("False", false),
        ("YES", true),
        ("No", false),
        ("On", true),
        ("OFF", false),
        (" 1 ", true),
        ("0\n", false),
    ];

    #[test]
    fn every_spelling_parses() {
        for (spelling, expected) in SPELLINGS {
            assert_eq!(parse_bool(spelling), Ok(expected), "{spelling:?}");
        }
        for wrong in ["maybe", "", "2", "y", "enabled"] {
            let error = parse_bool(wrong).unwrap_err();
            assert!(error.contains("1/0, true/false, yes/no, on/off"), "{error}");
        }
    }

    /// Every flag that can come from the environment parses its value the same way.
    #[test]
    fn every_environment_flag_uses_the_one_parser() {
        let command = Cli::command();
        let flags: Vec<_> = command
            .get_arguments()
            .filter(|arg| matches!(arg.get_action(), ArgAction::SetTrue))
            .collect();
        let names: Vec<_> = flags.iter().map(|arg| arg.get_id().as_str()).collect();
        assert_eq!(names, ["secure_cookies", "no_demo"]);
        for arg in flags {
            assert!(arg.get_env().is_some(), "{}", arg.get_id());
            // The flag's own parser, given each value on a command line of its own.
            let long = arg.get_long().unwrap();
            let probe = clap::Command::new("probe").arg(arg.clone().action(ArgAction::Set));
            for (spelling, expected) in SPELLINGS {
                let matches = probe
                    .clone()
                    .try_get_matches_from(["probe", &format!("--{long}={spelling}")])
                    .unwrap_or_else(|error| panic!("{spelling:?}: {error}"));
                assert_eq!(
                    matches.get_one::<bool>(arg.get_id().as_str()),
                    Some(&expected),
                    "--{long}={spelling:?}"
                );
            }
            let refused = probe
                .clone()
                .try_get_matches_from(["probe", &format!("--{long}=maybe")]);
            assert!(refused.is_err(), "--{long}=maybe");
        }
    }

    /// Runs [`parse_in_child`] in a child process with `env` set (tests cannot set the
    /// environment of their own process) and returns what it printed.
    fn parse_with_env(env: &[(&str, &str)]) -> String {
        let mut child = Process::new(std::env::current_exe().unwrap());
        child
            .args(["--exact", "config::tests::parse_in_child", "--nocapture"])
            .env("TIERDESK_CONFIG_CHILD", "1")
            .env_remove("TIERDESK_SECURE_COOKIES")
            .env_remove("TIERDESK_NO_DEMO")
            .env_remove("TIERDESK_WEBHOOKS_ALLOW_PRIVATE");
        for (name, value) in env {
            child.env(name, value);
        }
        let output = child.output().unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        stdout
            .lines()
            .find_map(|line| line.strip_prefix("child: "))
            .unwrap_or_else(|| panic!("no child output: {stdout}"))
            .to_owned()
    }

    #[test]
    fn parse_in_child() {
        if std::env::var_os("TIERDESK_CONFIG_CHILD").is_none() {
            return;
        }
        let flags = match Cli::try_parse_from(["tierdesk", "serve"]) {
            Ok(cli) => format!(
                "secure_cookies={} no_demo={}",
                cli.secure_cookies, cli.no_demo
            ),
            Err(error) => format!("refused {}", error.to_string().replace('\n', " ")),
        };
        let allow_private = match env_bool("TIERDESK_WEBHOOKS_ALLOW_PRIVATE") {
            Ok(value) => format!("allow_private={value}"),
            Err(error) => format!("refused {error}"),
        };
        println!("child: {flags} {allow_private}");
    }

    #[test]
    fn boolean_environment_variables_accept_every_spelling() {
        assert_eq!(
            parse_with_env(&[]),
            "secure_cookies=false no_demo=false allow_private=false"
        );
        for (spelling, expected) in SPELLINGS {
            let printed = parse_with_env(&[
                ("TIERDESK_SECURE_COOKIES", spelling),
                ("TIERDESK_NO_DEMO", spelling),
                ("TIERDESK_WEBHOOKS_ALLOW_PRIVATE", spelling),
            ]);
            assert_eq!(
                printed,
                format!("secure_cookies={expected} no_demo={expected} allow_private={expected}"),
                "{spelling:?}"
            );
        }
        // The flag itself still works, without a value.
        let cli = Cli::try_parse_from(["tierdesk", "--no-demo", "serve"]).unwrap();
        assert!(cli.no_demo && !cli.secure_cookies);
    }

    #[test]
    fn an_unknown_spelling_is_refused_with_the_accepted_ones() {
        let printed = parse_with_env(&[("TIERDESK_NO_DEMO", "maybe")]);
        assert!(printed.starts_with("refused"), "{printed}");
        assert!(printed.contains("'maybe'"), "{printed}");
        assert!(printed.contains("--no-demo"), "{printed}");
        assert!(
            printed.contains("1/0, true/false, yes/no, on/off"),
            "{printed}"
        );
        let printed = parse_with_env(&[("TIERDESK_WEBHOOKS_ALLOW_PRIVATE", "maybe")]);
        assert!(
            printed.ends_with(
                "refused invalid value 'maybe' for TIERDESK_WEBHOOKS_ALLOW_PRIVATE: \
                 expected one of 1/0, true/false, yes/no, on/off"
            ),
            "{printed}"
        );
    }
}
