//! OGC API – Features at the service root: the landing page, conformance,
//! collections and their items, in JSON and HTML.

mod collection;
mod collections;
mod crs;
mod html;
mod items;
mod items_write;
mod landing;
pub(super) mod queryables;
mod request;

use super::ApiState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use collection::Collection;
pub use items::{DEFAULT_LIMIT, MAX_LIMIT};
pub use landing::OPENAPI_JSON;
pub use queryables::properties as queryable_properties;
pub use request::OgcRequest;

pub fn router() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(landing::landing))
        .routes(routes!(landing::conformance))
        .routes(routes!(collections::list))
        .routes(routes!(collections::describe))
        .routes(routes!(queryables::queryables))
        .routes(routes!(
            items::list,
            items_write::create,
            items_write::options_items
        ))
        .routes(routes!(
            items::fetch,
            items_write::replace,
            items_write::update,
            items_write::delete,
            items_write::options_item
        ))
}
