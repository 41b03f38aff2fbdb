import CIntakeLinux
import IntakeImport
import IntakeSystem
import IntakeTestSupport
import Testing

@testable import IntakeWatch

#if canImport(Glibc)
import Glibc
#endif

/// The watcher's parts on their own: settling on an injected clock, inotify's buffer format, the
/// upload-name rules and the processing-area names.
@Suite struct WatchPartsTests {
    static let signature = FileSignature(device: 1, inode: 2, size: 10, modified: 100, changed: 100)

    @Test func settlingWaitsForCloseAndQuiet() {
        let time = ManualTime()
        var tracker = SettleTracker()
        var current: FileSignature? = Self.signature
        func ready() -> [String] { tracker.takeReady(now: time.monotonicSeconds(), settle: { _ in 5 }) { _ in current }.map(\.name) }

        // Being written: not ready however long it stays quiet.
        tracker.observe(partner: "p", name: "a.csv", path: "/in/a.csv", signature: Self.signature, closed: false, now: time.monotonicSeconds())
        time.advance(by: 60)
        #expect(ready().isEmpty)
        // Closed: ready once unchanged for the settle time, measured from its last change.
        tracker.observe(partner: "p", name: "a.csv", path: "/in/a.csv", signature: Self.signature, closed: true, now: time.monotonicSeconds())
        #expect(ready() == ["a.csv"], "unchanged since the first observation, 60 s ago")
        #expect(tracker.candidates.isEmpty)

        // A change seen at a pass restarts its clock.
        tracker.observe(partner: "p", name: "b.csv", path: "/in/b.csv", signature: Self.signature, closed: true, now: time.monotonicSeconds())
        time.advance(by: 4)
        current?.size = 20
        #expect(ready().isEmpty)
        time.advance(by: 4.9)
        #expect(ready().isEmpty)
        time.advance(by: 0.2)
        #expect(ready() == ["b.csv"])

        // Gone before it settled: dropped.
        tracker.observe(partner: "p", name: "c.csv", path: "/in/c.csv", signature: Self.signature, closed: true, now: time.monotonicSeconds())
        current = nil
        #expect(ready().isEmpty && tracker.candidates.isEmpty)
    }

    @Test func busyWaitsForACloseAndIncompleteRemembersSince() {
        let time = ManualTime()
        var tracker = SettleTracker()
        let candidate = SettleTracker.Candidate(partner: "p", name: "a.xlsx", path: "/in/a.xlsx", signature: Self.signature, lastChange: 0, closed: true)
        tracker.requeueBusy(candidate, now: time.monotonicSeconds())
        time.advance(by: 100)
        #expect(tracker.takeReady(now: time.monotonicSeconds(), settle: { _ in 1 }) { _ in Self.signature }.isEmpty, "a busy file waits for its writer's close")

        tracker = SettleTracker()
        tracker.requeueIncomplete(candidate, now: time.monotonicSeconds())
        let since = time.monotonicSeconds()
        time.advance(by: 1)
        let again = tracker.takeReady(now: time.monotonicSeconds(), settle: { _ in 1 }) { _ in Self.signature }
        #expect(again.map(\.incompleteSince) == [since])
        tracker.requeueIncomplete(again[0], now: time.monotonicSeconds())
        #expect(tracker.candidates["/in/a.xlsx"]?.incompleteSince == since, "the first time it was seen incomplete is kept")
    }

    /// A file whose claim keeps failing is asked about again after 1 s, 2 s, 4 s, ... up to ten
    /// minutes, not at every pass: the cause is outside the service, and each try logs an error.
    @Test func aFailedClaimIsAskedAboutLessOftenEachTime() {
        let time = ManualTime()
        var tracker = SettleTracker()
        var candidate = SettleTracker.Candidate(partner: "p", name: "a.csv", path: "/in/a.csv", signature: Self.signature, lastChange: 0, closed: true)
        func ready() -> [SettleTracker.Candidate] { tracker.takeReady(now: time.monotonicSeconds(), settle: { _ in 0 }) { _ in Self.signature } }
        var waits: [Double] = []
        for _ in 0..<12 {
            tracker.requeueAfterFailedClaim(candidate, now: time.monotonicSeconds())
            let failedAt = time.monotonicSeconds()
            while true {
                time.advance(by: 0.5)
                if let again = ready().first { candidate = again; break }
            }
            waits.append(time.monotonicSeconds() - failedAt)
        }
        #expect(waits == [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 600, 600])

        // A new upload of that name is another file: its claim has not failed yet.
        tracker.requeueAfterFailedClaim(candidate, now: time.monotonicSeconds())
        var changed = Self.signature
        changed.size = 99
        tracker.observe(partner: "p", name: "a.csv", path: "/in/a.csv", signature: changed, closed: true, now: time.monotonicSeconds())
        #expect(tracker.takeReady(now: time.monotonicSeconds(), settle: { _ in 0 }) { _ in changed }.map(\.failedClaims) == [0])
    }

