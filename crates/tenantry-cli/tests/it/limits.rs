//! The demo's rate limits, through the real `tenantry serve` process: per tenant by plan, flags
//! to change or turn them off, and buckets shared on Redis by two processes.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::*;

const WHOAMI: &str = "/api/v1/whoami";

struct Hit {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

impl Hit {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

async fn hit(client: &reqwest::Client, url: &str, token: &str) -> Hit {
    let res = client
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .expect("request");
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let body = res.json().await.unwrap_or(Value::Null);
    Hit {
        status,
        headers,
        body,
    }
}

/// `n` requests one after the other; the replies and how long they took.
async fn burst(url: &str, token: &str, n: usize) -> (Vec<Hit>, Duration) {
    let client = reqwest::Client::new();
    let start = Instant::now();
    let mut hits = Vec::with_capacity(n);
    for _ in 0..n {
        hits.push(hit(&client, url, token).await);
    }
    (hits, start.elapsed())
}

/// Most requests a bucket of `burst` refilled at `rate`/s can allow in `elapsed`.
fn most(burst: u64, rate: u64, elapsed: Duration) -> usize {
    (burst + (rate as f64 * elapsed.as_secs_f64()).ceil() as u64 + 1) as usize
}

#[tokio::test]
async fn globex_on_plan_free_gets_429_after_its_burst_and_acme_on_pro_does_not() {
    let dir = TempDir::new();
    let server = Server::start(&dir.sqlite_url(), &[], &[]);
    assert!(
        server
            .banner
            .contains("rate limits (in memory): plan free 10/s burst 20, plan pro 100/s burst 200"),
        "{}",
        server.banner
    );
    let url = server.url(WHOAMI);

    let (hits, took) = burst(&url, &server.token("BOB"), 40).await;
    for (i, h) in hits.iter().take(20).enumerate() {
        assert_eq!(h.status, 200, "request {i}: {}", h.body);
        assert_eq!(h.header("x-ratelimit-limit"), Some("20"));
    }
    assert_eq!(hits[0].header("x-ratelimit-remaining"), Some("19"));
    let ok = hits.iter().filter(|h| h.status == 200).count();
    assert!(ok <= most(20, 10, took), "{ok} allowed in {took:?}");
    let refused = hits
        .iter()
        .find(|h| h.status == 429)
        .expect("no 429 after the burst");
    assert_eq!(refused.body["code"], "rate_limited", "{}", refused.body);
    assert_eq!(
        refused.header("content-type"),
        Some("application/problem+json")
    );
    assert_eq!(refused.header("retry-after"), Some("1"));
    assert_eq!(refused.header("x-ratelimit-remaining"), Some("0"));

    // acme (pro) has its own, bigger bucket.
    let (hits, _) = burst(&url, &server.token("ALICE"), 40).await;
    assert!(hits.iter().all(|h| h.status == 200));
    assert_eq!(hits[0].header("x-ratelimit-limit"), Some("200"));
    assert_eq!(hits[0].header("x-ratelimit-remaining"), Some("199"));

    // Outside /api nothing is limited.
    for _ in 0..30 {
        assert_eq!(get(&server.url("/healthz"), None, &[]).await.status, 200);
    }
}

#[tokio::test]
async fn flags_change_the_limits_and_no_rate_limit_turns_them_off() {
    let dir = TempDir::new();
    let server = Server::start(
        &dir.sqlite_url(),
        &[
            "--rate-free",
            "1",
            "--burst-free",
            "3",
            "--rate-pro",
            "2",
            "--burst-pro",
            "5",
        ],
        &[],
    );
    let url = server.url(WHOAMI);
    let (hits, _) = burst(&url, &server.token("BOB"), 4).await;
    let statuses: Vec<u16> = hits.iter().map(|h| h.status).collect();
    assert_eq!(statuses, [200, 200, 200, 429]);
    assert_eq!(hits[0].header("x-ratelimit-limit"), Some("3"));
    let (hits, _) = burst(&url, &server.token("ALICE"), 6).await;
    assert_eq!(hits.iter().filter(|h| h.status == 200).count(), 5);
    assert_eq!(hits[0].header("x-ratelimit-limit"), Some("5"));
    drop(server);

    let server = Server::start(&dir.sqlite_url(), &["--no-rate-limit"], &[]);
    assert!(
        server.banner.contains("rate limits: off"),
        "{}",
        server.banner
    );
    let (hits, _) = burst(&server.url(WHOAMI), &server.token("BOB"), 40).await;
    assert!(hits.iter().all(|h| h.status == 200));
    assert!(hits.iter().all(|h| h.header("x-ratelimit-limit").is_none()));

    let out = run(&mut tenantry(&["serve", "--rate-free", "0"]));
    assert_eq!(out.status.code(), Some(2));
}

fn redis_url() -> String {
    std::env::var("TENANTRY_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_demo_processes_sharing_redis_never_exceed_the_quota() {
    let prefix = format!(
        "tenantry-cli-test:{}:{}:",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    let redis = redis_url();
    let args = [
        "--redis-url",
        redis.as_str(),
        "--redis-prefix",
        prefix.as_str(),
        // Room for a loaded CI machine: the quota is checked, not Redis's latency.
        "--redis-timeout-ms",
        "2000",
        "--rate-free",
        "1",
        "--burst-free",
        "20",
    ];
    let (dir_a, dir_b) = (TempDir::new(), TempDir::new());
    let a = Server::start(&dir_a.sqlite_url(), &args, &[]);
    assert!(
        a.banner.contains("rate limits (on Redis)"),
        "is Redis up? set TENANTRY_TEST_REDIS_URL\n{}",
        a.banner
    );
    let b = Server::start(&dir_b.sqlite_url(), &args, &[]);
    // Both processes sign with the same development secret: one token works on both.
    let token = a.token("BOB");
    let client = reqwest::Client::new();
    let start = Instant::now();
    let tasks: Vec<_> = (0..100)
        .map(|i| {
            let url = if i % 2 == 0 {
                a.url(WHOAMI)
            } else {
                b.url(WHOAMI)
            };
            let (client, token) = (client.clone(), token.clone());
            tokio::spawn(async move { hit(&client, &url, &token).await.status })
        })
        .collect();
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    let took = start.elapsed();
    let ok = statuses.iter().filter(|&&s| s == 200).count();
    assert!(
        ok >= 20 && ok <= most(20, 1, took),
        "{ok} allowed in {took:?}"
    );
    assert_eq!(ok + statuses.iter().filter(|&&s| s == 429).count(), 100);
}

#[test]
fn an_unreachable_redis_is_a_start_up_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = TempDir::new();
    let url = format!("redis://127.0.0.1:{port}");
    let start = Instant::now();
    let out = run(&mut tenantry(&[
        "serve",
        "--bind",
        "127.0.0.1:0",
        "--database-url",
        &dir.sqlite_url(),
        "--redis-url",
        &url,
    ]));
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--redis-url"), "{stderr}");
    assert!(start.elapsed() < Duration::from_secs(30));
}
