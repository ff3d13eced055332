import CXCore
import Foundation
import Testing

/// The tables the hot paths probe at random live on huge pages: the memory must behave as an array's, and a large
/// table must be placed where the kernel can back it with 2 MiB pages.
@Suite struct HugePageTableTests {
    static let hugeCount = HugePageTable<UInt64>.hugeThreshold / 8 + 1000

    @Test(arguments: [0, 1, 1000, hugeCount])
    func elementsReadBackAsWritten(count: Int) {
        let table = HugePageTable<UInt64>(repeating: 7, count: count)
        #expect(table.count == count)
        #expect(table.buffer.allSatisfy { $0 == 7 })
        for i in 0..<count { table.buffer[i] = UInt64(i) &* 0x9E37_79B9_7F4A_7C15 }
        for i in 0..<count { #expect(table.buffer[i] == UInt64(i) &* 0x9E37_79B9_7F4A_7C15) }
        let copy = HugePageTable(copying: Array(table.buffer))
        #expect(Array(copy.buffer) == Array(table.buffer))
        copy.buffer.update(repeating: 1)
        #expect(count < 2 || table.buffer[1] == 0x9E37_79B9_7F4A_7C15)
    }

    @Test func aSmallTableIsNotAdvised() {
        #expect(!HugePageTable<UInt64>(repeating: 0, count: 1000).advisedHuge)
    }

    /// The kernel backs only 2 MiB-aligned ranges with huge pages, and only in mappings advised so (the hosts run
    /// transparent huge pages in `madvise` mode): its own account of the mapping, `THPeligible` in smaps, says
    /// whether it may.
    @Test func aLargeTableIsAlignedAndEligibleForHugePages() throws {
        let table = HugePageTable<UInt64>(repeating: 0, count: Self.hugeCount)
        let start = Int(bitPattern: table.buffer.baseAddress)
        #expect(start % HugePageTable<UInt64>.hugePageBytes == 0)
        #if os(Linux)
            #expect(table.advisedHuge)
            let mode = (try? String(contentsOfFile: "/sys/kernel/mm/transparent_hugepage/enabled", encoding: .utf8))
            // Read to the end: a /proc file has no size for a single read to go by.
            let file = try #require(FileHandle(forReadingAtPath: "/proc/self/smaps"))
            let smaps = String(decoding: file.readDataToEndOfFile(), as: UTF8.self)
            let eligible = try #require(Self.field("THPeligible", ofMappingAt: start, in: smaps))
            #expect(eligible == (mode == nil || mode!.contains("[never]") ? 0 : 1), "mode \(mode ?? "none")")
        #endif
    }

    /// `name`'s value in the smaps entry of the mapping that holds `address` (the kernel merges neighbouring
    /// mappings of the same kind, such as two tables).
    static func field(_ name: String, ofMappingAt address: Int, in smaps: String) -> Int? {
        var inside = false
        for line in smaps.split(separator: "\n") {
            let range = line.prefix { $0 != " " }.split(separator: "-")
            if range.count == 2, let from = Int(range[0], radix: 16), let to = Int(range[1], radix: 16) {
                inside = from <= address && address < to
            } else if inside && line.hasPrefix(name + ":") {
                return Int(line.dropFirst(name.count + 1).trimmingCharacters(in: .whitespaces))
            }
        }
        return nil
    }
}
