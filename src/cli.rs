//! The `hutong` command line.

use crate::api::connections::ConnectionLimits;
use crate::app::{self, Application, Settings};
use crate::domain::{District, Role};
use crate::sample_data::generate::CityGenerator;
use crate::services::complaint_import::ImportFormat;
use crate::services::registry::Registry;
use crate::services::tokens::Tokens;
use crate::spatial::{GeometryLimits, LonLatBox};
use crate::store;
use clap::{Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::sync::Arc;

const DEFAULT_DB: &str = "sqlite://hutong.db";

#[derive(Debug, Parser)]
#[command(
    name = "hutong",
    version,
    about = "Geospatial service for hutong renovation"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// The service area, minlon,minlat,maxlon,maxlat (WGS 84): assets and
    /// complaints outside it are refused, by the server and by imports
    /// alike. Default: Beijing.
    #[arg(long, global = true, env = "HUTONG_SERVICE_AREA", value_parser = LonLatBox::parse)]
    pub service_area: Option<LonLatBox>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP service.
    Serve {
        /// Database URL.
        #[arg(long, env = "HUTONG_DB", default_value = DEFAULT_DB)]
        db: String,
        /// Address to listen on.
        #[arg(long, env = "HUTONG_LISTEN", default_value = "127.0.0.1:8080")]
        listen: String,
        /// Load the bundled demo data into an empty database.
        #[arg(long)]
        demo: bool,
        /// Make OGC API item writes (PUT, PATCH, DELETE) require If-Match.
        #[arg(long, env = "HUTONG_REQUIRE_IF_MATCH")]
        require_if_match: bool,
        /// How long a filtered or sorted read may run before it is refused
        /// with 422, milliseconds.
        #[arg(long, env = "HUTONG_SCAN_BUDGET_MS",
              default_value_t = crate::services::query_budget::DEFAULT_SCAN_BUDGET.as_millis() as u64,
              value_parser = clap::value_parser!(u64).range(10..=600_000))]
        scan_budget_ms: u64,
        /// The address clients use, such as https://map.example.gov.cn:
        /// links are built from it and requests for another Host get 421.
        /// Default: the listening address (required when listening on
        /// every interface).
        #[arg(long, env = "HUTONG_PUBLIC_URL")]
        public_url: Option<String>,
        /// An origin trusted with writes and tokens from browsers (may be
        /// repeated; anonymous reads are open to every origin).
        #[arg(
            long = "cors-origin",
            env = "HUTONG_CORS_ORIGINS",
            value_delimiter = ','
        )]
        cors_origins: Vec<String>,
        /// Most connections served at once.
        #[arg(long, env = "HUTONG_MAX_CONNECTIONS",
              default_value_t = ConnectionLimits::DEFAULT.max_connections as u64,
              value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
        max_connections: u64,
        /// Most connections from one address at once.
        #[arg(long, env = "HUTONG_MAX_CONNECTIONS_PER_PEER",
              default_value_t = ConnectionLimits::DEFAULT.max_per_peer as u64,
              value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
        max_connections_per_peer: u64,
        /// Seconds a client has to send a request's headers (also how long
        /// an idle keep-alive connection stays open).
        #[arg(long, env = "HUTONG_HEADER_TIMEOUT_S",
              default_value_t = ConnectionLimits::DEFAULT.header_read.as_secs(),
              value_parser = clap::value_parser!(u64).range(1..=3_600))]
        header_timeout_s: u64,
        /// Seconds within which a request's body must arrive (else 408);
        /// also how long a response may go without progress.
        #[arg(long, env = "HUTONG_REQUEST_TIMEOUT_S",
              default_value_t = ConnectionLimits::DEFAULT.request.as_secs(),
              value_parser = clap::value_parser!(u64).range(1..=3_600))]
        request_timeout_s: u64,
        /// Seconds after which a connection is closed (after its current
        /// response).
        #[arg(long, env = "HUTONG_CONNECTION_MAX_AGE_S",
              default_value_t = ConnectionLimits::DEFAULT.max_age.as_secs(),
              value_parser = clap::value_parser!(u64).range(1..=86_400))]
        connection_max_age_s: u64,
    },
    /// Import assets from a GeoJSON FeatureCollection, all or nothing; or
    /// a GeoPackage (FILE.gpkg, as `export --format gpkg` writes it):
    /// assets all or nothing (known ids replaced when changed), new
    /// surveys recorded with a report of the rows refused.
    Import {
        file: PathBuf,
        #[arg(long, env = "HUTONG_DB", default_value = DEFAULT_DB)]
        db: String,
    },
    /// Import administrative areas (districts, streets, communities) from
    /// a GeoJSON FeatureCollection: all or nothing; an area with a known
    /// code is replaced.
    ImportAreas {
        file: PathBuf,
        #[arg(long, env = "HUTONG_DB", default_value = DEFAULT_DB)]
        db: String,
    },
    /// Import 12345 hotline cases from CSV or JSON Lines (streamed;
    /// idempotent on case number; rejected rows reported by line).
    ImportComplaints {
        file: PathBuf,
        /// csv or jsonl (default: from the file name).
        #[arg(long)]
        format: Option<ImportFormat>,
        #[arg(long, env = "HUTONG_DB", default_value = DEFAULT_DB)]
        db: String,
    },
    /// Export complaints as JSON Lines (the columns of import-complaints).
    /// Callers' names and phones only with an operator or admin token.
    ExportComplaints {
        /// Output file (default: standard output).
        #[arg(long)]
        out: Option<PathBuf>,
        /// An operator or admin token, to include personal data.
        #[arg(long, env = "HUTONG_TOKEN")]
        token: Option<String>,
        #[arg(long, env = "HUTONG_DB", default_value = DEFAULT_DB)]
        db: String,
    },
    /// Export every asset.
    Export {
        #[arg(long, value_enum, default_value = "geojson")]
        format: ExportFormat,
        /// Output file (default: standard output).
        #[arg(long)]
        out: Option<PathBuf>,
        #[arg(long, env = "HUTONG_DB", default_value = DEFAULT_DB)]
        db: String,
    },
    /// Copy a whole database into a new, empty one (e.g. the embedded
    /// SQLite file into PostgreSQL), ids and all, then compare every
    /// table's row count and checksum on both sides. Stop the servers
    /// writing to the source first.
    MigrateStore {
        /// The database to copy (e.g. sqlite://hutong.db).
        #[arg(long)]
        from: String,
        /// The empty database to fill (e.g. postgres://user@host/hutong).
        #[arg(long)]
        to: String,
    },
    /// Manage API tokens.
    Token {
        #[command(subcommand)]
        action: TokenAction,
    },
    /// Write deterministic city-scale assets as GeoJSON, for benchmarks.
    Generate {
        #[arg(long)]
        assets: u64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Only point assets (drainage, lights, chargers).
        #[arg(long)]
        points_only: bool,
        /// Also write this many hotline cases as JSON Lines to `--complaints-out`.
        #[arg(long, default_value_t = 0)]
        complaints: u64,
        #[arg(long)]
        complaints_out: Option<PathBuf>,
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ExportFormat {
    Geojson,
    /// A GeoPackage: one layer per asset kind, and the surveys (needs
    /// --out).
    Gpkg,
}

#[derive(Debug, Subcommand)]
pub enum TokenAction {
    /// Create a token; it is printed once, as the last line.
    Create {
        #[arg(long)]
        role: Role,
        /// Limit the token to one district.
        #[arg(long)]
        district: Option<District>,
        /// The responsible unit a `unit` token acts for (required with
        /// `--role unit`, refused otherwise).
        #[arg(long)]
        unit: Option<crate::domain::UnitCode>,
        /// The maintenance crew a `crew` token is (its unit comes from
        /// config/responsible-units.json).
        #[arg(long)]
        crew: Option<crate::domain::UnitCode>,
        /// When the token stops working: a time (RFC 3339) or a span from
        /// now (`90d`, `12h`, `30m`).
        #[arg(long, value_parser = parse_expiry)]
        expires: Option<time::OffsetDateTime>,
        /// A note on whom the token is for.
        #[arg(long)]
        label: Option<String>,
        #[arg(long, env = "HUTONG_DB", default_value = DEFAULT_DB)]
        db: String,
    },
    /// Revoke a token by its id: it stops working at once on this
    /// database's instances (within 30 s on those that read it before).
    Revoke {
        #[arg(long)]
        id: i64,
        #[arg(long, env = "HUTONG_DB", default_value = DEFAULT_DB)]
        db: String,
    },
    /// List the tokens (never their secrets), newest first.
    List {
        #[arg(long, env = "HUTONG_DB", default_value = DEFAULT_DB)]
        db: String,
    },
}

/// A token's expiry: an RFC 3339 time, or a span from now (`90d`, `12h`,
/// `30m`).
fn parse_expiry(text: &str) -> Result<time::OffsetDateTime, String> {
    let now = time::OffsetDateTime::now_utc();
    if let Some(at) = crate::domain::parse_utc(text) {
        return Ok(at);
    }
    let (number, unit) = text.split_at(text.len().saturating_sub(1));
    let n: i64 = number
        .parse()
        .ok()
        .filter(|n| (1..=100_000).contains(n))
        .ok_or_else(|| {
            format!("{text:?} is neither an RFC 3339 time nor a span like 90d, 12h or 30m")
        })?;
    let span = match unit {
        "d" => time::Duration::days(n),
        "h" => time::Duration::hours(n),
        "m" => time::Duration::minutes(n),
        _ => return Err(format!("{text:?}: a span ends in d, h or m")),
    };
    Ok(now + span)
}

async fn token_command(action: TokenAction) -> Result<(), CliError> {
    let open = |db: String| async move {
        store::open(&db)
            .await
            .map(Tokens::new)
            .map_err(|e| fail("cannot open the database")(&e))
    };
    match action {
        TokenAction::Create {
            role,
            district,
            mut unit,
            crew,
            expires,
            label,
            db,
        } => {
            let units = crate::services::routing::ResponsibleUnits::builtin().map_err(CliError)?;
            if let Some(code) = &crew {
                let owner = units.unit_of_crew(code).ok_or_else(|| {
                    CliError(format!(
                        "unknown crew {code}; the crews are listed in config/responsible-units.json"
                    ))
                })?;
                if unit.as_ref().is_some_and(|u| u != &owner.code) {
                    return Err(CliError(format!(
                        "crew {code} belongs to unit {}, not {}",
                        owner.code,
                        unit.as_ref().map(|u| u.as_str()).unwrap_or_default()
                    )));
                }
                unit = Some(owner.code.clone());
            }
            if let Some(code) = &unit {
                if units.unit(code).is_none() {
                    return Err(CliError(format!(
                        "unknown unit {code}; the units are listed in config/responsible-units.json"
                    )));
                }
            }
            let tokens = open(db).await?;
            let spec = crate::store::TokenSpec {
                role: Some(role),
                district,
                unit,
                crew,
                label,
                expires_at: expires,
            };
            let (token, record) = tokens
                .create(&spec)
                .await
                .map_err(|e| fail("cannot create the token")(&e))?;
            println!(
                "created token {} with role {}{}{} (shown once; keep it secret):",
                record.id,
                record.role,
                record
                    .district
                    .map(|d| format!(" in district {d}"))
                    .unwrap_or_default(),
                record
                    .expires_at
                    .map(|at| format!(", expiring {}", crate::domain::utc_text(at)))
                    .unwrap_or_default()
            );
            println!("{token}");
            Ok(())
        }
        TokenAction::Revoke { id, db } => {
            let tokens = open(db).await?;
            match tokens
                .revoke(id)
                .await
                .map_err(|e| fail("cannot revoke the token")(&e))?
            {
                Some(record) => {
                    println!(
                        "token {id} revoked at {}",
                        record
                            .revoked_at
                            .map(crate::domain::utc_text)
                            .unwrap_or_default()
                    );
                    Ok(())
                }
                None => Err(CliError(format!("there is no token {id}"))),
            }
        }
        TokenAction::List { db } => {
            let tokens = open(db).await?;
            let list = tokens
                .list()
                .await
                .map_err(|e| fail("cannot list the tokens")(&e))?;
            for record in list {
                let json = crate::services::tokens::token_json(&record);
                println!("{json}");
            }
            Ok(())
        }
    }
}

/// A failed command, with the message for the user.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct CliError(pub String);

fn fail(context: &str) -> impl Fn(&dyn std::fmt::Display) -> CliError + '_ {
    move |e| CliError(format!("{context}: {e}"))
}

