//! Runs the real `tenantry` binary.

use std::{
    io::{BufRead, BufReader, ErrorKind, Read},
    net::TcpStream,
    path::PathBuf,
    process::{Child, Command, Output, Stdio},
    sync::atomic::{AtomicU32, Ordering},
    time::{Duration, Instant},
};

use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_tenantry");

/// A fresh directory under the system temp dir, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new() -> Self {
        static N: AtomicU32 = AtomicU32::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let dir = std::env::temp_dir().join(format!(
            "tenantry-cli-{}-{}-{nanos}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    pub fn sqlite_url(&self) -> String {
        format!("sqlite://{}", self.0.join("demo.db").display())
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `tenantry ARGS` with a clean environment (no inherited secret or database URL).
pub fn tenantry(args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .env_remove("TENANTRY_JWT_SECRET")
        .env_remove("TENANTRY_DATABASE_URL")
        .env_remove("SQL_URL")
        .env_remove("TENANTRY_REDIS_URL")
        .env_remove("RUST_LOG");
    cmd
}

pub fn run(cmd: &mut Command) -> Output {
    cmd.stdin(Stdio::null()).output().expect("run tenantry")
}

/// A running `tenantry serve`, killed on drop.
pub struct Server {
    child: Child,
    pub base: String,
    pub banner: String,
}

impl Server {
    /// Starts `tenantry serve --bind 127.0.0.1:0 --database-url URL EXTRA...` and waits until it
    /// prints its address.
    pub fn start(database_url: &str, extra: &[&str], envs: &[(&str, &str)]) -> Self {
        let mut args = vec!["serve", "--database-url", database_url];
        if !extra.contains(&"--bind") {
            args.extend(["--bind", "127.0.0.1:0"]);
        }
        args.extend_from_slice(extra);
        let mut cmd = tenantry(&args);
        cmd.envs(envs.iter().copied());
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn tenantry serve");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut banner = String::new();
            let mut lines = BufReader::new(stdout).lines();
            let mut base = None;
            for line in lines.by_ref() {
                let Ok(line) = line else { break };
                if base.is_none() {
                    base = line
                        .strip_prefix("tenantry demo listening on ")
                        .map(str::to_owned);
                }
                banner.push_str(&line);
                banner.push('\n');
                if line.starts_with("  curl") && banner.contains("/tenants/acme/") {
                    break;
                }
            }
            let _ = tx.send((base, banner));
            for _ in lines {} // keep draining
        });
        let (base, banner) = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("tenantry serve did not print its address within 60 s");
        let base = base.unwrap_or_else(|| panic!("no address in banner:\n{banner}"));
        Self {
            child,
            base,
            banner,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The demo token the banner printed for `user` (ALICE, BOB, CAROL, DAVE).
    pub fn token(&self, user: &str) -> String {
        let prefix = format!("  export {user}=");
        self.banner
            .lines()
            .find_map(|l| l.strip_prefix(&prefix))
            .unwrap_or_else(|| panic!("no token for {user} in banner"))
            .to_owned()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub struct Reply {
    pub status: u16,
    pub content_type: String,
    pub body: Value,
}

impl Reply {
    #[track_caller]
    pub fn assert_problem(&self, status: u16, code: &str) {
        assert_eq!(
            (self.status, self.body["code"].as_str()),
            (status, Some(code)),
            "{}",
            self.body
        );
        assert_eq!(self.content_type, "application/problem+json");
    }

    #[track_caller]
    pub fn assert_status(&self, status: u16) {
        assert_eq!(self.status, status, "{}", self.body);
    }

    #[track_caller]
    pub fn assert_whoami(&self, tenant: &str, resolved_by: &str, subject: Option<&str>) {
        assert_eq!(self.status, 200, "{}", self.body);
        assert_eq!(self.body["tenant_id"], tenant, "{}", self.body);
        assert_eq!(self.body["resolved_by"], resolved_by, "{}", self.body);
        assert_eq!(self.body["subject"].as_str(), subject, "{}", self.body);
    }
}

/// GET `url` with optional bearer token and headers.
pub async fn get(url: &str, token: Option<&str>, headers: &[(&str, &str)]) -> Reply {
    request(reqwest::Method::GET, url, token, headers, None).await
}

/// Sends `method url` with an optional bearer token and JSON body.
pub async fn send(
    method: reqwest::Method,
    url: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Reply {
    request(method, url, token, &[], body).await
}

async fn request(
    method: reqwest::Method,
    url: &str,
    token: Option<&str>,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> Reply {
    let mut req = reqwest::Client::new().request(method, url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.expect("request");
    let status = res.status().as_u16();
    let content_type = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let body = res.json().await.unwrap_or(Value::Null);
    Reply {
        status,
        content_type,
        body,
    }
}

/// The server's `host:port`, for raw TCP clients.
pub fn addr(server: &Server) -> String {
    server.base.trim_start_matches("http://").to_owned()
}

/// Reads until the server closes the connection (EOF or reset); `None` if it is still open
/// after `within`. Returns the bytes read.
pub fn read_until_closed(stream: &mut TcpStream, within: Duration) -> Option<Vec<u8>> {
    let deadline = Instant::now() + within;
    let mut got = Vec::new();
    let mut buf = [0u8; 64 * 1024];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return None;
        }
        stream.set_read_timeout(Some(left)).unwrap();
        match stream.read(&mut buf) {
            Ok(0) => return Some(got),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::ConnectionReset => return Some(got),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return None;
            }
            Err(e) => panic!("read: {e}"),
        }
    }
}
