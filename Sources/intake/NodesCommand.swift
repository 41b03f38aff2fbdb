import ArgumentParser
import IntakeStorePostgres

/// `intake nodes`: the nodes sharing a PostgreSQL store, their leases, and the files in hand.
struct Nodes: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the watch nodes sharing the PostgreSQL store, their leases and what each is importing.",
        discussion: """
        One line per node: id, host, pid, started, last renewal, lease (live, or expired: the node \
        is taken for dead and its reservations can be taken), and the file it imports. Then the \
        files claimed and not yet archived, with the node that last worked on each.
        """
    )

    @OptionGroup var storage: StorageOptions

    func run() throws {
        guard let url = storage.postgresURL else {
            throw ValidationError("nodes share a PostgreSQL store; give its URL with --db (or database: in settings.yaml)")
        }
        let store = try PostgresImportStore(url: url)
        let nodes = try store.connection.query("""
            SELECT id, host, pid, to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS'),
                   to_char(last_seen AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS'),
                   CASE WHEN lease_until > now() THEN 'live' ELSE 'expired' END,
                   coalesce(importing, '-')
            FROM nodes ORDER BY started_at, id
            """)
        print("node\thost\tpid\tstarted\tlast_seen\tlease\timporting")
        for node in nodes { print(node.map { $0 ?? "-" }.joined(separator: "\t")) }
        let files = try store.connection.query("""
            SELECT id, partner, file_name, step, attempts, failures, coalesce(node, '-') FROM journal WHERE step <> 'archived' ORDER BY id
            """)
        if !files.isEmpty {
            print("")
            print("journal\tpartner\tfile\tstep\tattempts\tfailures\tnode")
            for file in files { print(file.map { $0 ?? "-" }.joined(separator: "\t")) }
        }
    }
}
