import Foundation
import IntakeFuzz
import IntakeTestSupport
import Testing

/// Every input `make fuzz` found (and the seeds it starts from) replayed through its target's
/// checks: a crash, a broken promise or a hang that was fixed stays fixed. Inputs live in
/// `Fixtures/fuzz/<target>/`; `Fixtures/fuzz/README.md` says, a line each, what each one broke.
@Suite struct FuzzReplayTests {
    static let cases: [(target: String, file: String)] = FuzzTargets.all.flatMap { target in
        let folder = TestPaths.fixtures + "/fuzz/" + target.name
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).sorted()
        return files.map { (target.name, $0) }
    }

    @Test(arguments: FuzzReplayTests.cases.map { "\($0.target)/\($0.file)" })
    func replay(_ input: String) throws {
        let parts = input.split(separator: "/", maxSplits: 1)
        let target = try #require(FuzzTargets.all.first { $0.name == parts[0] })
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: TestPaths.fixtures + "/fuzz/" + input)))
        do { try target.run(bytes) } catch {
            Issue.record("\(input): \(error)")
        }
    }

    @Test func everyTargetHasItsFolder() {
        for target in FuzzTargets.all {
            #expect(FileManager.default.fileExists(atPath: TestPaths.fixtures + "/fuzz/" + target.name), "\(target.name)")
        }
    }
}
