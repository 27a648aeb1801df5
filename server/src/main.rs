//! `tierdesk`: the server and its command line. Every command is a thin shell over one
//! `domain` function; see `tierdesk --help`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use app::context::AppState;
use clap::Parser;
use leptos::config::{Env, LeptosOptions};
use sqlx::PgPool;
use tierdesk::config::{BenchCommand, CheckCommand, Cli, Command, LegacyCommand, LicensesCommand};
use tierdesk::embedded::EmbeddedPostgres;
use tierdesk::jobs;
use tierdesk::migration_cli;
use tierdesk::rollout_cli;
use tierdesk::router::{RouterOptions, router};
use tierdesk::session_store::PgSessionStore;
use tierdesk::telemetry;

const SESSION_SWEEP_INTERVAL: Duration = Duration::from_secs(10 * 60);

#[tokio::main]
async fn main() -> ExitCode {
    telemetry::init();
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // The whole chain: "database error: <what PostgreSQL said>".
            let mut message = error.to_string();
            let mut source = error.source();
            while let Some(cause) = source {
                message.push_str(&format!(": {cause}"));
                source = cause.source();
            }
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

type AnyError = Box<dyn std::error::Error + Send + Sync>;

/// The database this process uses: the configured server, or the embedded cluster.
struct Database {
    pool: PgPool,
    embedded: Option<EmbeddedPostgres>,
}

impl Database {
    async fn open(cli: &Cli) -> Result<Self, AnyError> {
        let (url, embedded) = match &cli.database_url {
            Some(url) => (url.clone(), None),
            None => {
                let embedded = EmbeddedPostgres::start(&cli.data_dir).await?;
                (embedded.database_url(), Some(embedded))
            }
        };
        let pool = domain::db::connect(&url).await?;
        domain::db::migrate(&pool).await?;
        Ok(Database { pool, embedded })
    }

    async fn close(self) -> Result<(), AnyError> {
        self.pool.close().await;
        if let Some(embedded) = self.embedded {
            embedded.stop().await?;
        }
        Ok(())
    }
}

async fn run(cli: Cli) -> Result<(), AnyError> {
    // Pure commands need no database.
    if let Some(Command::Rollout(tierdesk::config::RolloutCommand::Bucket { group, key })) =
        &cli.command
    {
        println!("bucket={}", domain::rollout::bucket(group, key));
        return Ok(());
    }
    if let Some(Command::Api(tierdesk::config::ApiCommand::Openapi)) = &cli.command {
        println!("{}", tierdesk::api::document().to_pretty_json()?);
        return Ok(());
    }
    let database = Database::open(&cli).await?;
    let result = match &cli.command {
        None | Some(Command::Serve) => serve(&cli, &database).await,
        Some(Command::Migrate) => {
            println!("migrations applied");
            Ok(())
        }
        Some(Command::CreateTenant { slug, name }) => {
            let tenant = domain::access::tenants::create_with_default_tiers(
                &database.pool,
                &domain::Principal::cli(),
                None,
                slug,
                name,
            )
            .await?;
            println!("created tenant {} ({})", tenant.slug, tenant.tenant_id);
            Ok(())
        }
        Some(Command::CreateAdmin {
            email,
            name,
            password,
            platform_admin,
            tenant,
            role,
        }) => {
            create_admin(
                &database.pool,
                email,
                name,
                password,
                *platform_admin,
                tenant.as_deref(),
                role.as_deref(),
            )
            .await
        }
        Some(Command::Legacy(LegacyCommand::Generate { tenant, members })) => {
            let tenant = domain::access::tenants::by_slug(&database.pool, tenant).await?;
            let mut tx = database.pool.begin().await?;
            domain::migration::legacy::generate(
                &mut tx,
                tenant.tenant_id,
                *members,
                chrono::Utc::now(),
            )
            .await?;
            tx.commit().await?;
            println!(
                "generated {members} legacy members and 5 user types in {}",
                tenant.slug
            );
            Ok(())
        }
        Some(Command::Legacy(LegacyCommand::Import {
            tenant,
            types,
            members,
        })) => legacy_import(&database.pool, tenant, types.as_deref(), members.as_deref()).await,
        Some(Command::SeedDemo) => {
            match domain::demo::seed(&database.pool).await? {
                domain::demo::Outcome::Created => println!("demo data created"),
                domain::demo::Outcome::AlreadyPresent => println!("demo data already present"),
            }
            print_demo_sign_in();
            Ok(())
        }
        Some(Command::Check(CheckCommand::Ledger { tenant })) => {
            check_ledger(&database.pool, tenant.as_deref()).await
        }
        Some(Command::Check(CheckCommand::Licenses { tenant })) => {
            check_licenses(&database.pool, tenant.as_deref()).await
        }
        Some(Command::Check(CheckCommand::Overview { tenant })) => {
            check_overview(&database.pool, tenant.as_deref()).await
        }
        Some(Command::Bench(BenchCommand::Api {
            connections,
            rate,
            seconds,
            members,
        })) => bench_api(&database.pool, *connections, *rate, *seconds, *members).await,
        Some(Command::Bench(BenchCommand::Points {
            clients,
            seconds,
            members,
        })) => bench_points(&database.pool, *clients, *seconds, *members).await,
        Some(Command::Bench(BenchCommand::Licenses {
            licenses,
            members,
            runs,
            clients,
            seconds,
        })) => {
            bench_licenses(
                &database.pool,
                *licenses,
                *members,
                *runs,
                *clients,
                *seconds,
            )
            .await
        }
        Some(Command::Bench(BenchCommand::Permissions { members, seconds })) => {
            bench_permissions(&database.pool, *members, *seconds).await
        }
        Some(Command::Bench(BenchCommand::Tiers { members, clients })) => {
            bench_tiers(&database.pool, *members, *clients).await
        }
        Some(Command::Bench(BenchCommand::Members {
            members,
            runs,
            tenant,
        })) => bench_members(&database.pool, *members, *runs, tenant.as_deref()).await,
        Some(Command::Bench(BenchCommand::Overview {
            members,
            ledger_rows,
            runs,
            tenant,
        })) => {
            bench_overview(
                &database.pool,
                *members,
                *ledger_rows,
                *runs,
                tenant.as_deref(),
            )
            .await
        }
        Some(Command::Migration(command)) => {
            if migration_cli::execute(&database.pool, command).await? {
                Ok(())
            } else {
                Err("problems found (see above)".into())
            }
        }
        Some(Command::Rollout(command)) => {
            if rollout_cli::execute(&database.pool, command).await? {
                Ok(())
            } else {
                Err("refused (see above)".into())
            }
        }
        Some(Command::Api(command)) => tierdesk::api_cli::execute(&database.pool, command).await,
        Some(Command::Simulate(command)) => {
            if rollout_cli::simulate(&database.pool, command).await? {
                Ok(())
            } else {
                Err("some decisions failed (see above)".into())
            }
        }
        Some(Command::Bench(BenchCommand::Rollout {
            members,
            seconds,
            clients,
        })) => bench_rollout(&database.pool, *members, *seconds, *clients).await,
        Some(Command::Bench(BenchCommand::Migration { members })) => {
            bench_migration(&database.pool, *members).await
        }
        Some(Command::Licenses(LicensesCommand::AssignBatch {
            tenant,
            plan,
            apply,
            show,
            file,
        })) => assign_batch(&database.pool, tenant, plan.as_deref(), file, *apply, *show).await,
    };
    database.close().await?;
    result
}

async fn check_licenses(db: &PgPool, tenant: Option<&str>) -> Result<(), AnyError> {
    let tenant_id = match tenant {
        Some(slug) => Some(domain::access::tenants::by_slug(db, slug).await?.tenant_id),
        None => None,
    };
    let violations = domain::licenses::check::check(db, tenant_id).await?;
    if violations.is_empty() {
        println!("licenses ok: seats, devices and holders agree");
        return Ok(());
    }
    for violation in &violations {
        println!("{violation}");
    }
    Err(format!("{} license violation(s)", violations.len()).into())
}

/// A file read in chunks as it is consumed (the upload streams it).
struct FileChunks(std::fs::File);

impl Iterator for FileChunks {
    type Item = std::io::Result<Vec<u8>>;

    fn next(&mut self) -> Option<Self::Item> {
        use std::io::Read;
        let mut chunk = vec![0; 64 * 1024];
        match self.0.read(&mut chunk) {
            Ok(0) => None,
            Ok(read) => {
                chunk.truncate(read);
                Some(Ok(chunk))
            }
            Err(error) => Some(Err(error)),
        }
    }
}

/// Why a batch file was refused, in words (nothing was stored).
fn file_refusal(problem: &domain::Problem) -> String {
    match problem {
        domain::Problem::NotUtf8 { line } => {
            format!("the file is not UTF-8 text (first at line {line}); save it as UTF-8")
        }
        domain::Problem::TooLarge { max } => {
            format!("the file is too large (at most {max} bytes)")
        }
        domain::Problem::Required => "the file has no rows".to_owned(),
        domain::Problem::Format => "the file could not be read".to_owned(),
        other => format!("the file was refused: {other:?}"),
    }
}

/// `tierdesk legacy import`: streams the user types file, then the members file, into
/// imports acting as the command line in the tenant; commits both only once both were
/// read (a refused file leaves nothing behind), then prints each report.
async fn legacy_import(
    db: &PgPool,
    tenant: &str,
    types: Option<&std::path::Path>,
    members: Option<&std::path::Path>,
) -> Result<(), AnyError> {
    use domain::migration::imports::{self, ImportKind};
    let tenant_id = domain::access::tenants::by_slug(db, tenant)
        .await?
        .tenant_id;
    let access = domain::Access {
        principal: domain::Principal::cli(),
        tenant_id,
        role: domain::Role::TenantAdmin,
        request_id: None,
    };
    let now = chrono::Utc::now();
    let mut staged = Vec::new();
    for (kind, path) in [
        (ImportKind::UserTypes, types),
        (ImportKind::Members, members),
    ] {
        let Some(path) = path else { continue };
        let opened = std::fs::File::open(path)
            .map_err(|error| format!("cannot read {}: {error}", path.display()))?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let body = futures_util::stream::iter(FileChunks(opened));
        let import = imports::stage(db, &access, now, kind, &name, body, None)
            .await
            .map_err(|error| import_refusal(kind, path, error))?;
        staged.push(import);
    }
    let mut bad = 0;
    for import in staged {
        let record = import.commit().await?;
        print_import(&record);
        bad += record.report.bad_total;
    }
    if bad > 0 {
        return Err(format!("{bad} bad row(s) were not imported (listed above)").into());
    }
    Ok(())
}

/// Why a legacy file was refused, in words (nothing was stored).
fn import_refusal(
    kind: domain::migration::imports::ImportKind,
    path: &std::path::Path,
    error: domain::Error,
) -> AnyError {
    let file = path.display();
    let what = match error {
        domain::Error::Invalid { field, problem } if field == kind.field() => match problem {
            domain::Problem::NotUtf8 { line } => {
                format!("is not UTF-8 text (first at line {line}); save it as UTF-8")
            }
            domain::Problem::Required => "is empty: not even a header row".to_owned(),
            domain::Problem::Format => format!(
                "could not be read: the header must name exactly these columns: {}",
                kind.columns().join(",")
            ),
            other => format!("was refused: {other:?}"),
        },
        domain::Error::Invalid {
            field,
            problem: domain::Problem::Required,
        } => format!("has no column {field} in its header"),
        other => return other.into(),
    };
    format!("{file} {what}; nothing was imported").into()
}

fn print_import(record: &domain::migration::imports::ImportRecord) {
    let report = &record.report;
    println!(
        "{} ({}): import {}",
        record.kind.as_str(),
        record.file_name,
        record.import_id
    );
    println!(
        "  rows {}, inserted {}, updated {}, unchanged {}, bad {}",
        report.rows, report.inserted, report.updated, report.unchanged, report.bad_total
    );
    for bad in &report.bad {
        println!("  line {:>7}: {:<16} {}", bad.line, bad.field, bad.problem);
    }
    let unlisted = report.bad_total.saturating_sub(report.bad.len() as u64);
    if unlisted > 0 {
        println!("  … and {unlisted} more bad rows (counted, not listed)");
    }
}

/// `tierdesk licenses assign-batch`: upload (preview) and optionally apply a CSV file,
/// acting as the command line in the tenant.
async fn assign_batch(
    db: &PgPool,
    tenant: &str,
    plan: Option<&str>,
    file: &std::path::Path,
    apply: bool,
    show: i64,
) -> Result<(), AnyError> {
    use domain::licenses::batch::{self, Outcome};
    let tenant_id = domain::access::tenants::by_slug(db, tenant)
        .await?
        .tenant_id;
    let access = domain::Access {
        principal: domain::Principal::cli(),
        tenant_id,
        role: domain::Role::TenantAdmin,
        request_id: None,
    };
    let now = chrono::Utc::now();
    let plan_id = match plan {
        None => None,
        Some(code) => Some(
            domain::licenses::plans(db, &access, now)
                .await?
                .into_iter()
                .find(|p| p.code == code.trim().to_lowercase())
                .ok_or_else(|| format!("no license plan with code '{code}' in {tenant}"))?
                .plan_id,
        ),
    };
    let opened = std::fs::File::open(file)
        .map_err(|error| format!("cannot read {}: {error}", file.display()))?;
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let body = futures_util::stream::iter(FileChunks(opened));
    let found = batch::upload(db, &access, now, &name, plan_id, body)
        .await
        .map_err(|error| -> AnyError {
            match error {
                domain::Error::Invalid {
                    field: "file",
                    problem,
                } => file_refusal(&problem).into(),
                domain::Error::Invalid {
                    field: "rows",
                    problem: domain::Problem::TooLarge { max },
                } => format!("the file has too many rows (at most {max})").into(),
                other => other.into(),
            }
        })?;
    if found.existing {
        println!(
            "this file was uploaded before: batch {} ({}, {})",
            found.batch_id,
            found.file_name,
            found.status.as_str()
        );
    } else {
        println!("batch {} ({})", found.batch_id, found.file_name);
    }
    println!(
        "rows: {}; default plan: {}",
        found.rows_total,
        found.default_plan_code.as_deref().unwrap_or("none")
    );
    for count in &found.counts {
        println!("  {:<16} {}", count.outcome.as_str(), count.rows);
    }
    let mut refusals = Vec::new();
    for outcome in Outcome::ALL
        .into_iter()
        .filter(|o| !o.is_assignment())
        .filter(|o| found.count(*o) > 0)
    {
        let page = batch::rows(db, &access, found.batch_id, Some(outcome), None, show).await?;
        refusals.extend(page.rows);
    }
    refusals.sort_by_key(|r| r.line_no);
    refusals.truncate(usize::try_from(show).unwrap_or(0));
    if !refusals.is_empty() {
        println!("first refusals:");
    }
    for row in &refusals {
        let why = match row.malformed {
            Some(reason) => format!("malformed ({})", reason.as_str()),
            None => row.current().as_str().to_owned(),
        };
        println!(
            "  line {:>6}: {:<20} {:<12} {why}",
            row.line_no,
            row.external_id.as_deref().unwrap_or("-"),
            row.plan_code.as_deref().unwrap_or("-")
        );
    }
    if !apply {
        if found.status == batch::Status::Uploaded {
            println!("preview only: run again with --apply to assign");
        }
        return Ok(());
    }
    loop {
        let progress = batch::apply_step(
            db,
            &access,
            chrono::Utc::now(),
            found.batch_id,
            batch::APPLY_CHUNK,
        )
        .await?;
        eprintln!(
            "applied through line {} of {}: {} assigned, {} refused",
            progress.applied_through, progress.last_line, progress.assigned, progress.refused
        );
        if progress.done {
            println!(
                "applied: {} assigned, {} refused",
                progress.assigned, progress.refused
            );
            return Ok(());
        }
    }
}

async fn check_overview(db: &PgPool, tenant: Option<&str>) -> Result<(), AnyError> {
    let tenant_id = match tenant {
        Some(slug) => Some(domain::access::tenants::by_slug(db, slug).await?.tenant_id),
        None => None,
    };
    let mismatches = domain::overview::check::check(db, tenant_id).await?;
    if mismatches.is_empty() {
        println!("overview ok: every aggregate equals its raw table");
        return Ok(());
    }
    for mismatch in &mismatches {
        println!("{mismatch}");
    }
    Err(format!("{} aggregate mismatch(es)", mismatches.len()).into())
}

async fn check_ledger(db: &PgPool, tenant: Option<&str>) -> Result<(), AnyError> {
    let tenant_id = match tenant {
        Some(slug) => Some(domain::access::tenants::by_slug(db, slug).await?.tenant_id),
        None => None,
    };
    let violations = domain::points::check::check(db, tenant_id).await?;
    if violations.is_empty() {
        println!("ledger ok: every invariant holds");
        return Ok(());
    }
    for violation in &violations {
        println!("{violation}");
    }
    Err(format!("{} ledger invariant violation(s)", violations.len()).into())
}

async fn bench_api(
    db: &PgPool,
    connections: usize,
    rate: u64,
    seconds: u64,
    members: i64,
) -> Result<(), AnyError> {
    use tierdesk::bench::api::ApiReport;
    println!(
        "api benchmark: {connections} connections, {rate} requests/s offered for {seconds} s, {members} members"
    );
    // The server: the console's router on this database, with its permission cache
    // node (no background jobs), on a free port of the loopback.
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
    let address = listener.local_addr()?;
    let state = AppState::new(db.clone(), leptos_options(address), domain::clock::system());
    state
        .permissions
        .start(db.clone(), format!("tierdesk bench api {address}"));
    let app = router(
        state,
        RouterOptions {
            secure_cookies: false,
        },
    );
    tokio::spawn(async move {
        let _ = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await;
    });
    let domain_db = sqlx::postgres::PgPoolOptions::new()
        .max_connections(17)
        .connect_with(database_url_of(db))
        .await?;
    let report =
        tierdesk::bench::api::run(db, &domain_db, address, connections, rate, seconds, members)
            .await?;
    let q = |s: &[u64], p: f64| tierdesk::bench::quantile(s, p) as f64 / 1000.0;
    println!("tenant: {} ({} members)", report.slug, report.members);
    let print = |stats: &[(tierdesk::bench::api::Op, tierdesk::bench::api::OpStats)],
                 seconds: f64| {
        for (op, s) in stats {
            println!(
                "  {:<8} {:>7} ok {:>5} failed {:>8.0} /s  p50 {:>7.2} ms  p99 {:>7.2} ms  p99.9 {:>7.2} ms",
                op.name(),
                s.latencies.len(),
                s.errors,
                s.latencies.len() as f64 / seconds,
                q(&s.latencies, 0.5),
                q(&s.latencies, 0.99),
                q(&s.latencies, 0.999)
            );
        }
    };
    let open_requests = ApiReport::requests(&report.open);
    println!(
        "open loop: {} requests in {:.1} s = {:.0} /s of {rate} offered (latency from each request's scheduled time)",
        open_requests,
        report.open_seconds,
        open_requests as f64 / report.open_seconds
    );
    print(&report.open, report.open_seconds);
    let closed_requests = ApiReport::requests(&report.closed);
    let max_rps = closed_requests as f64 / report.closed_seconds;
    println!(
        "closed loop ({connections} connections back to back): {closed_requests} requests in {:.1} s = {max_rps:.0} /s",
        report.closed_seconds
    );
    print(&report.closed, report.closed_seconds);
    let batch_rate = report.ingest_changes as f64 / report.ingest_seconds;
    println!(
        "batch ingestion (4 clients, 1,000 earns per request): {} changes in {:.1} s = {batch_rate:.0} /s, {} failed requests; ledger check: {} violation(s)",
        report.ingest_changes, report.ingest_seconds, report.ingest_errors, report.violations
    );
    let api_earn = report.api_earns as f64 / report.earn_seconds;
    let domain_earn = report.domain_earns as f64 / report.domain_seconds;
    println!(
        "single changes (16 clients, 70 % earn / 30 % spend): API {api_earn:.0} /s, domain {domain_earn:.0} /s, ratio {:.2}",
        api_earn / domain_earn.max(1.0)
    );
    let p99 = |op| {
        report
            .open
            .iter()
            .find(|(o, _)| *o == op)
            .map_or(0.0, |(_, s)| q(&s.latencies, 0.99))
    };
    println!(
        "api_check_p99_ms={:.2} api_earn_p99_ms={:.2} api_max_rps={max_rps:.0} api_batch_changes_per_s={batch_rate:.0}",
        p99(tierdesk::bench::api::Op::Check),
        p99(tierdesk::bench::api::Op::Earn)
    );
    if report.violations > 0 {
        return Err(format!("{} ledger invariant violation(s)", report.violations).into());
    }
    Ok(())
}

async fn bench_points(
    db: &PgPool,
    clients: usize,
    seconds: u64,
    members: i64,
) -> Result<(), AnyError> {
    // Each client gets its own connection, as each pgbench client does.
    let url = database_url_of(db);
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(clients as u32 + 1)
        .connect_with(url)
        .await?;
    println!(
        "points benchmark: {clients} clients, {seconds} s, {members} members (70% earn / 30% spend)"
    );
    let report = tierdesk::bench::points(&pool, clients, seconds, members).await?;
    println!(
        "transactions: {} in {:.1} s (refused for insufficient points: {})",
        report.transactions, report.seconds, report.refused
    );
    println!(
        "latency_us_p50={} latency_us_p99={}",
        report.latency_us_p50, report.latency_us_p99
    );
    println!(
        "ledger check after the run: {} violation(s)",
        report.violations
    );
    println!(
        "points_tx_per_s={:.0}",
        report.transactions as f64 / report.seconds
    );
    Ok(())
}

async fn bench_tiers(db: &PgPool, members: i64, clients: usize) -> Result<(), AnyError> {
    // Writers and the re-level each get their own connections.
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(clients as u32 + 4)
        .connect_with(database_url_of(db))
        .await?;
    println!("tiers benchmark: {members} members, {clients} writers (audited adjustments)");
    let report = tierdesk::bench::tiers(&pool, members, clients).await?;
    println!(
        "seeded {} members in {:.1} s",
        report.members, report.seeded_seconds
    );
    println!(
        "tier save: {:.1} ms; re-level of {} expected moves ({} moved) done {:.1} s after it",
        report.save_ms, report.expected_moves, report.moved, report.relevel_seconds
    );
    for (label, window) in [
        ("writers before the save", report.baseline),
        ("writers during save + re-level", report.during),
    ] {
        println!(
            "{label}: {} adjustments, p50 {} us, p99 {} us, max {} us",
            window.count, window.p50, window.p99, window.max
        );
    }
    println!(
        "ledger check after the run: {} violation(s)",
        report.violations
    );
    println!(
        "tier_save_ms={:.0} relevel_s={:.1} writer_p99_us={} writer_max_us={} baseline_p99_us={} baseline_max_us={}",
        report.save_ms,
        report.relevel_seconds,
        report.during.p99,
        report.during.max,
        report.baseline.p99,
        report.baseline.max
    );
    Ok(())
}

async fn bench_members(
    db: &PgPool,
    members: i64,
    runs: usize,
    tenant: Option<&str>,
) -> Result<(), AnyError> {
    println!("members benchmark: {members} members, {runs} runs per query, pages of 25");
    let (members, seeded_seconds, timings) =
        tierdesk::bench::members(db, members, runs, tenant).await?;
    println!("{members} members (seeding took {seeded_seconds:.1} s)");
    for timing in &timings {
        println!(
            "{:<36} rows={:<3} latency_us_p50={} latency_us_p99={} latency_us_max={}",
            timing.label,
            timing.rows,
            timing.latency_us_p50,
            timing.latency_us_p99,
            timing.latency_us_max
        );
    }
    let worst = timings.iter().map(|t| t.latency_us_p50).max().unwrap_or(0);
    println!("members_query_p50_worst_us={worst}");
    Ok(())
}

async fn bench_overview(
    db: &PgPool,
    members: i64,
    ledger_rows: i64,
    runs: usize,
    tenant: Option<&str>,
) -> Result<(), AnyError> {
    println!(
        "overview benchmark: {members} members, {ledger_rows} ledger rows, {runs} runs per range"
    );
    let report = tierdesk::bench::overview(db, members, ledger_rows, runs, tenant).await?;
    let seeded = if tenant.is_some() { "had" } else { "seeded" };
    println!(
        "{seeded} {} members and {} ledger rows ({:.1} s); folded the aggregates in {:.1} s",
        report.members, report.ledger_rows, report.seeded_seconds, report.fold_seconds
    );
    for (days, latency) in &report.ranges {
        println!(
            "overview {days:>2} days: latency_us_p50={} latency_us_p99={} latency_us_max={}",
            latency.p50, latency.p99, latency.max
        );
    }
    println!(
        "for comparison, points per day for 90 days summed from the ledger itself: {} ms",
        report.ledger_scan_ms
    );
    Ok(())
}

async fn bench_migration(db: &PgPool, members: i64) -> Result<(), AnyError> {
    println!("migration benchmark: {members} legacy members");
    let report = tierdesk::bench::migration::run(db, members).await?;
    println!("tenant: {}", report.slug);
    for (phase, seconds) in &report.phases {
        println!("{phase:<20} {seconds:.1} s");
    }
    println!(
        "migrated {}, reconciled {}; checker: {} checks, p50_ms={:.2} p99_ms={:.2} max_ms={:.2}, errors {}",
        report.migrated,
        report.reconciled,
        report.checks,
        report.check_p50_us as f64 / 1000.0,
        report.check_p99_us as f64 / 1000.0,
        report.check_max_us as f64 / 1000.0,
        report.check_errors
    );
    println!(
        "migration_total_s={:.1} check_p99_during_ms={:.2} check_errors={}",
        report.total_seconds(),
        report.check_p99_us as f64 / 1000.0,
        report.check_errors
    );
    Ok(())
}

async fn bench_rollout(
    db: &PgPool,
    members: i64,
    seconds: u64,
    clients: usize,
) -> Result<(), AnyError> {
    println!(
        "rollout benchmark: {members} legacy members, {clients} clients, {seconds} s with the shadow comparison on and {seconds} s off"
    );
    let report = tierdesk::bench::rollout::run(db, members, seconds, clients).await?;
    let q = tierdesk::bench::quantile;
    println!("tenant: {}", report.slug);
    println!(
        "cohort (20 %) migrated: {} members in {:.1} s",
        report.cohort, report.migrate_seconds
    );
    for (label, samples) in [("shadow off", &report.off), ("shadow on ", &report.on)] {
        println!(
            "{label}: {} decisions, {:.0} /s, p50 {} us, p99 {} us, max {} us",
            samples.len(),
            samples.len() as f64 / report.seconds_each,
            q(samples, 0.5),
            q(samples, 0.99),
            samples.last().copied().unwrap_or(0)
        );
    }
    println!(
        "decision records written: {}, dropped: {}",
        report.records, report.dropped
    );
    if let Some(kib) = report.peak_rss_kib {
        println!("peak resident memory: {} MiB", kib / 1024);
    }
    println!(
        "shadow_overhead_p99_ratio={:.3} routed_check_p99_us={}",
        report.ratio(),
        q(&report.off, 0.99)
    );
    Ok(())
}

async fn bench_licenses(
    db: &PgPool,
    licenses: i64,
    members: i64,
    runs: usize,
    clients: usize,
    seconds: u64,
) -> Result<(), AnyError> {
    println!(
        "licenses benchmark: {licenses} licenses, {members} members, {runs} runs per operation, \
         contention: {clients} clients for {seconds} s"
    );
    // The contention clients each need a connection, as API clients would have.
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(clients as u32 + 4)
        .connect_with(db.connect_options().as_ref().clone())
        .await?;
    let report =
        tierdesk::bench::licenses::run(&pool, licenses, members, runs, clients, seconds).await?;
    println!(
        "tenant: {} ({} licenses, {} members) seeded in {:.1} s",
        report.slug, report.licenses, report.members, report.seeded_seconds
    );
    let ms = |us: u64| us as f64 / 1000.0;
    for (label, rows, latency) in &report.timings {
        println!(
            "{label:<42} rows={rows:<4} p50_ms={:.2} p99_ms={:.2} max_ms={:.2}",
            ms(latency.p50),
            ms(latency.p99),
            ms(latency.max)
        );
    }
    let c = &report.contention;
    println!(
        "contention: {} clients on {} licenses for {:.1} s: {} activated, {} deactivated, {} refused (limit), {} licenses over their limit",
        c.clients, c.licenses, c.seconds, c.activated, c.deactivated, c.refused, c.over_limit
    );
    let p99 = |prefix: &str| {
        report
            .timings
            .iter()
            .filter(|(label, _, _)| label.starts_with(prefix))
            .map(|(_, _, latency)| latency.p99)
            .max()
            .map_or(0.0, ms)
    };
    println!(
        "license_list_p99_ms={:.2} assign_p99_ms={:.2} activate_p99_ms={:.2} validate_p99_ms={:.2}",
        p99("license list")
            .max(p99("key prefix"))
            .max(p99("member's")),
        p99("assign"),
        p99("activate"),
        p99("validate")
    );
    Ok(())
}

async fn bench_permissions(db: &PgPool, members: i64, seconds: u64) -> Result<(), AnyError> {
    println!("permissions benchmark: {members} members, {seconds} s per phase, one client");
    let report = tierdesk::bench::permissions(db, members, seconds).await?;
    println!(
        "tenant: {} members, {} with a VIP tag, {} with an enterprise tag",
        report.members, report.with_vip, report.with_enterprise
    );
    for (label, timing) in [("uncached", &report.uncached), ("cached", &report.cached)] {
        println!(
            "{label:<9} checks={} checks_per_s={:.0} p50_us={:.2} p99_us={:.2}",
            timing.checks,
            timing.checks as f64 / timing.seconds,
            timing.latency_ns_p50 as f64 / 1000.0,
            timing.latency_ns_p99 as f64 / 1000.0
        );
    }
    let stats = report.stats;
    println!(
        "cache: hits={} misses={} entries={} invalidations={}",
        stats.hits, stats.misses, stats.entries, stats.invalidations
    );
    // Whole microseconds, rounded up.
    println!(
        "permission_check_cached_p99_us={} uncached_p99_us={}",
        report.cached.latency_ns_p99.div_ceil(1000),
        report.uncached.latency_ns_p99.div_ceil(1000)
    );
    Ok(())
}

fn database_url_of(db: &PgPool) -> sqlx::postgres::PgConnectOptions {
    db.connect_options().as_ref().clone()
}

async fn create_admin(
    db: &PgPool,
    email: &str,
    name: &str,
    password: &str,
    platform_admin: bool,
    tenant: Option<&str>,
    role: Option<&str>,
) -> Result<(), AnyError> {
    let membership = match (tenant, role) {
        (Some(slug), Some(role)) => Some((
            domain::access::tenants::by_slug(db, slug).await?.tenant_id,
            domain::Role::parse(role)?,
        )),
        _ => None,
    };
    let new = domain::access::admins::NewAccount {
        email: email.into(),
        display_name: name.into(),
        password: password.into(),
        is_platform_admin: platform_admin,
        membership,
    };
    let admin_id =
        domain::access::admins::create_account(db, &domain::Principal::cli(), new).await?;
    println!("created admin {email} ({admin_id})");
    Ok(())
}

async fn serve(cli: &Cli, database: &Database) -> Result<(), AnyError> {
    // Settings first: a mistyped one stops the start before the console listens.
    let jobs_settings = jobs::Settings::from_env()?;
    let db = database.pool.clone();
    let seeded = database.embedded.is_some() && !cli.no_demo && domain::demo::is_empty(&db).await?;
    if seeded {
        domain::demo::seed(&db).await?;
    }
    let leptos_options = leptos_options(cli.addr);
    let listener = tokio::net::TcpListener::bind(cli.addr).await?;
    let address = listener.local_addr()?;
    let mut state = AppState::new(db.clone(), leptos_options, domain::clock::system());
    // Saving a webhook URL checks its host against the same setting the sender uses.
    state.webhooks_reach = jobs_settings.webhooks.reach;
    state.permissions.start(
        db.clone(),
        format!("tierdesk serve {address} pid {}", std::process::id()),
    );
    jobs::start(&state, jobs_settings);
    if cli.demo_traffic_rps > 0
        && domain::access::tenants::by_slug(&db, domain::demo::DEMO_TENANT_SLUG)
            .await
            .is_ok()
    {
        tokio::spawn(tierdesk::traffic::demo_loop(
            db.clone(),
            state.permissions.clone(),
            state.shadow.clone(),
            cli.demo_traffic_rps,
        ));
    }
    let permissions = state.permissions.clone();
    let app = router(
        state,
        RouterOptions {
            secure_cookies: cli.secure_cookies,
        },
    );
    tokio::spawn(sweep_sessions(PgSessionStore::new(db.clone())));

    println!("Tierdesk console: http://{address}");
    if seeded
        || domain::access::tenants::by_slug(&db, domain::demo::DEMO_TENANT_SLUG)
            .await
            .is_ok()
    {
        print_demo_sign_in();
    }
    tracing::info!(%address, embedded = database.embedded.is_some(), "listening");
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await?;
    if let Err(error) = permissions.leave(&db).await {
        tracing::warn!(%error, "permission cache node could not leave cleanly");
    }
    tracing::info!("shut down");
    Ok(())
}

fn print_demo_sign_in() {
    println!(
        "Demo sign-in: {} / {}  (also {} and {}, same password)",
        domain::demo::DEMO_ADMIN_EMAIL,
        domain::demo::DEMO_PASSWORD,
        domain::demo::DEMO_SUPPORT_EMAIL,
        domain::demo::DEMO_VIEWER_EMAIL
    );
}

/// Where the compiled site (WASM, JS, CSS) is: `LEPTOS_SITE_ROOT` if set (cargo-leptos
/// sets it), else `target/site` under the working directory (the repository root), else
/// beside the binary (`target/<profile>/tierdesk` → `target/site`).
fn site_root() -> String {
    if let Ok(root) = std::env::var("LEPTOS_SITE_ROOT") {
        return root;
    }
    let in_working_dir = PathBuf::from("target/site");
    if in_working_dir.is_dir() {
        return "target/site".into();
    }
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent()?.parent().map(|target| target.join("site")))
        .filter(|site| site.is_dir())
        .map_or_else(|| "target/site".into(), |site| site.display().to_string())
}

