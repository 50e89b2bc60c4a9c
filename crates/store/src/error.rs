//! The one error type of the store. Every variant names what is wrong: the table or kind of
//! record, its id, and for input rows where they came from.
use thiserror::Error;

/// Everything a [`crate::Store`] call can fail with.
#[derive(Debug, Error)]
pub enum StoreError {
    /// The database URL is neither `sqlite://…` nor `postgres://…`, or does not parse.
    #[error("invalid database URL '{url}': {reason}")]
    InvalidUrl { url: String, reason: String },

    /// The database driver failed; `context` says what the store was doing.
    #[error("database error while {context}: {source}")]
    Database {
        context: String,
        #[source]
        source: sqlx::Error,
    },

    /// Applying the schema migrations failed.
    #[error("migrating the {backend} schema failed: {source}")]
    Migration {
        backend: &'static str,
        #[source]
        source: sqlx::migrate::MigrateError,
    },

    /// A record that must exist does not.
    #[error("{what} '{id}' not found")]
    NotFound { what: &'static str, id: String },

    /// Optimistic concurrency: the stored version is not the one the caller expected
    /// (or a create found the record already there).
    #[error("{what} '{id}' was changed concurrently: stored version is {current}")]
    VersionConflict {
        what: &'static str,
        id: String,
        current: i64,
    },

    /// A household-count row names a building that is not stored; nothing was applied.
    #[error("{origin}: unknown building {key}; no household update was applied")]
    UnknownBuilding { origin: String, key: String },

    /// A household-count row names an address shared by several buildings; nothing was applied.
    #[error("{origin}: address '{address}' matches {count} buildings; use the building id; no household update was applied")]
    AmbiguousAddress {
        origin: String,
        address: String,
        count: usize,
    },

    /// A building can be in at most one grid.
    #[error("building '{building}' is already in grid '{grid}'")]
    BuildingInOtherGrid { building: String, grid: String },

    /// A record refers to another one that neither the store nor the same import holds.
    #[error("{from} refers to unknown {what} '{id}'")]
    UnknownReference {
        from: String,
        what: &'static str,
        id: String,
    },

    /// The same id appears twice among the records of one call.
    #[error("duplicate {what} id '{id}'")]
    DuplicateId { what: &'static str, id: String },

    /// A record given to the store is unusable (bad geometry, wrong community, …).
    #[error("invalid {what} '{id}': {reason}")]
    Invalid {
        what: &'static str,
        id: String,
        reason: String,
    },

    /// A query asks for something the layer cannot answer (e.g. a kind filter on grids).
    #[error("invalid query on {layer}: {reason}")]
    InvalidQuery { layer: &'static str, reason: String },

    /// The database could not write because its disk is full (SQLite `SQLITE_FULL`,
    /// PostgreSQL `53100`). The write was rolled back; retry once space is freed.
    #[error(
        "disk full while {what}: nothing was written; free space on the database's disk and retry"
    )]
    DiskFull { what: String },

    /// A stored row cannot be decoded back into a domain value.
    #[error("corrupt {what} '{id}' in the database: {reason}")]
    Corrupt {
        what: &'static str,
        id: String,
        reason: String,
    },
}

impl StoreError {
    /// Wraps a driver error with what the store was doing.
    /// A full disk becomes [`StoreError::DiskFull`].
    pub(crate) fn db(context: impl Into<String>, source: sqlx::Error) -> Self {
        if is_disk_full(&source) {
            return StoreError::DiskFull {
                what: context.into(),
            };
        }
        StoreError::Database {
            context: context.into(),
            source,
        }
    }
}

/// `.ctx("loading buildings")` on driver results.
pub(crate) trait DbContext<T> {
    fn ctx(self, context: &str) -> Result<T, StoreError>;
}

impl<T> DbContext<T> for Result<T, sqlx::Error> {
    fn ctx(self, context: &str) -> Result<T, StoreError> {
        self.map_err(|e| StoreError::db(context, e))
    }
}

/// SQLite's `SQLITE_FULL` (primary result code 13) or PostgreSQL's `disk_full` (SQLSTATE 53100).
pub(crate) fn is_disk_full(e: &sqlx::Error) -> bool {
    let Some(db) = e.as_database_error() else {
        return false;
    };
    let code = db.code();
    if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
        // Extended result codes keep the primary code in the low byte.
        code.and_then(|c| c.parse::<i64>().ok())
            .is_some_and(|c| c & 0xff == 13)
    } else {
        code.as_deref() == Some("53100")
    }
}
