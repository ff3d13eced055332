import CXCore
import CXTestSupport
import Foundation
import Testing

/// Database files are for their owner only, whatever the umask.
@Suite("Private database files")
struct PrivateDatabaseFileTests {
    static func mode(_ path: String) throws -> Int {
        try (FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int) ?? -1
    }

    @Test func aNewDatabaseIsCreatedEmptyAndPrivate() throws {
        let dir = TempDir()
        let path = dir.path + "/new.sqlite"
        try PrivateDatabaseFile.prepare(path)
        #expect(try Self.mode(path) == 0o600)
        #expect(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int == 0)
    }

    @Test func anExistingDatabaseAndItsWALAreNarrowed() throws {
        let dir = TempDir()
        let path = dir.path + "/old.sqlite"
        for file in [path, path + "-wal"] {
            #expect(
                FileManager.default.createFile(
                    atPath: file, contents: Data("x".utf8), attributes: [.posixPermissions: 0o644]))
        }
        try PrivateDatabaseFile.prepare(path)
        #expect(try Self.mode(path) == 0o600)
        #expect(try Self.mode(path + "-wal") == 0o600)
        #expect(!FileManager.default.fileExists(atPath: path + "-shm"))
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "x", "the content is kept")
    }

    @Test func aMissingDirectoryIsReported() {
        let error = #expect(throws: PrivateFileError.self) {
            try PrivateDatabaseFile.prepare("/nonexistent-cxsync/hub.sqlite")
        }
        #expect(error?.code == "file_permissions")
        #expect(error?.message.hasPrefix("cannot create /nonexistent-cxsync/hub.sqlite: ") == true)
    }
}
