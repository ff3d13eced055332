import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import NIOSSL

/// The hub's query API over HTTPS, with the operator token and, when given, a private CA as the only trust root.
///
/// Every failure is a ``CLIError`` whose message names the hub and says what to do.
struct HubClient: Sendable {
    /// The hub's base URL, e.g. `https://hub.example:7443`.
    let baseURL: String
    /// Sent as `Authorization: Bearer <token>` when set.
    let token: String?
    private let http: HTTPClient

    /// The most response body `cx` reads.
    static let maxResponseBytes = 64 << 20
    /// How long one request may take, connection included.
    static let requestTimeout = TimeAmount.seconds(60)

    /// Creates a client for `settings`; reads the CA file now so that a bad file is reported before any request.
    init(_ settings: ConnectionSettings) throws(CLIError) {
        baseURL = settings.hubURL
        token = settings.token
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.minimumTLSVersion = .tlsv12
        if let caFile = settings.caFile {
            let roots: [NIOSSLCertificate]
            do {
                roots = try NIOSSLCertificate.fromPEMFile(caFile)
            } catch {
                throw CLIError(.configuration, "cannot read the CA file \(caFile): \(error)")
            }
            guard !roots.isEmpty else {
                throw CLIError(.configuration, "the CA file \(caFile) holds no PEM certificate")
            }
            tls.trustRoots = .certificates(roots)
        }
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
        configuration.timeout = .init(connect: .seconds(10), read: .seconds(60))
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.redirectConfiguration = .disallow
        http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// Closes the connections; call once when done.
    func shutdown() async {
        try? await http.shutdown()
    }

    /// `GET path?query`, decoding the JSON answer as `T`.
    func get<T: Decodable>(_ type: T.Type, _ path: String, query: [(String, String)] = []) async throws(CLIError) -> T {
        try decode(type, from: try await send(.GET, path, query: query))
    }

    /// A request with an optional JSON body, decoding the JSON answer as `T`.
    func send<T: Decodable>(
        _ type: T.Type, _ method: HTTPMethod, _ path: String, body: some Encodable
    ) async throws(CLIError) -> T {
        let bytes: Data
        do {
            bytes = try JSONEncoder().encode(body)
        } catch {
            throw CLIError(.configuration, "cannot encode the request: \(error)")
        }
        return try decode(type, from: try await send(method, path, body: Array(bytes)))
    }

    /// Sends one request and returns the body of a 2xx answer; other answers become errors.
    func send(
        _ method: HTTPMethod, _ path: String, query: [(String, String)] = [], body: [UInt8]? = nil
    ) async throws(CLIError) -> ByteBuffer {
        var request = HTTPClientRequest(url: url(path, query: query))
        request.method = method
        request.headers.add(name: "Accept", value: "application/json")
        request.headers.add(name: "User-Agent", value: "cx/\(CXCommand.version)")
        if let token {
            request.headers.add(name: "Authorization", value: "Bearer \(token)")
        }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let status: HTTPResponseStatus
        let buffer: ByteBuffer
        let response: HTTPClientResponse
        do {
            response = try await http.execute(request, timeout: Self.requestTimeout)
        } catch {
            throw CLIError.transport(error, hub: baseURL)
        }
        status = response.status
        do {
            buffer = try await response.body.collect(upTo: Self.maxResponseBytes)
        } catch is NIOTooManyBytesError {
            // The hub answered: too much to read is not an unreachable hub.
            throw CLIError(
                .invalidResponse,
                "the hub's answer to \(method.rawValue) \(path) is larger than \(Self.maxResponseBytes >> 20) MiB; "
                    + "narrow the request (--since, --store, --limit)")
        } catch {
            throw CLIError.transport(error, hub: baseURL)
        }
        guard (200..<300).contains(status.code) else {
            throw CLIError.refusal(status: status, body: buffer, method: method, path: path)
        }
        return buffer
    }

    /// The absolute URL of `path` with its query, percent-encoded.
    func url(_ path: String, query: [(String, String)] = []) -> String {
        guard !query.isEmpty else { return baseURL + path }
        var allowed = CharacterSet.urlQueryAllowed
        allowed.remove(charactersIn: "&=+;#")
        let encoded = query.map { name, value in
            "\(name)=\(value.addingPercentEncoding(withAllowedCharacters: allowed) ?? value)"
        }
        return baseURL + path + "?" + encoded.joined(separator: "&")
    }

    /// One path segment (an id), percent-encoded; the characters of ids the hub accepts pass unchanged.
    static func segment(_ value: String) -> String {
        var allowed = CharacterSet.urlPathAllowed
        allowed.remove(charactersIn: "/?#")
        return value.addingPercentEncoding(withAllowedCharacters: allowed) ?? value
    }

    private func decode<T: Decodable>(_ type: T.Type, from buffer: ByteBuffer) throws(CLIError) -> T {
        do {
            return try JSONDecoder().decode(type, from: buffer)
        } catch {
            throw CLIError(.invalidResponse, "unexpected answer from the hub at \(baseURL): \(error)")
        }
    }
}
