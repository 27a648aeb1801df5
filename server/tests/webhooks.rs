//! Outbox delivery to tenants' webhooks: signatures (checked by recomputing the HMAC),
//! retries with backoff after a server error, and no event reaching another tenant's URL;
//! private targets refused when saved and when sent, proxies (the environment's ignored,
//! an explicit one used with targets checked first), credentials kept out of logs.

mod support;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use chrono::{DateTime, Duration, Utc};
use domain::clock::{Clock, ManualClock};
use domain::members::{self, MemberInput};
use domain::tags::grants::{self, GrantInput, Method};
use domain::tags::{self, TagInput};
use domain::testing::{TEST_PASSWORD, TestAdmin, TestTenant};
use domain::webhooks::{Delivery, Reach};
use domain::{Access, Role, webhooks};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use sqlx::PgPool;
use support::{Client, audit_rows, console};
use tierdesk::jobs::{Sender, SenderOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use uuid::Uuid;

#[derive(Debug, Clone)]
struct Received {
    path: String,
    signature: String,
    event_id: String,
    authorization: String,
    body: String,
}

/// A sender that reaches any address (the local receivers), direct.
fn any_address() -> Sender {
    Sender::new(&SenderOptions {
        reach: Reach::PrivateAllowed,
        proxy: None,
    })
    .unwrap()
}

/// A sender that reaches public addresses only, direct.
fn public_only() -> Sender {
    Sender::new(&SenderOptions {
        reach: Reach::PublicOnly,
        proxy: None,
    })
    .unwrap()
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
        authorization: header("authorization"),
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
        Reach::PrivateAllowed,
    )
    .await
    .unwrap();
    let globex_hook = webhooks::set(
        &db,
        &globex.admin.access(),
        Some(&format!("{base}/globex")),
        7,
        false,
        Reach::PrivateAllowed,
    )
    .await
    .unwrap();
    assert_ne!(acme_hook.secret, globex_hook.secret);
    grant(&db, &acme.admin.access(), &acme).await;
    grant(&db, &globex.admin.access(), &globex).await;
    // No webhook configured: the event is kept, marked skipped, never sent.
    grant(&db, &quiet.admin.access(), &quiet).await;

    let sender = any_address();
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
        tenant: domain::access::tenants::by_slug(&db, "acme").await.unwrap(),
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
        Reach::PrivateAllowed,
    )
    .await
    .unwrap();
    grant(&db, &acme.admin.access(), &acme).await;
    let sender = any_address();
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
    let refused = webhooks::set(
        &db,
        &acme.admin.access(),
        Some("ftp://x"),
        7,
        false,
        Reach::PrivateAllowed,
    )
    .await;
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
        // Saved while private targets were allowed; the operator has since turned that off.
        webhooks::set(
            &db,
            &t.admin.access(),
            Some(&url),
            7,
            false,
            Reach::PrivateAllowed,
        )
        .await
        .unwrap();
        grant(&db, &t.admin.access(), t).await;
    }
    let strict = public_only();
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
    // The full table is `domain::webhooks`' unit test.
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
        assert!(!webhooks::is_public_ip(ip.parse().unwrap()), "{ip}");
    }
    for ip in ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"] {
        assert!(webhooks::is_public_ip(ip.parse().unwrap()), "{ip}");
    }
}

/// One delivery to `url`, as a claim would produce it.
fn delivery(url: &str) -> Delivery {
    Delivery {
        tenant_id: Uuid::nil(),
        event_id: 1,
        attempt: 1,
        url: url.into(),
        secret: "whsec_test".into(),
        body: "{}".into(),
    }
}

/// A stand-in HTTP proxy on a free local port: records the first line of every request
/// it gets (`POST http://host/path HTTP/1.1` when used as a proxy) and answers 200 for
/// the target, so nothing leaves this machine. Returns its URL and the lines seen.
async fn start_proxy() -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let log = log.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut chunk = [0_u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut chunk).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => head.extend_from_slice(&chunk[..n]),
                    }
                }
                let first_line = String::from_utf8_lossy(&head)
                    .lines()
                    .next()
                    .unwrap_or_default()
                    .to_owned();
                log.lock().unwrap().push(first_line);
                let answer = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";
                let _ = stream.write_all(answer).await;
            });
        }
    });
    (format!("http://{address}"), seen)
}

/// Set in the child process of [`proxies_from_the_environment_are_ignored`].
const PROXY_CHILD: &str = "TIERDESK_TEST_PROXY_CHILD";

