import CXConfiguration
import CXHub
import CXInsight
import CXTestSupport
import Foundation
import Testing

/// The hub's settings are bounded on both sides and refused with their name: values it multiplies trapped it near
/// Int64.max, and a frame limit above the protocol's was shown by `print-config` but not applied.
@Suite struct HubSettingsBoundsTests {
    @Test(arguments: [
        ("MAX_CLOCK_DRIFT_SECONDS", "10000000000000000", "max_clock_drift_seconds"),
        ("SKEW_THRESHOLD_SECONDS", "10000000000000000", "skew_threshold_seconds"),
        ("MAX_FRAME_BYTES", "1073741824", "max_frame_bytes"),
        ("CACHE_KIB", "9007199254740993", "cache_kib"),
        ("MAX_DOWNSTREAM_ITEMS", "0", "max_downstream_items"),
    ])
    func outOfRangeSettingsAreNamed(variable: String, value: String, setting: String) throws {
        do {
            _ = try HubConfiguration.load(file: nil, environment: ["CX_HUB_" + variable: value])
            Issue.record("\(variable)=\(value) accepted")
        } catch {
            #expect(
                "\(error)".contains("setting '\(setting)' (environment variable CX_HUB_\(variable)): must be within"),
                "\(error)")
        }
    }

    /// A misspelt hub variable is named with the nearest setting; `cx`'s CX_HUB_URL, which shares the prefix, is not.
    @Test func misspeltEnvironmentVariablesAreNamed() {
        #expect(
            HubConfiguration.unknownEnvironmentVariables(
                ["CX_HUB_URL": "https://hub", "CX_HUB_LISTEN_PROT": "1", "CX_HUB_LISTEN_PORT": "0"],
                others: ["CX_HUB_URL"])
                == [
                    "environment variable CX_HUB_LISTEN_PROT names no setting and is ignored "
                        + "(did you mean CX_HUB_LISTEN_PORT?)"
                ])
    }

    @Test func defaultsAreWithinTheBounds() throws {
        let c = try HubConfiguration.load(file: nil, environment: [:])
        #expect(c.maxFrameBytes == 8 * 1024 * 1024)
    }

    /// `init` with a certificate and key of the operator's own that do not exist said "using" them and exited 0; the
    /// first `run` failed. It fails now, naming the file, and creates nothing.
    @Test func initRefusesTLSFilesItCannotRead() throws {
        let dir = TempDir()
        let run = try Subprocess.run(
            product: "cx-hub", ["init", "--data-dir", dir.path + "/hub"],
            environment: ["CX_HUB_TLS_CERTIFICATE": "/nonexistent.pem", "CX_HUB_TLS_KEY": "/nonexistent.key"])
        #expect(run.status != 0)
        #expect(run.stderr.contains("/nonexistent.pem"), "\(run.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/hub"))
    }

    /// A misspelt key (`max_clock_drift` for `max_clock_drift_seconds`) kept its default silently.
    @Test func unknownKeysAreRefusedWithTheNearestKnownOne() throws {
        let dir = TempDir()
        let file = dir.path + "/hub.yaml"
        try "max_clock_drift: 60\n".write(toFile: file, atomically: true, encoding: .utf8)
        do {
            _ = try HubConfiguration.load(file: file, environment: [:])
            Issue.record("accepted")
        } catch {
            #expect("\(error)".contains("unknown setting 'max_clock_drift' (did you mean 'max_clock_drift_seconds'?)"))
        }
    }

    /// With agents hashing national numbers in international form (`default_country_code`), a CX lead's
    /// `cx erase 07700 900123` at a hub without the same setting erased a hash no agent holds.
    @Test func theHubHashesIdentifiersAsItsAgentsDo() throws {
        let dir = TempDir()
        let c = try HubConfiguration.load(
            file: nil, environment: ["CX_HUB_DATA_DIRECTORY": dir.path, "CX_HUB_DEFAULT_COUNTRY_CODE": "44"])
        let store = try HubStore.open(path: c.databasePath, defaultCountryCode: c.countryCode)
        let agent = try CustomerIdentifierHasher(
            fleetKey: [UInt8](Data(base64Encoded: store.fleetKey)!), defaultCountryCode: "44")
        #expect(store.customerKey(for: "07700 900123") == agent.hash("07700 900123"))
        #expect(store.customerKey(for: "+44 7700 900123") == agent.hash("07700 900123"))
        try store.close()
        #expect(throws: ConfigurationError.self) {
            try HubConfiguration.load(file: nil, environment: ["CX_HUB_DEFAULT_COUNTRY_CODE": "+44"])
        }
    }
}
