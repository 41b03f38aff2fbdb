/// The PostgreSQL schema, versioned in `intake_schema`. It holds the same tables, columns and
/// meanings as the SQLite schema (``Schema`` in IntakeStore) at its current version; each later
/// migration is added to both and never edited once shipped.
///
/// `created_by_import`, `updated_by_import` and `customer_changes.import_id` name rows of
/// `imports` without a foreign key (SQLite's, enforced but for a file's writer, which turns them
/// off for its span): a foreign key is a trigger per row, half of a fresh import's insert time;
/// Intake writes both sides in one transaction.
///
/// Ids and partner names compare by bytes (`COLLATE "C"`), as in SQLite, whatever the
/// database's locale: exports list customers in the same order on both stores.
///
/// Every key and index leads with `partner`, so the tables can be partitioned or distributed by
/// partner (Citus: `SELECT create_distributed_table('customers', 'partner')`, and the same for
/// `imports` and `customer_changes`). Timestamps stay UTC text, as in SQLite, so both stores give
/// byte-equal answers; `custom_attributes` is `json` (kept as written: key order and number
/// text survive, which `jsonb` would not keep).
public enum PostgresSchema {
    static let migrations: [String] = [
        // 1: the import path: the history, customers, and what each import changed.
        """
        CREATE TABLE imports (
            partner        text COLLATE "C" NOT NULL,
            id             bigint GENERATED ALWAYS AS IDENTITY,
            file_name      text NOT NULL,
            sha256         text NOT NULL,
            size           bigint NOT NULL,
            format         text,
            encoding       text,
            delimiter      text,
            sheet          text,
            status         text NOT NULL CHECK (status IN ('running', 'completed', 'rejected', 'duplicate', 'checked')),
            rows_read      bigint NOT NULL DEFAULT 0,
            rows_created   bigint NOT NULL DEFAULT 0,
            rows_updated   bigint NOT NULL DEFAULT 0,
            rows_unchanged bigint NOT NULL DEFAULT 0,
            rows_rejected  bigint NOT NULL DEFAULT 0,
            rows_skipped   bigint NOT NULL DEFAULT 0,
            started_at     text NOT NULL,
            finished_at    text,
            error          text,
            result_path    text,
            mode           text,
            undone_at      text,
            undo_pruned_at text,
            source         text NOT NULL DEFAULT 'file' CHECK (source IN ('file', 'api')),
            token_name     text,
            PRIMARY KEY (partner, id)
        );
        CREATE INDEX imports_by_hash ON imports (partner, sha256);

        CREATE TABLE customers (
            partner           text COLLATE "C" NOT NULL,
            external_id       text COLLATE "C" NOT NULL,
            email             text,
            name              text,
            phone             text,
            created_at        text,
            custom_attributes json NOT NULL DEFAULT '{}',
            created_by_import bigint NOT NULL,
            updated_by_import bigint,
            updated_at        text NOT NULL,
            import_row        bigint,
            PRIMARY KEY (partner, external_id)
        );

        CREATE TABLE customer_changes (
            partner     text COLLATE "C" NOT NULL,
            id          bigint GENERATED ALWAYS AS IDENTITY,
            import_id   bigint NOT NULL,
            external_id text COLLATE "C" NOT NULL,
            action      text NOT NULL CHECK (action IN ('created', 'updated', 'undone')),
            before      json,
            after       json,
            changed_at  text NOT NULL,
            PRIMARY KEY (partner, id)
        );
        CREATE INDEX customer_changes_by_import ON customer_changes (partner, import_id);
        CREATE INDEX customer_changes_by_customer ON customer_changes (partner, external_id, id);

        -- RFC 7396 merge of a file's attributes (string values only) into stored ones, as SQLite's
        -- json_patch does it: stored keys keep their place, new keys follow in the given order,
        -- and the text is compact, so a merge that changes nothing gives the stored text back.
        CREATE FUNCTION intake_merge_attributes(stored json, given json) RETURNS json
        LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
            SELECT CASE WHEN given::text = '{}' OR given::text = stored::text THEN stored ELSE (
                SELECT ('{' || string_agg(to_json(k)::text || ':' || v, ',' ORDER BY o) || '}')::json FROM (
                    SELECT s.key AS k, coalesce(g.value::text, s.value::text) AS v, s.ord AS o
                    FROM json_each(stored) WITH ORDINALITY AS s(key, value, ord)
                    LEFT JOIN json_each(given) AS g ON g.key = s.key
                    UNION ALL
                    SELECT g.key, g.value::text, 1000000000 + g.ord
                    FROM json_each(given) WITH ORDINALITY AS g(key, value, ord)
                    WHERE NOT EXISTS (SELECT 1 FROM json_each(stored) AS s WHERE s.key = g.key)
                ) AS merged
            ) END
        $$;

        -- Whether every given attribute already holds its value in `stored` (a merge would change nothing).
        CREATE FUNCTION intake_attributes_hold(stored json, given json) RETURNS boolean
        LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
            SELECT given::text = '{}' OR given::text = stored::text OR NOT EXISTS (
                SELECT 1 FROM json_each_text(given) AS g
                WHERE (stored::jsonb -> g.key) IS DISTINCT FROM to_jsonb(g.value)
            )
        $$;
        """,
        // 2: several nodes. The watcher's journal (as in SQLite), the reservations that let one
        // node move an inbox file, and the nodes themselves with their leases.
        """
        CREATE TABLE journal (
            id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            partner         text NOT NULL,
            file_name       text NOT NULL,
            processing_path text NOT NULL UNIQUE,
            sha256          text,
            size            bigint,
            step            text NOT NULL CHECK (step IN ('claimed', 'imported', 'result_written', 'archived')),
            dry_run         boolean NOT NULL DEFAULT false,
            attempts        integer NOT NULL DEFAULT 0,
            import_id       bigint,
            outcome         text,
            archive_path    text,
            claimed_at      text NOT NULL,
            updated_at      text NOT NULL,
            last_error      text,
            failures        integer NOT NULL DEFAULT 0,
            inode           bigint,
            node            text
        );
        CREATE INDEX journal_unfinished ON journal (partner, id) WHERE step <> 'archived';

        -- A node's lease, renewed every few seconds while it runs. A node whose lease ran out is
        -- dead to the others: its reservations can be taken.
        CREATE TABLE nodes (
            id          text PRIMARY KEY,
            host        text NOT NULL,
            pid         integer NOT NULL,
            started_at  timestamptz NOT NULL DEFAULT now(),
            last_seen   timestamptz NOT NULL DEFAULT now(),
            lease_until timestamptz NOT NULL,
            importing   text
        );

        -- An inbox file one node is moving into the processing area: taken before the move,
        -- ended in the transaction that records the file's journal entry.
        CREATE TABLE claims (
            partner    text NOT NULL,
            inbox_name text NOT NULL,
            inode      bigint NOT NULL,
            node       text NOT NULL,
            claimed_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (partner, inbox_name, inode)
        );

        -- A customer's values as one compact JSON object, the shape SQLite's json_object gives
        -- (so both stores' history reads alike); the second form adds what undo puts back.
        CREATE FUNCTION intake_snapshot(email text, name text, phone text, created_at text, attributes json) RETURNS text
        LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
            SELECT '{"email":' || coalesce(to_json(email)::text, 'null') || ',"name":' || coalesce(to_json(name)::text, 'null')
                || ',"phone":' || coalesce(to_json(phone)::text, 'null') || ',"created_at":' || coalesce(to_json(created_at)::text, 'null')
                || ',"custom_attributes":' || coalesce(attributes::text, '{}') || '}'
        $$;
        CREATE FUNCTION intake_snapshot(email text, name text, phone text, created_at text, attributes json,
                                        updated_by bigint, updated_at text, import_row bigint) RETURNS text
        LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
            SELECT left(intake_snapshot(email, name, phone, created_at, attributes), -1)
                || ',"updated_by_import":' || coalesce(updated_by::text, 'null') || ',"updated_at":' || coalesce(to_json(updated_at)::text, 'null')
                || ',"import_row":' || coalesce(import_row::text, 'null') || '}'
        $$;
        """,
        // 3: the HTTP side, as SQLite's migrations 6 and 7: API tokens (their SHA-256 only),
        // files received over HTTP, portal users (email unique without case) and their sessions
        // (by the cookie's SHA-256).
        """
        CREATE INDEX imports_by_source ON imports (partner, source, id);
        CREATE INDEX journal_by_inode ON journal (partner, inode);
        CREATE INDEX journal_by_import ON journal (partner, import_id);

        CREATE TABLE api_tokens (
            id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            partner     text COLLATE "C" NOT NULL,
            name        text NOT NULL,
            sha256      text NOT NULL UNIQUE,
            created_at  text NOT NULL,
            revoked_at  text
        );
        CREATE UNIQUE INDEX api_tokens_live_names ON api_tokens (partner, name) WHERE revoked_at IS NULL;

        CREATE TABLE uploads (
            partner     text COLLATE "C" NOT NULL,
            id          text NOT NULL,
            file_name   text NOT NULL,
            inbox_name  text NOT NULL,
            dry_run     boolean NOT NULL,
            size        bigint NOT NULL,
            inode       bigint NOT NULL,
            token_name  text,
            received_at text NOT NULL,
            user_email  text,
            PRIMARY KEY (partner, id)
        );
        CREATE INDEX uploads_by_time ON uploads (partner, received_at);

        CREATE TABLE users (
            id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            email         text NOT NULL,
            partner       text COLLATE "C",
            is_admin      boolean NOT NULL DEFAULT false,
            password_hash text NOT NULL,
            created_at    text NOT NULL,
            CHECK (partner IS NOT NULL OR is_admin)
        );
        CREATE UNIQUE INDEX users_by_email ON users (lower(email));
        CREATE TABLE sessions (
            sha256     text PRIMARY KEY,
            user_id    bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
            csrf       text NOT NULL,
            created_at text NOT NULL,
            last_seen  bigint NOT NULL
        );
        """,
        // 4: SQLite's migration 8 keeps a digest of the row that wrote each customer, which its
        // row-by-row writer uses to pass over rows sent again; the set-based writer here decides
        // "unchanged" for all rows in one statement and leaves the column NULL, kept so both
        // stores have the same columns.
        """
        ALTER TABLE customers ADD COLUMN row_digest bigint;
        """,
        // 5: an update's change record keeps the values it replaced, not both whole customers, as
        // SQLite's writer does (see `ChangeValues` in IntakeStore): `custom_attributes` whole when
        // any of it changed, then what undo puts back. `after` is left NULL; history takes those
        // values from the next change or the row.
        """
        CREATE FUNCTION intake_replaced(email text, name text, phone text, created_at text, attributes json,
                                        new_email text, new_name text, new_phone text, new_created_at text, new_attributes json,
                                        updated_by bigint, updated_at text, import_row bigint) RETURNS text
        LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
            SELECT '{'
                || CASE WHEN email IS DISTINCT FROM new_email THEN '"email":' || coalesce(to_json(email)::text, 'null') || ',' ELSE '' END
                || CASE WHEN name IS DISTINCT FROM new_name THEN '"name":' || coalesce(to_json(name)::text, 'null') || ',' ELSE '' END
                || CASE WHEN phone IS DISTINCT FROM new_phone THEN '"phone":' || coalesce(to_json(phone)::text, 'null') || ',' ELSE '' END
                || CASE WHEN created_at IS DISTINCT FROM new_created_at THEN '"created_at":' || coalesce(to_json(created_at)::text, 'null') || ',' ELSE '' END
                || CASE WHEN attributes::text IS DISTINCT FROM new_attributes::text THEN '"custom_attributes":' || coalesce(attributes::text, '{}') || ',' ELSE '' END
                || '"updated_by_import":' || coalesce(updated_by::text, 'null') || ',"updated_at":' || coalesce(to_json(updated_at)::text, 'null')
                || ',"import_row":' || coalesce(import_row::text, 'null') || '}'
        $$;
        """,
    ]

