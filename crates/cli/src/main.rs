//! `gridmap`: grid mapping and 15-minute coverage analysis for community planners.
//!
//! Config is parsed once here ([`config::Cli`]: flags and `GRIDMAP_*` environment variables),
//! tracing is set up once, then one command runs. Commands live one per module in
//! [`commands`]; each returns a [`error::CliError`] that names what went wrong.
#![forbid(unsafe_code)]
// A command-line tool answers on stdout and reports on stderr.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod commands;
mod config;
mod error;
mod output;
mod progress;

use clap::Parser;
use std::process::ExitCode;

/// mimalloc instead of glibc malloc: the server's snapshot rebuilds and parallel requests
/// fragment glibc's per-thread arenas (RSS grew without bound in the soak test).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = config::Cli::parse();
    config::init_tracing(&cli.global);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            let mut src = std::error::Error::source(&e);
            while let Some(s) = src {
                eprintln!("  caused by: {s}");
                src = s.source();
            }
            ExitCode::from(e.exit_code())
        }
    }
}
