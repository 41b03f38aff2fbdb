import IntakeSystem

#if canImport(Glibc)
import Glibc
#endif

/// `intake-bench`: generates the benchmark files, times Intake and its floors as whole processes
/// (median of several runs), and prints a table and one JSON line.
///
///     intake-bench --intake PATH --scratch DIR [--rows N[,N...]] [--runs K]
///     intake-bench bare-writes DATABASE ROWS    (one floor's run, see BareWrites)
///
/// The PostgreSQL figures start a throwaway cluster (Debian's `postgresql`); `BENCH_POSTGRES=0`
/// leaves them out.
@main
enum Bench {
    struct Measurement {
        var seconds: Double
        var peakBytes: Int?
        /// The median of this run's ratios to the `sqlite3 .import` floor timed right after it
        /// (same minutes), for the lines held to a target against that floor.
        var pairedFloorRatio: Double?
    }

    static func main() throws {
        var arguments = Array(CommandLine.arguments.dropFirst())
        if arguments.first == "bare-writes", arguments.count == 3, let rows = Int(arguments[2]) {
            return try BareWrites.main(database: arguments[1], rows: rows)
        }
        func option(_ name: String) -> String? {
            guard let i = arguments.firstIndex(of: name), i + 1 < arguments.count else { return nil }
            defer { arguments.removeSubrange(i...(i + 1)) }
            return arguments[i + 1]
        }
        guard let intake = option("--intake"), let scratch = option("--scratch") else {
            print("usage: intake-bench --intake PATH --scratch DIR [--rows 100000,1000000] [--runs 3]")
            exit(2)
        }
        let sizes = (option("--rows") ?? getenv("BENCH_ROWS").map { String(cString: $0) } ?? "100000,1000000")
            .split(separator: ",").compactMap { Int($0) }
        let runs = Int(option("--runs") ?? "3") ?? 3
        // `--only api` skips the file figures (and the API's figures during a file import).
        let apiOnly = option("--only") == "api"
        // `BENCH_POSTGRES=0` leaves out the PostgreSQL figures.
        let skipPostgres = getenv("BENCH_POSTGRES").map { String(cString: $0) == "0" } ?? false
        try FileSystem.createDirectories(scratch)

        var results: [(rows: Int, figures: [(String, Measurement)])] = []
        for rows in apiOnly ? [] : sizes {
            let dir = "\(scratch)/\(rows)"
            try FileSystem.createDirectories(dir)
            let csv = "\(dir)/customers.csv", xlsx = "\(dir)/customers.xlsx", edited = "\(dir)/customers-edited.csv"
            if !FileSystem.exists(csv) { try Generate.csv(path: csv, count: rows) }
            if !FileSystem.exists(edited) { try Generate.csv(path: edited, count: rows, revision: 1, extra: rows / 10) }
            let nightly = "\(dir)/customers-nightly.csv"
            if !FileSystem.exists(nightly) { try Generate.csv(path: nightly, count: rows, revision: 1, changedEvery: 100, extra: rows / 200) }
            let scattered = "\(dir)/customers-nightly-scattered.csv"
            if !FileSystem.exists(scattered) {
                try Generate.csv(path: scattered, count: rows, revision: 1, changedEvery: 100, extra: rows / 200, scattered: true)
            }
            if !FileSystem.exists(xlsx) { try Generate.xlsx(path: xlsx, count: rows) }
            log("\(rows) rows: files ready in \(dir)")

            var figures: [(String, Measurement)] = []
            let floorCommand = ["/usr/bin/sqlite3", "\(dir)/floor.db", ".import --csv \(csv) customers"]
            func floorRun() throws -> Measurement {
                _ = try? run(["/bin/rm", "-f", "\(dir)/floor.db"])
                return try timed(floorCommand)
            }
            /// Times `command` `runs` times; with `paired`, each run is followed by a run of the
            /// `sqlite3 .import` floor, and the line's ratio to the floor is the median of those
            /// pairs: this VM's speed drifts by tens of percent over the minutes a whole bench
            /// takes, and a ratio of figures timed minutes apart carries that drift.
            func measure(_ label: String, prepare: () throws -> Void = {}, paired: Bool = false, _ command: [String]) throws {
                var samples: [Measurement] = []
                var ratios: [Double] = []
                for _ in 0..<runs {
                    try prepare()
                    let sample = try timed(command)
                    samples.append(sample)
                    if paired { ratios.append(sample.seconds / (try floorRun()).seconds) }
                }
                samples.sort { $0.seconds < $1.seconds }
                var median = samples[samples.count / 2]
                median.pairedFloorRatio = ratios.isEmpty ? nil : ratios.sorted()[ratios.count / 2]
                figures.append((label, median))
                log("  \(label): \(format(median.seconds)) s\(median.peakBytes.map { ", peak \($0 >> 20) MiB" } ?? "")\(median.pairedFloorRatio.map { ", \(format($0))× the floor timed after each run" } ?? "")")
            }
            let root = "\(dir)/root"
            func freshRoot() throws {
                _ = try? run(["/bin/rm", "-rf", root])
                try FileSystem.createDirectories(root)
            }
            let importCommand = { (file: String) in [intake, "import", file, "--root", root, "--partner", "bench"] }
            /// A fresh root holding the base file's customers, as the re-sends find them.
            func storedRoot() throws {
                try freshRoot()
                _ = try timed(importCommand(csv))
            }

            try measure("read csv", [intake, "preview", csv, "--limit", "all"])
            try measure("read xlsx", [intake, "preview", xlsx, "--limit", "all"])
            try measure("import csv (fresh)", prepare: freshRoot, paired: true, importCommand(csv))
            try measure("re-import csv (unchanged)", prepare: storedRoot, paired: true, importCommand(csv))
            try measure("import edited csv (½ changed, ⅒ new)", prepare: storedRoot, paired: true, importCommand(edited))
            try measure("nightly re-send (1% changed, 0.5% new)", prepare: storedRoot, paired: true, importCommand(nightly))
            try measure(Self.scatteredLabel, prepare: storedRoot, importCommand(scattered))
            try measure("import xlsx (fresh)", prepare: freshRoot, importCommand(xlsx))
            // The floors: what the machine does with the same bytes and no validation at all.
            try measure("floor: sqlite3 .import csv", prepare: { _ = try? run(["/bin/rm", "-f", "\(dir)/floor.db"]) }, floorCommand)
            try measure("floor: unzip -p sheet", ["/bin/sh", "-c", "unzip -p '\(xlsx)' xl/worksheets/sheet1.xml > /dev/null"])
            try measure(BareWrites.label, prepare: storedRoot, ["/proc/self/exe", "bare-writes", "\(root)/state/intake.sqlite", String(rows)])
            if !skipPostgres {
                try PostgresBench.measure(intake: intake, dir: dir, csv: csv, nightly: nightly) { try measure($0, prepare: $1, $2) }
            }
            results.append((rows, figures))
        }
        var nodes: [(nodes: Int, filesPerMinute: Double)] = []
        if !skipPostgres && !apiOnly {
            Bench.log("many small files, 1 and 3 nodes on PostgreSQL:")
            nodes = try NodesBench.run(intake: intake, scratch: scratch, server: try PostgresBench.started.get())
        }
        Bench.log("API: \(APIBench.seconds) s of load per line")
        let api = try APIBench.run(intake: intake, scratch: scratch, bigCSV: apiOnly ? nil : sizes.max().map { "\(scratch)/\($0)/customers.csv" })
        report(results, nodes: nodes, api: api)
    }

