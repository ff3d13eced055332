import CZstd

/// A trained zstd dictionary, identified on the wire by the id zstd stores inside it.
///
/// Digested dictionaries are immutable and safe to share between threads; contexts are made per call.
public final class ZstdDictionary: @unchecked Sendable {
    public let id: UInt32
    public let bytes: [UInt8]
    public let level: Int32
    private let cdict: OpaquePointer
    private let ddict: OpaquePointer

    public init(bytes: [UInt8], level: Int32 = 3) throws(ProtocolError) {
        let id = bytes.withUnsafeBytes { ZSTD_getDictID_fromDict($0.baseAddress, $0.count) }
        guard id != 0 else { throw ProtocolError(.unknownDictionary, "not a zstd dictionary (no dictionary id)") }
        guard let c = bytes.withUnsafeBytes({ ZSTD_createCDict($0.baseAddress, $0.count, level) }),
            let d = bytes.withUnsafeBytes({ ZSTD_createDDict($0.baseAddress, $0.count) })
        else { throw ProtocolError(.unknownDictionary, "zstd could not load the dictionary") }
        self.id = id
        self.bytes = bytes
        self.level = level
        self.cdict = c
        self.ddict = d
    }

    deinit {
        ZSTD_freeCDict(cdict)
        ZSTD_freeDDict(ddict)
    }

    /// Trains a dictionary from sample messages (zstd's COVER/fastCover trainer).
    public static func train(samples: [[UInt8]], capacity: Int = 16 * 1024, level: Int32 = 3) throws(ProtocolError)
        -> ZstdDictionary
    {
        let joined = samples.flatMap { $0 }
        let sizes = samples.map { Int($0.count) }
        var out = [UInt8](repeating: 0, count: capacity)
        let n = out.withUnsafeMutableBytes { o in
            joined.withUnsafeBytes { s in
                sizes.withUnsafeBufferPointer { z in
                    ZDICT_trainFromBuffer(o.baseAddress, o.count, s.baseAddress, z.baseAddress, UInt32(z.count))
                }
            }
        }
        guard ZDICT_isError(n) == 0 else {
            throw ProtocolError(
                .unknownDictionary, "dictionary training failed: \(String(cString: ZDICT_getErrorName(n)))")
        }
        return try ZstdDictionary(bytes: Array(out[0..<n]), level: level)
    }

    fileprivate func withCDict<T>(_ body: (OpaquePointer) -> T) -> T { body(cdict) }
    fileprivate func withDDict<T>(_ body: (OpaquePointer) -> T) -> T { body(ddict) }
}

/// One-shot zstd compression with the content size written into the frame (the receiver relies on it).
public enum Zstd {
    public static func compress(_ input: [UInt8], level: Int32 = 3, dictionary: ZstdDictionary? = nil) -> [UInt8] {
        let bound = ZSTD_compressBound(input.count)
        var out = [UInt8](repeating: 0, count: bound)
        let cctx = ZSTD_createCCtx()
        defer { ZSTD_freeCCtx(cctx) }
        let n = out.withUnsafeMutableBytes { o in
            input.withUnsafeBytes { i in
                if let dictionary {
                    dictionary.withCDict {
                        ZSTD_compress_usingCDict(cctx, o.baseAddress, o.count, i.baseAddress, i.count, $0)
                    }
                } else {
                    ZSTD_compressCCtx(cctx, o.baseAddress, o.count, i.baseAddress, i.count, level)
                }
            }
        }
        precondition(ZSTD_isError(n) == 0, "zstd compression into a bound-sized buffer cannot fail")
        out.removeSubrange(n...)
        return out
    }

    /// Inflates exactly `expectedLength` bytes, or refuses without allocating more than that.
    ///
    /// The zstd frame must declare its content size, equal to `expectedLength`, and be the only frame.
    public static func decompress(
        _ input: ArraySlice<UInt8>, expectedLength: Int, dictionary: ZstdDictionary?
    ) throws(ProtocolError) -> [UInt8] {
        let declared = input.withUnsafeBytes { ZSTD_getFrameContentSize($0.baseAddress, $0.count) }
        if declared == ZSTD_CONTENTSIZE_ERROR {
            throw ProtocolError(.decompressionFailed, "payload is not a zstd frame")
        }
        if declared == ZSTD_CONTENTSIZE_UNKNOWN {
            throw ProtocolError(.decompressionFailed, "zstd frame does not declare its content size")
        }
        guard declared == UInt64(expectedLength) else {
            throw ProtocolError(
                .sizeMismatch, "zstd frame declares \(declared) bytes, the header \(expectedLength)")
        }
        let frameDict = input.withUnsafeBytes { ZSTD_getDictID_fromFrame($0.baseAddress, $0.count) }
        if frameDict != (dictionary?.id ?? 0) {
            throw ProtocolError(
                .unknownDictionary, "zstd frame needs dictionary \(frameDict), header names \(dictionary?.id ?? 0)")
        }
        let frameSize = input.withUnsafeBytes { ZSTD_findFrameCompressedSize($0.baseAddress, $0.count) }
        guard ZSTD_isError(frameSize) == 0, frameSize == input.count else {
            throw ProtocolError(.decompressionFailed, "payload is not exactly one complete zstd frame")
        }
        var out = [UInt8](repeating: 0, count: expectedLength)
        let dctx = ZSTD_createDCtx()
        defer { ZSTD_freeDCtx(dctx) }
        let n = out.withUnsafeMutableBytes { o in
            input.withUnsafeBytes { i in
                if let dictionary {
                    dictionary.withDDict {
                        ZSTD_decompress_usingDDict(dctx, o.baseAddress, o.count, i.baseAddress, i.count, $0)
                    }
                } else {
                    ZSTD_decompressDCtx(dctx, o.baseAddress, o.count, i.baseAddress, i.count)
                }
            }
        }
        if ZSTD_isError(n) != 0 {
            throw ProtocolError(.decompressionFailed, "zstd: \(String(cString: ZSTD_getErrorName(n)))")
        }
        guard n == expectedLength else {
            throw ProtocolError(.sizeMismatch, "zstd produced \(n) bytes, expected \(expectedLength)")
        }
        return out
    }
}
