//! OGC API – Features at the service root: the landing page, conformance,
//! collections and their items, in JSON and HTML.

mod collection;
mod collections;
mod html;
mod items;
mod landing;
mod request;

use super::ApiState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use items::{DEFAULT_LIMIT, MAX_LIMIT};
pub use landing::OPENAPI_JSON;

pub fn router() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(landing::landing))
        .routes(routes!(landing::conformance))
        .routes(routes!(collections::list))
        .routes(routes!(collections::describe))
        .routes(routes!(items::list))
        .routes(routes!(items::fetch))
}
