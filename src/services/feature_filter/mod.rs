//! CQL2 filters on features (OGC API – Features Part 3). The `cql2` crate
//! parses cql2-text and cql2-json; the expression is then checked against
//! a collection's queryables (an unknown property or a literal of the
//! wrong type is refused) and compiled into a small tree that is
//! evaluated on each candidate feature's properties and geometry. Nothing
//! is ever turned into SQL.
//!
//! Evaluated here rather than with `cql2::Expr::matches` because the
//! service needs what that does not do: three-valued logic checked
//! against typed queryables, spatial predicates on geo geometries, a
//! metric `S_DWITHIN` (distance in metres on the WGS 84 ellipsoid), literal
//! geometries in any offered CRS, and the box a filter confines results
//! to, so the spatial index narrows the candidates first.

mod like;

pub use like::LikePattern;

use crate::spatial::{Crs, LonLatBox};
use geo::{BoundingRect, CoordsIter, Distance, Euclidean, Geometry, Intersects, MapCoords, Relate};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use time::OffsetDateTime;

/// The type of a queryable property, as its schema says.
#[derive(Debug, Clone, PartialEq)]
pub enum ValueType {
    /// Text; `Some` lists the only values it takes.
    Text(Option<Vec<String>>),
    Integer,
    Number,
    Boolean,
    /// RFC 3339 text.
    Instant,
    /// The feature's geometry.
    Geometry,
}

/// A collection's queryables: property name → type.
pub type Queryables = BTreeMap<String, ValueType>;

/// The language of a `filter` parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterLang {
    Cql2Text,
    Cql2Json,
}

