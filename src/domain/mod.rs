//! Pure types and rules of the domain: asset kinds and their attributes,
//! roles and the vocabularies they use. No I/O happens here.

mod address;
mod admin_area;
mod asset;
mod asset_kind;
mod attributes;
mod callback;
mod caller;
mod complaint;
mod complaint_link;
mod complaint_query;
mod condition;
mod coord_sys;
mod district;
mod free_text;
mod lon_lat_box;
mod plan;
mod responsible_unit;
mod role;
mod survey;
mod timestamp;
mod validation_error;
mod vocabulary;
mod work_order;

pub use address::{AddressKey, WayClass};
pub use admin_area::{AdminArea, AreaLevel, AreaPath, is_area_code};
pub use asset::{Asset, AssetDraft, AssetId, AssetView, Derived, Version};
pub use asset_kind::{AssetKind, GeometryShape, MAX_FACILITY_PARTS};
pub use attributes::{
    AssetAttributes, BuildingAttributes, ChargerAttributes, CourtyardAttributes,
    DrainageAttributes, FacilityAttributes, LaneAttributes, LightAttributes, READ_ONLY_PROPERTIES,
    opening_hours_problem,
};
pub use callback::{CallbackAnswers, CallbackRates};
pub use caller::{
    Caller, mask_name, mask_phone, may_see_personal_data, phone_digest, phone_digits,
};
pub use complaint::{
    CaseNumber, CaseType, Category, Channel, Complaint, ComplaintDraft, ComplaintId,
    ComplaintStatus, DeadlineTier, LocatedBy, NotAssessable, Satisfaction, StatusChange,
};
pub use complaint_link::{ComplaintLink, Linking};
pub use complaint_query::{ComplaintExtent, ComplaintFilter, ComplaintStats, StatsGroup};
pub use condition::Condition;
pub use coord_sys::CoordSys;
pub use district::District;
pub use free_text::free_text_problem;
pub use lon_lat_box::LonLatBox;
pub use plan::{
    CostLine, Measure, Plan, PlanDraft, PlanId, PlanKind, PlanQuantities, PlanStatus,
    may_move_plan, may_write_plans,
};
pub use responsible_unit::{Crew, Handling, Unit, UnitCode, UnitKind};
pub use role::{Principal, Role};
pub use survey::{DangerGrade, POOR_CONDITION, Survey, SurveyDraft, SurveyElement};
pub use timestamp::{UtcText, parse_utc, to_millis, utc_text};
pub use validation_error::{FieldError, ValidationError};
pub use vocabulary::{
    ChargerAccess, ChargerStatus, DrainageType, ElevatorStatus, FacilityType, HeritageGrade,
    LightSensor, LightStatus, LightType, Paving, PondingRisk, Structure,
};
pub use work_order::{
    Evidence, FAR_FROM_SITE_M, Priority, WorkOrder, WorkOrderDraft, WorkOrderEvent, WorkOrderId,
    WorkOrderKind, WorkOrderOrigin, WorkOrderStatus, may_move,
};
