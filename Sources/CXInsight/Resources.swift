import Foundation

/// Access to the data files bundled with the module (`Sources/CXInsight/Resources/`).
enum InsightResources {
    struct Missing: Error, CustomStringConvertible {
        var name: String
        var description: String { "CXInsight resource \(name) is missing from the bundle" }
    }

    static func url(_ name: String, _ ext: String) throws -> URL {
        if let u = Bundle.module.url(forResource: name, withExtension: ext, subdirectory: "Resources") { return u }
        if let u = Bundle.module.url(forResource: name, withExtension: ext) { return u }
        throw Missing(name: "\(name).\(ext)")
    }

    static func load(_ name: String, _ ext: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: url(name, ext)))
    }
}
