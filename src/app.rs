//! Wiring: settings → store → services → HTTP server.

use crate::api::connections::ConnectionLimits;
use crate::api::public_url::PublicUrl;
use crate::api::{self, ApiState, HttpSettings};
use crate::sample_data::demo;
use crate::services::complaints::Complaints;
use crate::services::features::Features;
use crate::services::follower;
use crate::services::linking::LinkingRules;
use crate::services::query_budget::ScanGate;
use crate::services::registry::{AssetObserver, Registry, RegistryError};
use crate::services::tokens::Tokens;
use crate::spatial::GeometryLimits;
use crate::spatial::LonLatBox;
use crate::store::{self, StoreError};
use axum::http::HeaderValue;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;

/// How to run the server.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `sqlite://FILE` or `postgres://USER@HOST:PORT/DATABASE`.
    pub database_url: String,
    /// Address to listen on; port 0 picks a free port.
    pub listen: String,
    /// Load the bundled demo fixtures into an empty database.
    pub demo: bool,
    /// Refuse OGC API writes (PUT, PATCH, DELETE on items) that send no
    /// `If-Match`, with 428. Off by default: QGIS sends none.
    pub require_if_match: bool,
    /// How long a filtered or sorted read may take before it is refused
    /// (422).
    pub scan_budget: std::time::Duration,
    /// The address clients use (`https://host[:port]`), from which links
    /// are built and against which `Host` is checked; by default the
    /// listening address.
    pub public_url: Option<String>,
    /// Origins from which browsers may send writes and tokens (anonymous
    /// reads are open to any origin).
    pub cors_origins: Vec<String>,
    /// Bounds on connections and requests.
    pub connections: ConnectionLimits,
    /// Where the service works: positions outside are refused.
    pub service_area: LonLatBox,
    /// How often callers' names and phones are erased from cases closed
    /// longer ago than the retention period (`config/hotline.json`).
    pub erasure_interval: std::time::Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            database_url: "sqlite://hutong.db".into(),
            listen: "127.0.0.1:8080".into(),
            demo: false,
            require_if_match: false,
            scan_budget: crate::services::query_budget::DEFAULT_SCAN_BUDGET,
            erasure_interval: std::time::Duration::from_secs(3600),
            public_url: None,
            cors_origins: Vec::new(),
            connections: ConnectionLimits::default(),
            service_area: LonLatBox::BEIJING,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("cannot open the database: {0}")]
    Store(#[from] StoreError),
    #[error("cannot load the demo data: {0}")]
    Demo(#[from] RegistryError),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: String,
        source: std::io::Error,
    },
    #[error("server error: {0}")]
    Serve(std::io::Error),
    #[error("{0}")]
    Config(String),
}

/// A built, bound, not yet running server.
pub struct Application {
    listener: TcpListener,
    state: ApiState,
    http: HttpSettings,
    connections: ConnectionLimits,
    /// Following other instances' writes of assets and of work orders
    /// (shared databases only); they stop with the application.
    followers: Vec<AbortOnDrop>,
    /// Erasing personal data after retention; stops with the application.
    eraser: AbortOnDrop,
}

/// Erases expired personal data now and then every `interval`. A failure
/// is logged and tried again next time (every instance may run this: the
/// erasure of a case is one idempotent update).
async fn erase_expired_every(complaints: Arc<Complaints>, interval: std::time::Duration) {
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        match complaints.erase_expired().await {
            Ok(0) => {}
            Ok(erased) => tracing::info!(erased, "caller data erased after the retention period"),
            Err(e) => tracing::warn!(error = %e, "erasing expired caller data failed"),
        }
    }
}

