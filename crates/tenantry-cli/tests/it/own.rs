//! Database and Redis servers of a test's own, on free loopback ports, in temporary
//! directories, so that a test can stop and start them without touching the shared ones.
//!
//! - PostgreSQL: `initdb` and `postgres` from `TENANTRY_TEST_PG_BIN` (default
//!   `/usr/lib/postgresql/15/bin`).
//! - MariaDB: `mariadb-install-db` and `mariadbd` from `PATH` (`TENANTRY_TEST_MARIADB_BIN`
//!   names another directory).
//! - Redis: `redis-server` from `PATH`.
//!
//! PostgreSQL refuses to run as root and MariaDB needs `--user`: as root the servers run as
//! the `postgres` and `mysql` users (`runuser`), their directories handed to them.

use std::{
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use sqlx::Connection as _;

use crate::support::TempDir;

/// A free port on 127.0.0.1 (free when asked; the server binds it right after).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// `program` as `user` when this process is root, else as it is.
fn command_as(user: &str, program: &Path) -> Command {
    if is_root() {
        let mut cmd = Command::new("runuser");
        cmd.args(["-u", user, "--"]).arg(program);
        cmd
    } else {
        Command::new(program)
    }
}

fn give_to(user: &str, dir: &Path) {
    if is_root() {
        let ok = Command::new("chown")
            .args(["-R", user])
            .arg(dir)
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "chown {user} {} failed", dir.display());
    }
}

fn bin_dir(var: &str, default: &str) -> Option<PathBuf> {
    match std::env::var(var) {
        Ok(dir) if !dir.is_empty() => Some(PathBuf::from(dir)),
        _ if default.is_empty() => None,
        _ => Some(PathBuf::from(default)),
    }
}

fn program(dir: &Option<PathBuf>, name: &str, var: &str) -> PathBuf {
    let path = match dir {
        Some(dir) => dir.join(name),
        None => return PathBuf::from(name),
    };
    assert!(
        path.exists(),
        "{} not found: set {var} to the directory holding {name}",
        path.display()
    );
    path
}

/// Sends `signal` (`-INT`, `-TERM`, ...) to `pid`.
fn kill(signal: &str, pid: u32) {
    let _ = Command::new("kill")
        .args([signal, &pid.to_string()])
        .status();
}

