//! The published features: a page of a collection for the OGC API (bbox,
//! dates, a CQL2 filter, a sort, paging), and a vector tile of every
//! collection. Filters and sorts run within the scan budget, on a blocking
//! thread.

use crate::domain::{
    AreaLevel, AssetId, AssetKind, Complaint, ComplaintFilter, LonLatBox, Principal, WorkOrder,
};
use crate::services::areas::{area_page_features, area_properties};
use crate::services::asset_feature::{NOT_IN_TILES, ServedAsset, tile_properties};

use crate::services::collection::Collection;
use crate::services::complaint_feature::{PersonalData, complaint_feature};
use crate::services::complaints::{ComplaintError, Complaints};
use crate::services::feature_filter::FeatureFilter;
use crate::services::planning::{
    PlanError, PlanFilter, Planning, plan_feature, plan_shape, plan_tile_shape,
};
use crate::services::query_budget::{BudgetError, Clock, ScanGate};
use crate::services::registry::{AssetFilter, Registry, RegistryError};
use crate::services::work_orders::WorkOrders;
use crate::services::work_orders::feature::work_order_feature;
use crate::spatial::vector_tile::{LayerBuilder, TileId, encode};
use crate::spatial::{AreaIndex, IndexedAsset};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use time::OffsetDateTime;

/// Most properties one `sortby` may name: each is a key copied per
/// candidate and compared at every step of the sort.
pub const MAX_SORTBY_TERMS: usize = 8;

/// Most complaints a filter may have to look at (after its box and
/// dates narrowed them); more is a 400 asking for a narrower query.
pub const MAX_COMPLAINTS_SCANNED: u64 = 200_000;

/// Most features of one layer in one tile: a tile is for a map, not for
/// download (use the items API for that).
pub const MAX_FEATURES_PER_LAYER: u32 = 20_000;

/// Most plans a page of the plans collection reads from the store.
pub const MAX_PLANS_SCANNED: u32 = 10_000;

/// Most areas on one page of an area collection, whatever `limit` asks:
/// a boundary runs to tens of thousands of vertices.
pub const MAX_AREAS_PER_PAGE: u32 = 100;

/// A collection's properties left out of its tile layer (bookkeeping of
/// no use for drawing, and nested values): the items API has them.
pub fn not_in_tiles(collection: Collection) -> &'static [&'static str] {
    match collection {
        Collection::Assets(_) | Collection::Areas(_) => NOT_IN_TILES,
        Collection::Complaints => &["created_at", "updated_at", "raw_coordinates"],
        Collection::Plans => &[
            "created_at",
            "updated_at",
            "version",
            "description",
            "targets",
            "worked_on",
            "complaint_ids",
            "inputs",
            "quantities",
            "effects",
            "cost_lines",
            "area",
            "positions",
            "flags",
        ],
        Collection::WorkOrders => &[
            "created_at",
            "updated_at",
            "positions",
            "evidence",
            "version",
        ],
    }
}

/// What a page of features is asked for.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FeatureQuery {
    pub bbox: Option<LonLatBox>,
    pub limit: u32,
    pub offset: u64,
    /// Inclusive bounds; `None` is open. Complaints' `reported_at`,
    /// assets' `updated_at`.
    pub datetime: Option<(Option<OffsetDateTime>, Option<OffsetDateTime>)>,
    pub filter: Option<FeatureFilter>,
    /// Properties to order by, each descending or not (then by id).
    pub sortby: Vec<(String, bool)>,
}

