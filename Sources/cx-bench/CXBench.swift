import ArgumentParser

/// Benchmarks of cxsync, each printing JSON; `bench/*.sh` runs them beside their peer baselines.
@main
struct CXBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cx-bench",
        abstract: "Benchmarks of cxsync (run through bench/*.sh for the peer baselines).",
        subcommands: [IngestBench.self, CodecBench.self, InsightBench.self, EnrichPathBench.self, HubMergeBench.self]
    )
}
