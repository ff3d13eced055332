import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// A real `cx-agent run` on a free loopback port, for tests of its HTTP API and of what survives its crashes.
public final class AgentProcess: ServerProcess, @unchecked Sendable {
    /// Starts an agent on `dataDirectory` with `extraArguments` and the test process's environment plus
    /// `environment`; its output goes to `<logPrefix>.stdout` and `.stderr` (`logPrefix` defaults to the data
    /// directory). Does not wait until it listens.
    public init(
        dataDirectory: String, extraArguments: [String] = [], environment: [String: String] = [:],
        logPrefix: String? = nil
    ) throws {
        try super.init(
            "cx-agent", ["run", "--data-dir", dataDirectory, "--listen-port", "0"] + extraArguments,
            environment: environment, logPrefix: logPrefix ?? dataDirectory)
    }

    /// The agent's local HTTP API.
    public var baseURL: String { "http://127.0.0.1:\(port)" }

    /// Posts `body` to `/v1/events`; returns the status, the answer and its headers.
    public func post(
        _ body: [UInt8], contentType: String = "application/x-ndjson"
    ) async throws -> (Int, String, HTTPHeaders) {
        var request = HTTPClientRequest(url: baseURL + "/v1/events")
        request.method = .POST
        request.headers.add(name: "content-type", value: contentType)
        request.body = .bytes(ByteBuffer(bytes: body))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let text = String(buffer: try await response.body.collect(upTo: 1 << 24))
        return (Int(response.status.code), text, response.headers)
    }

    /// Gets `path`; returns the status and the answer.
    public func get(_ path: String) async throws -> (Int, String) {
        let response = try await HTTPClient.shared.execute(
            HTTPClientRequest(url: baseURL + path), timeout: .seconds(30))
        return (Int(response.status.code), String(buffer: try await response.body.collect(upTo: 1 << 24)))
    }
}