#[derive(Debug, thiserror::Error)]
pub enum FeatureQueryError {
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error(transparent)]
    Complaints(#[from] ComplaintError),
    #[error(transparent)]
    Budget(#[from] BudgetError),
    /// The query would scan more than a request may: narrow it.
    #[error("{0}")]
    TooCostly(String),
    #[error(transparent)]
    Plans(#[from] PlanError),
    /// The collection is only for bearer tokens, and none came.
    #[error("the {0} collection needs a bearer token")]
    NeedsToken(&'static str),
}

/// The features of one page: assets from memory (their text rendered),
/// or complaints and areas rendered now.
pub enum FeaturePage {
    Assets(Vec<ServedAsset>),
    Rendered(Vec<Value>),
}

impl FeaturePage {
    pub fn len(&self) -> usize {
        match self {
            FeaturePage::Assets(a) => a.len(),
            FeaturePage::Rendered(c) => c.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn into_values(self) -> Vec<Value> {
        match self {
            FeaturePage::Assets(assets) => assets.iter().map(ServedAsset::feature).collect(),
            FeaturePage::Rendered(values) => values,
        }
    }
}

/// A vector tile as built, and the SHA-256 of its bytes.
pub struct BuiltTile {
    pub bytes: Vec<u8>,
    pub digest: [u8; 32],
}

/// Pages and tiles of the published collections.
#[derive(Clone)]
pub struct Features {
    registry: Arc<Registry>,
    complaints: Arc<Complaints>,
    work_orders: Arc<WorkOrders>,
    planning: Arc<Planning>,
    scans: ScanGate,
    /// Tiles are built off the async workers, a few at a time, within a
    /// budget: a tile of costly shapes must not hold up other requests.
    tiles: ScanGate,
}

impl Features {
    /// `scans` admits filtered and sorted reads, `tiles` the building of
    /// vector tiles (separate gates, so neither waits for the other).
    pub fn new(
        registry: Arc<Registry>,
        complaints: Arc<Complaints>,
        work_orders: Arc<WorkOrders>,
        planning: Arc<Planning>,
        scans: ScanGate,
        tiles: ScanGate,
    ) -> Self {
        Self {
            registry,
            complaints,
            work_orders,
            planning,
            scans,
            tiles,
        }
    }

    /// The gate of filtered reads, for other costly reads to take turns
    /// at.
    pub fn scans(&self) -> &ScanGate {
        &self.scans
    }

    /// A page of a collection and how many features match in all, as
    /// `viewer` (the request's token, if any) sees it.
    pub async fn page(
        &self,
        collection: Collection,
        query: &FeatureQuery,
        viewer: Option<&Principal>,
    ) -> Result<(FeaturePage, u64), FeatureQueryError> {
        // A filter that confines matches to a box narrows the candidates.
        let bbox = match query.filter.as_ref().and_then(FeatureFilter::search_box) {
            None => Some(query.bbox),
            Some(confined) if confined.is_empty() => None,
            Some(confined) => match query.bbox {
                None => Some(Some(confined)),
                Some(b) => b.intersection(confined).map(Some),
            },
        };
        match bbox {
            // The filter's box and the bbox do not overlap: nothing matches.
            None => Ok((FeaturePage::Rendered(Vec::new()), 0)),
            Some(bbox) => match collection {
                Collection::Assets(kind) => self.asset_page(kind, bbox, query).await,
                Collection::Complaints => self.complaint_page(bbox, query).await,
                Collection::Areas(level) => self.area_page(level, bbox, query).await,
                Collection::Plans => self.plan_page(bbox, query).await,
                Collection::WorkOrders => {
                    let viewer =
                        viewer.ok_or(FeatureQueryError::NeedsToken(Collection::WorkOrders.id()))?;
                    self.work_order_page(viewer, bbox, query).await
                }
            },
        }
    }

    /// A page of plans and how many match: read from the store (at most
    /// [`MAX_PLANS_SCANNED`] in the box), then dated (`created_at`),
    /// filtered, sorted and rendered on a blocking thread within the scan
    /// budget.
    async fn plan_page(
        &self,
        bbox: Option<LonLatBox>,
        query: &FeatureQuery,
    ) -> Result<(FeaturePage, u64), FeatureQueryError> {
        let plans = self
            .planning
            .list(&PlanFilter {
                bbox,
                limit: MAX_PLANS_SCANNED + 1,
                ..PlanFilter::default()
            })
            .await?;
        if plans.len() > MAX_PLANS_SCANNED as usize {
            return Err(FeatureQueryError::TooCostly(format!(
                "more than {MAX_PLANS_SCANNED} plans here; narrow it with bbox"
            )));
        }
        let budget = self.scans.enter().await?;
        let query = query.clone();
        let (features, matched) = budget
            .run(move |clock| {
                let mut plans = plans;
                // By id, as every collection pages.
                plans.reverse();
                if let Some((from, to)) = query.datetime {
                    plans.retain(|p| {
                        from.is_none_or(|f| p.created_at >= f)
                            && to.is_none_or(|t| p.created_at <= t)
                    });
                }
                let mut kept = Vec::new();
                for plan in &plans {
                    clock.check()?;
                    let f = plan_feature(plan);
                    if query
                        .filter
                        .as_ref()
                        .is_none_or(|cql| passes(cql, &f, &plan_shape(plan)))
                    {
                        kept.push(f);
                    }
                }
                let matched = kept.len() as u64;
                let page = if query.sortby.is_empty() {
                    let offset = usize::try_from(query.offset).unwrap_or(usize::MAX);
                    kept.into_iter()
                        .skip(offset)
                        .take(query.limit as usize)
                        .collect()
                } else {
                    sorted_rendered_page(kept, &query.sortby, query.offset, query.limit, clock)?
                };
                Ok((page, matched))
            })
            .await?;
        Ok((FeaturePage::Rendered(features), matched))
    }

    /// A page of the work orders still to be done that `viewer` sees, and
    /// how many match. They are in memory; gathering, filtering, sorting
    /// and rendering run on a blocking thread within the scan budget. An
    /// order's time (`datetime`) is when it was made (`created_at`).
    async fn work_order_page(
        &self,
        viewer: &Principal,
        bbox: Option<LonLatBox>,
        query: &FeatureQuery,
    ) -> Result<(FeaturePage, u64), FeatureQueryError> {
        let budget = self.scans.enter().await?;
        let work_orders = self.work_orders.clone();
        let viewer = viewer.clone();
        let query = query.clone();
        let (features, matched) = budget
            .run(move |clock| {
                let mut orders = work_orders.open_seen_by(&viewer, bbox);
                if let Some((from, to)) = query.datetime {
                    orders.retain(|o| {
                        from.is_none_or(|f| o.created_at >= f)
                            && to.is_none_or(|t| o.created_at <= t)
                    });
                }
                let offset = usize::try_from(query.offset).unwrap_or(usize::MAX);
                if query.filter.is_none() && query.sortby.is_empty() {
                    let matched = orders.len() as u64;
                    let page = orders
                        .iter()
                        .skip(offset)
                        .take(query.limit as usize)
                        .map(|o| work_order_feature(o))
                        .collect();
                    return Ok((page, matched));
                }
                let mut kept = Vec::new();
                for order in &orders {
                    clock.check()?;
                    let f = work_order_feature(order);
                    let (lon, lat) = order.draft.location;
                    let point = geo::Point::new(lon, lat).into();
                    if query
                        .filter
                        .as_ref()
                        .is_none_or(|cql| passes(cql, &f, &point))
                    {
                        kept.push(f);
                    }
                }
                let matched = kept.len() as u64;
                let page =
                    sorted_rendered_page(kept, &query.sortby, query.offset, query.limit, clock)?;
                Ok((page, matched))
            })
            .await?;
        Ok((FeaturePage::Rendered(features), matched))
    }

    /// A page of asset features and how many match. Filters and sorts run
    /// within a scan budget, on a blocking thread.
    async fn asset_page(
        &self,
        kind: AssetKind,
        bbox: Option<LonLatBox>,
        query: &FeatureQuery,
    ) -> Result<(FeaturePage, u64), FeatureQueryError> {
        if query.filter.is_none() && query.datetime.is_none() && query.sortby.is_empty() {
            let (assets, matched) = self
                .registry
                .list(&AssetFilter {
                    kinds: vec![kind],
                    bbox,
                    limit: query.limit,
                    offset: query.offset,
                })
                .await?;
            return Ok((FeaturePage::Assets(assets), matched));
        }
        let budget = self.scans.enter().await?;
        let datetime = query.datetime;
        let filter = query.filter.clone().map(Arc::new);
        // An asset's time is when it last changed (`updated_at`).
        let keep = move |a: &ServedAsset| {
            let in_time = match datetime {
                None => true,
                Some((from, to)) => {
                    let t = a.asset().updated_at;
                    from.is_none_or(|f| t >= f) && to.is_none_or(|u| t <= u)
                }
            };
            in_time
                && filter
                    .as_ref()
                    .is_none_or(|f| f.matches(a.asset().id.0, a.properties(), &a.asset().geometry))
        };
        if query.sortby.is_empty() {
            let (assets, matched) = self
                .registry
                .filtered(
                    kind,
                    bbox,
                    query.limit,
                    query.offset,
                    Arc::new(keep),
                    &budget,
                )
                .await?;
            return Ok((FeaturePage::Assets(assets), matched));
        }
        let (all, matched) = self
            .registry
            .filtered(kind, bbox, u32::MAX, 0, Arc::new(keep), &budget)
            .await?;
        let (sortby, offset, limit) = (query.sortby.clone(), query.offset, query.limit);
        let page = budget
            .run(move |clock| {
                sorted_page(
                    all,
                    |a| sort_key(&sortby, a.asset().id.0, a.properties()),
                    &sortby,
                    offset,
                    limit,
                    clock,
                )
            })
            .await?;
        Ok((FeaturePage::Assets(page), matched))
    }

    /// A page of complaint features (never with personal data) and how many
    /// match. With a filter or a sort, the complaints in the box and dates
    /// are read a page at a time and tested on a blocking thread, up to
    /// [`MAX_COMPLAINTS_SCANNED`] and within the scan budget.
    async fn complaint_page(
        &self,
        bbox: Option<LonLatBox>,
        query: &FeatureQuery,
    ) -> Result<(FeaturePage, u64), FeatureQueryError> {
        const SCAN_PAGE: u32 = 5_000;
        let (from, to) = query.datetime.unwrap_or((None, None));
        let mut filter = ComplaintFilter {
            bbox,
            reported_from: from,
            reported_to: to,
            limit: query.limit,
            offset: query.offset,
            ..ComplaintFilter::default()
        };
        if query.filter.is_none() && query.sortby.is_empty() {
            let (complaints, matched) = self.complaints.list(&filter).await?;
            let features = complaints
                .iter()
                .map(|c| complaint_feature(c, PersonalData::Hidden, Map::new()))
                .collect();
            return Ok((FeaturePage::Rendered(features), matched));
        }
        let budget = self.scans.enter().await?;
        let cql = query.filter.clone().map(Arc::new);
        let candidates = self.complaints.count(&filter).await?;
        if candidates > MAX_COMPLAINTS_SCANNED {
            return Err(FeatureQueryError::TooCostly(format!(
                "this filter would have to test {candidates} complaints; narrow it to at most {MAX_COMPLAINTS_SCANNED} with bbox, datetime or a spatial condition"
            )));
        }
        // Counted once; then read a page at a time after the last one seen.
        filter.limit = SCAN_PAGE;
        filter.offset = 0;
        let mut features = Vec::new();
        loop {
            budget.check()?;
            let complaints = self.complaints.page(&filter).await?;
            filter.before = complaints.last().map(|c| (c.draft.reported_at, c.id));
            let done = complaints.len() < SCAN_PAGE as usize;
            let cql = cql.clone();
            let kept =
                budget
                    .run(move |clock| {
                        let mut kept = Vec::new();
                        for c in &complaints {
                            clock.check()?;
                            let f = complaint_feature(c, PersonalData::Hidden, Map::new());
                            // An unlocated case has no geometry: no spatial
                            // predicate holds for it.
                            let point: geo::Geometry<f64> = match c.draft.location {
                                Some((lon, lat)) => geo::Point::new(lon, lat).into(),
                                None => geo::Geometry::GeometryCollection(
                                    geo::GeometryCollection::default(),
                                ),
                            };
                            if cql.as_ref().is_none_or(|cql| passes(cql, &f, &point)) {
                                kept.push(f);
                            }
                        }
                        Ok(kept)
                    })
                    .await?;
            features.extend(kept);
            if done {
                let matched = features.len() as u64;
                let (sortby, offset, limit) = (query.sortby.clone(), query.offset, query.limit);
                let page = budget
                    .run(move |clock| sorted_rendered_page(features, &sortby, offset, limit, clock))
                    .await?;
                return Ok((FeaturePage::Rendered(page), matched));
            }
        }
    }

    /// A page of administrative areas of one level, in order of code, and
    /// how many match. Areas are held in memory; filtering, sorting and
    /// rendering run on a blocking thread within the scan budget. Areas
    /// have no time: `datetime` does not narrow them (OGC API - Features
    /// 1, for collections without temporal information).
    async fn area_page(
        &self,
        level: AreaLevel,
        bbox: Option<LonLatBox>,
        query: &FeatureQuery,
    ) -> Result<(FeaturePage, u64), FeatureQueryError> {
        let areas = self.complaints.hotline().areas.snapshot();
        let budget = self.scans.enter().await?;
        let filter = query.filter.clone();
        let sortby = query.sortby.clone();
        let offset = usize::try_from(query.offset).unwrap_or(usize::MAX);
        let limit = query.limit.min(MAX_AREAS_PER_PAGE) as usize;
        let (features, matched) = budget
            .run(move |clock| {
                // Ranked by code: the rank breaks ties in a sort.
                let mut kept = Vec::new();
                for (rank, i) in areas.in_box(level, bbox).into_iter().enumerate() {
                    clock.check()?;
                    let area = &areas.all()[i];
                    let properties = area_properties(area);
                    if let Some(f) = &filter {
                        let geometry = geo::Geometry::MultiPolygon(area.boundary.clone());
                        if !f.matches(0, &properties, &geometry) {
                            continue;
                        }
                    }
                    kept.push((rank as i64, i, properties));
                }
                let matched = kept.len() as u64;
                let page = if sortby.is_empty() {
                    kept.into_iter().skip(offset).take(limit).collect()
                } else {
                    sorted_page(
                        kept,
                        |(rank, _, p)| sort_key(&sortby, *rank, p),
                        &sortby,
                        offset as u64,
                        limit as u32,
                        clock,
                    )?
                };
                clock.check()?;
                let features = area_page_features(
                    page.into_iter()
                        .map(|(_, i, properties)| (&areas.all()[i], properties)),
                );
                Ok((features, matched))
            })
            .await?;
        Ok((FeaturePage::Rendered(features), matched))
    }

    /// A vector tile: every collection's features in the tile's box, from
    /// the zoom at which its layer starts; the work orders' layer only for
    /// a viewer, with the orders it sees. The features are gathered here
    /// (assets from memory, complaints from the store); projecting,
    /// clipping and encoding them run on a blocking thread within the
    /// tile gate's budget, looking at the clock between features; so does
    /// the tile's digest (its entity tag's source).
    pub async fn tile(
        &self,
        tile: TileId,
        viewer: Option<&Principal>,
    ) -> Result<BuiltTile, FeatureQueryError> {
        enum Source {
            WorkOrders(Vec<Arc<WorkOrder>>),
            Plans(Vec<crate::domain::Plan>),
            Assets(Vec<(Arc<IndexedAsset>, Option<AssetId>)>),
            Complaints(Vec<Complaint>),
            /// Positions in the snapshot of the areas.
            Areas(Arc<AreaIndex>, Vec<usize>),
        }
        let (west, south, east, north) = tile.lonlat_bounds();
        let bbox = LonLatBox {
            min_lon: west,
            min_lat: south,
            max_lon: east,
            max_lat: north,
        };
        let mut sources = Vec::new();
        for collection in Collection::ALL {
            if tile.z < collection.min_zoom() || (collection.needs_token() && viewer.is_none()) {
                continue;
            }
            let source = match collection {
                Collection::Assets(kind) => Source::Assets(self.registry.in_box(
                    kind,
                    bbox,
                    MAX_FEATURES_PER_LAYER as usize,
                )),
                Collection::Complaints => {
                    let filter = ComplaintFilter {
                        bbox: Some(bbox),
                        limit: MAX_FEATURES_PER_LAYER,
                        ..ComplaintFilter::default()
                    };
                    Source::Complaints(self.complaints.page(&filter).await?)
                }
                Collection::Areas(level) => {
                    let areas = self.complaints.hotline().areas.snapshot();
                    let mut found = areas.in_box(level, Some(bbox));
                    found.truncate(MAX_FEATURES_PER_LAYER as usize);
                    Source::Areas(areas, found)
                }
                Collection::Plans => Source::Plans(
                    self.planning
                        .list(&PlanFilter {
                            bbox: Some(bbox),
                            limit: MAX_FEATURES_PER_LAYER,
                            ..PlanFilter::default()
                        })
                        .await?,
                ),
                Collection::WorkOrders => {
                    let Some(viewer) = viewer else { continue };
                    let mut found = self.work_orders.open_seen_by(viewer, Some(bbox));
                    found.truncate(MAX_FEATURES_PER_LAYER as usize);
                    Source::WorkOrders(found)
                }
            };
            sources.push((collection.id(), source));
        }
        let budget = self.tiles.enter().await?;
        let bytes = budget
            .run(move |clock| {
                let mut layers = Vec::new();
                for (name, source) in sources {
                    let mut layer = LayerBuilder::new(tile, name);
                    match source {
                        Source::Assets(assets) => {
                            for (asset, courtyard_id) in &assets {
                                clock.check()?;
                                let a = &asset.asset;
                                layer.add_properties(
                                    a.id.0 as u64,
                                    &a.geometry,
                                    &tile_properties(a, *courtyard_id),
                                    not_in_tiles(Collection::Assets(a.kind())),
                                );
                            }
                        }
                        Source::Complaints(complaints) => {
                            for c in &complaints {
                                clock.check()?;
                                let Some((lon, lat)) = c.draft.location else {
                                    continue;
                                };
                                let f = complaint_feature(c, PersonalData::Hidden, Map::new());
                                let point = geo::Point::new(lon, lat).into();
                                layer.add_properties(
                                    c.id.0 as u64,
                                    &point,
                                    &f["properties"],
                                    not_in_tiles(Collection::Complaints),
                                );
                            }
                        }
                        Source::Plans(plans) => {
                            for plan in &plans {
                                clock.check()?;
                                let f = plan_feature(plan);
                                layer.add_properties(
                                    plan.id.0 as u64,
                                    &plan_tile_shape(plan),
                                    &f["properties"],
                                    not_in_tiles(Collection::Plans),
                                );
                            }
                        }
                        Source::WorkOrders(orders) => {
                            for order in &orders {
                                clock.check()?;
                                let (lon, lat) = order.draft.location;
                                let f = work_order_feature(order);
                                layer.add_properties(
                                    order.id.0 as u64,
                                    &geo::Point::new(lon, lat).into(),
                                    &f["properties"],
                                    not_in_tiles(Collection::WorkOrders),
                                );
                            }
                        }
                        Source::Areas(areas, found) => {
                            for i in found {
                                clock.check()?;
                                let area = &areas.all()[i];
                                let boundary = geo::Geometry::MultiPolygon(area.boundary.clone());
                                // The feature's number is its place in the
                                // layer; its code is a property.
                                layer.add_properties(
                                    i as u64 + 1,
                                    &boundary,
                                    &area_properties(area),
                                    &[],
                                );
                            }
                        }
                    }
                    layers.push(layer);
                }
                let bytes = encode(layers);
                let digest = Sha256::digest(&bytes).into();
                Ok(BuiltTile { bytes, digest })
            })
            .await?;
        Ok(bytes)
    }
}

/// A feature's values for `sortby`, taken once before sorting.
type SortKey = (Vec<Value>, i64);

fn sort_key(sortby: &[(String, bool)], id: i64, props: &Map<String, Value>) -> SortKey {
    let values = sortby
        .iter()
        .map(|(name, _)| {
            if name == "id" {
                Value::from(id)
            } else {
                props.get(name).cloned().unwrap_or(Value::Null)
            }
        })
        .collect();
    (values, id)
}

/// The order `sortby` asks for: by each property in turn (numbers as
/// numbers, text as text, missing values last), then by id.
fn ordering(sortby: &[(String, bool)], a: &SortKey, b: &SortKey) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    for ((x, y), (_, descending)) in a.0.iter().zip(&b.0).zip(sortby) {
        let order = match (x, y) {
            (Value::Null, Value::Null) => Ordering::Equal,
            (Value::Null, _) => return Ordering::Greater,
            (_, Value::Null) => return Ordering::Less,
            (Value::Number(m), Value::Number(n)) => m
                .as_f64()
                .partial_cmp(&n.as_f64())
                .unwrap_or(Ordering::Equal),
            (Value::String(m), Value::String(n)) => m.cmp(n),
            (Value::Bool(m), Value::Bool(n)) => m.cmp(n),
            _ => x.to_string().cmp(&y.to_string()),
        };
        let order = if *descending { order.reverse() } else { order };
        if order != Ordering::Equal {
            return order;
        }
    }
    a.1.cmp(&b.1)
}

/// The page `offset`, `limit` of `items` in `sortby` order, without
/// sorting more than the page needs; the clock is looked at between the
/// steps.
fn sorted_page<T>(
    items: Vec<T>,
    key: impl Fn(&T) -> SortKey,
    sortby: &[(String, bool)],
    offset: u64,
    limit: u32,
    clock: &Clock,
) -> Result<Vec<T>, BudgetError> {
    let mut keyed = Vec::with_capacity(items.len());
    for item in items {
        clock.check()?;
        keyed.push((key(&item), item));
    }
    let skip = usize::try_from(offset).unwrap_or(usize::MAX);
    let end = skip.saturating_add(limit as usize);
    if end < keyed.len() {
        keyed.select_nth_unstable_by(end, |a, b| ordering(sortby, &a.0, &b.0));
        keyed.truncate(end);
    }
    clock.check()?;
    keyed.sort_unstable_by(|a, b| ordering(sortby, &a.0, &b.0));
    Ok(keyed.into_iter().skip(skip).map(|(_, item)| item).collect())
}

/// The page `offset`, `limit` of rendered features in `sortby` order.
fn sorted_rendered_page(
    features: Vec<Value>,
    sortby: &[(String, bool)],
    offset: u64,
    limit: u32,
    clock: &Clock,
) -> Result<Vec<Value>, BudgetError> {
    let id = |f: &Value| f["id"].as_i64().unwrap_or_default();
    let empty = Map::new();
    sorted_page(
        features,
        |f| sort_key(sortby, id(f), f["properties"].as_object().unwrap_or(&empty)),
        sortby,
        offset,
        limit,
        clock,
    )
}

/// Whether a rendered feature passes the filter.
fn passes(filter: &FeatureFilter, feature: &Value, geometry: &geo::Geometry<f64>) -> bool {
    let id = feature["id"].as_i64().unwrap_or_default();
    match feature["properties"].as_object() {
        Some(properties) => filter.matches(id, properties, geometry),
        None => false,
    }
}
