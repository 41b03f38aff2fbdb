/// The database schema, versioned with `PRAGMA user_version`. Each migration runs once, in its
/// own transaction, when a database older than it is opened; they are never edited once shipped.
public enum Schema {
    /// Migrations in order; the version after running `migrations[i]` is `i + 1`.
    static let migrations: [String] = [
        // 1: imports and customers.
        """
        CREATE TABLE imports (
            id            INTEGER PRIMARY KEY,
            partner       TEXT NOT NULL,
            file_name     TEXT NOT NULL,
            sha256        TEXT NOT NULL,
            size          INTEGER NOT NULL,
            format        TEXT,
            encoding      TEXT,
            delimiter     TEXT,
            sheet         TEXT,
            status        TEXT NOT NULL CHECK (status IN ('running', 'completed', 'rejected', 'duplicate', 'checked')),
            rows_read     INTEGER NOT NULL DEFAULT 0,
            rows_created  INTEGER NOT NULL DEFAULT 0,
            rows_updated  INTEGER NOT NULL DEFAULT 0,
            rows_unchanged INTEGER NOT NULL DEFAULT 0,
            rows_rejected INTEGER NOT NULL DEFAULT 0,
            rows_skipped  INTEGER NOT NULL DEFAULT 0,
            started_at    TEXT NOT NULL,
            finished_at   TEXT,
            error         TEXT,
            result_path   TEXT,
            mode          TEXT,
            undone_at     TEXT
        );
        CREATE INDEX imports_by_partner ON imports (partner, id);
        CREATE INDEX imports_by_hash ON imports (partner, sha256);

        CREATE TABLE customers (
            partner           TEXT NOT NULL,
            external_id       TEXT NOT NULL,
            email             TEXT,
            name              TEXT,
            phone             TEXT,
            created_at        TEXT,
            custom_attributes TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(custom_attributes)),
            created_by_import INTEGER NOT NULL REFERENCES imports (id),
            updated_by_import INTEGER REFERENCES imports (id),
            updated_at        TEXT NOT NULL,
            PRIMARY KEY (partner, external_id)
        ) WITHOUT ROWID;
        """,
        // 2: the watcher's journal: each claimed file and the step it reached, so a restart
        // resumes every unfinished file from where it stopped and never imports one twice.
        """
        CREATE TABLE journal (
            id              INTEGER PRIMARY KEY,
            partner         TEXT NOT NULL,
            file_name       TEXT NOT NULL,
            processing_path TEXT NOT NULL UNIQUE,
            sha256          TEXT,
            size            INTEGER,
            step            TEXT NOT NULL CHECK (step IN ('claimed', 'imported', 'result_written', 'archived')),
            dry_run         INTEGER NOT NULL DEFAULT 0,
            attempts        INTEGER NOT NULL DEFAULT 0,
            import_id       INTEGER REFERENCES imports (id),
            outcome         TEXT,
            archive_path    TEXT,
            claimed_at      TEXT NOT NULL,
            updated_at      TEXT NOT NULL
        );
        CREATE INDEX journal_unfinished ON journal (step) WHERE step != 'archived';
        """,
        // 3: what each import changed, customer by customer: the values before (for undo) and
        // after (for history). Pruned after the retention time; history keeps the import rows.
        """
        CREATE TABLE customer_changes (
            id          INTEGER PRIMARY KEY,
            import_id   INTEGER NOT NULL REFERENCES imports (id),
            partner     TEXT NOT NULL,
            external_id TEXT NOT NULL,
            action      TEXT NOT NULL CHECK (action IN ('created', 'updated', 'undone')),
            -- JSON objects written by Intake itself (not re-validated on every insert).
            before      TEXT,
            after       TEXT,
            changed_at  TEXT NOT NULL
        );
        CREATE INDEX customer_changes_by_import ON customer_changes (import_id);
        CREATE INDEX customer_changes_by_customer ON customer_changes (partner, external_id, id);
        """,
        // 4: creations are no longer logged one row each (the customer row itself says which import
        // created it, `created_by_import`, and the first later change keeps the created values), so
        // a fresh import writes one B-tree entry per row instead of four. `import_row` is the row of
        // `updated_by_import`'s file that set the customer: provenance for analysts, and how an
        // import finds the first row of an external_id its file repeats. `undo_pruned_at` marks
        // imports whose undo data is gone, now that a creation leaves nothing to prune.
        """
        ALTER TABLE customers ADD COLUMN import_row INTEGER;
        ALTER TABLE imports ADD COLUMN undo_pruned_at TEXT;
        UPDATE imports SET undo_pruned_at = finished_at
            WHERE status = 'completed' AND rows_created + rows_updated > 0
              AND NOT EXISTS (SELECT 1 FROM customer_changes c WHERE c.import_id = imports.id);
        DELETE FROM customer_changes WHERE action = 'created';
        """,
        // 5: why the last try at a file failed, so the running service can retry it with a
        // backoff and the workbook that finally sets it aside can say what went wrong.
        """
        ALTER TABLE journal ADD COLUMN last_error TEXT;
        ALTER TABLE journal ADD COLUMN failures INTEGER NOT NULL DEFAULT 0;
        """,
        // 6: the HTTP side. A customer written through the API is recorded as an import of its
        // own (`source = 'api'`, the token's name), so history and undo treat it like a file's
        // change. API tokens keep only their SHA-256. A file sent over HTTP is an upload: the id
        // the client polls, the name and inode it got in the inbox, and when it arrived; the
        // journal keeps each claimed file's inode, which ties the two together.
        """
        ALTER TABLE imports ADD COLUMN source TEXT NOT NULL DEFAULT 'file' CHECK (source IN ('file', 'api'));
        ALTER TABLE imports ADD COLUMN token_name TEXT;
        CREATE INDEX imports_by_source ON imports (partner, source, id);

        CREATE TABLE api_tokens (
            id           INTEGER PRIMARY KEY,
            partner      TEXT NOT NULL,
            name         TEXT NOT NULL,
            sha256       TEXT NOT NULL UNIQUE,
            created_at   TEXT NOT NULL,
            revoked_at   TEXT
        );
        CREATE UNIQUE INDEX api_tokens_live_names ON api_tokens (partner, name) WHERE revoked_at IS NULL;

        CREATE TABLE uploads (
            partner      TEXT NOT NULL,
            id           TEXT NOT NULL,
            file_name    TEXT NOT NULL,
            inbox_name   TEXT NOT NULL,
            dry_run      INTEGER NOT NULL,
            size         INTEGER NOT NULL,
            inode        INTEGER NOT NULL,
            token_name   TEXT,
            received_at  TEXT NOT NULL,
            PRIMARY KEY (partner, id)
        ) WITHOUT ROWID;
        CREATE INDEX uploads_by_time ON uploads (partner, received_at);
        ALTER TABLE journal ADD COLUMN inode INTEGER;
        """,
        // 7: the portal. People sign in: a partner's staff see that partner only, an admin
        // (no partner) sees the operator view. Passwords are bcrypt hashes; a session is kept by
        // the SHA-256 of its cookie, so a copy of the database signs no one in, and survives a
        // restart. An upload made in the browser names its user, as an API upload names its token.
        """
        CREATE TABLE users (
            id             INTEGER PRIMARY KEY,
            email          TEXT NOT NULL UNIQUE COLLATE NOCASE,
            partner        TEXT,
            is_admin       INTEGER NOT NULL DEFAULT 0,
            password_hash  TEXT NOT NULL,
            created_at     TEXT NOT NULL,
            CHECK (partner IS NOT NULL OR is_admin = 1)
        );
        CREATE TABLE sessions (
            sha256         TEXT PRIMARY KEY,
            user_id        INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
            csrf           TEXT NOT NULL,
            created_at     TEXT NOT NULL,
            last_seen      REAL NOT NULL
        ) WITHOUT ROWID;
        ALTER TABLE uploads ADD COLUMN user_email TEXT;
        """,
        // 8: the digest of the file row that gave a customer its stored values (see
        // ``StoredDigests``): a row sent again with the same digest is unchanged without being
        // validated and compared field by field. NULL where the values came from elsewhere (the
        // API, an undo). The digest is keyed with a secret of this database, so a partner cannot
        // craft a row whose digest matches another.
        """
        ALTER TABLE customers ADD COLUMN row_digest INTEGER;
        CREATE TABLE intake_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
        INSERT INTO intake_meta (key, value) VALUES ('row_digest_key', lower(hex(randomblob(32))));
        -- A write that changes a customer's values and not its digest (an operator's UPDATE, an
        -- older Intake) clears the digest, so the row it no longer describes is compared again.
        CREATE TRIGGER customers_digest_follows_values
        AFTER UPDATE OF email, name, phone, created_at, custom_attributes ON customers
        WHEN NEW.row_digest IS NOT NULL AND NEW.row_digest IS OLD.row_digest
        BEGIN
            UPDATE customers SET row_digest = NULL WHERE partner = NEW.partner AND external_id = NEW.external_id;
        END;
        """,
        // 9: an update's change record keeps in `before` only the values it replaced, and no
        // `after` (see `ChangeValues`). An older Intake would read such a record as whole and
        // undo would empty the other columns; this version makes it refuse the database instead.
        """
        INSERT INTO intake_meta (key, value) VALUES ('change_records', 'replaced values');
        """,
    ]

    /// The version a database has once every migration ran.
    public static var currentVersion: Int { migrations.count }

    static func migrate(_ db: Database) throws(SQLiteError) {
        var version = Int(try db.scalar("PRAGMA user_version") ?? 0)
        // A newer Intake's database: this one would write it without what the newer one keeps
        // alongside (such as the row digests), so it refuses.
        guard version <= migrations.count else {
            throw SQLiteError(code: 1 /* SQLITE_ERROR */, message: "the database is at schema version \(version), newer than this Intake's \(migrations.count); run the newer Intake")
        }
        guard version < migrations.count else { return }
        while version < migrations.count {
            try db.execute("BEGIN IMMEDIATE")
            do {
                // Re-read under the write lock: another process may have migrated meanwhile.
                let current = Int(try db.scalar("PRAGMA user_version") ?? 0)
                if current > version { version = current; try db.execute("COMMIT"); continue }
                try db.execute(migrations[version])
                try db.execute("PRAGMA user_version = \(version + 1)")
                try db.execute("COMMIT")
                version += 1
            } catch {
                try? db.execute("ROLLBACK")
                throw error
            }
        }
    }
}