fn leptos_options(addr: SocketAddr) -> LeptosOptions {
    let output_name = std::env::var("LEPTOS_OUTPUT_NAME")
        .ok()
        .or_else(|| option_env!("LEPTOS_OUTPUT_NAME").map(str::to_owned))
        .unwrap_or_else(|| "tierdesk".into());
    let env = match std::env::var("LEPTOS_ENV").as_deref() {
        Ok("DEV") | Ok("dev") => Env::DEV,
        _ => Env::PROD,
    };
    let mut options = LeptosOptions::builder()
        .output_name(output_name)
        .site_root(site_root())
        .site_pkg_dir("pkg")
        .env(env)
        .site_addr(addr)
        .build();
    // A release build names the site files by content hash and lists the hashes beside
    // the binary (see `app::assets`); the pages then link those names.
    options.hash_files = match std::env::var("LEPTOS_HASH_FILES") {
        Ok(value) => value == "true",
        Err(_) => app::assets::hash_file(&options).is_some_and(|file| file.is_file()),
    };
    options
}

async fn sweep_sessions(store: PgSessionStore) {
    let mut interval = tokio::time::interval(SESSION_SWEEP_INTERVAL);
    loop {
        interval.tick().await;
        match store.delete_expired().await {
            Ok(deleted) => tracing::debug!(deleted, "expired sessions deleted"),
            Err(error) => tracing::warn!(%error, "session sweep failed"),
        }
    }
}

async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
    tracing::info!("shutdown signal received");
}
