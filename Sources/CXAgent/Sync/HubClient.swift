import AsyncHTTPClient
import CXProtocol
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL

/// Posts sync frames to the hub over TLS, trusting only the hub's CA, and reads its framed answer.
final class HubClient: Sendable {
    let client: HTTPClient
    let syncURL: String
    let timeout: Duration

    /// The hub's answer to one frame.
    enum Answer: Sendable {
        case ack(Cxsync_V1_Ack)
        case refused(Cxsync_V1_Error, retryAfterMillis: Int64?)
        case failed(String)
    }

    init(hubURL: String, caFile: String, timeout: Duration) throws {
        let caPEM: [UInt8]
        do {
            caPEM = Array(try Data(contentsOf: URL(fileURLWithPath: caFile)))
        } catch {
            throw EnrollmentError(code: "bad_ca", message: "cannot read the hub CA \(caFile): \(error)")
        }
        self.client = try Self.makeHTTPClient(caPEM: caPEM, timeout: timeout)
        self.syncURL = (hubURL.hasSuffix("/") ? String(hubURL.dropLast()) : hubURL) + "/v1/sync"
        self.timeout = timeout
    }

    static func makeHTTPClient(caPEM: [UInt8], timeout: Duration) throws -> HTTPClient {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(caPEM))
        tls.minimumTLSVersion = .tlsv12
        var config = HTTPClient.Configuration(tlsConfiguration: tls)
        config.timeout = .init(connect: .seconds(5), read: .init(timeout))
        config.httpVersion = .http1Only
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: config)
    }

    func post(_ frame: [UInt8]) async -> Answer {
        var request = HTTPClientRequest(url: syncURL)
        request.method = .POST
        request.headers.add(name: "content-type", value: "application/x-cxsync-frame")
        request.headers.add(name: "CX-Protocol", value: "\(FrameHeader.currentMajor).\(FrameHeader.currentMinor)")
        request.body = .bytes(ByteBuffer(bytes: frame))
        let status: UInt
        let retryAfter: Int64?
        let bytes: [UInt8]
        do {
            let response = try await client.execute(request, timeout: .init(timeout))
            status = response.status.code
            retryAfter = response.headers.first(name: "retry-after").flatMap(Int64.init).map { $0 * 1000 }
            bytes = Array(try await response.body.collect(upTo: 16 << 20).readableBytesView)
        } catch {
            return .failed("cannot reach the hub at \(syncURL): \(error)")
        }
        let decoder = FrameDecoder()
        do {
            let header = try decoder.header(of: bytes)
            let message = try decoder.payload(of: bytes, header: header)
            if status == 200 {
                return .ack(try decoder.decode(Cxsync_V1_Ack.self, from: message))
            }
            return .refused(try decoder.decode(Cxsync_V1_Error.self, from: message), retryAfterMillis: retryAfter)
        } catch {
            let text = String(decoding: bytes.prefix(200), as: UTF8.self)
            if status == 503 || status == 429 {
                var e = Cxsync_V1_Error()
                e.code = "busy"
                e.message = "HTTP \(status)"
                return .refused(e, retryAfterMillis: retryAfter)
            }
            return .failed("the hub answered HTTP \(status) without a readable frame (\(error)): \(text)")
        }
    }

    func shutdown() async {
        try? await client.shutdown()
    }
}