    /// The nightly file's rows in an order far from the ids' (see `Generate.csv(scattered:)`).
    static let scatteredLabel = "nightly re-send, ids in no order"

    static func report(_ results: [(rows: Int, figures: [(String, Measurement)])], nodes: [(nodes: Int, filesPerMinute: Double)], api: [APIBench.Load]) {
        var json = JSONWriter()
        json.beginObject()
        json.key("machine")
        json.string(machine())
        json.key("sizes")
        json.beginObject()
        print("")
        for result in results {
            let f = Dictionary(result.figures, uniquingKeysWith: { a, _ in a })
            let sqlite = f["floor: sqlite3 .import csv"]!.seconds, unzip = f["floor: unzip -p sheet"]!.seconds
            func ratio(_ label: String) -> String {
                switch label {
                case "import csv (fresh)", "re-import csv (unchanged)", "import edited csv (½ changed, ⅒ new)", "nightly re-send (1% changed, 0.5% new)", "read csv",
                     Self.scatteredLabel, BareWrites.label:
                    if let paired = f[label]!.pairedFloorRatio { return format(paired) + "× sqlite3 (paired)" }
                    return format(f[label]!.seconds / sqlite) + "× sqlite3"
                case _ where label.hasPrefix("postgres: ") || label == PostgresBench.storedFloorLabel:
                    return format(f[label]!.seconds / f[PostgresBench.floorLabel]!.seconds) + "× psql \\copy"
                case "import xlsx (fresh)", "read xlsx":
                    return format(f[label]!.seconds / (sqlite + unzip)) + "× (unzip + sqlite3)"
                default:
                    return "floor"
                }
            }
            print("\(result.rows) rows")
            print(pad("run", 40) + pad("median s", 10) + pad("rows/s", 12) + pad("peak MiB", 10) + "vs floor")
            for (label, m) in result.figures {
                let peak = m.peakBytes.map { format(Double($0) / 1_048_576) } ?? "-"
                let rate = label.hasPrefix("floor") ? "-" : String(Int(Double(result.rows) / m.seconds))
                print(pad(label, 40) + pad(format(m.seconds), 10) + pad(rate, 12) + pad(peak, 10) + ratio(label))
            }
            print("")
            json.key(String(result.rows))
            json.beginObject()
            for (label, m) in result.figures {
                json.key(label)
                json.beginObject()
                json.key("seconds")
                json.raw(format(m.seconds, digits: 3))
                json.key("peak_bytes")
                json.number(m.peakBytes.map(Int64.init))
                if let paired = m.pairedFloorRatio {
                    json.key("paired_floor_ratio")
                    json.raw(format(paired, digits: 3))
                }
                json.endObject()
            }
            json.endObject()
        }
        json.endObject()
        if !nodes.isEmpty {
            print("Many small files on PostgreSQL (\(NodesBench.files) files of \(NodesBench.rowsPerFile) rows, \(NodesBench.partners) partners)")
            print(pad("nodes", 10) + "files/min")
            json.key("nodes")
            json.beginObject()
            for figure in nodes {
                print(pad(String(figure.nodes), 10) + String(Int(figure.filesPerMinute)))
                json.key(String(figure.nodes))
                json.raw(format(figure.filesPerMinute, digits: 1))
            }
            json.endObject()
            print("")
        }
        json.key("api")
        json.beginObject()
        print("API (durable PUTs, each a new customer; \(APIBench.seconds) s each)")
        print(pad("run", 48) + pad("req/s", 10) + pad("p50 ms", 10) + pad("p99 ms", 10) + "non-2xx")
        for load in api {
            let p99 = load.p99ms.isNaN ? "-" : format(load.p99ms)
            print(pad(load.label, 48) + pad(String(Int(load.requestsPerSecond)), 10) + pad(format(load.p50ms), 10) + pad(p99, 10) + String(load.non2xx))
            json.key(load.label)
            json.beginObject()
            json.key("per_second")
            json.raw(format(load.requestsPerSecond, digits: 1))
            json.key("p50_ms")
            json.raw(format(load.p50ms, digits: 3))
            json.key("p99_ms")
            json.raw(load.p99ms.isNaN ? "null" : format(load.p99ms, digits: 3))
            json.key("non_2xx")
            json.number(Int64(load.non2xx))
            json.endObject()
        }
        print("")
        json.endObject()
        json.endObject()
        print(json.text)
    }

