//! Reading a multipart/form-data body of text fields and photos (a done
//! report, a survey's photos): each photo read in chunks and refused as
//! soon as it passes the size limit, at most [`MAX_PHOTOS`] of them, text
//! fields short and named from a known list.

use super::ApiError;
use crate::domain::ValidationError;
use crate::services::work_orders::{MAX_PHOTO_BYTES, MAX_PHOTOS};
use axum::extract::Multipart;
use axum::extract::multipart::MultipartError;
use axum::http::StatusCode;
use std::collections::BTreeMap;

/// Largest body of a form with its photos.
pub const MAX_PHOTO_FORM_BYTES: usize = MAX_PHOTOS * MAX_PHOTO_BYTES + 64 * 1024;

/// Longest text field, bytes.
const MAX_TEXT_FIELD_BYTES: usize = 4_096;

/// The text fields (by name) and the photos (bytes and the type the
/// client claimed) of a form.
#[derive(Debug, Default)]
pub struct PhotoForm {
    pub texts: BTreeMap<String, String>,
    pub photos: Vec<(Vec<u8>, Option<String>)>,
}

impl PhotoForm {
    /// Reads the form; `text_fields` are the names allowed besides
    /// `photo`, `what` names the form in messages.
    pub async fn read(
        mut multipart: Multipart,
        text_fields: &[&str],
        what: &str,
    ) -> Result<Self, ApiError> {
        let bad = |e: MultipartError| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::Rejected {
                    status: StatusCode::PAYLOAD_TOO_LARGE,
                    detail: format!("{what} is at most {MAX_PHOTO_FORM_BYTES} bytes"),
                }
            } else {
                ApiError::bad_request(e.body_text())
            }
        };
        let mut form = PhotoForm::default();
        while let Some(mut field) = multipart.next_field().await.map_err(bad)? {
            let name = field.name().unwrap_or_default().to_string();
            if name == "photo" {
                if form.photos.len() >= MAX_PHOTOS {
                    return Err(ValidationError::single(
                        "/photos",
                        format!("at most {MAX_PHOTOS} photos go with {what}"),
                    )
                    .into());
                }
                let claimed = field.content_type().map(str::to_string);
                let mut bytes = Vec::new();
                while let Some(chunk) = field.chunk().await.map_err(bad)? {
                    if bytes.len() + chunk.len() > MAX_PHOTO_BYTES {
                        return Err(ApiError::Rejected {
                            status: StatusCode::PAYLOAD_TOO_LARGE,
                            detail: format!(
                                "photo {} is larger than {MAX_PHOTO_BYTES} bytes",
                                form.photos.len() + 1
                            ),
                        });
                    }
                    bytes.extend_from_slice(&chunk);
                }
                form.photos.push((bytes, claimed));
                continue;
            }
            if !text_fields.contains(&name.as_str()) {
                return Err(ApiError::bad_request(format!(
                    "unknown form field {:?}; {what} has {} and photo",
                    name.chars().take(64).collect::<String>(),
                    text_fields.join(", ")
                )));
            }
            let text = field.text().await.map_err(bad)?;
            if text.len() > MAX_TEXT_FIELD_BYTES {
                return Err(ValidationError::single(format!("/{name}"), "is too long").into());
            }
            if form.texts.insert(name.clone(), text).is_some() {
                return Err(ApiError::bad_request(format!("{name:?} is given twice")));
            }
        }
        Ok(form)
    }

    /// A text field as a number (422 naming it otherwise).
    pub fn number(&self, name: &str) -> Result<Option<f64>, ApiError> {
        self.texts
            .get(name)
            .map(|t| {
                t.trim().parse::<f64>().map_err(|_| {
                    ApiError::Invalid(ValidationError::single(
                        format!("/{name}"),
                        "must be a number",
                    ))
                })
            })
            .transpose()
    }
}

/// The form's photos checked (size, type from the bytes, EXIF position),
/// numbered from 1 in any message.
pub fn checked_photos(
    photos: Vec<(Vec<u8>, Option<String>)>,
) -> Result<Vec<crate::services::work_orders::CheckedPhoto>, ApiError> {
    photos
        .into_iter()
        .enumerate()
        .map(|(i, (bytes, claimed))| {
            crate::services::work_orders::check_photo(i + 1, bytes, claimed.as_deref())
                .map_err(|e| crate::services::work_orders::WorkOrderError::from(e).into())
        })
        .collect()
}
