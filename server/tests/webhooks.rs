//! Outbox delivery to tenants' webhooks: signatures (checked by recomputing the HMAC),
//! retries with backoff after a server error, and no event reaching another tenant's URL.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use chrono::{DateTime, Duration, Utc};
use domain::clock::{Clock, ManualClock};
use domain::grants::{self, GrantInput, Method};
use domain::members::{self, MemberInput};
use domain::tags::{self, TagInput};
use domain::testing::{TestAdmin, TestTenant};
use domain::{Access, Role, webhooks};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use sqlx::PgPool;
use tierdesk::jobs::Sender;
use uuid::Uuid;

#[derive(Debug, Clone)]
struct Received {
    path: String,
    signature: String,
    event_id: String,
    body: String,
}

#[derive(Clone, Default)]
struct Receiver {
    received: Arc<Mutex<Vec<Received>>>,
    /// Statuses to answer with, in order; 200 when empty.
    script: Arc<Mutex<VecDeque<StatusCode>>>,
}

async fn receive(
    State(receiver): State<Receiver>,
    Path(path): Path<String>,
    headers: HeaderMap,
    body: String,
) -> StatusCode {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    receiver.received.lock().unwrap().push(Received {
        path,
        signature: header("tierdesk-signature"),
        event_id: header("tierdesk-event-id"),
        body,
    });
    receiver
        .script
        .lock()
        .unwrap()
        .pop_front()
        .unwrap_or(StatusCode::OK)
}

/// A receiving server on a free local port; returns its base URL.
async fn start_receiver(receiver: Receiver) -> String {
    let app = Router::new()
        .route("/hooks/{path}", post(receive))
        .with_state(receiver);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{address}/hooks")
}

/// Outbox rows are due from their commit time (the database clock), so the test's
/// clock starts at the real time and moves forward from there.
fn start() -> DateTime<Utc> {
    Utc::now()
}

struct Tenant {
    admin: TestAdmin,
    tag_id: Uuid,
    member_id: Uuid,
}

