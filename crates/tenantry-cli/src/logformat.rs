//! The text format of `tenantry serve`'s log: tracing-subscriber's default (`Full`) format, with
//! the request line (target `tenantry::request`, one per request) written by hand.
//!
//! The line reads exactly as the default format writes it:
//!
//! ```text
//! 2026-12-01T19:44:25.150249Z  INFO tenantry::request: request method="GET" path="/x" status=200
//! ```
//!
//! but without going through `core::fmt` for every piece (the level's padding, each field's
//! name, `=` and value, the timestamp's nine numbers): that machinery cost about 8,000
//! instructions of the line's 10,800, as much as a seventh of a whole GET on SQLite
//! (`bench/observe_probe.sh`). Here the timestamp's date and time are formatted once per
//! second per thread, strings and integers are copied, and only what the fast path does not
//! know (a `Debug` value, a float, a string needing escapes) goes through `core::fmt`. Any
//! other event, and a request line inside a span or with colours on, goes to the default format.

use std::{
    cell::RefCell,
    fmt::{self, Write as _},
    time::{SystemTime, UNIX_EPOCH},
};

use tracing::{Event, Level, Subscriber, field::Field};
use tracing_subscriber::{
    field::Visit,
    fmt::{
        FmtContext, FormatEvent, FormatFields,
        format::{Format, Full, Writer},
        time::SystemTime as Timer,
    },
    registry::LookupSpan,
};

/// The target of the request line (`observe`).
pub(crate) const REQUEST_TARGET: &str = "tenantry::request";

/// The default format, with the request line written by hand.
#[derive(Debug, Default)]
pub(crate) struct TextFormat {
    full: Format<Full, Timer>,
}

impl<S, N> FormatEvent<S, N> for TextFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let meta = event.metadata();
        if meta.target() != REQUEST_TARGET
            || writer.has_ansi_escapes()
            || ctx.event_scope().is_some()
        {
            return self.full.format_event(ctx, writer, event);
        }
        LINE.with_borrow_mut(|line| {
            line.clear();
            write_timestamp(line);
            line.push(' ');
            line.push_str(level(meta.level()));
            line.push(' ');
            line.push_str(meta.target());
            line.push_str(": ");
            let mut fields = Fields {
                line,
                first: true,
                result: Ok(()),
            };
            event.record(&mut fields);
            fields.result?;
            line.push('\n');
            writer.write_str(line)
        })
    }
}

thread_local! {
    /// The line being written, reused (one copy into the writer's buffer at the end, instead of
    /// a call through `dyn Write` for each piece).
    static LINE: RefCell<String> = const { RefCell::new(String::new()) };
}

/// The level as the default format pads it (`{:>5}`).
fn level(level: &Level) -> &'static str {
    match *level {
        Level::ERROR => "ERROR",
        Level::WARN => " WARN",
        Level::INFO => " INFO",
        Level::DEBUG => "DEBUG",
        Level::TRACE => "TRACE",
    }
}

thread_local! {
    /// The last second formatted on this thread, and its text (`2026-12-01T19:44:25`).
    static SECOND: RefCell<(u64, String)> = const { RefCell::new((u64::MAX, String::new())) };
}

/// `2026-12-01T19:44:25.150249Z`, as tracing-subscriber's `SystemTime` timer writes it.
fn write_timestamp(line: &mut String) {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let secs = now.as_secs();
    SECOND.with_borrow_mut(|(second, text)| {
        if *second != secs {
            text.clear();
            let at = i64::try_from(secs)
                .ok()
                .and_then(|s| chrono::DateTime::from_timestamp(s, 0))
                .unwrap_or_default();
            // Writing into a String cannot fail.
            let _ = write!(text, "{}", at.format("%Y-%m-%dT%H:%M:%S"));
            *second = secs;
        }
        line.push_str(text);
    });
    line.push('.');
    push_padded(line, u64::from(now.subsec_micros()), 6);
    line.push('Z');
}

/// The last `width` decimal digits of `n`, zeros in front (`width` at most 6).
fn push_padded(line: &mut String, mut n: u64, width: usize) {
    let mut digits = [b'0'; 6];
    for d in digits[..width].iter_mut().rev() {
        *d = b'0' + (n % 10) as u8;
        n /= 10;
    }
    line.extend(digits[..width].iter().map(|&d| char::from(d)));
}

/// Writes an event's fields as the default format's visitor does: the message bare, then
/// `name=value`, strings quoted, separated by spaces.
struct Fields<'l> {
    line: &'l mut String,
    first: bool,
    result: fmt::Result,
}