/// Waits up to 30 s for `child` to exit, without blocking the runtime; kills it past that.
async fn reap(child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Polls `url` with a real connection and `SELECT 1` until it answers; panics after 60 s.
async fn until_ready(url: &str, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let ok = if url.starts_with("postgres") {
            match sqlx::PgConnection::connect(url).await {
                Ok(mut c) => sqlx::query("SELECT 1").execute(&mut c).await.is_ok(),
                Err(_) => false,
            }
        } else {
            match sqlx::MySqlConnection::connect(url).await {
                Ok(mut c) => sqlx::query("SELECT 1").execute(&mut c).await.is_ok(),
                Err(_) => false,
            }
        };
        if ok {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{what} did not start within 60 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Which database server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Postgres,
    MariaDb,
}

/// A PostgreSQL cluster or MariaDB server of the test's own; stopped and removed on drop.
pub struct OwnDatabase {
    kind: Kind,
    dir: TempDir,
    port: u16,
    bin: Option<PathBuf>,
    child: Option<Child>,
}

impl OwnDatabase {
    /// Initializes a data directory and starts the server on a free port.
    pub async fn start(kind: Kind) -> Self {
        let dir = TempDir::new();
        let (user, bin) = match kind {
            Kind::Postgres => (
                "postgres",
                bin_dir("TENANTRY_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"),
            ),
            Kind::MariaDb => ("mysql", bin_dir("TENANTRY_TEST_MARIADB_BIN", "")),
        };
        give_to(user, &dir.0);
        let data = dir.0.join("data");
        let out = match kind {
            Kind::Postgres => command_as(user, &program(&bin, "initdb", "TENANTRY_TEST_PG_BIN"))
                .arg("-D")
                .arg(&data)
                .args(["-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync"])
                .output(),
            Kind::MariaDb => {
                let mut cmd = Command::new(program(
                    &bin,
                    "mariadb-install-db",
                    "TENANTRY_TEST_MARIADB_BIN",
                ));
                cmd.arg(format!("--datadir={}", data.display()))
                    .args(["--auth-root-authentication-method=normal", "--skip-test-db"]);
                if is_root() {
                    cmd.arg("--user=mysql");
                }
                cmd.output()
            }
        }
        .unwrap_or_else(|e| panic!("cannot initialize a {kind:?} data directory: {e}"));
        assert!(
            out.status.success(),
            "initializing {kind:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let mut db = Self {
            kind,
            dir,
            port: free_port(),
            bin,
            child: None,
        };
        db.restart().await;
        if kind == Kind::MariaDb {
            let mut c = sqlx::MySqlConnection::connect(&db.admin_url())
                .await
                .unwrap();
            sqlx::query("CREATE DATABASE demo CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
                .execute(&mut c)
                .await
                .unwrap();
        }
        db
    }

    /// The URL the demo uses.
    pub fn url(&self) -> String {
        match self.kind {
            Kind::Postgres => format!("postgres://postgres@127.0.0.1:{}/postgres", self.port),
            Kind::MariaDb => format!("mysql://root@127.0.0.1:{}/demo", self.port),
        }
    }

    fn admin_url(&self) -> String {
        match self.kind {
            Kind::Postgres => self.url(),
            Kind::MariaDb => format!("mysql://root@127.0.0.1:{}", self.port),
        }
    }

    /// Starts the server on its data directory and port; returns once it answers a query.
    pub async fn restart(&mut self) {
        assert!(self.child.is_none(), "{:?} is running already", self.kind);
        let data = self.dir.0.join("data");
        let port = self.port.to_string();
        let log = std::fs::File::create(self.dir.0.join("server.log")).unwrap();
        let mut cmd = match self.kind {
            Kind::Postgres => {
                let mut cmd = command_as(
                    "postgres",
                    &program(&self.bin, "postgres", "TENANTRY_TEST_PG_BIN"),
                );
                cmd.arg("-D")
                    .arg(&data)
                    .args(["-p", &port, "-h", "127.0.0.1", "-k"])
                    .arg(&self.dir.0)
                    .args(["-c", "fsync=off", "-c", "max_connections=100"]);
                cmd
            }
            Kind::MariaDb => {
                let mut cmd =
                    Command::new(program(&self.bin, "mariadbd", "TENANTRY_TEST_MARIADB_BIN"));
                cmd.arg("--no-defaults")
                    .arg(format!("--datadir={}", data.display()))
                    .arg(format!("--port={port}"))
                    .arg("--bind-address=127.0.0.1")
                    .arg(format!("--socket={}", self.dir.0.join("sock").display()))
                    .arg(format!("--pid-file={}", self.dir.0.join("pid").display()))
                    .args(["--skip-log-bin", "--innodb-buffer-pool-size=16M"])
                    .args(["--innodb-flush-log-at-trx-commit=2", "--skip-name-resolve"]);
                if is_root() {
                    cmd.arg("--user=mysql");
                }
                cmd
            }
        };
        let child = cmd
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {:?}: {e}", self.kind));
        self.child = Some(child);
        until_ready(&self.admin_url(), &format!("{:?}", self.kind)).await;
    }

    /// Stops the server (PostgreSQL's fast shutdown, MariaDB's normal one: sessions are ended,
    /// committed work is kept) and waits until its process is gone.
    pub async fn stop(&mut self) {
        let Some(mut child) = self.signal_stop() else {
            return;
        };
        reap(&mut child).await;
    }

    fn signal_stop(&mut self) -> Option<Child> {
        let child = self.child.take()?;
        match self.kind {
            // The postmaster's pid (the child may be `runuser`).
            Kind::Postgres => match std::fs::read_to_string(self.dir.0.join("data/postmaster.pid"))
            {
                Ok(pid) => {
                    let pid = pid.lines().next().unwrap_or_default().trim().parse();
                    kill("-INT", pid.unwrap_or(child.id()));
                }
                Err(_) => kill("-INT", child.id()),
            },
            Kind::MariaDb => kill("-TERM", child.id()),
        }
        Some(child)
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.0.join("server.log")).unwrap_or_default()
    }
}

impl Drop for OwnDatabase {
    fn drop(&mut self) {
        if let Some(mut child) = self.signal_stop() {
            let _ = child.wait();
        }
    }
}

/// A Redis of the test's own, on a free port, without persistence; killed on drop.
pub struct OwnRedis {
    child: Option<Child>,
    pub port: u16,
}

impl OwnRedis {
    pub fn start() -> Self {
        let mut redis = Self {
            child: None,
            port: free_port(),
        };
        redis.restart();
        redis
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Starts it again on the same port; returns once it accepts connections.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "redis is running already");
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &self.port.to_string()])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("cannot run redis-server (install it: apt-get install redis-server)");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Kills it (as a crash would) and waits until it is gone.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.stop();
    }
}
