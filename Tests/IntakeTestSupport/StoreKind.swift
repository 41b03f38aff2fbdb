/// The stores Intake writes to; the tests that show a store's behaviour run on each.
public enum StoreKind: String, CaseIterable, Sendable {
    case sqlite, postgres
}
