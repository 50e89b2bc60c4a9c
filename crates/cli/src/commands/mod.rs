//! One module per command. Each takes its parsed arguments and the global options.
mod analysis;
mod demo;
mod export;
mod import;
mod partition;
mod report;
mod serve;
mod site;
mod stats;
mod synth;
mod user;

use crate::config::{Cli, Command};
use crate::error::Result;

pub async fn run(cli: Cli) -> Result<()> {
    let g = &cli.global;
    match cli.command {
        Command::Import(a) => import::run(g, a).await,
        Command::Export(a) => export::run(g, a).await,
        Command::Coverage(a) => analysis::coverage(g, a).await,
        Command::Gaps(a) => analysis::gaps(g, a).await,
        Command::Isochrone(a) => analysis::isochrone(g, a).await,
        Command::Site(a) => site::run(g, a).await,
        Command::Access(a) => site::access(g, a).await,
        Command::Report(c) => report::run(g, c).await,
        Command::Partition(a) => partition::partition(g, a).await,
        Command::Rebalance(a) => partition::rebalance(g, a).await,
        Command::Validate(a) => partition::validate(g, a).await,
        Command::Serve(a) => serve::run(g, a).await,
        Command::Demo(a) => demo::run(g, a).await,
        Command::Synth(a) => synth::run(g, a).await,
        Command::Stats => stats::run(g).await,
        Command::User(c) => user::run(g, c).await,
    }
}

/// Opens the store named by `--db`, running migrations.
pub async fn open_store(
    g: &crate::config::Global,
) -> Result<std::sync::Arc<dyn gridmap_store::Store>> {
    Ok(gridmap_store::open(&g.db).await?)
}

/// Parses a `--crs` value.
pub fn parse_crs(s: &str) -> Result<gridmap_model::crs::Crs> {
    s.parse()
        .map_err(|e| crate::error::CliError::usage("--crs", e))
}