impl Fields<'_> {
    /// The separator and `name=` (nothing for the message). `false` after an error.
    fn start(&mut self, field: &Field) -> bool {
        if self.result.is_err() {
            return false;
        }
        if !std::mem::take(&mut self.first) {
            self.line.push(' ');
        }
        let name = field.name();
        if name != "message" {
            self.line.push_str(name.strip_prefix("r#").unwrap_or(name));
            self.line.push('=');
        }
        true
    }
}

/// A string that `Debug` would write as it is between quotes: printable ASCII, no `"` or `\`.
/// Eight bytes at a time: the request line's strings are paths and names.
fn plain(s: &str) -> bool {
    const LOW: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // Not zero if a byte of `x` equals `b`, zero otherwise (a zero byte of `x ^ b..b`).
    let has = |x: u64, b: u8| {
        let v = x ^ (LOW * u64::from(b));
        v.wrapping_sub(LOW) & !v & HIGH
    };
    // Under 0x20 (`x - 0x20` borrows into the high bit), 0x80 and over, 0x7f, `"`, `\`.
    let refused = |x: u64| {
        let below = x.wrapping_sub(LOW * 0x20) & !x & HIGH;
        below | (x & HIGH) | has(x, 0x7f) | has(x, b'"') | has(x, b'\\') != 0
    };
    let mut chunks = s.as_bytes().chunks_exact(8);
    for chunk in &mut chunks {
        if refused(u64::from_le_bytes(chunk.try_into().unwrap_or_default())) {
            return false;
        }
    }
    // The last bytes, padded with a plain one.
    let mut last = [b'a'; 8];
    let rest = chunks.remainder();
    last[..rest.len()].copy_from_slice(rest);
    !refused(u64::from_le_bytes(last))
}

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if !plain(value) {
            return if field.name() == "message" {
                self.record_debug(field, &format_args!("{value}"))
            } else {
                self.record_debug(field, &value)
            };
        }
        if self.start(field) {
            // The message bare, other strings quoted (a plain string needs no escapes either way).
            if field.name() == "message" {
                self.line.push_str(value);
            } else {
                self.line.push('"');
                self.line.push_str(value);
                self.line.push('"');
            }
        }
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        if self.start(field) {
            self.line.push_str(itoa::Buffer::new().format(value));
        }
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        if self.start(field) {
            self.line.push_str(itoa::Buffer::new().format(value));
        }
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        // The request line's latency is whole microseconds in milliseconds (`0.532`): its
        // shortest form is those digits, which `Debug` would find the long way.
        if !(0.0..1e12).contains(&value) {
            return self.record_debug(field, &value);
        }
        // In range: the conversion is exact, and `k` is `value` in thousandths if any is.
        let k = (value * 1000.0 + 0.5) as u64;
        if k as f64 / 1000.0 != value {
            return self.record_debug(field, &value);
        }
        if self.start(field) {
            self.line.push_str(itoa::Buffer::new().format(k / 1000));
            self.line.push('.');
            // `Debug`'s shortest form: no trailing zeros, but one digit at least (`12.0`).
            let (mut frac, mut width) = (k % 1000, 3);
            while width > 1 && frac % 10 == 0 {
                frac /= 10;
                width -= 1;
            }
            push_padded(self.line, frac, width);
        }
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        if self.start(field) {
            self.line.push_str(if value { "true" } else { "false" });
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if !self.start(field) {
            return;
        }
        let from = self.line.len();
        self.result = write!(self.line, "{value:?}");
        // As the default format does for the message: no terminal escape sequence gets through.
        if field.name() == "message" && self.line[from..].chars().any(escaped) {
            let written = self.line.split_off(from);
            for ch in written.chars() {
                match ch {
                    '\x1b' => self.line.push_str("\\x1b"),
                    '\x07' => self.line.push_str("\\x07"),
                    '\x08' => self.line.push_str("\\x08"),
                    '\x0c' => self.line.push_str("\\x0c"),
                    '\x7f' => self.line.push_str("\\x7f"),
                    ch if escaped(ch) => {
                        let _ = write!(self.line, "\\u{{{:x}}}", ch as u32);
                    }
                    ch => self.line.push(ch),
                }
            }
        }
    }
}

/// The characters tracing-subscriber writes as text in a message (`\x1b`, `\x07`, `\x08`,
/// `\x0c`, `\x7f` and the C1 controls, these as `\u{..}`).
fn escaped(ch: char) -> bool {
    matches!(
        ch,
        '\x1b' | '\x07' | '\x08' | '\x0c' | '\x7f' | '\u{80}'..='\u{9f}'
    )
}