impl FilterLang {
    pub fn parse(text: &str) -> Result<Self, String> {
        match text {
            "cql2-text" => Ok(FilterLang::Cql2Text),
            "cql2-json" => Ok(FilterLang::Cql2Json),
            other => Err(format!(
                "filter-lang {other:?} is not offered; use cql2-text or cql2-json"
            )),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Operand {
    Property(String),
    Text(String),
    Number(f64),
    Bool(bool),
    Instant(OffsetDateTime),
    Null,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Comparison {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SpatialRelation {
    Intersects,
    Disjoint,
    /// The feature lies within the literal.
    Within,
    /// The feature contains the literal.
    Contains,
    Equals,
    Touches,
    Overlaps,
    Crosses,
}

#[derive(Debug, Clone, PartialEq)]
enum Node {
    And(Vec<Node>),
    Or(Vec<Node>),
    Not(Box<Node>),
    Compare(Comparison, Operand, Operand),
    Like(Operand, LikePattern),
    Between(Operand, Operand, Operand),
    In(Operand, Vec<Operand>),
    IsNull(Operand),
    Spatial(SpatialRelation, Geometry<f64>),
    WithinDistance(Geometry<f64>, f64),
    Constant(bool),
}

impl Node {
    /// The leaf conditions in this tree.
    fn conditions(&self) -> usize {
        match self {
            Node::And(parts) | Node::Or(parts) => parts.iter().map(Node::conditions).sum(),
            Node::Not(inner) => inner.conditions(),
            Node::In(_, items) => items.len().max(1),
            _ => 1,
        }
    }
}

/// A checked, compiled filter.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureFilter {
    root: Node,
}

/// Longest filter text accepted.
pub const MAX_FILTER_CHARS: usize = 20_000;
/// Most conditions (comparisons, LIKEs, spatial tests…) in one filter:
/// each is evaluated on every candidate, so their number bounds the cost
/// per feature.
pub const MAX_CONDITIONS: usize = 64;
/// Largest `S_DWITHIN` distance, metres.
const MAX_DISTANCE_M: f64 = 100_000.0;

impl FeatureFilter {
    /// Parses and checks a filter. Literal geometries are in `crs`.
    pub fn parse(
        text: &str,
        lang: FilterLang,
        crs: Crs,
        queryables: &Queryables,
    ) -> Result<Self, String> {
        if text.chars().count() > MAX_FILTER_CHARS {
            return Err(format!(
                "filter is longer than {MAX_FILTER_CHARS} characters"
            ));
        }
        nesting_within_limit(text)?;
        let expr = match lang {
            FilterLang::Cql2Text => cql2::parse_text(text).map_err(|e| {
                format!(
                    "filter is not valid CQL2 text: {}",
                    one_line(&e.to_string())
                )
            })?,
            FilterLang::Cql2Json => {
                cql2::parse_json(text).map_err(|e| format!("filter is not valid CQL2 JSON: {e}"))?
            }
        };
        let compiler = Compiler { crs, queryables };
        let root = compiler.predicate(&expr, 0)?;
        let conditions = root.conditions();
        if conditions > MAX_CONDITIONS {
            return Err(format!(
                "filter has {conditions} conditions; at most {MAX_CONDITIONS} are allowed"
            ));
        }
        Ok(FeatureFilter { root })
    }

    /// Whether the feature with this id, properties and geometry (CRS84)
    /// passes: only a definite TRUE does (NULL is not a match).
    pub fn matches(
        &self,
        id: i64,
        properties: &Map<String, Value>,
        geometry: &Geometry<f64>,
    ) -> bool {
        let feature = Feature {
            id,
            properties,
            geometry,
        };
        evaluate(&self.root, &feature) == Some(true)
    }

    /// The box every match lies in, when the filter's top level requires
    /// a spatial relation to a literal (intersects, within, equals,
    /// touches, overlaps, crosses, contains, within a distance);
    /// [`LonLatBox::EMPTY`] when two such relations cannot both hold.
    pub fn search_box(&self) -> Option<LonLatBox> {
        search_box(&self.root)
    }
}

/// Refuses text nested deeper than [`MAX_DEPTH`] brackets before any
/// parser sees it: the CQL2 parsers recurse once per level, and a few
/// hundred levels would overflow a server thread's stack.
fn nesting_within_limit(text: &str) -> Result<(), String> {
    let (mut depth, mut quote) = (0usize, None::<char>);
    for c in text.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '(' | '[' | '{') => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(format!("filter is nested deeper than {MAX_DEPTH} levels"));
                }
            }
            (None, ')' | ']' | '}') => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Deepest nesting accepted: a hostile filter cannot exhaust the stack.
const MAX_DEPTH: usize = 32;

struct Compiler<'a> {
    crs: Crs,
    queryables: &'a Queryables,
}

impl Compiler<'_> {
    fn predicate(&self, expr: &cql2::Expr, depth: usize) -> Result<Node, String> {
        use cql2::Expr;
        if depth > MAX_DEPTH {
            return Err(format!("filter is nested deeper than {MAX_DEPTH} levels"));
        }
        let (op, args) = match expr {
            Expr::Bool(b) => return Ok(Node::Constant(*b)),
            Expr::Operation { op, args } => (op.to_ascii_lowercase(), args),
            other => return Err(format!("{} is not a condition", describe(other))),
        };
        let arity = |n: usize| -> Result<(), String> {
            if args.len() == n {
                Ok(())
            } else {
                Err(format!("{op} takes {n} arguments, got {}", args.len()))
            }
        };
        let sub = |e: &Expr| self.predicate(e, depth + 1);
        Ok(match op.as_str() {
            "and" => Node::And(args.iter().map(|a| sub(a)).collect::<Result<_, _>>()?),
            "or" => Node::Or(args.iter().map(|a| sub(a)).collect::<Result<_, _>>()?),
            "not" => {
                arity(1)?;
                Node::Not(Box::new(sub(&args[0])?))
            }
            "=" | "<>" | "<" | "<=" | ">" | ">=" => {
                arity(2)?;
                let comparison = match op.as_str() {
                    "=" => Comparison::Eq,
                    "<>" => Comparison::Ne,
                    "<" => Comparison::Lt,
                    "<=" => Comparison::Le,
                    ">" => Comparison::Gt,
                    _ => Comparison::Ge,
                };
                let (a, b) = (self.operand(&args[0])?, self.operand(&args[1])?);
                self.check_pair(&a, &b, &op)?;
                let b = self.as_instant_if(&a, b);
                let a = self.as_instant_if(&b, a);
                Node::Compare(comparison, a, b)
            }
            "like" => {
                arity(2)?;
                let value = self.operand(&args[0])?;
                self.check_text(&value, "LIKE")?;
                match self.operand(&args[1])? {
                    Operand::Text(pattern) => Node::Like(value, LikePattern::parse(&pattern)?),
                    _ => return Err("LIKE needs a text pattern".into()),
                }
            }
            "between" => {
                arity(3)?;
                let (v, lo, hi) = (
                    self.operand(&args[0])?,
                    self.operand(&args[1])?,
                    self.operand(&args[2])?,
                );
                self.check_pair(&v, &lo, "BETWEEN")?;
                self.check_pair(&v, &hi, "BETWEEN")?;
                let (lo, hi) = (self.as_instant_if(&v, lo), self.as_instant_if(&v, hi));
                Node::Between(v, lo, hi)
            }
            "in" => {
                arity(2)?;
                let value = self.operand(&args[0])?;
                let Expr::Array(items) = args[1].as_ref() else {
                    return Err("IN needs a list".into());
                };
                let items = items
                    .iter()
                    .map(|i| self.operand(i))
                    .collect::<Result<Vec<_>, _>>()?;
                for item in &items {
                    self.check_pair(&value, item, "IN")?;
                }
                let items = items
                    .into_iter()
                    .map(|i| self.as_instant_if(&value, i))
                    .collect();
                Node::In(value, items)
            }
            "isnull" => {
                arity(1)?;
                Node::IsNull(self.operand(&args[0])?)
            }
            "s_intersects" | "s_disjoint" | "s_within" | "s_contains" | "s_equals"
            | "s_touches" | "s_overlaps" | "s_crosses" => {
                arity(2)?;
                let (literal, reversed) = self.geometry_pair(&args[0], &args[1])?;
                let relation = match (op.as_str(), reversed) {
                    ("s_intersects", _) => SpatialRelation::Intersects,
                    ("s_disjoint", _) => SpatialRelation::Disjoint,
                    ("s_within", false) | ("s_contains", true) => SpatialRelation::Within,
                    ("s_contains", false) | ("s_within", true) => SpatialRelation::Contains,
                    ("s_equals", _) => SpatialRelation::Equals,
                    ("s_touches", _) => SpatialRelation::Touches,
                    ("s_overlaps", _) => SpatialRelation::Overlaps,
                    _ => SpatialRelation::Crosses,
                };
                Node::Spatial(relation, literal)
            }
            "s_dwithin" => {
                if args.len() != 3 && args.len() != 4 {
                    return Err(
                        "S_DWITHIN takes (geometry, literal geometry, distance[, 'metres'])".into(),
                    );
                }
                let (literal, _) = self.geometry_pair(&args[0], &args[1])?;
                let distance = match args[2].as_ref() {
                    Expr::Float(d) if d.is_finite() && (0.0..=MAX_DISTANCE_M).contains(d) => *d,
                    _ => {
                        return Err(format!(
                            "S_DWITHIN distance must be a number of metres from 0 to {MAX_DISTANCE_M}"
                        ));
                    }
                };
                if let Some(units) = args.get(3) {
                    match units.as_ref() {
                        Expr::Literal(u)
                            if matches!(
                                u.as_str(),
                                "m" | "metre" | "metres" | "meter" | "meters"
                            ) => {}
                        _ => return Err("S_DWITHIN distances are in metres".into()),
                    }
                }
                Node::WithinDistance(literal, distance)
            }
            other => {
                return Err(format!(
                    "operator {other} is not supported; filters may use AND, OR, NOT, =, <>, <, <=, >, >=, LIKE, BETWEEN, IN, IS NULL, S_INTERSECTS, S_DISJOINT, S_WITHIN, S_CONTAINS, S_EQUALS, S_TOUCHES, S_OVERLAPS, S_CROSSES and S_DWITHIN"
                ));
            }
        })
    }

