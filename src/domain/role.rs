//! Who is asking: roles and the authenticated principal.

use super::District;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The roles of DESIGN.md. Anonymous callers have no role at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Planner,
    Designer,
    Crew,
    Operator,
    /// Staff of a responsible unit (承办单位): sees and acts on the cases
    /// dispatched to that unit only.
    Unit,
}

impl Role {
    pub const ALL: &'static [Role] = &[
        Role::Admin,
        Role::Planner,
        Role::Designer,
        Role::Crew,
        Role::Operator,
        Role::Unit,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Planner => "planner",
            Role::Designer => "designer",
            Role::Crew => "crew",
            Role::Operator => "operator",
            Role::Unit => "unit",
        }
    }

    /// Whether this role takes in complaints, marks duplicates and sees
    /// callers' personal data: hotline operators and admins.
    pub fn takes_complaints(self) -> bool {
        matches!(self, Role::Operator | Role::Admin)
    }

    /// Whether this role may create, change or delete assets.
    pub fn may_edit_assets(self) -> bool {
        matches!(self, Role::Admin | Role::Planner | Role::Designer)
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .iter()
            .copied()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown role {s:?}; expected one of: admin, planner, designer, crew, operator, unit"
                )
            })
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An authenticated caller: the role of its token and, when the token is
/// scoped, the one district it may act in; a unit token's unit, a crew
/// token's unit and crew.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub token_id: i64,
    pub role: Role,
    pub district: Option<District>,
    pub unit: Option<super::UnitCode>,
    /// A crew token's crew (of `unit`).
    pub crew: Option<super::UnitCode>,
    /// The token's label (whom it is for), for the audit trail.
    pub label: Option<String>,
}

impl Principal {
    /// Whether the principal may act on something in `district`. An
    /// unscoped token may act anywhere; a scoped one only inside its
    /// district, and not on things that belong to no district.
    pub fn may_act_in(&self, district: Option<District>) -> bool {
        match self.district {
            None => true,
            Some(own) => district == Some(own),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_admin_planner_designer_edit_assets() {
        let editors: Vec<Role> = Role::ALL
            .iter()
            .copied()
            .filter(|r| r.may_edit_assets())
            .collect();
        assert_eq!(editors, vec![Role::Admin, Role::Planner, Role::Designer]);
    }

    #[test]
    fn roles_parse_from_their_names() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(*role));
        }
        assert!("root".parse::<Role>().is_err());
    }

    #[test]
    fn district_scope_limits_where_a_principal_acts() {
        let scoped = Principal {
            token_id: 1,
            role: Role::Designer,
            district: Some(District::Dongcheng),
            unit: None,
            crew: None,
            label: None,
        };
        assert!(scoped.may_act_in(Some(District::Dongcheng)));
        assert!(!scoped.may_act_in(Some(District::Changping)));
        assert!(!scoped.may_act_in(None));
        let unscoped = Principal {
            district: None,
            ..scoped
        };
        assert!(unscoped.may_act_in(Some(District::Changping)));
        assert!(unscoped.may_act_in(None));
    }
}
