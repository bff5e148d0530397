//! How instants are written everywhere the service writes them: RFC 3339
//! in UTC with exactly three fractional digits, so that the text sorts as
//! the time does (SQLite compares it as text) and clients that copy it
//! (GDAL writes `.590`, not `.59`) give back the same string.

use time::{OffsetDateTime, UtcOffset};

/// The instant as the service keeps it: in UTC, to the millisecond (what
/// [`utc_text`] writes, so both stores hold and answer the same).
pub fn to_millis(t: OffsetDateTime) -> OffsetDateTime {
    let t = t.to_offset(UtcOffset::UTC);
    t.replace_millisecond(t.millisecond()).unwrap_or(t)
}

/// `2024-10-18T01:12:00.000Z`.
///
/// # Examples
/// ```
/// use hutong::domain::utc_text;
/// let t = time::OffsetDateTime::from_unix_timestamp_nanos(1_729_213_920_590_000_000).expect("valid");
/// assert_eq!(utc_text(t), "2024-10-18T01:12:00.590Z");
/// ```
pub fn utc_text(t: OffsetDateTime) -> String {
    UtcText(t).to_string()
}

/// An instant written as [`utc_text`] writes it, without a `String` of
/// its own: for renderings that stream straight into their output.
#[derive(Debug, Clone, Copy)]
pub struct UtcText(pub OffsetDateTime);

impl std::fmt::Display for UtcText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let t = self.0.to_offset(UtcOffset::UTC);
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second(),
            t.millisecond()
        )
    }
}

impl serde::Serialize for UtcText {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}