    fn operand(&self, expr: &cql2::Expr) -> Result<Operand, String> {
        use cql2::Expr;
        match expr {
            Expr::Property { property } => match self.queryables.get(property) {
                Some(ValueType::Geometry) => Err(format!(
                    "{property} is a geometry: compare it with a spatial function such as S_INTERSECTS"
                )),
                Some(_) => Ok(Operand::Property(property.clone())),
                None => Err(unknown_property(property, self.queryables)),
            },
            Expr::Literal(s) => Ok(Operand::Text(s.clone())),
            Expr::Float(f) => Ok(Operand::Number(*f)),
            Expr::Bool(b) => Ok(Operand::Bool(*b)),
            Expr::Null => Ok(Operand::Null),
            Expr::Timestamp { timestamp } | Expr::Date { date: timestamp } => {
                match timestamp.as_ref() {
                    Expr::Literal(t) => parse_instant(t).map(Operand::Instant),
                    other => Err(format!("{} is not a timestamp", describe(other))),
                }
            }
            other => Err(format!("{} cannot be compared", describe(other))),
        }
    }

    /// A text literal compared with a timestamp property, as the instant
    /// it names (parsed once here, not per feature).
    fn as_instant_if(&self, other: &Operand, literal: Operand) -> Operand {
        match (self.value_type(other), &literal) {
            (Some(ValueType::Instant), Operand::Text(t)) => {
                parse_instant(t).map(Operand::Instant).unwrap_or(literal)
            }
            _ => literal,
        }
    }

