//! No command prints a password: not in help, errors, banners or logs, whether the password
//! comes in a flag or in an environment variable.

use crate::{
    dbs::*,
    support::{TempDir, run, tenantry},
};

const SECRET: &str = "Pw-s3cret-9f2k";

/// Runs `tenantry ARGS` with every secret-carrying variable set, at log level debug, and
/// asserts that the secret appears neither on stdout nor on stderr.
#[track_caller]
fn assert_quiet(dir: &TempDir, args: &[&str], envs: &[(&str, String)]) {
    let mut cmd = tenantry(args);
    cmd.current_dir(&dir.0)
        .env("RUST_LOG", "debug")
        .env("TENANTRY_JWT_SECRET", SECRET)
        .env(
            "TENANTRY_REDIS_URL",
            format!("redis://user:{SECRET}@127.0.0.1:1/0"),
        );
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let out = run(&mut cmd);
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!all.contains(SECRET), "{args:?} printed the secret:\n{all}");
}

#[test]
fn no_command_prints_a_password() {
    let dir = TempDir::new();
    let refused = format!("postgres://nobody:{SECRET}@127.0.0.1:1/x");
    let denied = mysql_url().replacen("root@", &format!("root:{SECRET}@"), 1);
    for url in [&refused, &denied] {
        let in_env = [("TENANTRY_DATABASE_URL", url.clone())];
        let in_sql_env = [("SQL_URL", url.clone())];
        for help in [
            &["serve", "--help"][..],
            &["tenants", "list", "--help"],
            &["sql", "export-tenant", "--help"],
            &["sql", "import-tenant", "--help"],
            &["token", "--help"],
        ] {
            assert_quiet(&dir, help, &in_env);
            assert_quiet(&dir, help, &in_sql_env);
        }
        let export = ["sql", "export-tenant", "items", "--tenant-id", "acme"];
        let import = [
            "sql",
            "import-tenant",
            "items",
            "--tenant-id",
            "acme",
            "-i",
            "x.json",
        ];
        for args in [
            &["serve", "--bind", "127.0.0.1:0"][..],
            &["tenants", "list"],
            &["tenants", "create", "acme"],
            &export,
            &import,
        ] {
            assert_quiet(&dir, args, &in_env);
            let mut with_flag = args.to_vec();
            with_flag.extend(["--database-url", url.as_str()]);
            assert_quiet(&dir, &with_flag, &[]);
        }
        assert_quiet(&dir, &export, &in_sql_env);
        assert_quiet(&dir, &import, &in_sql_env);
    }
    // A Redis URL with a password that cannot be reached: the error names no password.
    let db = dir.sqlite_url();
    assert_quiet(
        &dir,
        &["serve", "--bind", "127.0.0.1:0", "--database-url", &db],
        &[],
    );
    // A token signed with the secret is printed, never the secret.
    assert_quiet(&dir, &["token", "--sub", "alice", "--tenant", "acme"], &[]);
}

#[test]
fn a_running_demo_prints_no_password_from_its_url() {
    // The local PostgreSQL trusts loopback connections, so a URL with a password connects and
    // the demo starts: its banner and logs show the URL without the password.
    let pg = postgres_url();
    let with_password = pg.replacen("postgres@", &format!("postgres:{SECRET}@"), 1);
    let dir = TempDir::new();
    let (out_path, err_path) = (dir.0.join("out"), dir.0.join("err"));
    let mut child = tenantry(&["serve", "--bind", "127.0.0.1:0", "--no-rate-limit"])
        .env("TENANTRY_DATABASE_URL", &with_password)
        .env("RUST_LOG", "debug")
        .stdin(std::process::Stdio::null())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    let banner = loop {
        let out = std::fs::read_to_string(&out_path).unwrap();
        if out.contains("  curl") {
            break out;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "serve exited: {}",
            std::fs::read_to_string(&err_path).unwrap()
        );
        assert!(started.elapsed().as_secs() < 60, "no banner: {out}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let _ = child.kill();
    let _ = child.wait();
    let err = std::fs::read_to_string(&err_path).unwrap();
    assert!(banner.contains("postgres:***@"), "{banner}");
    assert!(!banner.contains(SECRET), "{banner}");
    assert!(!err.contains(SECRET), "{err}");
}
