import Foundation
@testable import IntakeStore
import Testing

/// Change records that keep only the values an update replaced, read back into whole values.
@Suite struct ChangeValuesTests {
    static let v1 = #"{"email":"a@x.io","name":"Ann","phone":null,"created_at":null,"custom_attributes":{"city":"Oslo"}}"#
    static let v2 = #"{"email":"a@x.io","name":"Anna","phone":null,"created_at":null,"custom_attributes":{"city":"Oslo"}}"#
    static let v3 = #"{"email":"a@x.io","name":"Anna","phone":"+1","created_at":null,"custom_attributes":{"city":"Rome","n":"1"}}"#

    /// Members are split at the object's own commas only: strings with escaped quotes, braces and
    /// commas, and nested objects and arrays, are passed over whole; other keys are dropped.
    @Test func membersKeepEachValueAsWritten() throws {
        let text = #"{"email":"a\"},{b\\","updated_by_import":7,"custom_attributes":{"k":"v,}","x":[1,{"y":"]"}]},"name" : null ,"phone":"+1"}"#
        let members = try #require(ChangeValues.members(of: text))
        #expect(members == ["email": #""a\"},{b\\""#, "custom_attributes": #"{"k":"v,}","x":[1,{"y":"]"}]}"#, "name": "null", "phone": #""+1""#])
        #expect(ChangeValues.members(of: "{}") == [:])
        for broken in ["", "[]", #"{"email""#, #"{"email":"open}"#, #"{"email":1"#, #"{"email":}"#, #"{"a":{"b":1}"#, #"{"email":"a"} x"#, "null"] {
            #expect(ChangeValues.members(of: broken) == nil, "\(broken)")
        }
    }

    @Test func overlayReplacesOnlyWhatTheRecordHolds() {
        #expect(ChangeValues.overlay(#"{"name":"Ann","updated_by_import":1,"updated_at":"2026-01-01 00:00:00","import_row":2}"#, on: Self.v2) == Self.v1)
        #expect(ChangeValues.overlay(#"{"updated_by_import":1}"#, on: Self.v2) == Self.v2)
        // A whole record stands alone; a partial one needs the values it was laid over.
        #expect(ChangeValues.overlay(Self.v1, on: nil) == Self.v1)
        #expect(ChangeValues.overlay(#"{"name":"Ann"}"#, on: nil) == nil)
        #expect(ChangeValues.overlay("not json", on: Self.v2) == nil)
    }

    /// A record of an older Intake (both whole objects) followed by one that keeps only what it
    /// replaced: history gives every entry's values; with the older record pruned, the created
    /// values are no longer known and the rest still are.
    @Test func historyReadsBothShapesOfRecord() throws {
        let old = ["2", "second.csv", "2026-01-02 00:00:00", "updated", Self.v2,
                   String(Self.v1.dropLast()) + #","updated_by_import":1,"updated_at":"2026-01-01 00:00:00","import_row":2}"#, "1", nil]
        let new = ["3", "third.csv", "2026-01-03 00:00:00", "updated", nil,
                   #"{"phone":null,"custom_attributes":{"city":"Oslo"},"updated_by_import":2,"updated_at":"2026-01-02 00:00:00","import_row":2}"#, "2", nil]
        let current: [String?] = ["1", "3", Self.v3]
        let info: (Int64) -> [String?]? = { ["file\($0).csv", "2026-01-0\($0) 00:00:00", nil] }
        let entries = try ImportHistory.assemble(changes: [old, new], current: current, importInfo: info)
        #expect(entries.map(\.action) == [.created, .updated, .updated])
        #expect(entries.map(\.importID) == [1, 2, 3])
        #expect(entries.map(\.values) == [Self.v1, Self.v2, Self.v3])
        // A record that keeps its values after gives them as they are: with the name edited from
        // outside since, a rebuilt entry would show the edit, the kept one does not.
        let edited = Self.v3.replacingOccurrences(of: #""name":"Anna""#, with: #""name":"Anne""#)
        let kept = try ImportHistory.assemble(changes: [old, new], current: ["1", "3", edited], importInfo: info)
        #expect(kept.map(\.values) == [Self.v1, Self.v2, edited])

        let pruned = try ImportHistory.assemble(changes: [new], current: current, importInfo: info)
        #expect(pruned.map(\.values) == [nil, Self.v3])
    }

    /// An undo that removed the customer ends a life: its import created it, an update over the
    /// creation was undone first; the customer created again later starts a new life.
    @Test func aRemovalEndsALife() throws {
        let update = ["2", "second.csv", "t2", "updated", nil,
                      #"{"name":"Ann","updated_by_import":1,"updated_at":"t1","import_row":2}"#, "1", nil]
        let restore = ["2", "second.csv", "t3", "undone", Self.v1, Self.v2, nil, nil]
        let removal = ["1", "first.csv", "t4", "undone", nil, Self.v1, nil, nil]
        let entries = try ImportHistory.assemble(changes: [update], current: nil, importInfo: { _ in nil })
        #expect(entries.map(\.values) == [nil], "without the row or a removal, the values after are not known")
        let lives = try ImportHistory.assemble(changes: [update, restore, removal], current: ["4", "4", Self.v3], importInfo: { _ in nil })
        #expect(lives.map(\.action) == [.created, .updated, .undone, .undone, .created])
        #expect(lives.map(\.importID) == [1, 2, 2, 1, 4])
        #expect(lives.map(\.values) == [Self.v1, Self.v2, Self.v1, nil, Self.v3])
    }
}