    fn value_type(&self, operand: &Operand) -> Option<&ValueType> {
        match operand {
            Operand::Property(p) => self.queryables.get(p),
            _ => None,
        }
    }

    /// A property compared with a literal must get a literal of its type.
    fn check_pair(&self, a: &Operand, b: &Operand, op: &str) -> Result<(), String> {
        for (p, literal) in [(a, b), (b, a)] {
            let (Operand::Property(name), Some(kind)) = (p, self.value_type(p)) else {
                continue;
            };
            let fits = match (kind, literal) {
                (_, Operand::Property(_) | Operand::Null) => true,
                (ValueType::Text(None), Operand::Text(_)) => true,
                (ValueType::Text(Some(values)), Operand::Text(t)) => {
                    if !values.contains(t) && op != "LIKE" {
                        return Err(format!(
                            "{name} is one of {}; {t:?} is not",
                            values.join(", ")
                        ));
                    }
                    true
                }
                (ValueType::Integer | ValueType::Number, Operand::Number(_)) => true,
                (ValueType::Boolean, Operand::Bool(_)) => true,
                (ValueType::Instant, Operand::Instant(_)) => true,
                (ValueType::Instant, Operand::Text(t)) => parse_instant(t).is_ok(),
                _ => false,
            };
            if !fits {
                return Err(format!(
                    "{name} is {} and cannot be compared ({op}) with {}",
                    type_name(kind),
                    describe_operand(literal)
                ));
            }
        }
        Ok(())
    }

    fn check_text(&self, operand: &Operand, op: &str) -> Result<(), String> {
        match self.value_type(operand) {
            Some(ValueType::Text(_)) | None => Ok(()),
            Some(other) => Err(format!(
                "{op} applies to text; this is {}",
                type_name(other)
            )),
        }
    }

    /// The literal geometry of a spatial predicate (in CRS84), and whether
    /// it came first. The other argument must be the feature's geometry.
    fn geometry_pair(
        &self,
        a: &cql2::Expr,
        b: &cql2::Expr,
    ) -> Result<(Geometry<f64>, bool), String> {
        let is_geometry_property = |e: &cql2::Expr| match e {
            cql2::Expr::Property { property } => match self.queryables.get(property) {
                Some(ValueType::Geometry) => Ok(true),
                Some(_) => Err(format!("{property} is not a geometry")),
                None => Err(unknown_property(property, self.queryables)),
            },
            _ => Ok(false),
        };
        if is_geometry_property(a)? {
            Ok((self.literal_geometry(b)?, false))
        } else if is_geometry_property(b)? {
            Ok((self.literal_geometry(a)?, true))
        } else {
            Err("a spatial function compares the feature's geometry with a literal geometry".into())
        }
    }