pub async fn run(cli: Cli) -> Result<(), CliError> {
    let limits = GeometryLimits {
        service_area: cli.service_area.unwrap_or(LonLatBox::BEIJING),
        ..GeometryLimits::default()
    };
    match cli.command {
        Command::Serve {
            db,
            listen,
            demo,
            require_if_match,
            scan_budget_ms,
            public_url,
            cors_origins,
            max_connections,
            max_connections_per_peer,
            header_timeout_s,
            request_timeout_s,
            connection_max_age_s,
        } => {
            let settings = Settings {
                database_url: db,
                listen,
                demo,
                require_if_match,
                scan_budget: std::time::Duration::from_millis(scan_budget_ms),
                public_url,
                cors_origins,
                service_area: limits.service_area,
                connections: ConnectionLimits {
                    max_connections: usize::try_from(max_connections).unwrap_or(usize::MAX),
                    max_per_peer: usize::try_from(max_connections_per_peer).unwrap_or(usize::MAX),
                    header_read: std::time::Duration::from_secs(header_timeout_s),
                    request: std::time::Duration::from_secs(request_timeout_s),
                    write_stall: std::time::Duration::from_secs(request_timeout_s),
                    max_age: std::time::Duration::from_secs(connection_max_age_s),
                },
                ..Settings::default()
            };
            let app = Application::build(&settings)
                .await
                .map_err(|e| CliError(e.to_string()))?;
            app.run_until(app::shutdown_signal())
                .await
                .map_err(|e| CliError(e.to_string()))
        }
        Command::Import { file, db } if file.extension().is_some_and(|e| e == "gpkg") => {
            import_geopackage(&file, &db, limits).await
        }
        Command::Import { file, db } => import(&file, &db, limits).await,
        Command::MigrateStore { from, to } => migrate_store(&from, &to).await,
        Command::ExportComplaints { out, token, db } => {
            export_complaints(out, token.as_deref(), &db).await
        }
        Command::ImportAreas { file, db } => import_areas(&file, &db, limits).await,
        Command::ImportComplaints { file, format, db } => {
            import_complaints(&file, format, &db, limits).await
        }
        Command::Export {
            format: ExportFormat::Geojson,
            out,
            db,
        } => export(out, &db).await,
        Command::Export {
            format: ExportFormat::Gpkg,
            out,
            db,
        } => {
            let out = out.ok_or_else(|| {
                CliError("a GeoPackage is written to a file: --out FILE.gpkg".into())
            })?;
            let store = store::open(&db)
                .await
                .map_err(|e| fail("cannot open the database")(&e))?;
            let counts = crate::services::geopackage::export(store.as_ref(), &out)
                .await
                .map_err(|e| fail("export failed")(&e))?;
            for (layer, n) in counts {
                println!("{layer}: {n}");
            }
            Ok(())
        }
        Command::Token { action } => token_command(action).await,
        Command::Generate {
            assets,
            seed,
            points_only,
            out,
            complaints,
            complaints_out,
        } => {
            generate(assets, seed, points_only, &out)?;
            match (complaints, complaints_out) {
                (0, _) => Ok(()),
                (n, Some(path)) => generate_complaints(n, seed, assets, &path),
                (_, None) => Err(CliError(
                    "--complaints needs --complaints-out FILE.jsonl".into(),
                )),
            }
        }
    }
}