/// The environment's proxy variables point at a stand-in proxy; senders must go direct
/// (a proxy resolves target names itself, past the private-address check). Runs the
/// sending in a child process of this test binary: tests cannot set their own
/// process's environment, and reqwest reads it once per process.
#[tokio::test]
async fn proxies_from_the_environment_are_ignored() {
    let (proxy, seen) = start_proxy().await;
    let receiver = Receiver::default();
    let base = start_receiver(receiver.clone()).await;
    let mut child = tokio::process::Command::new(std::env::current_exe().unwrap());
    child
        .args(["--exact", "environment_proxy_child", "--nocapture"])
        .env(PROXY_CHILD, &base)
        .env_remove("NO_PROXY")
        .env_remove("no_proxy");
    for name in [
        "HTTP_PROXY",
        "http_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "ALL_PROXY",
        "all_proxy",
    ] {
        child.env(name, &proxy);
    }
    let output = child.output().await.unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("child: done"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        *seen.lock().unwrap(),
        Vec::<String>::new(),
        "the environment's proxy was used"
    );
    assert_eq!(receiver.received.lock().unwrap().len(), 1, "sent direct");
}

#[tokio::test]
async fn environment_proxy_child() {
    let Ok(base) = std::env::var(PROXY_CHILD) else {
        return;
    };
    // Private targets allowed: straight to the local receiver.
    let (status, error, _) = any_address()
        .send(&delivery(&format!("{base}/direct")), 0)
        .await;
    assert_eq!((status, error), (Some(200), None));
    // Public only: a name that resolves to loopback is refused here, not handed to a
    // proxy that would resolve it unchecked.
    let (status, error, _) = public_only()
        .send(&delivery("http://localhost:9/hook"), 0)
        .await;
    assert_eq!(status, None);
    assert!(
        error.as_deref().is_some_and(|e| e.contains("private")),
        "{error:?}"
    );
    println!("child: done");
}

