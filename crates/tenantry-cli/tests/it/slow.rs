//! Slow and hostile clients against `tenantry serve`: none of them holds a connection (or the
//! memory behind it) beyond the configured limits, and other clients are served meanwhile.

use std::{
    io::{Read, Write},
    net::TcpStream,
    time::{Duration, Instant},
};

use crate::support::{Server, TempDir, addr, get, read_until_closed};

#[tokio::test]
async fn headers_one_byte_at_a_time_are_cut_off_at_the_header_timeout() {
    let dir = TempDir::new();
    let server = Server::start(&dir.sqlite_url(), &["--header-timeout", "1"], &[]);
    let mut slow = TcpStream::connect(addr(&server)).unwrap();
    let started = Instant::now();
    let head = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Padding: aaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
    let mut cut_off = None;
    for byte in head {
        if slow.write_all(&[*byte]).is_err() {
            cut_off = Some(started.elapsed());
            break;
        }
        // Meanwhile the server answers everyone else.
        if started.elapsed() < Duration::from_millis(600) {
            let health = get(&server.url("/healthz"), None, &[]).await;
            assert_eq!(health.status, 200);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let closed = match cut_off {
        Some(at) => at,
        None => {
            // Every byte went out before the server noticed: it must close now, unanswered.
            let got = read_until_closed(&mut slow, Duration::from_secs(3))
                .expect("the server kept the slow connection open");
            assert!(got.is_empty(), "a slow head was answered: {got:?}");
            started.elapsed()
        }
    };
    assert!(
        closed < Duration::from_secs(4),
        "the slow head was cut off only after {closed:?}"
    );
    assert!(
        closed >= Duration::from_millis(900),
        "cut off before the timeout: {closed:?}"
    );
}

#[tokio::test]
async fn a_client_that_never_reads_is_dropped_at_the_write_timeout() {
    let dir = TempDir::new();
    let server = Server::start(&dir.sqlite_url(), &["--write-timeout", "1"], &[]);
    // A small receive window, so the server's writes block soon.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let stream = socket
        .connect(addr(&server).parse().unwrap())
        .await
        .unwrap();
    let mut stream = stream.into_std().unwrap();
    stream.set_nonblocking(false).unwrap();
    // Pipelined requests for a sizeable answer, written from a thread until the server stops
    // reading them; never a byte read back.
    let mut writer = stream.try_clone().unwrap();
    let requests = std::thread::spawn(move || {
        writer
            .set_write_timeout(Some(Duration::from_millis(500)))
            .unwrap();
        let request = b"GET /openapi.json HTTP/1.1\r\nHost: x\r\n\r\n";
        let mut sent = 0usize;
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(4) && writer.write_all(request).is_ok() {
            sent += 1;
        }
        sent
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let health = get(&server.url("/healthz"), None, &[]).await;
    assert_eq!(health.status, 200, "other clients are served meanwhile");
    let sent = tokio::task::spawn_blocking(move || requests.join().unwrap())
        .await
        .unwrap();
    // Still not reading, past the write timeout: the server gives up on us. What it had
    // written is there to read, then the end.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let got = tokio::task::spawn_blocking(move || {
        read_until_closed(&mut stream, Duration::from_secs(10))
    })
    .await
    .unwrap()
    .expect("the server kept a connection that never reads");
    let answered = got.windows(12).filter(|w| w == b"HTTP/1.1 200").count();
    assert!(
        answered < sent,
        "all {sent} pipelined requests were answered ({answered})"
    );
    let health = get(&server.url("/healthz"), None, &[]).await;
    assert_eq!(health.status, 200);
}

#[tokio::test]
async fn bodies_over_the_limit_are_refused_before_they_are_read() {
    let dir = TempDir::new();
    let server = Server::start(&dir.sqlite_url(), &["--body-limit", "1000"], &[]);
    let mut stream = TcpStream::connect(addr(&server)).unwrap();
    // Says 10 MB, sends none of it: the answer comes at once.
    stream
        .write_all(
            b"POST /api/v1/items HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
              Content-Length: 10000000\r\n\r\n",
        )
        .unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut buf = [0u8; 1024];
    let n = stream.read(&mut buf).unwrap();
    let head = String::from_utf8_lossy(&buf[..n]);
    assert!(head.starts_with("HTTP/1.1 413"), "{head}");
    // Within the limit, the request goes on to the service (here: refused for no tenant).
    let small = reqwest::Client::new()
        .post(server.url("/api/v1/items"))
        .header("content-type", "application/json")
        .body(vec![b' '; 900])
        .send()
        .await
        .unwrap();
    assert_eq!(small.status(), 401);
}

#[tokio::test]
async fn a_body_that_stalls_is_answered_408_at_the_request_timeout() {
    let dir = TempDir::new();
    let server = Server::start(
        &dir.sqlite_url(),
        &["--request-timeout", "1", "--trust-tenant-header"],
        &[],
    );
    let mut stream = TcpStream::connect(addr(&server)).unwrap();
    let started = Instant::now();
    stream
        .write_all(
            b"POST /api/v1/items HTTP/1.1\r\nHost: x\r\nX-Tenant-Id: acme\r\n\
              Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"name\":",
        )
        .unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut buf = [0u8; 1024];
    let n = stream.read(&mut buf).unwrap();
    let head = String::from_utf8_lossy(&buf[..n]);
    assert!(head.starts_with("HTTP/1.1 408"), "{head}");
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(4),
        "{took:?}"
    );
}
