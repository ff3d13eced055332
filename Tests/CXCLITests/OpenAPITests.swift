import AsyncHTTPClient
import CXTestSupport
import Foundation
import NIOHTTP1
import Testing
import Yams

/// `protocol/openapi.yaml` against what the programs really serve.
@Suite("protocol/openapi.yaml")
struct OpenAPITests {
    struct Route: Hashable, Comparable, CustomStringConvertible {
        var method: String
        var path: String

        var description: String { "\(method) \(path)" }

        static func < (a: Route, b: Route) -> Bool { (a.path, a.method) < (b.path, b.method) }
    }

    static let methods = ["get", "post", "put", "delete", "patch"]

    static func document() throws -> [String: Any] {
        let url = Repository.root.appendingPathComponent("protocol/openapi.yaml")
        let text = try String(contentsOf: url, encoding: .utf8)
        return try #require(try Yams.load(yaml: text) as? [String: Any])
    }

    static func routes(_ paths: Any?) throws -> Set<Route> {
        let paths = try #require(paths as? [String: Any])
        var routes: Set<Route> = []
        for (path, item) in paths {
            let item = try #require(item as? [String: Any])
            for method in methods where item[method] != nil {
                routes.insert(Route(method: method.uppercased(), path: path))
            }
        }
        return routes
    }

    /// A concrete path for a template, with ids the seeded hub knows.
    static func concrete(_ template: String) -> String {
        template
            .replacingOccurrences(of: "/v1/alerts/{id}", with: "/v1/alerts/alert-openapi")
            .replacingOccurrences(of: "/v1/customers/{id}", with: "/v1/customers/cust-1")
            .replacingOccurrences(of: "{scope}", with: "store-probe")
            .replacingOccurrences(of: "{name}", with: "probe")
    }

    /// Served: the router matched (any status but 404/405, or a handler's own JSON error with a `code`).
    static func isServed(_ hub: HubProcess, _ client: HTTPClient, _ route: Route) async throws -> Bool {
        let method = HTTPMethod(rawValue: route.method)
        let body: [UInt8]? = ["POST", "PUT", "PATCH"].contains(route.method) ? Array("{}".utf8) : nil
        let (status, bytes) = try await hub.request(client, method, concrete(route.path), body: body)
        if status != 404 && status != 405 {
            return true
        }
        let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any]
        return object?["code"] is String
    }

    @Test func hubRoutesEqualTheSpecsPaths() async throws {
        let document = try Self.document()
        #expect((document["openapi"] as? String)?.hasPrefix("3.1") == true)
        let specified = try Self.routes(document["paths"])
        let agentPaths = try Self.routes(document["x-agent-paths"]).map(\.path)
        let extraPaths = [
            "/v1/agents", "/v1/customers/{id}", "/v1/alerts/{id}", "/v1/config/{scope}", "/v2/fleet", "/v1/events",
            "/v1/alerts/{id}/delete",
        ]
        let candidates = Set(specified.map(\.path) + agentPaths + extraPaths)
        let seeded = try await SeededHub.shared()
        let client = try seeded.hub.client()
        var served: Set<Route> = []
        do {
            for path in candidates {
                for method in Self.methods {
                    let route = Route(method: method.uppercased(), path: path)
                    if try await Self.isServed(seeded.hub, client, route) {
                        served.insert(route)
                    }
                }
            }
        } catch {
            try? await client.shutdown()
            throw error
        }
        try await client.shutdown()
        #expect(served.subtracting(specified).sorted() == [], "served by the hub but missing from the spec")
        #expect(specified.subtracting(served).sorted() == [], "in the spec but not served by the hub")
    }

    @Test func operatorRoutesUseTheBearerSchemeAndPublicOnesNone() throws {
        let document = try Self.document()
        let components = try #require(document["components"] as? [String: Any])
        let schemes = try #require(components["securitySchemes"] as? [String: Any])
        let bearer = try #require(schemes["operatorToken"] as? [String: Any])
        #expect(bearer["type"] as? String == "http")
        #expect(bearer["scheme"] as? String == "bearer")
        let paths = try #require(document["paths"] as? [String: Any])
        let publicRoutes: Set<Route> = [
            Route(method: "GET", path: "/v1/health"), Route(method: "POST", path: "/v1/enroll"),
            Route(method: "POST", path: "/v1/sync"),
        ]
        for route in try Self.routes(paths) {
            let item = try #require(paths[route.path] as? [String: Any])
            let operation = try #require(item[route.method.lowercased()] as? [String: Any])
            let security = try #require(operation["security"] as? [Any], "\(route) declares no security")
            if publicRoutes.contains(route) {
                #expect(security.isEmpty, "\(route) should be public")
            } else {
                #expect(security.count == 1 && (security[0] as? [String: Any])?["operatorToken"] != nil, "\(route)")
            }
            let responses = try #require(operation["responses"] as? [String: Any])
            if !publicRoutes.contains(route) {
                #expect(responses["401"] != nil, "\(route) should document 401")
            }
        }
        let sync = try #require((paths["/v1/sync"] as? [String: Any])?["post"] as? [String: Any])
        #expect((sync["description"] as? String)?.contains("signature") == true)
    }

    @Test func agentRoutesInTheSourceAreInTheSpec() throws {
        let document = try Self.document()
        let specified = try Self.routes(document["x-agent-paths"])
        let agentPaths = try #require(document["x-agent-paths"] as? [String: Any])
        for route in specified {
            let item = try #require(agentPaths[route.path] as? [String: Any])
            let operation = try #require(item[route.method.lowercased()] as? [String: Any])
            #expect((operation["tags"] as? [String]) == ["agent"], "\(route) is not tagged agent")
        }
        let source = try String(
            contentsOf: Repository.root.appendingPathComponent("Sources/CXAgent/Server/AgentServer.swift"),
            encoding: .utf8)
        let pattern = try NSRegularExpression(pattern: #"\.(get|post|put|delete|patch)\("(/[^"]*)""#)
        let matches = pattern.matches(in: source, range: NSRange(source.startIndex..., in: source))
        let served = matches.compactMap { match -> Route? in
            guard let m = Range(match.range(at: 1), in: source), let p = Range(match.range(at: 2), in: source) else {
                return nil
            }
            return Route(method: source[m].uppercased(), path: String(source[p]))
        }
        #expect(!served.isEmpty)
        for route in served {
            #expect(
                specified.contains { $0.method == route.method && Self.templateMatches($0.path, route.path) },
                "agent serves \(route) but x-agent-paths does not list it")
        }
    }

    /// `/v1/alerts/{id}/acknowledge` matches `/v1/alerts/:id/acknowledge` and `/v1/alerts/:id/\(action)`.
    static func templateMatches(_ template: String, _ route: String) -> Bool {
        let a = template.split(separator: "/")
        let b = route.split(separator: "/")
        guard a.count == b.count else { return false }
        return zip(a, b).allSatisfy { t, r in
            t == r || r.hasPrefix(":") && t.hasPrefix("{") || r.contains("\\(") || r == "*"
        }
    }
}
