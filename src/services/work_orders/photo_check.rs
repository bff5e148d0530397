//! Checking a photo sent as evidence: its size, its type from its bytes
//! (never from its name or the type the client claims), and the position
//! in its EXIF, if any.

use sha2::{Digest, Sha256};

/// Largest photo accepted, bytes (a phone's full-size JPEG is 2–6 MB).
pub const MAX_PHOTO_BYTES: usize = 8 * 1024 * 1024;
/// Most photos with one report.
pub const MAX_PHOTOS: usize = 4;
/// The types accepted, as found in the bytes.
pub const PHOTO_TYPES: [&str; 3] = ["image/jpeg", "image/png", "image/webp"];

/// A photo that passed the checks.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedPhoto {
    pub media_type: &'static str,
    pub bytes: Vec<u8>,
    pub sha256: String,
    /// Where the EXIF says it was taken (WGS 84), if it says.
    pub exif_position: Option<(f64, f64)>,
}

/// Why a photo was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PhotoProblem {
    #[error("photo {index} is {size} bytes; at most {MAX_PHOTO_BYTES} are accepted")]
    TooLarge { index: usize, size: usize },
    #[error(
        "photo {index} is {found} by its bytes{claimed}; only JPEG, PNG and WebP photos are accepted"
    )]
    NotAPhoto {
        index: usize,
        found: String,
        claimed: String,
    },
}

/// Checks photo number `index` (from 1): its size and its type from its
/// bytes. `claimed` is the type the client sent, only for the message.
pub fn check_photo(
    index: usize,
    bytes: Vec<u8>,
    claimed: Option<&str>,
) -> Result<CheckedPhoto, PhotoProblem> {
    if bytes.len() > MAX_PHOTO_BYTES {
        return Err(PhotoProblem::TooLarge {
            index,
            size: bytes.len(),
        });
    }
    let found = infer::get(&bytes).map(|t| t.mime_type());
    let Some(media_type) = found.and_then(|f| PHOTO_TYPES.into_iter().find(|t| *t == f)) else {
        return Err(PhotoProblem::NotAPhoto {
            index,
            found: found.unwrap_or("of no known type").to_string(),
            claimed: claimed
                .map(|c| format!(" though sent as {}", c.chars().take(80).collect::<String>()))
                .unwrap_or_default(),
        });
    };
    let exif_position = exif_position(&bytes);
    let sha256 = crate::encoding::hex(&Sha256::digest(&bytes));
    Ok(CheckedPhoto {
        media_type,
        bytes,
        sha256,
        exif_position,
    })
}

/// The GPS position in a photo's EXIF, if it has a usable one.
pub fn exif_position(bytes: &[u8]) -> Option<(f64, f64)> {
    use exif::{In, Tag, Value};
    let exif = exif::Reader::new()
        .read_from_container(&mut std::io::Cursor::new(bytes))
        .ok()?;
    let degrees = |tag: Tag| -> Option<f64> {
        match &exif.get_field(tag, In::PRIMARY)?.value {
            Value::Rational(parts) if parts.len() == 3 => {
                if parts.iter().any(|p| p.denom == 0) {
                    return None;
                }
                Some(parts[0].to_f64() + parts[1].to_f64() / 60.0 + parts[2].to_f64() / 3600.0)
            }
            _ => None,
        }
    };
    let reference = |tag: Tag| -> Option<u8> {
        match &exif.get_field(tag, In::PRIMARY)?.value {
            Value::Ascii(texts) => texts.first()?.first().copied(),
            _ => None,
        }
    };
    let mut lat = degrees(Tag::GPSLatitude)?;
    let mut lon = degrees(Tag::GPSLongitude)?;
    match reference(Tag::GPSLatitudeRef)? {
        b'N' => {}
        b'S' => lat = -lat,
        _ => return None,
    }
    match reference(Tag::GPSLongitudeRef)? {
        b'E' => {}
        b'W' => lon = -lon,
        _ => return None,
    }
    let usable = lat.is_finite()
        && lon.is_finite()
        && (-90.0..=90.0).contains(&lat)
        && (-180.0..=180.0).contains(&lon);
    usable.then_some((lon, lat))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_type_comes_from_the_bytes() {
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
        assert_eq!(
            check_photo(1, png, Some("image/png"))
                .expect("a PNG")
                .media_type,
            "image/png"
        );
        let pdf = b"%PDF-1.7\n1 0 obj".to_vec();
        let refused = check_photo(2, pdf, Some("image/jpeg")).expect_err("a PDF");
        assert!(refused.to_string().contains("application/pdf"), "{refused}");
        let big = vec![0xFF; MAX_PHOTO_BYTES + 1];
        assert!(matches!(
            check_photo(3, big, None),
            Err(PhotoProblem::TooLarge { .. })
        ));
    }
}
