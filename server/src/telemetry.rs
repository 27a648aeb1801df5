use tracing_subscriber::EnvFilter;

/// Structured logs to stderr, filtered by `RUST_LOG` (default: info for Tierdesk,
/// warnings for dependencies). `TIERDESK_LOG_FORMAT=json` switches to JSON lines.
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        EnvFilter::new("warn,tierdesk=info,domain=info,app=info,tower_http=info")
    });
    let json = std::env::var("TIERDESK_LOG_FORMAT").is_ok_and(|v| v == "json");
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}
