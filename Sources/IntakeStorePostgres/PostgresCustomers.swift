import IntakeStore

/// One partner's customers in PostgreSQL, read for exports.
public struct PostgresCustomers {
    public let connection: PostgresConnection
    public let partner: String

    public init(connection: PostgresConnection, partner: String) {
        self.connection = connection
        self.partner = partner
    }

    /// Calls `body` with each customer in external_id order, streamed: memory stays flat for any
    /// number of customers.
    public func forEach(_ body: (StoredCustomer) throws -> Void) throws {
        try connection.stream("""
            SELECT external_id, email, name, phone, created_at, custom_attributes::text
            FROM customers WHERE partner = $1 ORDER BY external_id
            """, [partner]) { f in
            try body(StoredCustomer(externalID: f[0] ?? "", email: f[1], name: f[2], phone: f[3], createdAt: f[4], customAttributes: f[5] ?? "{}"))
        }
    }
}
