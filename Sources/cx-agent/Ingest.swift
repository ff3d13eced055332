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
            /// What was read and stored so far, one JSON line on stdout (also when a request is refused).
            func printSummary() {
                print(
                    "{\"lines\":\(totals.lines),\"accepted\":\(totals.accepted),\"duplicates\":\(totals.duplicates),\"rejected\":\(totals.rejected)}"
                )
            }
            let chunks = LineChunks(handle: handle, linesPerChunk: chunk)
            var iterator = chunks.makeAsyncIterator()
            while true {
                let next: LineChunks.Chunk?
                do {
                    next = try await iterator.next()
                } catch {
                    FileHandle.standardError.write(
                        Data("error: cannot read '\(input)': \(error.localizedDescription)\n".utf8))
                    printSummary()
                    throw ExitCode(1)
                }
                guard let part = next else { break }
                for number in part.invalid {
                    totals.rejected += 1
                    totals.lines += 1
                    if rejections.count < 20 { rejections.append("line \(number): not UTF-8") }
                }
                let lines = part.lines
                if lines.isEmpty { continue }
                let body = Array(lines.joined(separator: "\n").utf8)
                let r = try await client.ingest(ndjson: body)
                if let error = r.error {
                    // Not a usage error: the lines before these are stored, these are not (nothing of a refused request
                    // is), and the run can be repeated (stored events are duplicates then).
                    var text =
                        "error: the agent refused lines \(part.numbers[0])-\(part.numbers[part.numbers.count - 1]) "
                    text += "(\(r.status) \(error.code)): \(error.message)"
                    if let after = r.retryAfterSeconds { text += "; retry after \(after) s" }
                    FileHandle.standardError.write(Data((text + "\n").utf8))
                    printSummary()
                    throw ExitCode(3)
                }
                for result in r.results where result.status == .rejected {
                    if rejections.count < 20 {
                        rejections.append(
                            "line \(part.numbers[result.index]): \(result.error.map { "\($0)" } ?? "rejected")")
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
            printSummary()
            if totals.rejected > 0 { throw ExitCode(2) }
        }
    }
}

/// Reads a file as chunks of lines without loading it whole.
struct LineChunks: AsyncSequence {
    /// Up to `linesPerChunk` non-blank lines and their 1-based line numbers in the input, which blank lines shift.
    struct Chunk {
        var lines: [String] = []
        var numbers: [Int] = []
        /// Lines that are not UTF-8, by number: refused here, as the agent's API refuses such bytes (they were
        /// replaced by U+FFFD and stored).
        var invalid: [Int] = []
    }

    typealias Element = Chunk
    let handle: FileHandle
    let linesPerChunk: Int

    struct AsyncIterator: AsyncIteratorProtocol {
        let handle: FileHandle
        let linesPerChunk: Int
        var pending: [UInt8] = []
        /// Where the unread part of `pending` starts: lines are read past, not removed one by one, which moved the
        /// rest of a 1 MiB read once per line.
        var start = 0
        var lineNumber = 0
        var eof = false

        mutating func take(_ end: Int, into chunk: inout Chunk) {
            lineNumber += 1
            guard let line = String(validating: pending[start..<end], as: UTF8.self) else {
                chunk.invalid.append(lineNumber)
                return
            }
            if !line.allSatisfy(\.isWhitespace) {
                chunk.lines.append(line)
                chunk.numbers.append(lineNumber)
            }
        }

        mutating func next() async throws -> Chunk? {
            var chunk = Chunk()
            while chunk.lines.count < linesPerChunk {
                if let nl = pending[start...].firstIndex(of: 10) {
                    take(nl, into: &chunk)
                    start = nl + 1
                    continue
                }
                if eof {
                    if start < pending.count {
                        take(pending.count, into: &chunk)
                        start = pending.count
                    }
                    break
                }
                pending.removeSubrange(..<start)
                start = 0
                // Throwing: `readData(ofLength:)` trapped on a read error (a directory, an I/O error).
                let data = try handle.read(upToCount: 1 << 20) ?? Data()
                if data.isEmpty { eof = true } else { pending += data }
            }
            return chunk.lines.isEmpty && chunk.invalid.isEmpty ? nil : chunk
        }
    }

    func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(handle: handle, linesPerChunk: linesPerChunk)
    }
}