    fn literal_geometry(&self, expr: &cql2::Expr) -> Result<Geometry<f64>, String> {
        let mut geojson = match expr {
            cql2::Expr::Geometry(g) => serde_json::to_value(g).map_err(|e| e.to_string())?,
            cql2::Expr::BBox { bbox } => {
                let n: Vec<f64> = bbox
                    .iter()
                    .map(|e| match e.as_ref() {
                        cql2::Expr::Float(f) => Ok(*f),
                        _ => Err("BBOX takes numbers".to_string()),
                    })
                    .collect::<Result<_, _>>()?;
                let [x0, y0, x1, y1] = match n.as_slice() {
                    [a, b, c, d] => [*a, *b, *c, *d],
                    [a, b, _, d, e, _] => [*a, *b, *d, *e],
                    _ => return Err("BBOX takes 4 or 6 numbers".into()),
                };
                serde_json::json!({"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]})
            }
            other => return Err(format!("{} is not a geometry", describe(other))),
        };
        self.crs
            .geometry_to_crs84(&mut geojson)
            .map_err(|e| format!("filter geometry: {e}"))?;
        let geometry: geojson::Geometry =
            serde_json::from_value(geojson).map_err(|e| format!("filter geometry: {e}"))?;
        let geometry: Geometry<f64> = geometry
            .try_into()
            .map_err(|e: geojson::Error| format!("filter geometry: {e}"))?;
        let valid = geometry.coords_iter().all(|c| {
            c.x.is_finite()
                && c.y.is_finite()
                && (-180.0..=180.0).contains(&c.x)
                && (-90.0..=90.0).contains(&c.y)
        });
        if valid {
            Ok(geometry)
        } else {
            Err(
                "filter geometry has coordinates outside longitude -180..180, latitude -90..90"
                    .into(),
            )
        }
    }
}

fn unknown_property(property: &str, queryables: &Queryables) -> String {
    format!(
        "unknown property {property:?}; the queryables are {}",
        queryables.keys().cloned().collect::<Vec<_>>().join(", ")
    )
}

fn type_name(kind: &ValueType) -> &'static str {
    match kind {
        ValueType::Text(_) => "text",
        ValueType::Integer => "an integer",
        ValueType::Number => "a number",
        ValueType::Boolean => "a boolean",
        ValueType::Instant => "a timestamp",
        ValueType::Geometry => "a geometry",
    }
}

fn describe(expr: &cql2::Expr) -> String {
    expr.to_text().unwrap_or_else(|_| "this".into())
}

fn describe_operand(operand: &Operand) -> String {
    match operand {
        Operand::Property(p) => format!("property {p}"),
        Operand::Text(t) => format!("text {t:?}"),
        Operand::Number(n) => format!("the number {n}"),
        Operand::Bool(b) => format!("{b}"),
        Operand::Instant(_) => "a timestamp".into(),
        Operand::Null => "NULL".into(),
    }
}

fn parse_instant(text: &str) -> Result<OffsetDateTime, String> {
    crate::domain::parse_utc(text)
        .ok_or(())
        .or_else(|_| {
            // A date alone is its first instant, in UTC.
            time::Date::parse(
                text,
                &time::macros::format_description!("[year]-[month]-[day]"),
            )
            .map(|d| d.midnight().assume_utc())
        })
        .map_err(|_| format!("{text:?} is not an RFC 3339 timestamp or date"))
}

/// What a filter is evaluated on.
struct Feature<'a> {
    id: i64,
    properties: &'a Map<String, Value>,
    geometry: &'a Geometry<f64>,
}

/// A value to compare: a literal, or a property of the feature.
#[derive(Debug, Clone, PartialEq)]
enum Resolved {
    Text(String),
    Number(f64),
    Bool(bool),
    Instant(OffsetDateTime),
    Null,
}

fn resolve(operand: &Operand, feature: &Feature) -> Resolved {
    match operand {
        Operand::Property(name) if name == "id" => Resolved::Number(feature.id as f64),
        Operand::Text(t) => Resolved::Text(t.clone()),
        Operand::Number(n) => Resolved::Number(*n),
        Operand::Bool(b) => Resolved::Bool(*b),
        Operand::Instant(t) => Resolved::Instant(*t),
        Operand::Null => Resolved::Null,
        Operand::Property(name) => match feature.properties.get(name) {
            None | Some(Value::Null) => Resolved::Null,
            Some(Value::String(s)) => Resolved::Text(s.clone()),
            Some(Value::Number(n)) => n.as_f64().map(Resolved::Number).unwrap_or(Resolved::Null),
            Some(Value::Bool(b)) => Resolved::Bool(*b),
            Some(other) => Resolved::Text(other.to_string()),
        },
    }
}