async fn tenant(db: &PgPool, slug: &str) -> Tenant {
    let tenant = TestTenant::new(db, slug).await;
    let admin = tenant.with_admin(db, "boss", Role::TenantAdmin).await;
    let access = admin.access();
    let tag_id = tags::create(
        db,
        &access,
        TagInput {
            code: "vip".into(),
            name_zh: "VIP".into(),
            name_en: "VIP".into(),
            category: "payment".into(),
            permissions: vec!["vip.support".into()],
            default_term_days: Some(30),
            renew_from: "expiry".into(),
            active: true,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let member_id = members::create(
        db,
        &access,
        MemberInput {
            external_id: format!("{slug}-member"),
            display_name: "Member".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap()
    .member_id;
    Tenant {
        admin,
        tag_id,
        member_id,
    }
}

async fn grant(db: &PgPool, access: &Access, t: &Tenant) {
    grants::grant(
        db,
        access,
        start(),
        Method::Purchase,
        GrantInput {
            member_id: t.member_id,
            tag_id: t.tag_id,
            reason: "order 42".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
}

fn verify(secret: &str, received: &Received) {
    let (t, v1) = received
        .signature
        .split_once(",v1=")
        .expect("signature has t= and v1=");
    let t = t.strip_prefix("t=").expect("t= first");
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.{}", received.body).as_bytes());
    let expected: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(v1, expected, "signature must be HMAC-SHA256 of t.body");
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn events_are_signed_retried_and_kept_to_their_tenant(db: PgPool) {
    let receiver = Receiver::default();
    receiver
        .script
        .lock()
        .unwrap()
        .extend([StatusCode::INTERNAL_SERVER_ERROR]);
    let base = start_receiver(receiver.clone()).await;
    let acme = tenant(&db, "acme").await;
    let globex = tenant(&db, "globex").await;
    let quiet = tenant(&db, "quiet").await;
    let acme_hook = webhooks::set(
        &db,
        &acme.admin.access(),
        Some(&format!("{base}/acme")),
        7,
        false,
    )
    .await
    .unwrap();
    let globex_hook = webhooks::set(
        &db,
        &globex.admin.access(),
        Some(&format!("{base}/globex")),
        7,
        false,
    )
    .await
    .unwrap();
    assert_ne!(acme_hook.secret, globex_hook.secret);
    grant(&db, &acme.admin.access(), &acme).await;
    grant(&db, &globex.admin.access(), &globex).await;
    // No webhook configured: the event is kept, marked skipped, never sent.
    grant(&db, &quiet.admin.access(), &quiet).await;

    let sender = Sender::new(true).unwrap();
    let clock = ManualClock::new(start());
    assert_eq!(sender.deliver_due(&db, &*clock, 10).await.unwrap(), 2);
    // Whichever came first got the scripted 500 and waits for its retry.
    assert_eq!(sender.deliver_due(&db, &*clock, 10).await.unwrap(), 0);
    let statuses: Vec<(String, String, i32)> = sqlx::query_as(
        "select t.slug, e.status, e.attempts from outbox_events e
         join tenants t on t.tenant_id = e.tenant_id order by t.slug",
    )
    .fetch_all(&db)
    .await
    .unwrap();
    let pending: Vec<_> = statuses.iter().filter(|s| s.1 == "pending").collect();
    assert_eq!(pending.len(), 1, "{statuses:?}");
    assert_eq!(statuses[2], ("quiet".into(), "skipped".into(), 0));
    // After the backoff the retry succeeds.
    clock.advance(webhooks::backoff(1) + Duration::seconds(1));
    assert_eq!(sender.deliver_due(&db, &*clock, 10).await.unwrap(), 1);
    let delivered: i64 =
        sqlx::query_scalar("select count(*) from outbox_events where status = 'delivered'")
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!(delivered, 2);

    let received = receiver.received.lock().unwrap().clone();
    assert_eq!(received.len(), 3);
    for r in &received {
        let body: serde_json::Value = serde_json::from_str(&r.body).unwrap();
        let (secret, tenant_admin) = match r.path.as_str() {
            "acme" => (acme_hook.secret.as_deref().unwrap(), &acme.admin),
            "globex" => (globex_hook.secret.as_deref().unwrap(), &globex.admin),
            other => panic!("delivery to an unknown path {other}"),
        };
        // Each tenant's events reach only that tenant's URL, signed with its secret.
        assert_eq!(body["tenant_id"], tenant_admin.tenant_id.to_string());
        assert_eq!(body["topic"], "tag.granted");
        assert_eq!(body["id"].to_string(), r.event_id);
        verify(secret, r);
    }
    // The delivery log shows every attempt to the tenant's admins, and only theirs.
    let acme_log = webhooks::deliveries(&db, &acme.admin.access())
        .await
        .unwrap();
    let globex_log = webhooks::deliveries(&db, &globex.admin.access())
        .await
        .unwrap();
    assert_eq!(acme_log.len() + globex_log.len(), 3);
    assert!(acme_log.iter().all(|d| d.url.ends_with("/acme")));
    assert!(
        acme_log
            .iter()
            .chain(&globex_log)
            .any(|d| d.status_code == Some(500))
    );
    let support = TestTenant {
        tenant: domain::tenants::by_slug(&db, "acme").await.unwrap(),
    }
    .with_admin(&db, "sam", Role::Support)
    .await;
    assert!(webhooks::deliveries(&db, &support.access()).await.is_err());
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn a_failing_endpoint_is_given_up_after_the_last_attempt(db: PgPool) {
    let receiver = Receiver::default();
    receiver
        .script
        .lock()
        .unwrap()
        .extend(std::iter::repeat_n(StatusCode::BAD_GATEWAY, 20));
    let base = start_receiver(receiver.clone()).await;
    let acme = tenant(&db, "acme").await;
    webhooks::set(
        &db,
        &acme.admin.access(),
        Some(&format!("{base}/acme")),
        7,
        false,
    )
    .await
    .unwrap();
    grant(&db, &acme.admin.access(), &acme).await;
    let sender = Sender::new(true).unwrap();
    let clock = ManualClock::new(start());
    for _ in 0..webhooks::ATTEMPTS_MAX {
        assert_eq!(sender.deliver_due(&db, &*clock, 10).await.unwrap(), 1);
        clock.advance(Duration::hours(2));
    }
    assert_eq!(sender.deliver_due(&db, &*clock, 10).await.unwrap(), 0);
    let (status, attempts, error): (String, i32, Option<String>) =
        sqlx::query_as("select status, attempts, last_error from outbox_events")
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!(
        (status.as_str(), attempts),
        ("failed", webhooks::ATTEMPTS_MAX)
    );
    assert_eq!(error.as_deref(), Some("HTTP 502"));
    // Settled events leave with their attempts after the retention period, not before.
    assert_eq!(webhooks::prune(&db, clock.now(), 100).await.unwrap(), 0);
    let later = Utc::now() + Duration::days(webhooks::RETENTION_DAYS + 1);
    assert_eq!(webhooks::prune(&db, later, 100).await.unwrap(), 1);
    let attempts: i64 = sqlx::query_scalar("select count(*) from webhook_deliveries")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(attempts, 0);
    // Bad URLs are refused and change nothing.
    let refused = webhooks::set(&db, &acme.admin.access(), Some("ftp://x"), 7, false).await;
    assert!(matches!(
        refused,
        Err(domain::Error::Invalid {
            field: "webhook_url",
            ..
        })
    ));
    let kept = webhooks::get(&db, &acme.admin.access()).await.unwrap();
    assert_eq!(kept.url, Some(format!("{base}/acme")));
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn private_addresses_are_refused_unless_allowed(db: PgPool) {
    let receiver = Receiver::default();
    let base = start_receiver(receiver.clone()).await;
    let acme = tenant(&db, "acme").await;
    let globex = tenant(&db, "globex").await;
    // One by IP literal, one by a name that resolves to loopback.
    let by_name = base.replace("127.0.0.1", "localhost");
    for (t, url) in [
        (&acme, format!("{base}/acme")),
        (&globex, format!("{by_name}/globex")),
    ] {
        webhooks::set(&db, &t.admin.access(), Some(&url), 7, false)
            .await
            .unwrap();
        grant(&db, &t.admin.access(), t).await;
    }
    let strict = Sender::new(false).unwrap();
    let clock = ManualClock::new(start());
    assert_eq!(strict.deliver_due(&db, &*clock, 10).await.unwrap(), 2);
    assert!(receiver.received.lock().unwrap().is_empty());
    let errors: Vec<Option<String>> =
        sqlx::query_scalar("select last_error from outbox_events order by event_id")
            .fetch_all(&db)
            .await
            .unwrap();
    assert!(
        errors
            .iter()
            .all(|e| e.as_deref().is_some_and(|e| e.contains("private"))),
        "{errors:?}"
    );
    for ip in [
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "::1",
        "fd00::1",
        "100.64.0.1",
        "::ffff:127.0.0.1",
    ] {
        assert!(tierdesk::jobs::is_private(ip.parse().unwrap()), "{ip}");
    }
    for ip in ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"] {
        assert!(!tierdesk::jobs::is_private(ip.parse().unwrap()), "{ip}");
    }
}
