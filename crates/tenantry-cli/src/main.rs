//! The `tenantry` command.

mod cli;
mod commands;
mod database;
mod demo;
mod limits;
mod reporter;
mod server;

use std::{io::IsTerminal as _, process::ExitCode};

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    // Operators run `sql` commands on purpose: the library's audit line for cross-tenant access
    // (target tenantry::admin) is for services, not for the CLI's own stderr.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
                tracing_subscriber::EnvFilter::new("warn,tenantry::admin=error")
            }),
        )
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(commands::run(cli.command));
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