/// The registry (index rebuilt) and the complaint service over the
/// database, the latter following asset changes as in the server.
async fn open_services(
    db: &str,
    limits: GeometryLimits,
) -> Result<(Arc<Registry>, Arc<crate::services::complaints::Complaints>), CliError> {
    let store = store::open(db)
        .await
        .map_err(|e| fail("cannot open the database")(&e))?;
    let registry = Arc::new(
        Registry::open(store.clone(), limits)
            .await
            .map_err(|e| fail("cannot open the database")(&e))?,
    );
    let hotline = crate::services::hotline_config::Hotline::builtin(&store, limits)
        .await
        .map_err(CliError)?;
    let complaints = Arc::new(crate::services::complaints::Complaints::new(
        store,
        registry.clone(),
        crate::services::linking::LinkingRules::builtin(),
        hotline,
    ));
    let observer: Arc<dyn crate::services::registry::AssetObserver> = complaints.clone();
    registry.observe(&observer);
    registry.use_areas(complaints.hotline().areas.clone());
    Ok((registry, complaints))
}

/// `hutong import FILE.gpkg`.
async fn import_geopackage(
    file: &std::path::Path,
    db: &str,
    limits: GeometryLimits,
) -> Result<(), CliError> {
    let (registry, complaints) = open_services(db, limits).await?;
    let store = store::open(db)
        .await
        .map_err(|e| fail("cannot open the database")(&e))?;
    let work_orders = Arc::new(
        crate::services::work_orders::WorkOrders::open(store.clone(), complaints, registry.clone())
            .await
            .map_err(|e| fail("cannot open the database")(&e))?,
    );
    let surveys = crate::services::surveys::Surveys::new(store, registry.clone(), work_orders);
    // The command line acts as an admin (the audit trail records it as
    // the system: it has no token).
    let principal = crate::domain::Principal {
        token_id: 0,
        role: crate::domain::Role::Admin,
        district: None,
        unit: None,
        crew: None,
        label: Some("hutong import".into()),
    };
    let report = crate::services::geopackage::import(file, &registry, &surveys, &principal)
        .await
        .map_err(|e| fail(&file.display().to_string())(&e))?;
    println!(
        "{}",
        serde_json::to_string_pretty(&report).unwrap_or_default()
    );
    Ok(())
}

