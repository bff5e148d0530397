//! How instants are written everywhere the service writes them: RFC 3339
//! in UTC with exactly three fractional digits, so that the text sorts as
//! the time does (SQLite compares it as text) and clients that copy it
//! (GDAL writes `.590`, not `.59`) give back the same string.

use time::{OffsetDateTime, UtcOffset};

/// The instant as the service keeps it: in UTC, to the millisecond (what
/// [`utc_text`] writes, so both stores hold and answer the same).
/// An RFC 3339 instant, in UTC. One whose UTC date falls outside the
/// years 1–9999 is refused: `9999-12-31T23:30:00-05:00` is year 10,000
/// in UTC, which converting panics on and no store or format takes.
pub fn parse_utc(text: &str) -> Option<OffsetDateTime> {
    let t = OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()?;
    let utc = t.checked_to_offset(UtcOffset::UTC)?;
    (1..=9999).contains(&utc.year()).then_some(utc)
}

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
        // Digits written into a fixed buffer: `write!` with padded
        // integers cost more than the rest of an asset's rendering.
        fn digits(out: &mut [u8], mut n: u32) {
            for slot in out.iter_mut().rev() {
                *slot = b'0' + (n % 10) as u8;
                n /= 10;
            }
        }
        let t = self.0.to_offset(UtcOffset::UTC);
        let year = t.year();
        if !(0..=9999).contains(&year) {
            return write!(
                f,
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
                year,
                u8::from(t.month()),
                t.day(),
                t.hour(),
                t.minute(),
                t.second(),
                t.millisecond()
            );
        }
        let mut text = *b"0000-00-00T00:00:00.000Z";
        digits(&mut text[0..4], year as u32);
        digits(&mut text[5..7], u32::from(u8::from(t.month())));
        digits(&mut text[8..10], u32::from(t.day()));
        digits(&mut text[11..13], u32::from(t.hour()));
        digits(&mut text[14..16], u32::from(t.minute()));
        digits(&mut text[17..19], u32::from(t.second()));
        digits(&mut text[20..23], u32::from(t.millisecond()));
        // Only ASCII digits and separators were written.
        f.write_str(std::str::from_utf8(&text).map_err(|_| std::fmt::Error)?)
    }
}

impl serde::Serialize for UtcText {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}
