//! A status change made by `tenantry tenants` reaches every running `serve` on the same catalog
//! within a second (issue 11, item 9: a suspended tenant was served for up to 30 s, the cache's
//! lifetime), on SQLite, PostgreSQL and MariaDB.

use std::time::{Duration, Instant};

use crate::{
    dbs::{assert_ok, block_on, mysql_url, postgres_url},
    support::{Server, TempDir, get, run, tenantry},
};

/// The bound the issue sets.
const WITHIN: Duration = Duration::from_secs(1);

fn tenants(url: &str, args: &[&str]) -> String {
    let mut all = vec!["tenants"];
    all.extend_from_slice(args);
    let mut cmd = tenantry(&all);
    cmd.env("TENANTRY_DATABASE_URL", url);
    assert_ok(&run(&mut cmd))
}

/// How long after `since` both servers answer Alice's request with `status`; panics past 5 s.
async fn until_both(servers: &[&Server], alice: &str, status: u16, since: Instant) -> Duration {
    loop {
        let mut all = true;
        for s in servers {
            let reply = get(&s.url("/api/v1/whoami"), Some(alice), &[]).await;
            all &= reply.status == status;
        }
        if all {
            return since.elapsed();
        }
        assert!(
            since.elapsed() < Duration::from_secs(5),
            "the servers did not all answer {status} within 5 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn changes_reach_every_instance(url: &str) {
    let a = Server::start(url, &[], &[]);
    let b = Server::start(url, &[], &[]);
    let alice = a.token("ALICE");
    // Both instances have acme cached as active.
    for s in [&a, &b] {
        get(&s.url("/api/v1/whoami"), Some(&alice), &[])
            .await
            .assert_whoami("acme", "jwt", Some("alice"));
    }
    tenants(url, &["suspend", "acme"]);
    let suspended = until_both(&[&a, &b], &alice, 403, Instant::now()).await;
    assert!(
        suspended <= WITHIN,
        "suspension took {suspended:?} to reach both"
    );
    let reply = get(&b.url("/api/v1/whoami"), Some(&alice), &[]).await;
    reply.assert_problem(403, "tenant_suspended");
    tenants(url, &["resume", "acme"]);
    let resumed = until_both(&[&a, &b], &alice, 200, Instant::now()).await;
    assert!(
        resumed <= WITHIN,
        "resumption took {resumed:?} to reach both"
    );
    eprintln!("suspension seen after {suspended:?}, resumption after {resumed:?}");
}

#[test]
fn catalog_changes_reach_every_instance_on_sqlite() {
    let dir = TempDir::new();
    block_on(changes_reach_every_instance(&dir.sqlite_url()));
}

#[test]
fn catalog_changes_reach_every_instance_on_postgres() {
    let url = postgres_url();
    block_on(changes_reach_every_instance(&url));
}

#[test]
fn catalog_changes_reach_every_instance_on_mariadb() {
    let url = mysql_url();
    block_on(changes_reach_every_instance(&url));
}
