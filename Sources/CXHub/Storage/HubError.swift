import CXProtocol

/// A refusal by the hub: a stable code for programs, a message for operators, and the HTTP status it maps to.
///
/// Nothing of the refused request was applied when this is thrown.
public struct HubError: Error, Sendable, Hashable, CustomStringConvertible {
    public var code: String
    public var message: String
    public var httpStatus: Int
    /// For `gap`: the next seq the hub expects, and the epoch it refers to.
    public var expectedSeq: UInt64 = 0
    public var epoch: UInt64 = 0

    public init(_ code: String, _ message: String, status: Int) {
        self.code = code
        self.message = message
        self.httpStatus = status
    }

    public var description: String { "\(code): \(message)" }

    public static func gap(expected: UInt64, epoch: UInt64) -> HubError {
        var e = HubError(
            "gap", "batch skips ahead: the hub expects seq \(expected) next for epoch \(epoch)", status: 409)
        e.expectedSeq = expected
        e.epoch = epoch
        return e
    }

    /// The hub-side view of a decoding refusal, with the status of PROTOCOL.md §2.
    public init(_ error: ProtocolError) {
        self.init(error.code.rawValue, error.message, status: Self.status(of: error.code.rawValue))
    }

    static func status(of code: String) -> Int {
        switch code {
        case "missing_signature", "unknown_agent", "unauthorized": 401
        case "bad_signature", "identity_mismatch", "store_mismatch", "revoked", "forbidden": 403
        case "gap", "hash_conflict", "already_enrolled": 409
        case "frame_too_large", "decompressed_too_large": 413
        case "unsupported_version": 426
        case "overloaded": 503
        case "not_found": 404
        default: 400
        }
    }
}
