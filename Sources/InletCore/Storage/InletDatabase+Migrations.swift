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
        migrator.registerMigration("v2-jobs-audit-source-status") { db in
            // The durable queue. Times are Unix seconds (REAL): leasing compares them on every claim.
            try db.execute(sql: """
                CREATE TABLE jobs (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    source TEXT NOT NULL,
                    kind TEXT NOT NULL,
                    args TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(args)),
                    priority INTEGER NOT NULL DEFAULT 5 CHECK (priority BETWEEN 1 AND 10),
                    run_at REAL NOT NULL,
                    state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'succeeded', 'quarantined', 'cancelled')),
                    attempts INTEGER NOT NULL DEFAULT 0,
                    max_attempts INTEGER NOT NULL,
                    lease_id INTEGER,
                    lease_owner TEXT,
                    lease_expires_at REAL,
                    unique_key TEXT,
                    coalesced INTEGER NOT NULL DEFAULT 0,
                    last_error TEXT,
                    created_at REAL NOT NULL,
                    updated_at REAL NOT NULL,
                    started_at REAL,
                    finished_at REAL
                )
                """)
            // Coalescing: at most one QUEUED job per unique key. (A running job does not absorb a
            // new one: an event that arrives while a sync runs must cause one more sync.)
            try db.execute(sql: "CREATE UNIQUE INDEX jobs_unique_queued ON jobs(unique_key) WHERE state = 'queued' AND unique_key IS NOT NULL")
            // The claim path: per source, by priority then due time, over queued jobs only.
            try db.execute(sql: "CREATE INDEX jobs_claim ON jobs(source, priority, run_at, id) WHERE state = 'queued'")
            try db.execute(sql: "CREATE INDEX jobs_running_unique ON jobs(unique_key) WHERE state = 'running' AND unique_key IS NOT NULL")
            // By state: running jobs for rescue (few), finished ones by age for pruning, depth per state.
            try db.execute(sql: "CREATE INDEX jobs_finished ON jobs(state, finished_at)")
            try db.execute(sql: "CREATE INDEX jobs_by_source_state ON jobs(source, state)")
            // One row per finished attempt: what `inlet jobs show` tells about a job's history.
            try db.execute(sql: """
                CREATE TABLE audit (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    job_id INTEGER NOT NULL,
                    source TEXT NOT NULL,
                    kind TEXT NOT NULL,
                    attempt INTEGER NOT NULL,
                    outcome TEXT NOT NULL,
                    records_written INTEGER NOT NULL DEFAULT 0,
                    records_deleted INTEGER NOT NULL DEFAULT 0,
                    items_quarantined INTEGER NOT NULL DEFAULT 0,
                    duration_ms INTEGER NOT NULL,
                    error TEXT,
                    finished_at REAL NOT NULL
                )
                """)
            try db.execute(sql: "CREATE INDEX audit_by_job ON audit(job_id)")
            try db.execute(sql: "CREATE INDEX audit_by_source ON audit(source, finished_at)")
            // What the daemon knows of each source, readable by `inlet status` from another process.
            try db.execute(sql: """
                CREATE TABLE source_status (
                    source TEXT PRIMARY KEY NOT NULL,
                    breaker_state TEXT NOT NULL DEFAULT 'closed',
                    consecutive_failures INTEGER NOT NULL DEFAULT 0,
                    open_until REAL,
                    disabled_reason TEXT,
                    stuck_calls INTEGER NOT NULL DEFAULT 0,
                    last_sync_at REAL,
                    last_outcome TEXT,
                    last_error TEXT,
                    last_scheduled_at REAL,
                    next_run_at REAL,
                    updated_at REAL NOT NULL
                ) WITHOUT ROWID
                """)
            try db.execute(sql: "ALTER TABLE quarantine ADD COLUMN job_id INTEGER")
        }
        migrator.registerMigration("v3-active-job-counter") { db in
            // `queue.max_size` is checked on every enqueue: a counter kept by triggers makes that
            // one row read instead of a count over every queued job.
            try db.execute(sql: "CREATE TABLE queue_counter (id INTEGER PRIMARY KEY CHECK (id = 1), active INTEGER NOT NULL)")
            try db.execute(sql: "INSERT INTO queue_counter (id, active) SELECT 1, count(*) FROM jobs WHERE state IN ('queued', 'running')")
            try db.execute(sql: """
                CREATE TRIGGER jobs_active_insert AFTER INSERT ON jobs WHEN NEW.state IN ('queued', 'running')
                BEGIN UPDATE queue_counter SET active = active + 1 WHERE id = 1; END
                """)
            try db.execute(sql: """
                CREATE TRIGGER jobs_active_delete AFTER DELETE ON jobs WHEN OLD.state IN ('queued', 'running')
                BEGIN UPDATE queue_counter SET active = active - 1 WHERE id = 1; END
                """)
            try db.execute(sql: """
                CREATE TRIGGER jobs_active_update AFTER UPDATE OF state ON jobs
                WHEN (OLD.state IN ('queued', 'running')) != (NEW.state IN ('queued', 'running'))
                BEGIN UPDATE queue_counter SET active = active + (CASE WHEN NEW.state IN ('queued', 'running') THEN 1 ELSE -1 END) WHERE id = 1; END
                """)
        }
        migrator.registerMigration("v4-webhook-deliveries") { db in
            // A delivery is stored, with its job, before the sender gets its 2xx; GitHub's
            // delivery id (per source) makes a redelivery a no-op.
            try db.execute(sql: """
                CREATE TABLE webhook_deliveries (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    source TEXT NOT NULL,
                    delivery_id TEXT NOT NULL,
                    event TEXT NOT NULL,
                    headers TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(headers)),
                    body BLOB NOT NULL,
                    job_id INTEGER,
                    received_at REAL NOT NULL,
                    UNIQUE (source, delivery_id)
                )
                """)
        }
        migrator.registerMigration("v5-http-cache") { db in
            // The host's HTTP service: validators and answers of cacheable GETs per source and
            // cache key (URL + Accept), sent back as If-None-Match / If-Modified-Since. A rowid
            // table: rows carry whole bodies.
            try db.execute(sql: """
                CREATE TABLE http_cache (
                    source TEXT NOT NULL,
                    cache_key TEXT NOT NULL,
                    url TEXT NOT NULL,
                    etag TEXT,
                    last_modified TEXT,
                    status INTEGER NOT NULL,
                    headers TEXT NOT NULL,
                    body BLOB NOT NULL,
                    stored_at REAL NOT NULL,
                    PRIMARY KEY (source, cache_key)
                )
                """)
        }
        migrator.registerMigration("v6-job-counts") { db in
            // Jobs per source and state, kept by triggers in one small table: `queue.max_size`
            // (queued + running), /health, /metrics and `inlet status` read a few rows instead of
            // counting over every retained job. It replaces the one-row active counter and the
            // (source, state) index: each job transition then writes one counts page instead of a
            // counter page and an index page (fewer WAL frames per commit), and the newest audit
            // row per source (`inlet status` only) is found by a scan instead of an index every
            // finished job had to update.
            try db.execute(sql: """
                CREATE TABLE job_counts (
                    source TEXT NOT NULL,
                    state TEXT NOT NULL,
                    n INTEGER NOT NULL,
                    PRIMARY KEY (source, state)
                ) WITHOUT ROWID
                """)
            try db.execute(sql: "INSERT INTO job_counts (source, state, n) SELECT source, state, count(*) FROM jobs GROUP BY source, state")
            for trigger in ["jobs_active_insert", "jobs_active_delete", "jobs_active_update"] {
                try db.execute(sql: "DROP TRIGGER \(trigger)")
            }
            try db.execute(sql: "DROP TABLE queue_counter")
            try db.execute(sql: """
                CREATE TRIGGER jobs_count_insert AFTER INSERT ON jobs
                BEGIN
                    INSERT INTO job_counts (source, state, n) VALUES (NEW.source, NEW.state, 1)
                    ON CONFLICT (source, state) DO UPDATE SET n = n + 1;
                END
                """)
            try db.execute(sql: """
                CREATE TRIGGER jobs_count_delete AFTER DELETE ON jobs
                BEGIN
                    UPDATE job_counts SET n = n - 1 WHERE source = OLD.source AND state = OLD.state;
                END
                """)
            try db.execute(sql: """
                CREATE TRIGGER jobs_count_update AFTER UPDATE OF source, state ON jobs
                WHEN OLD.state != NEW.state OR OLD.source != NEW.source
                BEGIN
                    UPDATE job_counts SET n = n - 1 WHERE source = OLD.source AND state = OLD.state;
                    INSERT INTO job_counts (source, state, n) VALUES (NEW.source, NEW.state, 1)
                    ON CONFLICT (source, state) DO UPDATE SET n = n + 1;
                END
                """)
            try db.execute(sql: "DROP INDEX jobs_by_source_state")
            try db.execute(sql: "DROP INDEX audit_by_source")
        }
        migrator.registerMigration("v7-jobs-state-check-without-in-list") { db in
            // `CHECK (state IN (five names))` made SQLite build an ephemeral b-tree of the five
            // names for every row a statement wrote (each with its own page cache, two 4 KB pages
            // zeroed): three per job (enqueue, claim, finish), 30% of the instructions of the
            // queue's statements under callgrind. The same rule as a chain of comparisons costs
            // a few opcodes. SQLite cannot alter a CHECK: the table is rebuilt (the documented
            // 12-step way), keeping ids, the AUTOINCREMENT sequence, indexes and count triggers.
            let sequence = try Int64.fetchOne(db, sql: "SELECT seq FROM sqlite_sequence WHERE name = 'jobs'") ?? 0
            try db.execute(sql: """
                CREATE TABLE jobs_rebuilt (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    source TEXT NOT NULL,
                    kind TEXT NOT NULL,
                    args TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(args)),
                    priority INTEGER NOT NULL DEFAULT 5 CHECK (priority BETWEEN 1 AND 10),
                    run_at REAL NOT NULL,
                    state TEXT NOT NULL CHECK (state = 'queued' OR state = 'running' OR state = 'succeeded'
                        OR state = 'quarantined' OR state = 'cancelled'),
                    attempts INTEGER NOT NULL DEFAULT 0,
                    max_attempts INTEGER NOT NULL,
                    lease_id INTEGER,
                    lease_owner TEXT,
                    lease_expires_at REAL,
                    unique_key TEXT,
                    coalesced INTEGER NOT NULL DEFAULT 0,
                    last_error TEXT,
                    created_at REAL NOT NULL,
                    updated_at REAL NOT NULL,
                    started_at REAL,
                    finished_at REAL
                )
                """)
            let columns = """
                id, source, kind, args, priority, run_at, state, attempts, max_attempts, lease_id, lease_owner,
                lease_expires_at, unique_key, coalesced, last_error, created_at, updated_at, started_at, finished_at
                """
            try db.execute(sql: "INSERT INTO jobs_rebuilt (\(columns)) SELECT \(columns) FROM jobs")
            // Dropping the table drops its indexes and triggers (recreated below) and its sequence row.
            try db.execute(sql: "DROP TABLE jobs")
            try db.execute(sql: "ALTER TABLE jobs_rebuilt RENAME TO jobs")
            // Ids of pruned jobs are never given again (audit rows and deliveries name them).
            let copied = try Int64.fetchOne(db, sql: "SELECT seq FROM sqlite_sequence WHERE name = 'jobs'") ?? 0
            try db.execute(sql: "DELETE FROM sqlite_sequence WHERE name = 'jobs'")
            try db.execute(sql: "INSERT INTO sqlite_sequence (name, seq) VALUES ('jobs', ?)", arguments: [max(sequence, copied)])
            try db.execute(sql: "CREATE UNIQUE INDEX jobs_unique_queued ON jobs(unique_key) WHERE state = 'queued' AND unique_key IS NOT NULL")
            try db.execute(sql: "CREATE INDEX jobs_claim ON jobs(source, priority, run_at, id) WHERE state = 'queued'")
            try db.execute(sql: "CREATE INDEX jobs_running_unique ON jobs(unique_key) WHERE state = 'running' AND unique_key IS NOT NULL")
            try db.execute(sql: "CREATE INDEX jobs_finished ON jobs(state, finished_at)")
            try db.execute(sql: """
                CREATE TRIGGER jobs_count_insert AFTER INSERT ON jobs
                BEGIN
                    INSERT INTO job_counts (source, state, n) VALUES (NEW.source, NEW.state, 1)
                    ON CONFLICT (source, state) DO UPDATE SET n = n + 1;
                END
                """)
            try db.execute(sql: """
                CREATE TRIGGER jobs_count_delete AFTER DELETE ON jobs
                BEGIN
                    UPDATE job_counts SET n = n - 1 WHERE source = OLD.source AND state = OLD.state;
                END
                """)
            try db.execute(sql: """
                CREATE TRIGGER jobs_count_update AFTER UPDATE OF source, state ON jobs
                WHEN OLD.state != NEW.state OR OLD.source != NEW.source
                BEGIN
                    UPDATE job_counts SET n = n - 1 WHERE source = OLD.source AND state = OLD.state;
                    INSERT INTO job_counts (source, state, n) VALUES (NEW.source, NEW.state, 1)
                    ON CONFLICT (source, state) DO UPDATE SET n = n + 1;
                END
                """)
        }
        migrator.registerMigration("v8-jobs-running-and-done-indexes") { db in
            // (state, finished_at) held every job, queued ones included: each enqueue, claim and
            // finish moved an entry through it, in a page of its own. Rescue needs only running
            // jobs and pruning only finished ones: two partial indexes, neither touched by an
            // enqueue, the first small enough to stay in one page.
            try db.execute(sql: "DROP INDEX jobs_finished")
            try db.execute(sql: "CREATE INDEX jobs_running ON jobs(lease_expires_at) WHERE state = 'running'")
            try db.execute(sql: "CREATE INDEX jobs_done ON jobs(finished_at) WHERE state IN ('succeeded', 'cancelled')")
        }
        migrator.registerMigration("v9-audit-clustered-by-job") { db in
            // Audit rows are read by job (`inlet jobs show`) and deleted with their job, and their
            // own id was never shown: keyed by (job_id, seq) in a WITHOUT ROWID table, a job's
            // rows sit together and need no index of their own, and no AUTOINCREMENT sequence is
            // updated. Each finished job's transaction wrote the audit_by_job index page and the
            // sqlite_sequence page besides the audit page: two WAL frames of about eight. `seq`
            // counts a job's rows from 1, oldest first (the old ids' order).
            try db.execute(sql: """
                CREATE TABLE audit_rebuilt (
                    job_id INTEGER NOT NULL,
                    seq INTEGER NOT NULL,
                    source TEXT NOT NULL,
                    kind TEXT NOT NULL,
                    attempt INTEGER NOT NULL,
                    outcome TEXT NOT NULL,
                    records_written INTEGER NOT NULL DEFAULT 0,
                    records_deleted INTEGER NOT NULL DEFAULT 0,
                    items_quarantined INTEGER NOT NULL DEFAULT 0,
                    duration_ms INTEGER NOT NULL,
                    error TEXT,
                    finished_at REAL NOT NULL,
                    PRIMARY KEY (job_id, seq)
                ) WITHOUT ROWID
                """)
            try db.execute(sql: """
                INSERT INTO audit_rebuilt
                SELECT job_id, row_number() OVER (PARTITION BY job_id ORDER BY id), source, kind, attempt, outcome,
                    records_written, records_deleted, items_quarantined, duration_ms, error, finished_at
                FROM audit
                """)
            // Dropping the table drops audit_by_job with it.
            try db.execute(sql: "DROP TABLE audit")
            try db.execute(sql: "ALTER TABLE audit_rebuilt RENAME TO audit")
            try db.execute(sql: "DELETE FROM sqlite_sequence WHERE name = 'audit'")
        }
        migrator.registerMigration("v10-unique-keys-per-source") { db in
            // A unique key is a source's own: two sources over the same repository (the same
            // plugin key `repo:acme/x`) must not merge each other's jobs, and a source renamed
            // by a reload must not find its requests absorbed by the old name's queued jobs.
            try db.execute(sql: "DROP INDEX jobs_unique_queued")
            try db.execute(sql: "DROP INDEX jobs_running_unique")
            try db.execute(sql: """
                CREATE UNIQUE INDEX jobs_unique_queued ON jobs(source, unique_key) WHERE state = 'queued' AND unique_key IS NOT NULL
                """)
            try db.execute(sql: "CREATE INDEX jobs_running_unique ON jobs(source, unique_key) WHERE state = 'running' AND unique_key IS NOT NULL")
        }
        migrator.registerMigration("v11-quarantined-items-once") { db in
            // An item a connector cannot process is put aside again at every sync: one entry per
            // (source, key), counting how often it was seen, with the latest error and bytes.
            try db.execute(sql: "ALTER TABLE quarantine ADD COLUMN seen INTEGER NOT NULL DEFAULT 1")
            try db.execute(sql: "ALTER TABLE quarantine ADD COLUMN last_seen_at TEXT")
            // Found by (source, key): the queries below read it for every row, and the updates
            // find an item's entry through it. Not unique: a daemon of an earlier build still
            // running beside a command of this one (which migrates) may insert a repeat, which
            // the next update folds in.
            try db.execute(sql: "CREATE INDEX quarantine_items ON quarantine(source, key, id) WHERE kind = 'item'")
            // Entries an earlier build repeated fold into the first, which takes the newest's error and bytes.
            try db.execute(sql: """
                UPDATE quarantine AS kept SET
                    seen = (SELECT count(*) FROM quarantine AS q WHERE q.kind = 'item' AND q.source = kept.source AND q.key = kept.key),
                    (error, bytes, last_seen_at) = (
                        SELECT error, bytes, created_at FROM quarantine AS q
                        WHERE q.kind = 'item' AND q.source = kept.source AND q.key = kept.key ORDER BY id DESC LIMIT 1)
                WHERE kind = 'item' AND id = (
                    SELECT min(id) FROM quarantine AS q WHERE q.kind = 'item' AND q.source = kept.source AND q.key = kept.key)
                    AND EXISTS (
                        SELECT 1 FROM quarantine AS q WHERE q.kind = 'item' AND q.source = kept.source AND q.key = kept.key AND q.id > kept.id)
                """)
            try db.execute(sql: """
                DELETE FROM quarantine WHERE kind = 'item' AND id > (
                    SELECT min(id) FROM quarantine AS q WHERE q.kind = 'item' AND q.source = quarantine.source AND q.key = quarantine.key)
                """)
        }
        return migrator
    }
}