/// Orders two values of one type; `None` when either is NULL or they
/// cannot be compared.
fn order(a: &Resolved, b: &Resolved) -> Option<std::cmp::Ordering> {
    match (a, b) {
        (Resolved::Text(x), Resolved::Text(y)) => Some(x.cmp(y)),
        (Resolved::Number(x), Resolved::Number(y)) => x.partial_cmp(y),
        (Resolved::Bool(x), Resolved::Bool(y)) => Some(x.cmp(y)),
        (Resolved::Instant(x), Resolved::Instant(y)) => Some(x.cmp(y)),
        (Resolved::Instant(x), Resolved::Text(y)) => parse_instant(y).ok().map(|y| x.cmp(&y)),
        (Resolved::Text(x), Resolved::Instant(y)) => parse_instant(x).ok().map(|x| x.cmp(y)),
        _ => None,
    }
}

fn and(values: impl Iterator<Item = Option<bool>>) -> Option<bool> {
    let mut result = Some(true);
    for v in values {
        match v {
            Some(false) => return Some(false),
            None => result = None,
            Some(true) => {}
        }
    }
    result
}

fn or(values: impl Iterator<Item = Option<bool>>) -> Option<bool> {
    let mut result = Some(false);
    for v in values {
        match v {
            Some(true) => return Some(true),
            None => result = None,
            Some(false) => {}
        }
    }
    result
}

/// Three-valued evaluation: `None` is SQL's UNKNOWN.
fn evaluate(node: &Node, feature: &Feature) -> Option<bool> {
    use std::cmp::Ordering::*;
    let geometry = feature.geometry;
    match node {
        Node::Constant(b) => Some(*b),
        Node::And(parts) => and(parts.iter().map(|p| evaluate(p, feature))),
        Node::Or(parts) => or(parts.iter().map(|p| evaluate(p, feature))),
        Node::Not(inner) => evaluate(inner, feature).map(|b| !b),
        Node::Compare(op, a, b) => {
            let ordering = order(&resolve(a, feature), &resolve(b, feature))?;
            Some(match op {
                Comparison::Eq => ordering == Equal,
                Comparison::Ne => ordering != Equal,
                Comparison::Lt => ordering == Less,
                Comparison::Le => ordering != Greater,
                Comparison::Gt => ordering == Greater,
                Comparison::Ge => ordering != Less,
            })
        }
        Node::Like(value, pattern) => match resolve(value, feature) {
            Resolved::Text(t) => Some(pattern.matches(&t)),
            Resolved::Null => None,
            other => Some(pattern.matches(&format!("{other:?}"))),
        },
        Node::Between(v, lo, hi) => {
            let v = resolve(v, feature);
            let low = order(&v, &resolve(lo, feature))?;
            let high = order(&v, &resolve(hi, feature))?;
            Some(low != Less && high != Greater)
        }
        Node::In(v, items) => {
            let v = resolve(v, feature);
            if v == Resolved::Null {
                return None;
            }
            or(items
                .iter()
                .map(|i| order(&v, &resolve(i, feature)).map(|o| o == Equal)))
        }
        Node::IsNull(v) => Some(resolve(v, feature) == Resolved::Null),
        Node::Spatial(relation, literal) => Some(match relation {
            SpatialRelation::Intersects => geometry.intersects(literal),
            SpatialRelation::Disjoint => !geometry.intersects(literal),
            SpatialRelation::Within => geometry.relate(literal).is_within(),
            SpatialRelation::Contains => geometry.relate(literal).is_contains(),
            SpatialRelation::Equals => geometry.relate(literal).is_equal_topo(),
            SpatialRelation::Touches => geometry.relate(literal).is_touches(),
            SpatialRelation::Overlaps => geometry.relate(literal).is_overlaps(),
            SpatialRelation::Crosses => geometry.relate(literal).is_crosses(),
        }),
        Node::WithinDistance(literal, metres) => Some(distance_m(geometry, literal) <= *metres),
    }
}

/// Metric distance between two geometries: zero when they intersect,
/// else the planar distance in a local equirectangular projection around
/// the literal (metres per degree from the WGS 84 ellipsoid at its
/// latitude), within 0.1 % below 100 km.
fn distance_m(a: &Geometry<f64>, b: &Geometry<f64>) -> f64 {
    if a.intersects(b) {
        return 0.0;
    }
    let lat0 = b
        .bounding_rect()
        .map(|r| r.center().y)
        .unwrap_or_default()
        .to_radians();
    let (east, north) = metres_per_degree(lat0);
    let local = |g: &Geometry<f64>| g.map_coords(|c| geo::coord! {x: c.x * east, y: c.y * north});
    Euclidean.distance(&local(a), &local(b))
}

