// swift-tools-version: 6.1
import PackageDescription

/// One set of settings for every target: Swift 6 mode, strict concurrency, explicit existentials.
let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "zkthreads-devnet",
    platforms: [.macOS(.v15)],
    products: [
        /** The L2 sequencer mock: admits signed L2 transactions, orders blocks, charges fees. */
        .executable(name: "l2-sequencer", targets: ["l2-sequencer"]),
        /** The zkThreadManager contract host: canonical thread records, proof checks, accept/revert. */
        .executable(name: "thread-manager", targets: ["thread-manager"]),
        /** One zkThread node: batcher and prover for one thread. */
        .executable(name: "thread-node", targets: ["thread-node"]),
        /** The orchestrator and client CLI: up, down, status, logs and client commands. */
        .executable(name: "devnet", targets: ["devnet"]),
        .library(name: "STARK", targets: ["STARK"]),
        .library(name: "ThreadVM", targets: ["ThreadVM"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.0.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
    ],
    targets: [
        // MARK: C libraries
        .systemLibrary(
            name: "CZeroMQ",
            pkgConfig: "libzmq",
            providers: [.apt(["libzmq3-dev"])]
        ),

        // MARK: Pure code (no I/O)
        /// Wire protocol v1: envelope, message types, codec, topology. No I/O.
        .target(name: "DevnetProtocol", swiftSettings: swiftSettings),
        /// A self-contained STARK prover and verifier over Goldilocks. Always optimized: unoptimized
        /// field arithmetic makes a debug build's proofs (and so the test suite) about ten times slower.
        .target(name: "STARK", swiftSettings: swiftSettings + [.unsafeFlags(["-O"])]),
        /// The ThreadVM: assembler, interpreter and example contracts.
        .target(
            name: "ThreadVM",
            dependencies: ["STARK", .product(name: "Crypto", package: "swift-crypto")],
            resources: [.copy("Contracts")],
            swiftSettings: swiftSettings
        ),

        /// The zkThreads protocol as pure state machines: accounts, signed transactions, fees,
        /// the manager's acceptance rules and the proof-system interface. No I/O.
        .target(
            name: "ZKCore",
            dependencies: ["ThreadVM", "STARK", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings
        ),

        // MARK: I/O
        /// A small Swift API over libzmq with a poll loop on a dedicated thread.
        .target(name: "ZeroMQ", dependencies: ["CZeroMQ"], swiftSettings: swiftSettings),
        /// Request/reply clients and event subscribers over the wire protocol.
        .target(name: "DevnetClient", dependencies: ["DevnetProtocol", "ZeroMQ"], swiftSettings: swiftSettings),
        /// The request and reply bodies of the sequencer, manager and thread node APIs, and the
        /// programs each thread of a topology runs.
        .target(
            name: "DevnetAPI",
            dependencies: ["DevnetProtocol", "ZKCore", "ThreadVM"],
            swiftSettings: swiftSettings
        ),
        /// SQLite persistence for each daemon (GRDB, WAL, migrations).
        .target(
            name: "DevnetStorage",
            dependencies: [
                .product(name: "GRDB", package: "GRDB.swift"), .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings
        ),
        /// What every daemon shares: the request/admin/event endpoints, lifecycle and logging.
        .target(
            name: "DaemonKit",
            dependencies: [
                "DevnetProtocol", "DevnetClient", "ZeroMQ", "DevnetStorage",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: swiftSettings
        ),

        /// The command-line options every daemon executable shares.
        .target(
            name: "DaemonCLI",
            dependencies: ["DaemonKit", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: swiftSettings
        ),

        // MARK: Daemons
        .target(
            name: "Sequencer",
            dependencies: [
                "DaemonKit", "DevnetAPI", "ZKCore", "ThreadVM", .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Manager",
            dependencies: [
                "DaemonKit", "DevnetAPI", "ZKCore", "ThreadVM", .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "ThreadNode",
            dependencies: [
                "DaemonKit", "DevnetAPI", "ZKCore", "ThreadVM", .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings
        ),

        // MARK: Orchestrator and client
        .target(
            name: "Orchestrator",
            dependencies: [
                "DevnetProtocol", "DevnetClient", "DevnetAPI", "ZKCore", "ThreadVM", "ZeroMQ", "DevnetStorage",
                .product(name: "Yams", package: "Yams"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),

        // MARK: Executables (thin entry points)
        .executableTarget(
            name: "l2-sequencer",
            dependencies: ["Sequencer", "DaemonCLI", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "thread-manager",
            dependencies: ["Manager", "DaemonCLI", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "thread-node",
            dependencies: ["ThreadNode", "DaemonCLI", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: swiftSettings
        ),
        /** Prove/verify timings and proof sizes of the STARK library's AIRs. */
        .executableTarget(
            name: "stark-bench",
            dependencies: ["STARK", "ZKCore"],
            swiftSettings: swiftSettings
        ),
        /// The `devnet` command line (every subcommand), over the orchestrator.
        .target(
            name: "DevnetCLI",
            dependencies: ["Orchestrator", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: swiftSettings
        ),
        .executableTarget(name: "devnet", dependencies: ["DevnetCLI"], swiftSettings: swiftSettings),

        // MARK: Tests
        .testTarget(name: "ZeroMQTests", dependencies: ["ZeroMQ", "DevnetClient"], swiftSettings: swiftSettings),
        .testTarget(name: "DevnetProtocolTests", dependencies: ["DevnetProtocol"], swiftSettings: swiftSettings),
        .testTarget(name: "OrchestratorTests", dependencies: ["Orchestrator", "DaemonKit", "DevnetStorage"], swiftSettings: swiftSettings),
        .testTarget(name: "EndToEndTests", dependencies: ["DevnetProtocol", "DevnetClient", "ZeroMQ"], swiftSettings: swiftSettings),
        .testTarget(name: "STARKTests", dependencies: ["STARK"], swiftSettings: swiftSettings),
        .testTarget(name: "ZKCoreTests", dependencies: ["ZKCore", "STARK"], swiftSettings: swiftSettings),
        .testTarget(name: "ThreadVMTests", dependencies: ["ThreadVM"], swiftSettings: swiftSettings),
    ]
)