    /// Starts a process in the background with stdout and stderr to `log`; returns its pid.
    static func spawn(_ command: [String], log: String) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let argv = command.map { strdup($0) } + [nil]
        let environment = ["PATH=/usr/local/bin:/usr/bin:/bin"]
        let envp = environment.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) }; envp.forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, command[0], &actions, nil, argv, envp)
        guard rc == 0 else { throw BenchError("cannot start \(command[0]): \(rc)") }
        return pid
    }

    /// Runs a whole process and returns its wall time and, for Intake, the peak memory it reports;
    /// a process that reports its own time (``BareWrites``) gives that instead.
    static func timed(_ command: [String]) throws -> Measurement {
        let clock = SystemTime()
        let start = clock.monotonicSeconds()
        let (status, stderr) = try run(command, reportMemory: true)
        let seconds = clock.monotonicSeconds() - start
        guard status == 0 else { throw BenchError("\(command.joined(separator: " ")) failed (\(status)): \(stderr.suffix(500))") }
        let peak = stderr.split(separator: "\n").last { $0.hasPrefix("intake: peak memory ") }
            .flatMap { $0.split(separator: " ").dropFirst(3).first.flatMap { Int($0) } }
        let reported = stderr.split(separator: "\n").last { $0.hasPrefix(BareWrites.reportPrefix) }
            .flatMap { Double($0.dropFirst(BareWrites.reportPrefix.count)) }
        return Measurement(seconds: reported ?? seconds, peakBytes: peak)
    }

    /// Runs a process with stdout to /dev/null and stderr to a file; returns status and stderr.
    @discardableResult
    static func run(_ command: [String], reportMemory: Bool = false) throws -> (Int32, String) {
        let errPath = "/tmp/intake-bench-\(getpid()).err"
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        var environment = ["PATH=/usr/local/bin:/usr/bin:/bin"]
        if reportMemory { environment.append("INTAKE_REPORT_PEAK_MEMORY=1") }
        let argv = command.map { strdup($0) } + [nil]
        let envp = environment.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) }; envp.forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, command[0], &actions, nil, argv, envp)
        guard rc == 0 else { throw BenchError("cannot start \(command[0]): \(rc)") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        var text = ""
        if let file = fopen(errPath, "r") {
            var chunk = [UInt8](repeating: 0, count: 4096)
            var bytes: [UInt8] = []
            while case let n = fread(&chunk, 1, chunk.count, file), n > 0 { bytes += chunk[..<n] }
            fclose(file)
            text = String(decoding: bytes, as: UTF8.self)
        }
        unlink(errPath)
        return ((status >> 8) & 0xFF, text)
    }

    static func machine() -> String {
        var info = utsname()
        uname(&info)
        let release = withUnsafeBytes(of: info.release) { String(cString: $0.baseAddress!.assumingMemoryBound(to: CChar.self)) }
        return "\(sysconf(Int32(_SC_NPROCESSORS_ONLN))) cores, Linux \(release)"
    }

    static func log(_ text: String) {
        let line = text + "\n"
        _ = line.withCString { write(STDERR_FILENO, $0, strlen($0)) }
    }

    static func format(_ value: Double, digits: Int = 2) -> String {
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let n = Int((value * scale).rounded())
        let whole = n / Int(scale), fraction = n % Int(scale)
        let f = String(fraction)
        return "\(whole).\(String(repeating: "0", count: digits - f.count))\(f)"
    }

    static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
    }
}
