//! One module per verb.

mod migrate;
mod migrate_progress;
mod serve;
mod sql;
mod tenants;
mod token;

use std::process::ExitCode;

use crate::cli::Command;

/// Exit status 2: the command line is wrong (clap uses the same code).
pub(crate) const USAGE: u8 = 2;

pub(crate) async fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Serve(args) => serve::run(args).await,
        Command::Token(args) => token::run(&args),
        Command::Sql(command) => sql::run(command).await,
        Command::Tenants(command) => tenants::run(command).await,
        Command::Migrate(args) => migrate::run(args).await,
    }
}
