import AsyncHTTPClient
import CXAgent
import CXConfiguration
import CXTestSupport
import Foundation
import NIOCore
import NIOHTTP1
import Testing

/// The local API posts events and changes alerts: beyond loopback it needs a token (`api_token`), which every route
/// but `/v1/health` then checks.
@Suite("The agent's API token", .serialized)
struct APITokenTests {
    static let token = "0123456789abcdef0123456789abcdef"

    /// (listen_host, api_token, the setting the refusal names; nil: accepted)
    static let settings: [(String, String, String?)] = [
        ("0.0.0.0", "", "listen_host"), ("192.168.1.20", "", "listen_host"), ("127.evil.example", "", "listen_host"),
        ("0.0.0.0", "short", "api_token"), ("0.0.0.0", token, nil), ("127.0.0.1", "", nil), ("127.0.0.2", "", nil),
        ("localhost", "", nil), ("::1", "", nil),
    ]

    @Test("beyond loopback the API needs a token of 16 characters or more", arguments: settings)
    func listenHostNeedsAToken(_ host: String, _ token: String, _ refused: String?) throws {
        let environment = ["CX_AGENT_LISTEN_HOST": host, "CX_AGENT_API_TOKEN": token]
        if let refused {
            let error = #expect(throws: ConfigurationError.self) {
                try AgentConfiguration.load(file: nil, environment: environment)
            }
            #expect(error?.description.contains("setting '\(refused)'") == true, "\(String(describing: error))")
        } else {
            #expect(try AgentConfiguration.load(file: nil, environment: environment).listenHost == host)
        }
    }

    /// The hub is reached over TLS only: a forged acknowledgement over cleartext would make the agent drop events.
    @Test(arguments: [
        ("http://hub.example:7443", false), ("HTTP://hub.example", false), ("https://hub.example:7443", true),
    ])
    func hubURLMustBeHTTPS(_ url: String, _ accepted: Bool) throws {
        let environment = ["CX_AGENT_HUB_URL": url]
        if accepted {
            #expect(try AgentConfiguration.load(file: nil, environment: environment).hubURL == url)
        } else {
            let error = #expect(throws: ConfigurationError.self) {
                try AgentConfiguration.load(file: nil, environment: environment)
            }
            #expect(error?.description.contains("setting 'hub_url'") == true, "\(String(describing: error))")
            #expect(error?.description.contains("https://") == true)
        }
    }

    static func request(_ agent: AgentProcess, _ path: String, token: String?, post body: String? = nil) async throws
        -> (Int, String)
    {
        var request = HTTPClientRequest(url: agent.baseURL + path)
        if let body {
            request.method = .POST
            request.headers.add(name: "content-type", value: "application/x-ndjson")
            request.body = .bytes(ByteBuffer(string: body))
        }
        if let token { request.headers.add(name: "authorization", value: "Bearer \(token)") }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        return (Int(response.status.code), String(buffer: try await response.body.collect(upTo: 1 << 20)))
    }

    @Test("with a token, every route but health refuses requests without it, and the CLI presents it")
    func requestsWithoutTheTokenAreRefused() async throws {
        let dir = TempDir()
        let data = dir.path + "/a"
        let agent = try AgentProcess(dataDirectory: data, environment: ["CX_AGENT_API_TOKEN": Self.token])
        defer { agent.kill(SIGTERM) }
        try await agent.waitUntilListening()
        let events = String(decoding: TestEvents.ndjson([UUID()]), as: UTF8.self)
        for token in [nil, "wrong-token-of-the-same-len-xxxx", String(Self.token.dropLast())] {
            let (status, body) = try await Self.request(agent, "/v1/events", token: token, post: events)
            #expect(status == 401, "\(body)")
            #expect(body.contains("\"unauthorized\""))
            #expect(try await Self.request(agent, "/v1/alerts", token: token).0 == 401)
        }
        #expect(try await Self.request(agent, "/v1/health", token: nil).0 == 200)
        let (accepted, answer) = try await Self.request(agent, "/v1/events", token: Self.token, post: events)
        #expect(accepted == 200, "\(answer)")
        // `cx-agent status` reaches the running agent through the API, with the token of its configuration
        let status = try Subprocess.run(
            product: "cx-agent", ["status", "--data-dir", data, "--listen-port", "\(agent.port)"],
            environment: ["CX_AGENT_API_TOKEN": Self.token])
        #expect(status.status == 0, "\(status.stderr)")
        #expect(status.stdout.contains("\"accepted_total\":1"), "\(status.stdout)")
        // without it, or with another, the command fails instead of printing the refusal as a status
        for env in [[:], ["CX_AGENT_API_TOKEN": "another-token-of-16-chars"]] {
            let refused = try Subprocess.run(
                product: "cx-agent", ["sync-status", "--data-dir", data, "--listen-port", "\(agent.port)"],
                environment: env)
            #expect(refused.status != 0 && refused.stderr.contains("answered 401"), "\(refused.stderr)")
        }
        let printed = try Subprocess.run(
            product: "cx-agent", ["print-config", "--data-dir", data], environment: ["CX_AGENT_API_TOKEN": Self.token])
        #expect(
            printed.stdout.contains("api_token: (set)") && !printed.stdout.contains(Self.token), "\(printed.stdout)")
    }

    /// Webhook URLs carry their secret in the path, the query or a user and password; print-config shows the host.
    @Test(arguments: [
        ("https://user:s3cret@hooks.example.com/services/T0/B0/XSECRET", "https://hooks.example.com/(hidden)"),
        ("https://hooks.example.com/hook?key=SECRET", "https://hooks.example.com/(hidden)"),
        ("http://127.0.0.1:8080/", "http://127.0.0.1:8080/"),
    ])
    func printConfigHidesTheWebhooksSecret(url: String, shown: String) throws {
        let printed = try Subprocess.run(
            product: "cx-agent", ["print-config", "--data-dir", TempDir().path],
            environment: ["CX_AGENT_ALERT_WEBHOOK_URL": url])
        #expect(printed.status == 0, "\(printed.stderr)")
        let line = printed.stdout.split(separator: "\n").first { $0.hasPrefix("alert_webhook_url:") }
        #expect(
            line.map { $0.contains(shown) && !$0.contains("SECRET") && !$0.contains("s3cret") } == true,
            "\(printed.stdout)")
    }
}
