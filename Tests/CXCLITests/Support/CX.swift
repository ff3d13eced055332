import AsyncHTTPClient
import CXTestSupport
import Foundation
import NIOHTTP1

/// Runs the built `cx` binary with a clean environment: no inherited `CX_*` variables, and `CX_CONFIG` pointing
/// into a directory of the test's own unless the test sets it.
enum CX {
    static func run(_ arguments: [String], environment: [String: String] = [:]) throws -> ProcessResult {
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("CX_") }
        env["CX_CONFIG"] = NSTemporaryDirectory() + "cxcli-none-\(UUID().uuidString)/config.json"
        env.merge(environment) { $1 }
        return try Subprocess.run(Repository.binary("cx"), arguments, environment: env)
    }

    /// The environment that points `cx` at `hub` with its operator token and CA.
    static func environment(_ hub: HubProcess) -> [String: String] {
        ["CX_HUB_URL": hub.url, "CX_TOKEN": hub.adminToken, "CX_CA_FILE": hub.caPath]
    }

    /// Runs `cx` against `hub` (through the environment) and decodes its `--json` output.
    static func json(_ arguments: [String], hub: HubProcess) throws -> Any {
        let result = try run(arguments + ["--json"], environment: environment(hub))
        guard result.status == 0 else {
            throw TestFailure("cx \(arguments.joined(separator: " ")) exited \(result.status): \(result.stderr)")
        }
        return try JSONSerialization.jsonObject(with: Data(result.stdout.utf8))
    }

    /// The `--json` output as an array of objects.
    static func rows(_ arguments: [String], hub: HubProcess) throws -> [[String: Any]] {
        guard let rows = try json(arguments, hub: hub) as? [[String: Any]] else {
            throw TestFailure("cx \(arguments.joined(separator: " ")) --json is not an array of objects")
        }
        return rows
    }

    /// One request to `hub`'s API as its operator, through a client of its own; the answer's status and the JSON
    /// object of its body (nil when it is not one).
    static func request(
        _ hub: HubProcess, _ method: HTTPMethod, _ path: String, body: String? = nil
    ) async throws -> (status: Int, object: [String: Any]?) {
        let client = try hub.client()
        let answer: (status: Int, body: [UInt8])
        do {
            answer = try await hub.request(client, method, path, body: body.map { Array($0.utf8) })
            try await client.shutdown()
        } catch {
            try await client.shutdown()
            throw error
        }
        return (answer.status, try? JSONSerialization.jsonObject(with: Data(answer.body)) as? [String: Any])
    }
}

/// A minimal RFC 4180 reader for checking `--csv` output.
enum CSV {
    static func parse(_ text: String) -> [[String]] {
        var rows: [[String]] = []
        var row: [String] = []
        var field = ""
        var quoted = false
        var chars = Array(text.unicodeScalars)[...]
        while let c = chars.popFirst() {
            if quoted {
                if c == "\"" {
                    if chars.first == "\"" {
                        field.unicodeScalars.append(chars.removeFirst())
                    } else {
                        quoted = false
                    }
                } else {
                    field.unicodeScalars.append(c)
                }
            } else if c == "\"" {
                quoted = true
            } else if c == "," {
                row.append(field)
                field = ""
            } else if c == "\r" || c == "\n" {
                if c == "\r", chars.first == "\n" {
                    chars.removeFirst()
                }
                row.append(field)
                rows.append(row)
                row = []
                field = ""
            } else {
                field.unicodeScalars.append(c)
            }
        }
        if !field.isEmpty || !row.isEmpty {
            row.append(field)
            rows.append(row)
        }
        return rows
    }
}