#[tokio::test]
async fn an_explicit_proxy_is_used_after_the_target_is_checked() {
    let (proxy, seen) = start_proxy().await;
    let strict = Sender::new(&SenderOptions {
        reach: Reach::PublicOnly,
        proxy: Some(proxy.clone()),
    })
    .unwrap();
    for url in [
        "http://localhost:9/hook",
        "http://127.0.0.1:9/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://2130706433/hook",
        "http://10.0.0.1/hook",
        "http://[64:ff9b::a9fe:a9fe]/latest",
    ] {
        let (status, error, _) = strict.send(&delivery(url), 0).await;
        assert_eq!(status, None, "{url}");
        assert!(
            error.as_deref().is_some_and(|e| e.contains("private")),
            "{url}: {error:?}"
        );
    }
    assert_eq!(*seen.lock().unwrap(), Vec::<String>::new());
    // A public target goes through the proxy (which answers for it).
    let (status, error, _) = strict.send(&delivery("http://93.184.216.34/hook"), 0).await;
    assert_eq!((status, error), (Some(200), None));
    // Private targets allowed: names go to the proxy as they are.
    let open = Sender::new(&SenderOptions {
        reach: Reach::PrivateAllowed,
        proxy: Some(proxy),
    })
    .unwrap();
    let (status, _, _) = open.send(&delivery("http://localhost:9/hook"), 0).await;
    assert_eq!(status, Some(200));
    assert_eq!(
        *seen.lock().unwrap(),
        [
            "POST http://93.184.216.34/hook HTTP/1.1",
            "POST http://localhost:9/hook HTTP/1.1"
        ]
    );
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn private_targets_are_refused_when_saved(db: PgPool) {
    let router = console(db.clone());
    let tenant = TestTenant::new(&db, "acme").await;
    let boss = tenant.with_admin(&db, "boss", Role::TenantAdmin).await;
    let mut client = Client::signed_in(&router, &boss.email, TEST_PASSWORD).await;
    let before = audit_rows(&db).await;
    for url in [
        "http://127.0.0.1:9/x",
        "http://[::ffff:127.0.0.1]/",
        "http://2130706433/",
        "http://0x7f.1/",
        "http://localhost/",
        "http://user:pw@10.0.0.1/hook",
        "http://evil.example@127.0.0.1/",
        "https://169.254.169.254/latest/meta-data",
        "http://[fd00::1]:8080/",
        "http://[64:ff9b::a00:1]/",
        "http://198.51.100.7/",
        // A name that does not resolve now cannot be checked: refused too.
        "http://no-such-host.invalid/hook",
    ] {
        let saved = client
            .call_fn("save_webhook", &[("url", url), ("reminder_days", "7")])
            .await;
        assert_eq!(
            saved.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{url}: {}",
            saved.body
        );
        assert_eq!(
            saved.json(),
            serde_json::json!({ "Invalid": { "field": "webhook_url", "problem": "NotPublic" } }),
            "{url}"
        );
    }
    assert_eq!(audit_rows(&db).await, before, "nothing was saved");
    let webhook = client.call_fn("get_webhook", &[]).await.json();
    assert_eq!(webhook["url"], serde_json::Value::Null);
    // Without JavaScript the refusal comes back to the page, in words.
    let form = [("url", "http://localhost/"), ("reminder_days", "7")];
    let refused = client.submit_form("save_webhook", &form, "/webhooks").await;
    let location = refused.location().unwrap().to_owned();
    assert!(location.contains("error="), "{location}");
    let page = client.get(&location).await;
    assert!(
        page.body.contains("public internet addresses") || page.body.contains("公网地址"),
        "{}",
        page.body
    );
    // A public address is saved (a literal needs no DNS here).
    let saved = client
        .call_fn(
            "save_webhook",
            &[
                ("url", "https://93.184.216.34/hook"),
                ("reminder_days", "7"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn credentials_in_urls_are_used_but_never_written_elsewhere(db: PgPool) {
    let receiver = Receiver::default();
    let base = start_receiver(receiver.clone()).await;
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let acme = tenant(&db, "acme").await;
    let access = acme.admin.access();
    let with_credentials = |base: &str| base.replace("http://", "http://hook-user:s3cret@");
    let save = |url: String| {
        let (db, access) = (db.clone(), access.clone());
        async move {
            webhooks::set(&db, &access, Some(&url), 7, false, Reach::PrivateAllowed)
                .await
                .unwrap()
        }
    };
    // First to a port nobody listens on (the client's error would quote the URL), then
    // to the receiver.
    save(with_credentials(&format!("http://{closed}/hooks/acme"))).await;
    grant(&db, &access, &acme).await;
    let sender = any_address();
    let clock = ManualClock::new(start());
    assert_eq!(sender.deliver_due(&db, &*clock, 10).await.unwrap(), 1);
    let saved = save(with_credentials(&format!("{base}/acme"))).await;
    clock.advance(webhooks::backoff(1) + Duration::seconds(1));
    assert_eq!(sender.deliver_due(&db, &*clock, 10).await.unwrap(), 1);

    // The request itself carries them (as HTTP basic authentication).
    let received = receiver.received.lock().unwrap().clone();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].authorization, "Basic aG9vay11c2VyOnMzY3JldA==");
    // The admin editing the settings sees the URL as saved.
    assert_eq!(saved.url, Some(with_credentials(&format!("{base}/acme"))));
    assert_eq!(webhooks::get(&db, &access).await.unwrap().url, saved.url);
    // Nowhere else: the delivery log (URL and error), the outbox, the audit log.
    let written: Vec<String> = sqlx::query_scalar(
        "select url || ' ' || coalesce(error, '') from webhook_deliveries
         union all select coalesce(last_error, '') from outbox_events
         union all select coalesce(before::text, '') || ' ' || coalesce(after::text, '')
         from audit_log where action = 'webhook.update'",
    )
    .fetch_all(&db)
    .await
    .unwrap();
    assert_eq!(written.len(), 2 + 1 + 2, "{written:?}");
    for text in &written {
        assert!(
            !text.contains("s3cret") && !text.contains("hook-user"),
            "{text}"
        );
    }
    assert!(
        written.iter().all(|t| t.is_empty() || t.contains("***@")),
        "{written:?}"
    );
    assert!(written.iter().any(|t| t.contains("refused")), "{written:?}");
    let log = webhooks::deliveries(&db, &access).await.unwrap();
    assert!(
        log.iter()
            .all(|d| d.url.starts_with("http://***@127.0.0.1:"))
    );
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn a_test_event_reaches_the_receiver_and_an_event_is_delivered_again(db: PgPool) {
    let receiver = Receiver::default();
    let base = start_receiver(receiver.clone()).await;
    let acme = tenant(&db, "acme").await;
    let globex = tenant(&db, "globex").await;
    let access = acme.admin.access();
    // Without a URL there is nothing to test.
    assert!(matches!(
        webhooks::send_test(&db, &access).await,
        Err(domain::Error::Invalid {
            field: "webhook_url",
            ..
        })
    ));
    webhooks::set(
        &db,
        &access,
        Some(&format!("{base}/acme")),
        7,
        false,
        Reach::PrivateAllowed,
    )
    .await
    .unwrap();
    let test_id = webhooks::send_test(&db, &access).await.unwrap();
    let again = webhooks::redeliver(&db, &access, test_id).await.unwrap();
    assert_ne!(again, test_id);
    // Another tenant's event is not found, and viewers cannot send.
    assert!(matches!(
        webhooks::redeliver(&db, &globex.admin.access(), test_id).await,
        Err(domain::Error::NotFound { .. })
    ));
    let vera = TestTenant::new(&db, "vera-co")
        .await
        .with_admin(&db, "vera", Role::Viewer)
        .await;
    assert!(matches!(
        webhooks::send_test(&db, &vera.access()).await,
        Err(domain::Error::Forbidden)
    ));

    let sender = any_address();
    let clock = ManualClock::new(start());
    assert_eq!(sender.deliver_due(&db, &*clock, 10).await.unwrap(), 2);
    let topics: Vec<String> = sqlx::query_scalar(
        "select topic from outbox_events where status = 'delivered' order by event_id",
    )
    .fetch_all(&db)
    .await
    .unwrap();
    assert_eq!(topics, ["webhook.test", "webhook.test"]);
    let audited: i64 = sqlx::query_scalar(
        "select count(*) from audit_log where action in ('webhook.test', 'webhook.redeliver')",
    )
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(audited, 2);
}
