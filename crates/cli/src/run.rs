//! `bucketwatch run`: arguments, logging and signals for the service. The service itself is
//! `bucketwatch_pipeline::service`.

use std::path::PathBuf;
use std::sync::Arc;

use bucketwatch_pipeline::service::{AlertState, Metrics, Service, ServiceConfig};
use clap::Args;
use tokio::sync::watch;

use crate::lake::DataDirArgs;

#[derive(Args)]
pub struct RunArgs {
    /// The service configuration (sources, destinations, upkeep); see --help for its shape.
    #[arg(long, value_name = "FILE", default_value = "bucketwatch.toml")]
    config: PathBuf,

    #[command(flatten)]
    data: DataDirArgs,

    /// Check the configuration and the content, print what would run, and exit.
    #[arg(long)]
    check: bool,
}

pub fn run(args: RunArgs) -> anyhow::Result<u8> {
    init_logging();
    let config = ServiceConfig::load(&args.config)?;
    for dir in &config.content {
        if !dir.is_dir() {
            anyhow::bail!(
                "{}: content directory not found; fix `content` in {}",
                dir.display(),
                args.config.display()
            );
        }
    }
    let data = DataDirArgs {
        data_dir: args
            .data
            .data_dir
            .clone()
            .or_else(|| config.data_dir.clone()),
    };
    let lake_location = data.lake_location()?;
    let alerts = match (&config.alerts.dynamodb_table, &config.alerts.sqlite_path) {
        (Some(table), _) => AlertState::DynamoDb {
            table: table.clone(),
        },
        (None, Some(path)) => AlertState::Sqlite(path.clone()),
        (None, None) => AlertState::Sqlite(data.state_dir()?.join("alerts.db")),
    };
    if args.check {
        println!("configuration {}: ok", args.config.display());
        println!("lake: {lake_location}");
        println!("alert store: {alerts}");
        for s in &config.sources {
            println!("source {} ({})", s.id, s.kind.as_str());
        }
        for d in &config.delivery.destinations {
            println!("destination {} ({})", d.id, d.kind.as_str());
        }
        return Ok(0);
    }
    let runtime = Arc::new(crate::runtime::runtime()?);
    let (stop, shutdown) = watch::channel(false);
    runtime.spawn(async move {
        wait_for_signal().await;
        tracing::info!(
            "stopping: finishing the batch in progress (send the signal again to force)"
        );
        let _ = stop.send(true);
        wait_for_signal().await;
        tracing::warn!("second signal: exiting now; unacknowledged messages come back");
        std::process::exit(130);
    });
    let service = Service {
        config,
        lake_location,
        alerts,
    };
    let report = service.run(&runtime, shutdown, Arc::new(Metrics::new()))?;
    tracing::info!(
        "stopped after {} batches: {} objects, {} records, {} alerts created",
        report.batches,
        report.objects,
        report.records,
        report.alerts_created
    );
    Ok(0)
}

async fn wait_for_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate => {}
    }
}

/// Log lines to stderr: bucketwatch's at info, its libraries' warnings; `RUST_LOG` (e.g.
/// `bucketwatch_pipeline=debug`) chooses otherwise.
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new("warn,bucketwatch=info,bucketwatch_pipeline=info")
    });
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}
