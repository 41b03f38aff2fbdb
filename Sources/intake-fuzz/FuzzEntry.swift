import CIntakeLinux
import IntakeFuzz

#if canImport(Glibc)
import Glibc
#endif

/// The target `INTAKE_FUZZ_TARGET` names (see ``FuzzTargets/all``).
private let target: @Sendable ([UInt8]) throws(InvariantViolation) -> Void = {
    let name = getenv("INTAKE_FUZZ_TARGET").map { String(cString: $0) } ?? ""
    guard let found = FuzzTargets.all.first(where: { $0.name == name }) else {
        fatalError("set INTAKE_FUZZ_TARGET to one of: \(FuzzTargets.all.map(\.name).joined(separator: ", "))")
    }
    return found.run
}()

/// One input through the chosen target; a broken promise stops the process, which libFuzzer
/// reports as a crash and saves the input.
func runOne(_ bytes: [UInt8]) {
    do { try target(bytes) } catch {
        fatalError("invariant broken: \(error)")
    }
}

#if FUZZING
/// The process's entry point in the fuzz build (`make fuzz` builds with
/// `-sanitize=fuzzer,address -D FUZZING`): libFuzzer's driver, with its usual flags.
@_cdecl("intake_fuzz_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv) { data, size in
        runOne(data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? [])
        return 0
    }
}
#else
/// Without libFuzzer: replays the files named on the command line through the target, so a
/// crash file can be tried on an ordinary build.
@main
enum Replay {
    static func main() {
        for path in CommandLine.arguments.dropFirst() {
            guard let file = fopen(path, "rb") else { fatalError("cannot open \(path)") }
            var bytes: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 65_536)
            while case let n = fread(&chunk, 1, chunk.count, file), n > 0 { bytes += chunk[..<n] }
            fclose(file)
            runOne(bytes)
            print("\(path): ok")
        }
    }
}
#endif