/// A background task that ends when this is dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl AbortOnDrop {
    /// Aborts the task and waits until it has stopped.
    async fn stop(mut self) {
        self.0.abort();
        let _ = (&mut self.0).await;
    }
}

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Application {
    /// Opens the database (creating and migrating it), rebuilds the index,
    /// loads the demo if asked, and binds the listener.
    pub async fn build(settings: &Settings) -> Result<Self, AppError> {
        // The change feed starts before the index is built, so that what
        // other instances write meanwhile is replayed into it.
        let store::Opened {
            store,
            feed,
            work_order_feed,
        } = store::open_shared(&settings.database_url).await?;
        let limits = GeometryLimits {
            service_area: settings.service_area,
            ..GeometryLimits::default()
        };
        let registry = Arc::new(Registry::open(store.clone(), limits).await?);
        let follower = feed.map(|feed| AbortOnDrop(follower::spawn(registry.clone(), feed)));
        let hotline = crate::services::hotline_config::Hotline::builtin(&store, limits)
            .await
            .map_err(AppError::Config)?;
        let complaints = Arc::new(Complaints::new(
            store.clone(),
            registry.clone(),
            LinkingRules::builtin(),
            hotline,
        ));
        let eraser = AbortOnDrop(tokio::spawn(erase_expired_every(
            complaints.clone(),
            settings
                .erasure_interval
                .max(std::time::Duration::from_millis(10)),
        )));
        let observer: Arc<dyn AssetObserver> = complaints.clone();
        registry.observe(&observer);
        registry.use_areas(complaints.hotline().areas.clone());
        if settings.demo {
            demo::load_if_empty(&registry, &complaints).await?;
        }
        let work_orders = Arc::new(
            crate::services::work_orders::WorkOrders::open(
                store.clone(),
                complaints.clone(),
                registry.clone(),
            )
            .await?,
        );
        let work_order_follower =
            work_order_feed.map(|feed| AbortOnDrop(follower::spawn(work_orders.clone(), feed)));
        let audit = Arc::new(crate::services::audit::AuditTrail::new(store.clone()));
        let surveys = Arc::new(crate::services::surveys::Surveys::new(
            store.clone(),
            registry.clone(),
            work_orders.clone(),
        ));
        let scans = ScanGate::per_core(settings.scan_budget);
        let planning = Arc::new(crate::services::planning::Planning::new(
            store.clone(),
            registry.clone(),
            work_orders.clone(),
            crate::services::planning::EngineeringRules::builtin().map_err(AppError::Config)?,
            scans.clone(),
        ));
        let observer: std::sync::Weak<dyn crate::services::work_orders::PlanObserver> =
            Arc::downgrade(&planning) as _;
        work_orders.observe_plans(observer);
        let tokens = Arc::new(Tokens::new(store));
        let listener = TcpListener::bind(&settings.listen)
            .await
            .map_err(|source| AppError::Listen {
                addr: settings.listen.clone(),
                source,
            })?;
        let public_url = match &settings.public_url {
            Some(url) => PublicUrl::parse(url),
            None => listener
                .local_addr()
                .map_err(|e| e.to_string())
                .and_then(PublicUrl::of_listener),
        }
        .map_err(AppError::Config)?;
        let cors_origins = settings
            .cors_origins
            .iter()
            .map(|o| {
                HeaderValue::from_str(o.trim().trim_end_matches('/'))
                    .map_err(|_| AppError::Config(format!("CORS origin {o:?} is not valid")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let tiles = ScanGate::per_core(settings.scan_budget);
        Ok(Self {
            listener,
            http: HttpSettings {
                public_url,
                cors_origins,
                request_timeout: settings.connections.request,
            },
            connections: settings.connections,
            state: ApiState {
                features: Features::new(
                    registry.clone(),
                    complaints.clone(),
                    work_orders.clone(),
                    planning.clone(),
                    scans,
                    tiles,
                ),
                registry,
                complaints,
                tokens,
                require_if_match: settings.require_if_match,
                work_orders,
                audit,
                surveys,
                planning,
            },
            followers: follower.into_iter().chain(work_order_follower).collect(),
            eraser,
        })
    }

    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.listener.local_addr().ok()
    }

    /// Serves until `shutdown` completes, then drains in-flight requests.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), AppError> {
        if let Some(addr) = self.local_addr() {
            tracing::info!(%addr, "hutong listening");
        }
        let _followers = self.followers;
        let eraser = self.eraser;
        let router = api::router(self.state, &self.http);
        let served = api::connections::serve(self.listener, router, self.connections, shutdown)
            .await
            .map_err(AppError::Serve);
        // Stopped for good before this returns: an erasure cut short rolls
        // back now, not whenever the runtime next polls it (a write
        // transaction left open would hold SQLite's write lock).
        eraser.stop().await;
        served
    }
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down");
}
