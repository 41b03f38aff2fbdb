#if canImport(Glibc)
import Glibc
#endif
import IntakeSystem
import IntakeTestSupport
import Testing

/// The one syscall path: failures become typed errors naming the call, the subject and errno;
/// the file-system helpers built on it tell the kinds of inbox entries apart.
@Suite struct SyscallTests {
    @Test func integerCallsThrowTheirErrnoNamed() throws {
        #expect {
            _ = try syscall("open", "/nonexistent/x") { open("/nonexistent/x", O_RDONLY) }
        } throws: { error in
            let error = error as? SystemError
            return error?.code == ENOENT && error?.description == "open /nonexistent/x: No such file or directory"
        }
        #expect(try syscall("getpid") { getpid() } == getpid())
    }

    @Test func anInterruptedCallIsRetried() throws {
        var calls = 0
        let result = try syscall("fake") { () -> Int32 in
            calls += 1
            if calls < 3 {
                errno = EINTR
                return -1
            }
            return 7
        }
        #expect(result == 7 && calls == 3)
        calls = 0
        #expect(throws: SystemError(code: EINTR, operation: "fake")) {
            _ = try syscall("fake", retryOnInterrupt: false) { () -> Int32 in
                calls += 1
                errno = EINTR
                return -1
            }
        }
        #expect(calls == 1)
    }

    @Test func handleCallsThrowOnNull() throws {
        #expect(throws: SystemError(code: ENOENT, operation: "opendir", subject: "/nonexistent")) {
            _ = try FileSystem.contents(of: "/nonexistent")
        }
    }

    @Test func entryKindsAndDirectories() throws {
        try withTemporaryDirectory { dir in
            try writeFile(dir + "/file", "x")
            #expect(FileSystem.entryKind(dir + "/file") == .regular(links: 1))
            #expect(link(dir + "/file", dir + "/second") == 0)
            #expect(FileSystem.entryKind(dir + "/file") == .regular(links: 2))
            #expect(symlink(dir + "/file", dir + "/link") == 0)
            #expect(FileSystem.entryKind(dir + "/link") == .symbolicLink)
            #expect(mkfifo(dir + "/pipe", 0o600) == 0)
            #expect(FileSystem.entryKind(dir + "/pipe") == .fifo)
            #expect(FileSystem.entryKind(dir) == .directory)
            #expect(FileSystem.entryKind(dir + "/missing") == nil)
            #expect(!FileSystem.exists(dir + "/missing"))

            try FileSystem.createDirectories(dir + "/a/b/c")
            try FileSystem.createDirectories(dir + "/a/b/c")
            #expect(FileSystem.isDirectory(dir + "/a/b/c"))
            #expect {
                try FileSystem.createDirectories(dir + "/file/sub")
            } throws: { error in
                (error as? SystemError).map { $0.code == EEXIST && $0.operation == "mkdir" && $0.subject?.hasSuffix("/file") == true } ?? false
            }
            #expect(try FileSystem.contents(of: dir) == ["a", "file", "link", "pipe", "second"])
            try FileSystem.removeFile(dir + "/second")
            try FileSystem.removeFile(dir + "/second")
            #expect(FileSystem.entryKind(dir + "/file") == .regular(links: 1))
        }
    }

    @Test func positionalReadAndLeases() throws {
        try withTemporaryDirectory { dir in
            try writeFile(dir + "/f", "0123456789")
            let file = try FileDescriptor(opening: dir + "/f")
            let buffer = ChunkBuffer(count: 4)
            #expect(try file.read(into: buffer.raw, at: 6) == 4)
            #expect(Array(buffer.prefix(4)) == Array("6789".utf8))
            #expect(EntryKind(try file.status()) == .regular(links: 1))

            // A lease is refused while another descriptor has the file open for writing.
            do {
                let writer = try FileDescriptor(opening: dir + "/f", flags: O_WRONLY)
                #expect(throws: SystemError(code: EAGAIN, operation: "fcntl(F_SETLEASE)", subject: dir + "/f")) {
                    try file.takeReadLease()
                }
                _ = writer
            }
            try file.takeReadLease()
            let pendingBefore = file.leaseBreakPending
            #expect(!pendingBefore)
            // Another process opening it for writing breaks the lease: the holder is told (and
            // its process, which the break's SIGIO would end by default, lives on).
            _ = try runChild("/bin/dd", ["of=\(dir)/f", "oflag=nonblock", "conv=notrunc", "count=0", "status=none"])
            let pendingAfter = file.leaseBreakPending
            #expect(pendingAfter)
            file.releaseLease()
        }
    }

    @Test func timeSourceFormatsUTC() {
        #expect(UTC.format(1_514_765_482) == "2018-01-01 00:11:22")
        let time = ManualTime(wall: 1_514_765_482, monotonic: 5)
        #expect(time.utcNow() == "2018-01-01 00:11:22")
        time.advance(by: 60)
        #expect(time.utcNow() == "2018-01-01 00:12:22")
        #expect(time.monotonicSeconds() == 65)
        let system = SystemTime()
        let first = system.monotonicSeconds()
        #expect(system.monotonicSeconds() >= first)
    }
}
