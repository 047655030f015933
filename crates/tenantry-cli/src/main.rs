//! The `tenantry` command.

mod cli;
mod commands;
mod database;
mod demo;
mod limits;
mod logformat;
mod logwriter;
mod metrics;
mod observe;
mod reporter;
mod server;

use std::{io::IsTerminal as _, process::ExitCode};

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let log = logging(&cli.command);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(commands::run(cli.command));
    if let Some(log) = &log {
        log.flush(); // log lines first, then the error (if any) after them
    }
    // Nothing left running is waited for: a blocking open of a FIFO without a reader (an
    // interrupted export) must not keep the process alive.
    runtime.shutdown_background();
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", render(&e));
            if e.downcast_ref::<database::BadUrl>().is_some() {
                ExitCode::from(commands::USAGE)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

/// The error and its causes on one line, each cause once: drivers often repeat their source in
/// their own message, which `{:#}` would print two or three times.
fn render(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = database::one_line(cause);
        if text.is_empty() || out.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}

/// Logs on stderr. `serve` shows its start-up, request and shutdown lines by default (buffered,
/// see `logwriter`, so a request never waits on the terminal); other commands only warnings.
/// Operators run `sql` commands on purpose: the library's audit line for cross-tenant access
/// (target tenantry::admin) is for services, not for the CLI's own stderr.
fn logging(command: &cli::Command) -> Option<logwriter::LogGuard> {
    use tracing_subscriber::EnvFilter;

    let serve = match command {
        cli::Command::Serve(args) => Some(args.log_format),
        _ => None,
    };
    let default = if serve.is_some() {
        "warn,tenantry::serve=info,tenantry::request=info,tenantry::admin=error"
    } else {
        "warn,tenantry::admin=error"
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let ansi = std::io::stderr().is_terminal();
    match serve {
        None => {
            tracing_subscriber::fmt()
                .with_writer(std::io::stderr)
                .with_ansi(ansi)
                .with_env_filter(filter)
                .init();
            None
        }
        Some(format) => {
            let (writer, guard) = logwriter::Batched::start();
            let builder = tracing_subscriber::fmt()
                .with_writer(writer)
                .with_env_filter(filter);
            match format {
                cli::LogFormat::Text => builder
                    .with_ansi(ansi)
                    .event_format(logformat::TextFormat::default())
                    .init(),
                cli::LogFormat::Json => builder.json().flatten_event(true).init(),
            }
            Some(guard)
        }
    }
}
