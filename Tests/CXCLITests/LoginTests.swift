import CXTestSupport
import Foundation
import Testing

@Suite("cx login and settings")
struct LoginTests {
    @Test func loginWritesAPrivateConfigThatLaterCommandsUse() async throws {
        let seeded = try await SeededHub.shared()
        let home = TempDir()
        let config = home.path + "/cx/config.json"
        let login = try CX.run(
            ["login", "--hub", seeded.hub.url, "--token", seeded.hub.adminToken, "--ca", seeded.hub.caPath],
            environment: ["CX_CONFIG": config])
        #expect(login.status == 0, "\(login.stderr)")
        #expect(login.stdout.contains("logged in to \(seeded.hub.url) (2 agents enrolled); saved to \(config)"))

        let attributes = try FileManager.default.attributesOfItem(atPath: config)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        let saved = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: config))) as? [String: String])
        #expect(saved["hub"] == seeded.hub.url)
        #expect(saved["token"] == seeded.hub.adminToken)
        #expect(saved["ca_file"] == seeded.hub.caPath)

        let fleet = try CX.run(["fleet", "--json"], environment: ["CX_CONFIG": config])
        #expect(fleet.status == 0, "\(fleet.stderr)")
        let rows = try JSONSerialization.jsonObject(with: Data(fleet.stdout.utf8)) as? [[String: Any]]
        #expect(rows?.count == 2)
    }

    @Test func flagsBeatEnvironmentWhichBeatsTheConfigFile() async throws {
        let seeded = try await SeededHub.shared()
        let home = TempDir()
        let config = home.path + "/config.json"
        let login = try CX.run(["login"], environment: CX.environment(seeded.hub).merging(["CX_CONFIG": config]) { $1 })
        #expect(login.status == 0, "\(login.stderr)")

        let badEnvironment = try CX.run(["fleet"], environment: ["CX_CONFIG": config, "CX_TOKEN": "wrong"])
        #expect(badEnvironment.status == 5)
        let flagWins = try CX.run(
            ["fleet", "--token", seeded.hub.adminToken], environment: ["CX_CONFIG": config, "CX_TOKEN": "wrong"])
        #expect(flagWins.status == 0, "\(flagWins.stderr)")
        let badFlag = try CX.run(["fleet", "--token", "wrong"], environment: ["CX_CONFIG": config])
        #expect(badFlag.status == 5)
    }

    /// `cx login` saves a token for one hub: another hub named by flag or environment does not get it.
    @Test func theSavedTokenGoesOnlyToTheSavedHub() async throws {
        let seeded = try await SeededHub.shared()
        let home = TempDir()
        let config = home.path + "/config.json"
        let login = try CX.run(["login"], environment: CX.environment(seeded.hub).merging(["CX_CONFIG": config]) { $1 })
        #expect(login.status == 0, "\(login.stderr)")
        for other in [["fleet", "--hub", "https://127.0.0.1:1"], ["fleet"]] {
            var environment = ["CX_CONFIG": config]
            if other.count == 1 { environment["CX_HUB_URL"] = "127.0.0.1:1" }
            let result = try CX.run(other, environment: environment)
            #expect(result.status == 2, "\(result.stderr)")
            #expect(result.stderr.contains("no operator token"), "\(result.stderr)")
        }
        // the saved hub, however spelled, still gets it
        let same = try CX.run(["fleet", "--hub", seeded.hub.url + "/"], environment: ["CX_CONFIG": config])
        #expect(same.status == 0, "\(same.stderr)")
    }

    @Test func loginWithAWrongTokenWritesNothing() async throws {
        let seeded = try await SeededHub.shared()
        let home = TempDir()
        let config = home.path + "/config.json"
        let login = try CX.run(
            ["login", "--hub", seeded.hub.url, "--token", "cxo_wrong", "--ca", seeded.hub.caPath],
            environment: ["CX_CONFIG": config])
        #expect(login.status == 5)
        #expect(login.stderr.hasPrefix("error: the hub refused the token"))
        #expect(!FileManager.default.fileExists(atPath: config))
    }

    @Test func missingHubIsExplained() throws {
        let result = try CX.run(["fleet"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("no hub given"))
        #expect(result.stderr.contains("cx login"))
    }
}
