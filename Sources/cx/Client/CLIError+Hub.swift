import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import NIOSSL

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

extension CLIError {
    /// A request that never got an answer: TLS trust, connection refused, DNS, timeouts.
    static func transport(_ error: any Error, hub: String) -> CLIError {
        let reason = describe(error)
        if isTLSFailure(error) {
            return CLIError(
                .tls,
                "TLS handshake with the hub at \(hub) failed: \(reason); if the hub uses a private CA, pass it with "
                    + "--ca FILE or CX_CA_FILE (cx-hub init writes DATA_DIR/tls/ca.pem)")
        }
        if let e = error as? HTTPClientError, e == .readTimeout || e == .deadlineExceeded {
            return CLIError(.unreachable, "the hub at \(hub) did not answer in time (\(reason))")
        }
        return CLIError(.unreachable, "cannot reach hub at \(hub): \(reason)")
    }

    /// A non-2xx answer; the hub's JSON error `{"code","message"}` (or `{"error":{...}}`) names the cause.
    static func refusal(status: HTTPResponseStatus, body: ByteBuffer, method: HTTPMethod, path: String) -> CLIError {
        let (code, message) = errorBody(body)
        let detail = message.map { ": \($0)" } ?? ""
        if status == .unauthorized {
            return CLIError(
                .unauthorized,
                "the hub refused the token (\(code ?? "unauthorized")\(detail)); check --token or CX_TOKEN, "
                    + "or run `cx login` again")
        }
        let label = code ?? "http_\(status.code)"
        let fallback = message == nil ? " (\(method) \(path) answered \(status.code) \(status.reasonPhrase))" : ""
        return CLIError(.hubError, "hub error \(label)\(detail)\(fallback)")
    }

    /// Reads `{"code","message"}`, `{"error":{"code"?,"message"}}` or plain text.
    static func errorBody(_ body: ByteBuffer) -> (code: String?, message: String?) {
        struct Flat: Decodable {
            var code: String?
            var message: String?
        }
        struct Nested: Decodable {
            var error: Flat
        }
        let decoder = JSONDecoder()
        if let nested = try? decoder.decode(Nested.self, from: body) {
            return (nested.error.code, nested.error.message)
        }
        if let flat = try? decoder.decode(Flat.self, from: body), flat.code != nil || flat.message != nil {
            return (flat.code, flat.message)
        }
        let text = String(buffer: body).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.isEmpty else { return (nil, nil) }
        return (nil, String(text.prefix(200)).replacingOccurrences(of: "\n", with: " "))
    }

    static func isTLSFailure(_ error: any Error) -> Bool {
        if error is NIOSSLError || error is NIOSSLExtraError || error is BoringSSLError {
            return true
        }
        if let e = error as? HTTPClientError, e == .tlsHandshakeTimeout {
            return true
        }
        let text = String(describing: error)
        return text.contains("CERTIFICATE_VERIFY_FAILED") || text.contains("handshakeFailed")
    }

    /// A short, human reason for a transport error.
    static func describe(_ error: any Error) -> String {
        if let e = error as? IOError {
            return String(cString: strerror(e.errnoCode)).lowercased()
        }
        if let nested = nestedIOError(in: error) {
            return String(cString: strerror(nested.errnoCode)).lowercased()
        }
        if String(describing: type(of: error)) == "NIOConnectionError" {
            let fields = Dictionary(
                Mirror(reflecting: error).children.compactMap { c in c.label.map { ($0, c.value) } },
                uniquingKeysWith: { a, _ in a })
            let host = fields["host"].map { "\($0)" } ?? "the host"
            return "cannot resolve or connect to \(host)"
        }
        if let e = error as? NIOSSLError, case .handshakeFailed(let inner) = e {
            return String(describing: inner).contains("CERTIFICATE_VERIFY_FAILED")
                ? "certificate not trusted (CERTIFICATE_VERIFY_FAILED)" : "\(inner)"
        }
        if let e = error as? NIOSSLExtraError, e == .failedToValidateHostname {
            return "the certificate does not name this host"
        }
        if let e = error as? HTTPClientError {
            switch e {
            case .connectTimeout: return "timed out connecting"
            case .remoteConnectionClosed: return "the connection was closed (is the URL's scheme right?)"
            case .readTimeout: return "no answer within 60 s"
            case .deadlineExceeded: return "the request took longer than 60 s"
            default: return String(describing: e)
            }
        }
        if let e = error as? ChannelError, case .connectTimeout = e {
            return "timed out connecting"
        }
        return String(describing: error)
    }

    /// The first `IOError` inside a wrapper such as NIOPosix's `NIOConnectionError` (a refused connection).
    static func nestedIOError(in value: Any, depth: Int = 0) -> IOError? {
        guard depth < 6 else { return nil }
        for child in Mirror(reflecting: value).children {
            if let e = child.value as? IOError {
                return e
            }
            if let e = nestedIOError(in: child.value, depth: depth + 1) {
                return e
            }
        }
        return nil
    }
}
