//! Validation failures that name the offending field.

use std::fmt;

/// One problem with one field of an input, located by a JSON Pointer
/// (RFC 6901) into the submitted document, e.g. `/properties/condition`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FieldError {
    pub pointer: String,
    pub detail: String,
}

impl FieldError {
    pub fn new(pointer: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            pointer: pointer.into(),
            detail: detail.into(),
        }
    }
}

/// A rejected input: one or more field errors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationError {
    pub errors: Vec<FieldError>,
}

impl ValidationError {
    pub fn single(pointer: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            errors: vec![FieldError::new(pointer, detail)],
        }
    }

    /// Prefixes every pointer, so that an error found inside `properties`
    /// is reported at `/properties/...` of the whole document.
    pub fn nested_under(mut self, prefix: &str) -> Self {
        for error in &mut self.errors {
            error.pointer = format!("{prefix}{}", error.pointer);
        }
        self
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .errors
            .iter()
            .map(|e| {
                if e.pointer.is_empty() {
                    e.detail.clone()
                } else {
                    format!("{}: {}", e.pointer, e.detail)
                }
            })
            .collect();
        f.write_str(&parts.join("; "))
    }
}

impl std::error::Error for ValidationError {}
