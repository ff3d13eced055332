import CXProtocol
import Logging

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
    /// For `internal`: what failed inside the hub (a database error, which may hold SQL and paths). It goes to the
    /// hub's log only; the caller gets `message`, whose reference finds it there.
    public var cause: String?

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

    /// A failure of the hub itself, not of the request: the caller learns what failed and a reference to quote, the
    /// hub's log gets the cause with the same reference. Before, the database's error text (SQL, file paths) reached
    /// callers, some of them not yet authenticated.
    public static func `internal`(_ what: String, _ error: any Error) -> HubError {
        let reference = String(UInt32.random(in: .min ... .max), radix: 16)
        var e = HubError(
            "internal", "\(what) (reference \(reference); the hub's log has the cause)", status: 500)
        e.cause = "\(error)"
        return e
    }

    /// Log metadata for a refusal: its code and message, and for a failure of the hub its cause.
    public var logMetadata: Logger.Metadata {
        var m: Logger.Metadata = ["code": "\(code)", "error": "\(message)"]
        if let cause { m["cause"] = "\(cause)" }
        return m
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
