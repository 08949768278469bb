import GRDB

extension InletDatabase {
    /// The schema, as migrations in code. Append new migrations; never edit a shipped one.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-state-documents-blobs") { db in
            // Checkpoints of each source, written only together with what they describe.
            try db.execute(sql: """
                CREATE TABLE state (
                    source TEXT NOT NULL,
                    key TEXT NOT NULL,
                    value BLOB NOT NULL,
                    updated_at TEXT NOT NULL,
                    PRIMARY KEY (source, key)
                ) WITHOUT ROWID
                """)
            // Content-addressed by git's blob SHA-1, so ids match `git hash-object`.
            try db.execute(sql: """
                CREATE TABLE blobs (
                    sha TEXT PRIMARY KEY NOT NULL CHECK (length(sha) = 40),
                    size INTEGER NOT NULL,
                    content BLOB NOT NULL
                )
                """)
            try db.execute(sql: """
                CREATE TABLE documents (
                    source TEXT NOT NULL,
                    key TEXT NOT NULL,
                    kind TEXT NOT NULL,
                    metadata TEXT NOT NULL CHECK (json_valid(metadata)),
                    blob_sha TEXT REFERENCES blobs(sha),
                    version INTEGER NOT NULL,
                    deleted INTEGER NOT NULL DEFAULT 0,
                    created_at TEXT NOT NULL,
                    updated_at TEXT NOT NULL,
                    PRIMARY KEY (source, key)
                )
                """)
            try db.execute(sql: "CREATE INDEX documents_by_blob ON documents(blob_sha)")
            // Items a connector could not process, and (later) jobs out of attempts.
            try db.execute(sql: """
                CREATE TABLE quarantine (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    source TEXT NOT NULL,
                    kind TEXT NOT NULL CHECK (kind IN ('item', 'job')),
                    key TEXT NOT NULL,
                    error TEXT NOT NULL,
                    bytes BLOB,
                    created_at TEXT NOT NULL
                )
                """)
            try db.execute(sql: "CREATE INDEX quarantine_by_source ON quarantine(source, created_at)")
        }
        return migrator
    }
}
