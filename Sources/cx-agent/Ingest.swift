import ArgumentParser
import CXAgent
import Foundation

extension CXAgentCommand {
    struct Ingest: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Ingest JSON lines from a file or stdin ('-'), through the running agent if there is one.")

        @OptionGroup var options: ConfigOptions

        @Argument(help: "File of JSON lines, or '-' for standard input.")
        var input: String

        @Option(help: "Events per request (group-committed together).")
        var chunk: Int = 1000

        func run() async throws {
            let c = try options.load()
            guard chunk > 0 && chunk <= c.maxEventsPerRequest else {
                throw ValidationError("--chunk must be between 1 and \(c.maxEventsPerRequest)")
            }
            let handle: FileHandle
            if input == "-" {
                handle = .standardInput
            } else {
                guard let h = FileHandle(forReadingAtPath: input) else {
                    throw ValidationError("cannot open '\(input)' for reading")
                }
                handle = h
            }
            let client = try LocalAgentClient(configuration: c, logger: options.logger(c))
            defer { client.shutdown() }
            let progress = isatty(STDERR_FILENO) == 1
            let start = Date()
            var totals = (accepted: 0, duplicates: 0, rejected: 0, lines: 0)
            var rejections: [String] = []
            for try await lines in LineChunks(handle: handle, linesPerChunk: chunk) {
                let body = Array(lines.joined(separator: "\n").utf8)
                let r = try await client.ingest(ndjson: body)
                if let error = r.error {
                    // Not a usage error: the lines before these are stored, these are not (nothing of a refused request
                    // is), and the run can be repeated (stored events are duplicates then).
                    var text = "error: the agent refused lines \(totals.lines + 1)-\(totals.lines + lines.count) "
                    text += "(\(r.status) \(error.code)): \(error.message)"
                    if let after = r.retryAfterSeconds { text += "; retry after \(after) s" }
                    FileHandle.standardError.write(Data((text + "\n").utf8))
                    print(
                        "{\"lines\":\(totals.lines),\"accepted\":\(totals.accepted),\"duplicates\":\(totals.duplicates),\"rejected\":\(totals.rejected)}"
                    )
                    throw ExitCode(3)
                }
                for result in r.results where result.status == .rejected {
                    if rejections.count < 20 {
                        rejections.append(
                            "line \(totals.lines + result.index + 1): \(result.error.map { "\($0)" } ?? "rejected")")
                    }
                }
                totals.accepted += r.accepted
                totals.duplicates += r.duplicates
                totals.rejected += r.rejected
                totals.lines += lines.count
                if progress {
                    let rate = Double(totals.lines) / max(Date().timeIntervalSince(start), 0.001)
                    FileHandle.standardError.write(
                        Data("\r\(totals.lines) lines, \(totals.accepted) accepted (\(Int(rate)) lines/s)".utf8))
                }
            }
            if progress { FileHandle.standardError.write(Data("\n".utf8)) }
            for r in rejections { FileHandle.standardError.write(Data("rejected: \(r)\n".utf8)) }
            print(
                "{\"lines\":\(totals.lines),\"accepted\":\(totals.accepted),\"duplicates\":\(totals.duplicates),\"rejected\":\(totals.rejected)}"
            )
            if totals.rejected > 0 { throw ExitCode(2) }
        }
    }
}

/// Reads a file as chunks of lines without loading it whole.
struct LineChunks: AsyncSequence {
    typealias Element = [String]
    let handle: FileHandle
    let linesPerChunk: Int

    struct AsyncIterator: AsyncIteratorProtocol {
        let handle: FileHandle
        let linesPerChunk: Int
        var pending: [UInt8] = []
        var eof = false

        mutating func next() async throws -> [String]? {
            var lines: [String] = []
            while lines.count < linesPerChunk {
                if let nl = pending.firstIndex(of: 10) {
                    let line = String(decoding: pending[..<nl], as: UTF8.self)
                    pending.removeSubrange(...nl)
                    if !line.allSatisfy(\.isWhitespace) { lines.append(line) }
                    continue
                }
                if eof {
                    if !pending.isEmpty {
                        let line = String(decoding: pending, as: UTF8.self)
                        pending = []
                        if !line.allSatisfy(\.isWhitespace) { lines.append(line) }
                    }
                    break
                }
                let data = handle.readData(ofLength: 1 << 20)
                if data.isEmpty { eof = true } else { pending += data }
            }
            return lines.isEmpty ? nil : lines
        }
    }

    func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(handle: handle, linesPerChunk: linesPerChunk)
    }
}
