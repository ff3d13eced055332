/// A refusal of bytes received on the wire: a stable code for programs and a message for operators.
///
/// Every decoding step throws only this type, and nothing is applied when it is thrown.
public struct ProtocolError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Code: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        public static let badMagic = Code(rawValue: "bad_magic")
        public static let unsupportedVersion = Code(rawValue: "unsupported_version")
        public static let truncatedFrame = Code(rawValue: "truncated_frame")
        public static let trailingBytes = Code(rawValue: "trailing_bytes")
        public static let badFlags = Code(rawValue: "bad_flags")
        public static let unexpectedKind = Code(rawValue: "unexpected_kind")
        public static let frameTooLarge = Code(rawValue: "frame_too_large")
        public static let decompressedTooLarge = Code(rawValue: "decompressed_too_large")
        public static let sizeMismatch = Code(rawValue: "size_mismatch")
        public static let unknownDictionary = Code(rawValue: "unknown_dictionary")
        public static let decompressionFailed = Code(rawValue: "decompression_failed")
        public static let hashMismatch = Code(rawValue: "hash_mismatch")
        public static let missingSignature = Code(rawValue: "missing_signature")
        public static let badSignature = Code(rawValue: "bad_signature")
        public static let unknownAgent = Code(rawValue: "unknown_agent")
        public static let malformedMessage = Code(rawValue: "malformed_message")
        public static let tooManyItems = Code(rawValue: "too_many_items")
        public static let stringTooLong = Code(rawValue: "string_too_long")
        public static let invalidField = Code(rawValue: "invalid_field")
        public static let invalidSeqRange = Code(rawValue: "invalid_seq_range")
        public static let identityMismatch = Code(rawValue: "identity_mismatch")
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }
}