    /// The version a database has once every migration ran.
    public static var currentVersion: Int { migrations.count }

    /// Brings the database up to ``currentVersion``. Several nodes may start at once: an advisory
    /// lock lets one migrate while the others wait, then find nothing left to do.
    static func migrate(_ connection: PostgresConnection) throws(PostgresError) {
        try connection.execute("""
            SELECT pg_advisory_lock(\(advisoryLockKey));
            CREATE TABLE IF NOT EXISTS intake_schema (version integer NOT NULL);
            """)
        defer { try? connection.execute("SELECT pg_advisory_unlock(\(advisoryLockKey))") }
        // Intake's text is UTF-8 (Cyrillic names, accents): a database in another encoding would
        // refuse rows one file at a time.
        let encoding = try connection.scalar("SHOW server_encoding") ?? ""
        guard encoding == "UTF8" else {
            throw PostgresError(message: "the database's encoding is \(encoding); Intake needs UTF8 (CREATE DATABASE … ENCODING 'UTF8' TEMPLATE template0)")
        }
        var version = Int(try connection.scalar("SELECT max(version) FROM intake_schema") ?? "0") ?? 0
        // A newer Intake's database: this one would read and write it without what the newer
        // one changed (such as change records that keep only the values replaced), so it refuses.
        guard version <= migrations.count else {
            throw PostgresError(message: "the database is at schema version \(version), newer than this Intake's \(migrations.count); run the newer Intake on every node")
        }
        while version < migrations.count {
            try connection.execute("BEGIN")
            do {
                try connection.execute(migrations[version])
                try connection.query("INSERT INTO intake_schema (version) VALUES ($1)", [String(version + 1)])
                try connection.execute("COMMIT")
                version += 1
            } catch {
                try? connection.execute("ROLLBACK")
                throw error
            }
        }
    }

    /// The advisory lock key of migrations ("intake" in ASCII); per-partner import locks use
    /// `hashtext` of the partner name, in the other key space of the two-key form.
    static let advisoryLockKey: Int64 = 0x696e74616b65
}