/// Metres per degree of longitude and of latitude at latitude `lat`
/// (radians), on the WGS 84 ellipsoid.
fn metres_per_degree(lat: f64) -> (f64, f64) {
    const A: f64 = 6_378_137.0;
    const E2: f64 = 6.694_379_990_14e-3;
    let s = lat.sin();
    let w = (1.0 - E2 * s * s).sqrt();
    let east = A * lat.cos() / w;
    let north = A * (1.0 - E2) / (w * w * w);
    (east.to_radians(), north.to_radians())
}

fn search_box(node: &Node) -> Option<LonLatBox> {
    // A superset of what the filter's own distance test accepts: the
    // box is grown generously (see `LonLatBox::grown_by_m`).
    let rect_box = |g: &Geometry<f64>, margin_m: f64| {
        LonLatBox::of_geometry(g).map(|b| b.grown_by_m(margin_m))
    };
    match node {
        Node::Spatial(relation, literal) if *relation != SpatialRelation::Disjoint => {
            rect_box(literal, 0.0)
        }
        Node::WithinDistance(literal, metres) => rect_box(literal, *metres),
        Node::And(parts) => parts
            .iter()
            .filter_map(search_box)
            .reduce(|a, b| a.intersection(b).unwrap_or(LonLatBox::EMPTY)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::Point;
    use serde_json::json;

    fn queryables() -> Queryables {
        [
            (
                "status",
                ValueType::Text(Some(vec!["working".into(), "faulty".into(), "off".into()])),
            ),
            ("name", ValueType::Text(None)),
            ("ports", ValueType::Integer),
            ("power_w", ValueType::Number),
            ("lit", ValueType::Boolean),
            ("updated_at", ValueType::Instant),
            ("geometry", ValueType::Geometry),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }

    fn text(filter: &str) -> Result<FeatureFilter, String> {
        FeatureFilter::parse(filter, FilterLang::Cql2Text, Crs::Crs84, &queryables())
    }

    fn props() -> Map<String, Value> {
        json!({"status": "working", "name": "Zhangwang Hutong 12", "ports": 4, "power_w": 24.5,
            "lit": true, "updated_at": "2024-10-18T01:12:00.000Z", "sensor": null})
        .as_object()
        .cloned()
        .unwrap_or_default()
    }

    fn here() -> Geometry<f64> {
        Point::new(116.3951, 39.9412).into()
    }

    fn matches(filter: &str) -> bool {
        text(filter)
            .expect("valid filter")
            .matches(1, &props(), &here())
    }

    #[test]
    fn comparisons_logic_and_advanced_operators() {
        assert!(matches("status = 'working' AND power_w > 20"));
        assert!(!matches("status = 'working' AND NOT power_w > 20"));
        assert!(matches("status <> 'off' OR ports < 1"));
        assert!(matches("name LIKE 'Zhang%12'"));
        assert!(matches("name LIKE '_hangwang%'"));
        assert!(!matches("name LIKE 'Zhang'"));
        assert!(matches("ports BETWEEN 2 AND 6"));
        assert!(!matches("ports BETWEEN 5 AND 6"));
        assert!(matches("status IN ('faulty', 'working')"));
        assert!(matches("updated_at > TIMESTAMP('2024-01-01T00:00:00Z')"));
        assert!(matches("updated_at < DATE('2024-10-19')"));
        assert!(matches("lit = true"));
        assert!(matches("NOT (ports = 5)"));
    }

    #[test]
    fn nulls_are_unknown_not_false() {
        let q: Queryables = [("sensor".to_string(), ValueType::Text(None))]
            .into_iter()
            .collect();
        let f =
            |s: &str| FeatureFilter::parse(s, FilterLang::Cql2Text, Crs::Crs84, &q).expect("valid");
        assert!(f("sensor IS NULL").matches(1, &props(), &here()));
        assert!(!f("sensor = 'pir'").matches(1, &props(), &here()));
        assert!(
            !f("NOT (sensor = 'pir')").matches(1, &props(), &here()),
            "NOT UNKNOWN is UNKNOWN"
        );
    }

    #[test]
    fn spatial_predicates_and_metric_distance() {
        assert!(matches(
            "S_INTERSECTS(geometry, POLYGON((116.39 39.94, 116.40 39.94, 116.40 39.945, 116.39 39.945, 116.39 39.94)))"
        ));
        assert!(matches(
            "S_WITHIN(geometry, BBOX(116.39, 39.94, 116.40, 39.945))"
        ));
        assert!(matches(
            "S_DISJOINT(geometry, BBOX(116.0, 39.0, 116.1, 39.1))"
        ));
        // The point 116.3951 39.9412 is 8.5467 m from 116.3952 39.9412
        // (GeographicLib 2.0, `Geodesic.WGS84.Inverse`).
        assert!(matches(
            "S_DWITHIN(geometry, POINT(116.3952 39.9412), 8.552)"
        ));
        assert!(!matches(
            "S_DWITHIN(geometry, POINT(116.3952 39.9412), 8.541)"
        ));
        let f = text("S_DWITHIN(geometry, POINT(116.3952 39.9412), 100) AND status = 'working'")
            .expect("valid");
        let b = f.search_box().expect("a box");
        assert!(
            b.min_lon < 116.3952
                && b.max_lon > 116.3952
                && (b.max_lat - b.min_lat) * 111_000.0 > 199.0
        );
        assert!(
            text("status = 'working'")
                .expect("valid")
                .search_box()
                .is_none()
        );
    }

    #[test]
    fn json_filters_and_literals_in_other_crs() {
        let json = r#"{"op": "and", "args": [{"op": "=", "args": [{"property": "status"}, "working"]},
            {"op": "s_intersects", "args": [{"property": "geometry"}, {"type": "Point", "coordinates": [116.3951, 39.9412]}]}]}"#;
        let f = FeatureFilter::parse(json, FilterLang::Cql2Json, Crs::Crs84, &queryables())
            .expect("valid");
        assert!(f.matches(1, &props(), &here()));
        // The same point in UTM 50N (PROJ: 448321.4858 4421406.1672), within 1 m.
        let f = FeatureFilter::parse(
            "S_DWITHIN(geometry, POINT(448321.4858 4421406.1672), 1)",
            FilterLang::Cql2Text,
            Crs::Epsg32650,
            &queryables(),
        )
        .expect("valid");
        assert!(f.matches(1, &props(), &here()));
    }

    #[test]
    fn bad_filters_say_why() {
        for (filter, reason) in [
            ("colour = 'red'", "unknown property"),
            ("status = 'broken'", "is one of"),
            ("ports = 'four'", "cannot be compared"),
            ("status = ", "not valid CQL2"),
            ("S_INTERSECTS(status, POINT(1 2))", "not a geometry"),
            ("geometry = 5", "spatial function"),
            ("S_DWITHIN(geometry, POINT(116 39), -5)", "distance"),
            ("S_INTERSECTS(geometry, POINT(500 2))", "outside"),
            ("FOO(ports)", "not supported"),
            ("ports + 1 = 5", "cannot be compared"),
        ] {
            let e = text(filter).expect_err(filter);
            assert!(e.contains(reason), "{filter}: {e}");
        }
        let deep = format!("{}ports = 1{}", "NOT (".repeat(100), ")".repeat(100));
        assert!(text(&deep).is_err());
        assert!(text(&"a".repeat(MAX_FILTER_CHARS + 1)).is_err());
    }

    #[test]
    fn hostile_filters_are_refused_before_evaluation() {
        // 6,000 wildcards in one LIKE.
        let wild = format!("name LIKE '{}b'", "%a".repeat(6_000));
        assert!(text(&wild).expect_err("refused").contains("LIKE pattern"));
        // A chain of 700 LIKEs.
        let chain = vec!["name LIKE '%a%'"; 700].join(" OR ");
        assert!(text(&chain).expect_err("refused").contains("conditions"));
        // An IN list counts each of its values.
        let list = format!("ports IN ({})", vec!["1"; 200].join(","));
        assert!(text(&list).expect_err("refused").contains("conditions"));
    }
}
