//! Bulk import of 12345 hotline cases from CSV or JSON Lines, streamed:
//! rows are read, checked and stored a batch at a time, so a file of
//! millions of rows never sits in memory. Re-importing a file adds
//! nothing (case numbers are unique). Rejected rows are reported with
//! their line numbers.
//!
//! Columns (CSV header, or JSON Lines keys): `case_number`, `channel`,
//! `category`, `description`, `lon`, `lat`, and optionally `address`,
//! `district`, `coord_sys` (default `wgs84`), `reported_at` (RFC 3339),
//! `caller_name`, `caller_phone`. Empty cells count as absent.

use crate::complaints::Complaints;
use crate::domain::ValidationError;
use serde_json::{Map, Value, json};
use std::io::{BufRead, Read};

/// Rows per transaction.
pub const BATCH_ROWS: usize = 5_000;

const COLUMNS: &[&str] = &[
    "case_number",
    "channel",
    "category",
    "description",
    "lon",
    "lat",
    "address",
    "district",
    "coord_sys",
    "reported_at",
    "caller_name",
    "caller_phone",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    JsonLines,
}

impl Format {
    /// From a file name: `.csv`, or `.jsonl`/`.ndjson`.
    pub fn of_path(path: &std::path::Path) -> Option<Format> {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("csv") => Some(Format::Csv),
            Some("jsonl" | "ndjson") => Some(Format::JsonLines),
            _ => None,
        }
    }
}

/// A row that was not imported.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejected {
    /// 1-based line of the file (for CSV, where the record starts).
    pub line: u64,
    pub reason: String,
}

/// What an import did.
#[derive(Debug, Default, Clone)]
pub struct ImportReport {
    pub rows: u64,
    pub created: u64,
    pub already_known: u64,
    pub rejected: Vec<Rejected>,
}

/// A complaint Feature from one flat row.
fn feature_of(row: &Map<String, Value>) -> Result<Value, ValidationError> {
    for key in row.keys() {
        if !COLUMNS.contains(&key.as_str()) {
            return Err(ValidationError::single(format!("/{key}"), "unknown column"));
        }
    }
    let coordinate = |key: &str| -> Result<f64, ValidationError> {
        match row.get(key) {
            Some(Value::Number(n)) => n
                .as_f64()
                .ok_or_else(|| ValidationError::single(format!("/{key}"), "is not a number")),
            Some(Value::String(s)) if !s.trim().is_empty() => {
                s.trim().parse::<f64>().map_err(|_| {
                    ValidationError::single(format!("/{key}"), format!("{s:?} is not a number"))
                })
            }
            _ => Err(ValidationError::single(format!("/{key}"), "is required")),
        }
    };
    let (lon, lat) = (coordinate("lon")?, coordinate("lat")?);
    let mut properties = Map::new();
    for (key, value) in row {
        if key == "lon" || key == "lat" {
            continue;
        }
        match value {
            Value::String(s) if s.trim().is_empty() => {}
            Value::Null => {}
            other => {
                properties.insert(key.clone(), other.clone());
            }
        }
    }
    Ok(
        json!({"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]}, "properties": properties}),
    )
}

/// Reads rows from `reader` and stores them through `complaints`, calling
/// `progress` after each batch with the rows read so far.
pub async fn import(
    complaints: &Complaints,
    reader: impl Read,
    format: Format,
    mut progress: impl FnMut(u64),
) -> Result<ImportReport, crate::complaints::ComplaintError> {
    let mut report = ImportReport::default();
    let mut batch = Vec::with_capacity(BATCH_ROWS);
    let take = |line: u64,
                row: Result<Map<String, Value>, String>,
                report: &mut ImportReport,
                batch: &mut Vec<_>| {
        report.rows += 1;
        let draft = row
            .and_then(|r| feature_of(&r).map_err(|e| e.to_string()))
            .and_then(|f| complaints.draft_from_feature(&f).map_err(|e| e.to_string()));
        match draft {
            Ok(d) => batch.push(d),
            Err(reason) => report.rejected.push(Rejected { line, reason }),
        }
    };
    match format {
        Format::Csv => {
            let mut csv = csv::ReaderBuilder::new()
                .flexible(false)
                .from_reader(reader);
            let headers = match csv.headers() {
                Ok(h) => h.clone(),
                Err(e) => {
                    report.rejected.push(Rejected {
                        line: 1,
                        reason: format!("unreadable header: {e}"),
                    });
                    return Ok(report);
                }
            };
            let mut record = csv::StringRecord::new();
            loop {
                let line = csv.position().line();
                let row = match csv.read_record(&mut record) {
                    Ok(false) => break,
                    Ok(true) => Ok(headers
                        .iter()
                        .zip(record.iter())
                        .map(|(k, v)| (k.trim().to_string(), Value::from(v)))
                        .collect::<Map<String, Value>>()),
                    Err(e) => Err(format!("malformed CSV: {e}")),
                };
                take(line, row, &mut report, &mut batch);
                if batch.len() >= BATCH_ROWS {
                    store(complaints, &mut batch, &mut report).await?;
                    progress(report.rows);
                }
            }
        }
        Format::JsonLines => {
            let lines = std::io::BufReader::with_capacity(1 << 20, reader).lines();
            for (i, text) in lines.enumerate() {
                let line = i as u64 + 1;
                let text = match text {
                    Ok(t) => t,
                    Err(e) => {
                        report.rejected.push(Rejected {
                            line,
                            reason: format!("unreadable line: {e}"),
                        });
                        break;
                    }
                };
                if text.trim().is_empty() {
                    continue;
                }
                let row = match serde_json::from_str::<Value>(&text) {
                    Ok(Value::Object(map)) => Ok(map),
                    Ok(_) => Err("a line must hold one JSON object".to_string()),
                    Err(e) => Err(format!("malformed JSON: {e}")),
                };
                take(line, row, &mut report, &mut batch);
                if batch.len() >= BATCH_ROWS {
                    store(complaints, &mut batch, &mut report).await?;
                    progress(report.rows);
                }
            }
        }
    }
    store(complaints, &mut batch, &mut report).await?;
    progress(report.rows);
    Ok(report)
}

async fn store(
    complaints: &Complaints,
    batch: &mut Vec<crate::domain::ComplaintDraft>,
    report: &mut ImportReport,
) -> Result<(), crate::complaints::ComplaintError> {
    if batch.is_empty() {
        return Ok(());
    }
    for intake in complaints.intake_batch(std::mem::take(batch)).await? {
        if intake.created {
            report.created += 1;
        } else {
            report.already_known += 1;
        }
    }
    Ok(())
}
