/// What a frame carries; the header says so before anything is decoded.
public enum FrameKind: UInt8, Sendable, Hashable, CaseIterable {
    case batch = 1
    case ack = 2
    case error = 3
    case digestRequest = 4
    case digestResponse = 5
}

/// The fixed part of every frame (PROTOCOL.md §3), readable without inflating or trusting the payload.
public struct FrameHeader: Sendable, Hashable {
    public static let magic: [UInt8] = [0x43, 0x58, 0x53, 0x46]  // "CXSF"
    public static let fixedLength = 53
    public static let signatureLength = 64
    public static let currentMajor: UInt8 = 1
    public static let currentMinor: UInt8 = 1
    public static let supportedMajors: [UInt8] = [1]

    public struct Flags: OptionSet, Sendable, Hashable {
        public var rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        public static let zstd = Flags(rawValue: 1 << 0)
        public static let dictionary = Flags(rawValue: 1 << 1)
        public static let known: Flags = [.zstd, .dictionary]
    }

    public var major: UInt8
    public var minor: UInt8
    public var flags: Flags
    public var kind: FrameKind
    public var dictionaryID: UInt32
    public var decompressedLength: UInt32
    public var payloadLength: UInt32
    /// SHA-256 of the decompressed message: the batch's content hash.
    public var contentHash: [UInt8]
    /// The signer's id (an agent id); empty for unsigned frames.
    public var keyID: String

    /// Header bytes, key id included: where the payload starts.
    public var headerLength: Int { Self.fixedLength + keyID.utf8.count }
    public var isSigned: Bool { !keyID.isEmpty }
    public var totalLength: Int {
        headerLength + Int(payloadLength) + (isSigned ? Self.signatureLength : 0)
    }
}