/// `hutong import-areas`: checked like every import; nothing is stored
/// when one area is wrong.
async fn import_areas(
    file: &std::path::Path,
    db: &str,
    limits: GeometryLimits,
) -> Result<(), CliError> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| CliError(format!("cannot read {}: {e}", file.display())))?;
    let collection: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| CliError(format!("{} is not JSON: {e}", file.display())))?;
    let store = store::open(db)
        .await
        .map_err(|e| fail("cannot open the database")(&e))?;
    let areas = crate::services::areas::Areas::open(store, limits)
        .await
        .map_err(|e| fail("cannot read the stored areas")(&e))?;
    let stored = areas
        .import(&collection)
        .await
        .map_err(|e| CliError(format!("{}: {e}", file.display())))?;
    println!("imported {stored} areas from {}", file.display());
    Ok(())
}

/// A progress bar over `size` bytes of input.
fn byte_bar(size: u64, template: &str) -> ProgressBar {
    let bar = ProgressBar::new(size);
    bar.set_style(
        ProgressStyle::with_template(template)
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar
}

/// Imports a FeatureCollection, streaming it: features are read and
/// checked one at a time (the file is never held whole in memory), then
/// all are stored in one transaction.
async fn import(file: &PathBuf, db: &str, limits: GeometryLimits) -> Result<(), CliError> {
    let opened = std::fs::File::open(file).map_err(|e| fail(&file.display().to_string())(&e))?;
    let size = opened.metadata().map(|m| m.len()).unwrap_or_default();
    // Complaints near the new assets are relinked, as through the API.
    let (registry, _complaints) = open_services(db, limits).await?;
    let bar = byte_bar(
        size,
        "{msg:>9} [{bar:40}] {bytes}/{total_bytes} ({bytes_per_sec}, eta {eta})",
    );
    bar.set_message("checking");
    let reader = std::io::BufReader::with_capacity(1 << 20, bar.wrap_read(opened));
    let mut drafts = Vec::new();
    for (i, feature) in geojson::FeatureReader::from_reader(reader)
        .features()
        .enumerate()
    {
        let checked = feature
            .map_err(|e| e.to_string())
            .and_then(|f| serde_json::to_value(f).map_err(|e| e.to_string()))
            .and_then(|value| {
                registry
                    .draft_from_feature(&value)
                    .map_err(|e| e.to_string())
            });
        match checked {
            Ok(draft) => drafts.push(draft),
            Err(e) => {
                bar.abandon();
                return Err(CliError(format!(
                    "feature {i} (0-based) of {} is invalid: {e}. Nothing was imported.",
                    file.display()
                )));
            }
        }
    }
    if drafts.is_empty() {
        bar.abandon();
        return Err(CliError(format!(
            "{} has no features: it must be a GeoJSON FeatureCollection",
            file.display()
        )));
    }
    bar.set_message("storing");
    let stored = registry
        .insert_all(&drafts)
        .await
        .map_err(|e| fail("import failed, nothing was imported")(&e))?;
    bar.finish_with_message("done");
    println!("imported {} assets from {}", stored.len(), file.display());
    Ok(())
}

async fn import_complaints(
    file: &PathBuf,
    format: Option<ImportFormat>,
    db: &str,
    limits: GeometryLimits,
) -> Result<(), CliError> {
    use crate::services::complaint_import;
    let format = match format {
        Some(format) => format,
        None => ImportFormat::of_path(file).ok_or_else(|| {
            CliError(format!(
                "cannot tell the format of {}; pass --format csv or --format jsonl",
                file.display()
            ))
        })?,
    };
    let opened = std::fs::File::open(file).map_err(|e| fail(&file.display().to_string())(&e))?;
    let size = opened.metadata().map(|m| m.len()).unwrap_or_default();
    let (_registry, complaints) = open_services(db, limits).await?;
    let bar = byte_bar(
        size,
        "[{bar:40}] {bytes}/{total_bytes} ({bytes_per_sec}, eta {eta}) {msg}",
    );
    let started = std::time::Instant::now();
    let report = complaint_import::import(&complaints, bar.wrap_read(opened), format, |rows| {
        bar.set_message(format!("{rows} rows"));
    })
    .await
    .map_err(|e| fail("import stopped")(&e))?;
    bar.finish_and_clear();
    for rejected in report.rejected.iter().take(1_000) {
        eprintln!("line {}: {}", rejected.line, rejected.reason);
    }
    if report.rejected.len() > 1_000 {
        eprintln!("… and {} more rejected rows", report.rejected.len() - 1_000);
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "read {} rows in {seconds:.1} s ({:.0} rows/s): {} new, {} already known, {} rejected",
        report.rows,
        report.rows as f64 / seconds.max(1e-9),
        report.created,
        report.already_known,
        report.rejected.len()
    );
    if report.rejected.is_empty() {
        Ok(())
    } else {
        Err(CliError(format!(
            "{} rows were rejected (listed above); the others were imported",
            report.rejected.len()
        )))
    }
}

/// A buffered writer to the file, or to standard output.
fn output(out: Option<&PathBuf>) -> Result<BufWriter<Box<dyn Write>>, CliError> {
    let sink: Box<dyn Write> = match out {
        Some(path) => Box::new(
            std::fs::File::create(path).map_err(|e| fail(&path.display().to_string())(&e))?,
        ),
        None => Box::new(std::io::stdout().lock()),
    };
    Ok(BufWriter::new(sink))
}

async fn export_complaints(
    out: Option<PathBuf>,
    token: Option<&str>,
    db: &str,
) -> Result<(), CliError> {
    let store = store::open(db)
        .await
        .map_err(|e| fail("cannot open the database")(&e))?;
    let viewer = match token {
        None => None,
        Some(token) => {
            let principal = Tokens::new(store.clone())
                .authenticate(token)
                .await
                .map_err(|e| fail("cannot check the token")(&e))?
                .ok_or_else(|| CliError("the token is unknown or revoked".into()))?;
            if !principal.role.takes_complaints() {
                return Err(CliError(format!(
                    "role {} may not export personal data; leave out --token to export without it",
                    principal.role
                )));
            }
            // A district-scoped token exports personal data of its
            // district's cases only.
            Some(principal)
        }
    };
    let mut writer = output(out.as_ref())?;
    let write_err = |e: std::io::Error| CliError(format!("cannot write the export: {e}"));
    let mut after = crate::domain::ComplaintId(0);
    loop {
        let page = store
            .complaints_after(after, 10_000)
            .await
            .map_err(|e| fail("export failed")(&e))?;
        let Some(last) = page.last() else { break };
        after = last.id;
        for c in &page {
            let personal = crate::domain::may_see_personal_data(viewer.as_ref(), c.draft.district);
            let row = crate::services::complaint_import::row_of(c, personal);
            serde_json::to_writer(&mut writer, &row).map_err(|e| write_err(e.into()))?;
            writer.write_all(b"\n").map_err(write_err)?;
        }
    }
    writer.flush().map_err(write_err)?;
    Ok(())
}

async fn migrate_store(from: &str, to: &str) -> Result<(), CliError> {
    use crate::services::store_migration::{copy_store, digest};
    let source = store::open(from)
        .await
        .map_err(|e| fail("cannot open the source database")(&e))?;
    let target = store::open(to)
        .await
        .map_err(|e| fail("cannot open the target database")(&e))?;
    let counts = source
        .table_counts()
        .await
        .map_err(|e| fail("cannot read the source database")(&e))?;
    let total = counts.assets + counts.tokens + counts.complaints + counts.events + counts.links;
    let bar = indicatif::ProgressBar::new(total);
    let started = std::time::Instant::now();
    copy_store(source.as_ref(), target.as_ref(), |rows| {
        bar.set_position(rows)
    })
    .await
    .map_err(|e| fail("migration failed")(&e))?;
    bar.finish_and_clear();
    eprintln!(
        "copied {total} rows in {:.1} s; comparing both databases",
        started.elapsed().as_secs_f64()
    );
    let (expected, found) = tokio::try_join!(digest(source.as_ref()), digest(target.as_ref()))
        .map_err(|e| fail("cannot read back for the comparison")(&e))?;
    println!(
        "{:<18} {:>12} {:>12}  checksum",
        "table", "source", "target"
    );
    let mut mismatched = Vec::new();
    for ((table, a), (_, b)) in expected.tables().into_iter().zip(found.tables()) {
        let verdict = if a == b { "same" } else { "DIFFERENT" };
        println!(
            "{table:<18} {:>12} {:>12}  {:016x} {verdict}",
            a.rows, b.rows, b.checksum
        );
        if a != b {
            mismatched.push(table);
        }
    }
    if mismatched.is_empty() {
        println!("all tables copied: row counts and checksums match");
        Ok(())
    } else {
        Err(CliError(format!(
            "the copy differs from the source in: {}",
            mismatched.join(", ")
        )))
    }
}

async fn export(out: Option<PathBuf>, db: &str) -> Result<(), CliError> {
    let store = store::open(db)
        .await
        .map_err(|e| fail("cannot open the database")(&e))?;
    let registry = Arc::new(
        Registry::open(store, GeometryLimits::default())
            .await
            .map_err(|e| fail("cannot open the database")(&e))?,
    );
    let mut writer = output(out.as_ref())?;
    let write_err = |e: std::io::Error| CliError(format!("cannot write the export: {e}"));
    writer
        .write_all(b"{\"type\":\"FeatureCollection\",\"features\":[\n")
        .map_err(write_err)?;
    let mut first = true;
    registry
        .for_each_page(1_000, |views| {
            for view in views {
                if !first {
                    writer.write_all(b",\n")?;
                }
                first = false;
                serde_json::to_writer(
                    &mut writer,
                    &crate::services::asset_feature::feature(&view, None),
                )?;
            }
            Ok(())
        })
        .await
        .map_err(|e| fail("export failed")(&e))?;
    writer.write_all(b"\n]}\n").map_err(write_err)?;
    writer.flush().map_err(write_err)?;
    Ok(())
}

fn generate_complaints(count: u64, seed: u64, assets: u64, out: &PathBuf) -> Result<(), CliError> {
    let file = std::fs::File::create(out).map_err(|e| fail(&out.display().to_string())(&e))?;
    let mut writer = BufWriter::new(file);
    let write_err = |e: std::io::Error| CliError(format!("cannot write {}: {e}", out.display()));
    let generator = crate::sample_data::generate::ComplaintGenerator::new(
        seed,
        usize::try_from(assets).unwrap_or(usize::MAX),
    );
    for case in generator.take(usize::try_from(count).unwrap_or(usize::MAX)) {
        serde_json::to_writer(&mut writer, &case).map_err(|e| write_err(e.into()))?;
        writer.write_all(b"\n").map_err(write_err)?;
    }
    writer.flush().map_err(write_err)?;
    println!("wrote {count} hotline cases to {}", out.display());
    Ok(())
}

fn generate(assets: u64, seed: u64, points_only: bool, out: &PathBuf) -> Result<(), CliError> {
    let file = std::fs::File::create(out).map_err(|e| fail(&out.display().to_string())(&e))?;
    let mut writer = BufWriter::new(file);
    let write_err = |e: std::io::Error| CliError(format!("cannot write {}: {e}", out.display()));
    writer
        .write_all(b"{\"type\":\"FeatureCollection\",\"features\":[\n")
        .map_err(write_err)?;
    let bar = ProgressBar::new(assets);
    for (i, feature) in CityGenerator::new(seed, points_only)
        .take(assets as usize)
        .enumerate()
    {
        if i > 0 {
            writer.write_all(b",\n").map_err(write_err)?;
        }
        serde_json::to_writer(&mut writer, &feature).map_err(|e| write_err(e.into()))?;
        if i % 10_000 == 0 {
            bar.set_position(i as u64);
        }
    }
    writer.write_all(b"\n]}\n").map_err(write_err)?;
    writer.flush().map_err(write_err)?;
    bar.finish();
    println!("wrote {assets} assets to {}", out.display());
    Ok(())
}