    @Test func inotifyBufferWalk() {
        // Two events as the kernel lays them out: a 16-byte header, then the NUL-padded name.
        func event(_ wd: Int32, _ mask: UInt32, _ name: String, padTo length: Int) -> [UInt8] {
            var bytes: [UInt8] = []
            withUnsafeBytes(of: wd) { bytes += $0 }
            withUnsafeBytes(of: mask) { bytes += $0 }
            withUnsafeBytes(of: UInt32(0)) { bytes += $0 }
            withUnsafeBytes(of: UInt32(length)) { bytes += $0 }
            return bytes + Array(name.utf8) + Array(repeating: 0, count: length - name.utf8.count)
        }
        let buffer = event(3, UInt32(IN_CLOSE_WRITE), "list.csv", padTo: 16) + event(4, UInt32(IN_CREATE | IN_ISDIR), "check", padTo: 32)
            + event(-1, UInt32(IN_Q_OVERFLOW), "", padTo: 0)
        let events = buffer.withUnsafeBytes { InotifyEvent.parse($0) }
        #expect(events == [
            InotifyEvent(watch: 3, mask: UInt32(IN_CLOSE_WRITE), name: "list.csv"),
            InotifyEvent(watch: 4, mask: UInt32(IN_CREATE | IN_ISDIR), name: "check"),
            InotifyEvent(watch: -1, mask: UInt32(IN_Q_OVERFLOW), name: ""),
        ])
        #expect(events[1].isDirectory && !events[0].isDirectory && events[2].isOverflow)
        // A buffer cut inside an event yields the whole ones only.
        #expect(buffer.prefix(16 + 16 + 20).withUnsafeBytes { InotifyEvent.parse($0) }.count == 1)
    }

    @Test(arguments: [
        ("list.csv", false), ("list.csv.filepart", true), (".list.csv.Xa1.partial", true), (".in.list.csv", true),
        ("list.tmp", true), ("list.PART", true), ("~$list.xlsx", true), ("list.csv.crdownload", true), ("check--x.csv", false),
    ])
    func temporaryUploadNames(name: String, temporary: Bool) {
        #expect(UploadNames.isTemporary(name) == temporary)
    }

    @Test func importableFormats() {
        #expect(UploadNames.isImportable("a.CSV") && UploadNames.isImportable("b.xlsx"))
        #expect(!UploadNames.isImportable("c.xls") && !UploadNames.isImportable("d.csv.gz"))
    }

    @Test func processingNamesRoundTripWhateverThePartnerCalledTheFile() {
        for fileName in ["list.csv", "check--x.csv", "a--b--c.xlsx", "--.csv", ".import--x.csv", "1-2-3.check--y.csv"] {
            for check in [false, true] {
                let name = ProcessingName(token: "1767225600-42-7", check: check, fileName: fileName)
                #expect(ProcessingName(decoding: name.encoded) == name, "\(name.encoded)")
            }
        }
        #expect(ProcessingName(decoding: "1767225600-42-7.import--check--x.csv")?.check == false)
        // Names not made by the encoder are not read as one.
        for foreign in ["list.csv", "1767225600-42-7--check--x.csv", "x.import--a.csv", "1-2.other--a.csv", "1-2.import--"] {
            #expect(ProcessingName(decoding: foreign) == nil, "\(foreign)")
        }
    }

    /// A name longer than the path keeps is cut in its middle, never its extension: a file adopted
    /// after a crash is still a CSV or XLSX file.
    @Test func aLongNameKeepsItsExtensionInTheProcessingArea() {
        let long = String(repeating: "Kundenliste März ", count: 20) + "final.xlsx"
        let encoded = ProcessingName(token: "1767225600-42-7", check: false, fileName: long).encoded
        let adopted = ProcessingName(decoding: encoded)
        #expect(adopted?.fileName.hasSuffix(".xlsx") == true && UploadNames.isImportable(adopted?.fileName ?? ""), "\(encoded)")
        #expect((adopted?.fileName.utf8.count ?? .max) <= ProcessingName.maxNameBytes)
        #expect(adopted.map { long.hasPrefix(String($0.fileName.dropLast(".xlsx".count))) } == true)
        // A name without a short extension is cut at its end, as before.
        let plain = String(repeating: "x", count: 300)
        #expect(ProcessingName.shortened(plain) == String(repeating: "x", count: ProcessingName.maxNameBytes))
        #expect(ProcessingName.shortened("list.csv") == "list.csv")
    }

    @Test func doneMarkerTemplates() {
        let done = DoneMarker(template: "{name}.done")
        #expect(done?.marker(for: "list.csv") == "list.csv.done")
        #expect(done?.dataFile(ofMarker: "list.csv.done") == "list.csv")
        #expect(done?.dataFile(ofMarker: "list.csv") == nil && done?.dataFile(ofMarker: ".done") == nil)
        let ok = DoneMarker(template: "ok-{name}")
        #expect(ok?.dataFile(ofMarker: "ok-list.xlsx") == "list.xlsx")
        for bad in ["{name}", "done", "{name}.{name}", "x/{name}", ""] { #expect(DoneMarker(template: bad) == nil, "\(bad)") }
    }
}
