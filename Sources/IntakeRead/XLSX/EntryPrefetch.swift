import IntakeSystem

/// Inflates a worksheet on a thread of its own, a few chunks ahead of the XML parser, so that
/// libzip's inflating (a fifth of reading a large sheet) and expat's parsing use both cores.
///
/// Owns the entry stream from `init` on: only the prefetching thread reads it. The stream keeps
/// its archive alive, so the archive's handle outlives every read whichever thread ends last.
/// Memory stays at `depth` chunks of 64 KiB.
final class EntryPrefetch: @unchecked Sendable {
    // @unchecked: `stream` is used only by the prefetching thread; chunks change hands through
    // the channel and are never touched by the sender afterwards.
    private let stream: ZipEntryStream
    private let channel: BoundedChannel<Message>

    /// One inflated chunk; its memory is freed with it.
    final class Chunk: @unchecked Sendable {
        let buffer: UnsafeMutableRawBufferPointer
        fileprivate(set) var count = 0
        init(capacity: Int) { buffer = .allocate(byteCount: capacity, alignment: 16) }
        deinit { buffer.deallocate() }
        var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: buffer[0..<count]) }
    }

    private enum Message: Sendable {
        case chunk(Chunk)
        case end
        case failed(ReadError)
    }

    init(_ stream: ZipEntryStream, chunkSize: Int = 64 << 10, depth: Int = 4) {
        self.stream = stream
        channel = BoundedChannel(capacity: depth)
        DetachedThread.start { [self] in prefetch(chunkSize: chunkSize) }
    }

    private func prefetch(chunkSize: Int) {
        do throws(ReadError) {
            while true {
                let chunk = Chunk(capacity: chunkSize)
                chunk.count = try stream.read(into: chunk.buffer)
                guard chunk.count > 0 else { break }
                guard channel.send(.chunk(chunk)) else { return }
            }
            channel.send(.end)
        } catch {
            channel.send(.failed(error))
        }
    }

    /// The next inflated bytes, or nil at the end of the entry.
    func next() throws(ReadError) -> Chunk? {
        switch channel.receive() {
        case .chunk(let chunk)?: return chunk
        case .failed(let error)?: throw error
        case .end?, nil: return nil
        }
    }

    /// Stops the prefetching thread (the reader is done or gave up).
    func cancel() { channel.cancel() }
}
