import Foundation

/// A failure `cx` reports as one line on standard error, with an exit status chosen by its code.
struct CLIError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure it is; each kind has its own exit status.
    enum Code: String, Sendable {
        /// The hub answered with an error (4xx or 5xx other than 401).
        case hubError = "hub_error"
        /// The command line, the environment or the configuration file is wrong.
        case configuration
        /// No connection could be made (refused, DNS, timeout).
        case unreachable
        /// The TLS handshake failed, usually because the hub's certificate is not trusted.
        case tls
        /// The hub refused the operator token (401).
        case unauthorized
        /// The hub answered with something `cx` cannot read.
        case invalidResponse = "invalid_response"
    }

    var code: Code
    var description: String

    init(_ code: Code, _ description: String) {
        self.code = code
        self.description = description
    }

    /// The process exit status: 1 hub error, 2 configuration, 3 unreachable, 4 TLS, 5 token refused.
    var exitStatus: Int32 {
        switch code {
        case .hubError, .invalidResponse: 1
        case .configuration: 2
        case .unreachable: 3
        case .tls: 4
        case .unauthorized: 5
        }
    }
}
