import ArgumentParser
import CXAgent
import CXConfiguration
import CXCore
import CXInsight
import Foundation

extension CXAgentCommand {
    struct Analyze: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print what the offline models make of texts: sentiment, intents, themes, flags, masked text.",
            discussion: """
                Reads one text per line, or JSON lines with a "text" field (other fields are ignored), from FILE or
                standard input (-), and prints one JSON object per input line in the same order. Nothing is stored.
                """)

        @Argument(help: "A file of texts or JSON lines, or - for standard input.")
        var input: String = "-"

        @Flag(help: "Also run the near-duplicate window and the alert rules across the inputs, in order.")
        var stateful = false

        @Option(
            name: .long, help: "The agent's YAML configuration: its pii_patterns are masked as the agent masks them.")
        var config: String?

        func run() async throws {
            var configuration = InsightConfiguration()
            if let config {
                configuration.piiPatterns =
                    try AgentConfiguration.load(file: config, environment: ProcessInfo.processInfo.environment)
                    .piiPatterns
            }
            let engine = try InsightEngine(configuration: configuration)
            var state = engine.makeState()
            let handle: FileHandle
            if input == "-" {
                handle = .standardInput
            } else {
                guard let h = FileHandle(forReadingAtPath: input) else {
                    throw ValidationError("cannot open '\(input)'")
                }
                handle = h
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            var lineNumber = 0
            var out = Data()
            let data = try handle.readToEnd() ?? Data()
            for raw in data.split(separator: 0x0A, omittingEmptySubsequences: false) {
                let line = String(decoding: raw, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                if line.isEmpty { continue }
                lineNumber += 1
                let text = Self.text(of: line)
                let input = InsightInput(
                    text: text, eventID: "line-\(lineNumber)", storeID: "local", timeMs: Int64(lineNumber) * 1000)
                let r = stateful ? engine.enrich(input, state: &state) : engine.enrich(input)
                out.append(try encoder.encode(Output(line: lineNumber, result: r)))
                out.append(0x0A)
                if out.count > 1 << 16 {
                    FileHandle.standardOutput.write(out)
                    out.removeAll(keepingCapacity: true)
                }
            }
            FileHandle.standardOutput.write(out)
        }

        /// The `text` of a JSON object line, else the line itself.
        static func text(of line: String) -> String {
            guard line.first == "{", let data = line.data(using: .utf8),
                let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                let text = object["text"] as? String
            else { return line }
            return text
        }

        struct Output: Encodable {
            var line: Int
            var maskedText: String?
            var masked: [String: Int]
            var sentiment: Enrichment.Sentiment
            var intents: [Enrichment.Intent]
            var themes: [Enrichment.Theme]
            var flags: [String]
            var language: String?
            var languageConfidence: Double
            var modelVersion: String
            var alerts: [String]

            init(line: Int, result r: InsightResult) {
                self.line = line
                maskedText = r.maskedText
                masked = r.maskedCounts
                sentiment = r.enrichment.sentiment
                intents = r.enrichment.intents
                themes = r.enrichment.themes
                flags = r.enrichment.flags
                language = r.enrichment.language
                languageConfidence = r.enrichment.languageConfidence
                modelVersion = r.enrichment.modelVersion
                alerts = r.alerts.map { "\($0.severity.rawValue): \($0.message)" }
            }

            enum CodingKeys: String, CodingKey {
                case line
                case maskedText = "masked_text"
                case masked, sentiment, intents, themes, flags, language
                case languageConfidence = "language_confidence"
                case modelVersion = "model_version"
                case alerts
            }
        }
    }
}
