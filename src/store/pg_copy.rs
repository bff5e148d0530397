//! COPY … FROM STDIN on PostgreSQL: rows in COPY's text format, and
//! sending them. Written here because sqlx sends COPY data as bytes and
//! leaves the format to its caller; the rules are PostgreSQL's ("COPY,
//! Text Format"): a tab between fields, a newline after each row, `\N` for
//! NULL, and backslash escapes for backslash, tab, newline and return.

use super::StoreError;
use sqlx::Postgres;
use std::fmt::Write as _;

/// Bytes of COPY data sent at once.
const CHUNK_BYTES: usize = 1 << 20;

/// Rows of COPY text data, written field by field.
pub(super) struct CopyRows {
    data: String,
    /// Fields written in the current row.
    fields: usize,
}

impl CopyRows {
    pub fn with_capacity(bytes: usize) -> Self {
        Self {
            data: String::with_capacity(bytes),
            fields: 0,
        }
    }

    fn separate(&mut self) {
        if self.fields > 0 {
            self.data.push('\t');
        }
        self.fields += 1;
    }

    /// A text field, escaped; `None` is NULL.
    pub fn text(&mut self, value: Option<&str>) -> &mut Self {
        self.separate();
        let Some(value) = value else {
            self.data.push_str("\\N");
            return self;
        };
        for ch in value.chars() {
            match ch {
                '\\' => self.data.push_str("\\\\"),
                '\t' => self.data.push_str("\\t"),
                '\n' => self.data.push_str("\\n"),
                '\r' => self.data.push_str("\\r"),
                c => self.data.push(c),
            }
        }
        self
    }

    /// A number (Rust's shortest form of an f64 reads back as the same).
    pub fn number(&mut self, value: impl std::fmt::Display) -> &mut Self {
        self.separate();
        let _ = write!(self.data, "{value}");
        self
    }

    pub fn end_row(&mut self) {
        self.data.push('\n');
        self.fields = 0;
    }

    /// Runs `statement` (a `COPY … FROM STDIN`) with these rows.
    pub async fn send(
        &self,
        tx: &mut sqlx::Transaction<'_, Postgres>,
        statement: &str,
    ) -> Result<(), StoreError> {
        let mut copy = tx.copy_in_raw(statement).await?;
        // COPY reads a stream: chunks may end anywhere.
        for chunk in self.data.as_bytes().chunks(CHUNK_BYTES) {
            if let Err(e) = copy.send(chunk).await {
                let _ = copy.abort("sending failed").await;
                return Err(e.into());
            }
        }
        copy.finish().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_escaped_and_separated() {
        let mut rows = CopyRows::with_capacity(64);
        rows.text(Some(""))
            .text(Some("a\tb\\c\nd\re"))
            .text(None)
            .end_row();
        rows.number(1.5).text(Some("x")).end_row();
        assert_eq!(rows.data, "\ta\\tb\\\\c\\nd\\re\t\\N\n1.5\tx\n");
    }
}