#[cfg(test)]
mod tests {
    use std::{
        io,
        sync::{Arc, Mutex},
    };

    use tracing_subscriber::fmt::MakeWriter;

    use super::*;

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Captured {
        type Writer = Self;
        fn make_writer(&'a self) -> Self {
            self.clone()
        }
    }

    /// What `emit` logs through `TextFormat` and through the default format, timestamps cut.
    fn both(emit: impl Fn()) -> (String, String) {
        let run = |fast: bool| {
            let out = Captured::default();
            let builder = tracing_subscriber::fmt()
                .with_writer(out.clone())
                .with_ansi(false);
            let dispatch = if fast {
                tracing::Dispatch::new(builder.event_format(TextFormat::default()).finish())
            } else {
                tracing::Dispatch::new(builder.finish())
            };
            tracing::dispatcher::with_default(&dispatch, &emit);
            let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
            text.lines()
                .map(|l| {
                    let (stamp, rest) = l.split_once(' ').unwrap();
                    assert_eq!(stamp.len(), "2026-12-01T19:44:25.150249Z".len(), "{l}");
                    assert!(stamp.ends_with('Z') && stamp.as_bytes()[19] == b'.', "{l}");
                    format!("{rest}\n")
                })
                .collect::<String>()
        };
        (run(true), run(false))
    }

    #[test]
    fn the_request_line_reads_as_the_default_format_writes_it() {
        let (fast, default) = both(|| {
            let tenant: Option<&str> = Some("acme");
            let code: Option<&str> = None;
            tracing::info!(
                target: "tenantry::request",
                message = "request",
                method = "GET",
                path = "/api/v1/items/1",
                route = Some("/api/v1/items/{id}"),
                status = 200_u16,
                latency_ms = 0.532,
                whole = 12.0,
                tenths = 1.5,
                hundredths = 1234.56,
                thousandth = 0.001,
                zero = 0.0,
                long = 0.1234,
                big = 1e20,
                negative_float = -2.5,
                tenant,
                resolved_by = Some("header"),
                code,
            );
            tracing::info!(
                target: "tenantry::request",
                path = "/with \"quotes\" and \u{1b}[31m escape",
                negative = -3_i64,
                ok = true,
                "request \u{1b}[2J \u{9b}31m \u{7}"
            );
            tracing::info!(target: "tenantry::serve", addr = "127.0.0.1:8080", "listening");
            let span = tracing::info_span!("outer", id = 1);
            let _entered = span.enter();
            tracing::info!(target: "tenantry::request", status = 404_u16, "request");
        });
        assert_eq!(fast, default);
        assert!(
            fast.starts_with(
                " INFO tenantry::request: request method=\"GET\" path=\"/api/v1/items/1\" \
                 route=\"/api/v1/items/{id}\" status=200 latency_ms=0.532 whole=12.0 \
                 tenths=1.5 hundredths=1234.56 thousandth=0.001 zero=0.0 long=0.1234 big=1e20 \
                 negative_float=-2.5 tenant=\"acme\" resolved_by=\"header\"\n"
            ),
            "{fast}"
        );
    }

    #[test]
    fn plain_agrees_with_the_byte_by_byte_rule() {
        let naive = |s: &str| {
            s.bytes()
                .all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\')
        };
        for len in [1, 7, 8, 9, 15, 16, 17, 24] {
            for at in 0..len {
                for b in 0..=0x7f_u8 {
                    let mut bytes = vec![b'a'; len];
                    bytes[at] = b;
                    let s = std::str::from_utf8(&bytes).unwrap();
                    assert_eq!(plain(s), naive(s), "{s:?}");
                }
            }
        }
        for s in [
            "",
            "/api/v1/items/{id}",
            "caf\u{e9} au lait",
            "\u{1b}[31m in the middle",
        ] {
            assert_eq!(plain(s), naive(s), "{s:?}");
        }
    }

    #[test]
    fn the_timestamp_is_the_default_timers() {
        let out = Captured::default();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(out.clone())
            .with_ansi(false)
            .event_format(TextFormat::default())
            .finish();
        let before = chrono::Utc::now();
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(target: "tenantry::request", "request");
        });
        let after = chrono::Utc::now();
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        let stamp = text.split(' ').next().unwrap();
        let at = chrono::DateTime::parse_from_rfc3339(stamp).unwrap();
        assert!(before.timestamp_micros() <= at.timestamp_micros());
        assert!(at.timestamp_micros() <= after.timestamp_micros(), "{stamp}");
    }
}
