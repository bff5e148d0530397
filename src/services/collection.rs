//! The feature collections the service publishes (OGC API collections and
//! vector tile layers): one per asset kind, and the complaints (always
//! without personal data).

use crate::domain::AssetKind;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Collection {
    Assets(AssetKind),
    Complaints,
}

impl Collection {
    pub const ALL: [Collection; 7] = [
        Collection::Assets(AssetKind::Courtyard),
        Collection::Assets(AssetKind::Building),
        Collection::Assets(AssetKind::Lane),
        Collection::Assets(AssetKind::Drainage),
        Collection::Assets(AssetKind::Light),
        Collection::Assets(AssetKind::Charger),
        Collection::Complaints,
    ];

    pub fn id(self) -> &'static str {
        match self {
            Collection::Assets(kind) => kind.collection(),
            Collection::Complaints => "complaints",
        }
    }

    /// The collection of this id; otherwise what to tell the client.
    pub fn parse(id: &str) -> Result<Self, String> {
        Self::ALL.into_iter().find(|c| c.id() == id).ok_or_else(|| {
            format!(
                "there is no collection {id:?}; the collections are {}",
                Self::ALL.map(Collection::id).join(", ")
            )
        })
    }

    /// The shallowest zoom at which the collection's layer is in the
    /// vector tiles: below it a tile would hold too many features to draw.
    pub fn min_zoom(self) -> u8 {
        match self {
            Collection::Assets(AssetKind::Courtyard) | Collection::Assets(AssetKind::Lane) => 11,
            Collection::Assets(AssetKind::Building) => 12,
            Collection::Assets(_) => 13,
            Collection::Complaints => 12,
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Collection::Assets(AssetKind::Courtyard) => "Courtyards",
            Collection::Assets(AssetKind::Building) => "Buildings",
            Collection::Assets(AssetKind::Lane) => "Lanes",
            Collection::Assets(AssetKind::Drainage) => "Drainage points",
            Collection::Assets(AssetKind::Light) => "Street lights",
            Collection::Assets(AssetKind::Charger) => "E-bike chargers",
            Collection::Complaints => "Citizen complaints",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            Collection::Assets(AssetKind::Courtyard) => {
                "Courtyard compounds (siheyuan and residential compounds), with heritage grade and paving."
            }
            Collection::Assets(AssetKind::Building) => {
                "Buildings, with storeys, structure and elevator status; courtyard_id is the courtyard containing each."
            }
            Collection::Assets(AssetKind::Lane) => {
                "Hutongs and lanes as centre lines, with width and paving."
            }
            Collection::Assets(AssetKind::Drainage) => {
                "Drains, manholes and gullies, with ponding risk."
            }
            Collection::Assets(AssetKind::Light) => {
                "Street lights, with type, sensor and working status."
            }
            Collection::Assets(AssetKind::Charger) => {
                "E-bike charging points, with ports, access and status."
            }
            Collection::Complaints => {
                "Complaints from the 12345 hotline, Open311 clients and WeChat. Never carries the caller's name or phone."
            }
        }
    }
}
