// swift-tools-version:6.1
// transferkeyd — makes sure temporary AWS KMS transfer keys always die.
//
// Module direction (arrows = "imports"):
//   transferkeyd (CLI) ─▶ TransferKeyDaemon ─▶ TransferKeyStore ─▶ TransferKeyCore
//                                          └─▶ TransferKeyAWS
// TransferKeyCore has no I/O; TransferKeyStore and TransferKeyAWS never import each other.
import PackageDescription

let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny")
]

let package = Package(
    name: "transferkeyd",
    platforms: [.macOS(.v15)],  // Synchronization.Mutex
    products: [
        .executable(name: "transferkeyd", targets: ["transferkeyd"])
    ],
    dependencies: [
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        // Already brought in by async-http-client; declared so the AWS module may name NIO products.
        .package(url: "https://github.com/apple/swift-nio", from: "2.81.0"),
        // Already brought in by async-http-client; declared so the AWS module can require TLS 1.2.
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.29.0"),
        // Tests only: property-based fuzzing of validators, the config loader, decoders and safety rules.
        .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.1"),
    ],
    targets: [
        // Domain: transfers, states, the pure transition function, safety rules, validators, config.
        .target(name: "TransferKeyCore", swiftSettings: strict),

        // SQLite state through GRDB; migrations/*.sql are embedded by the EmbedMigrations plugin.
        .target(
            name: "TransferKeyStore",
            dependencies: [
                "TransferKeyCore",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strict,
            plugins: ["EmbedMigrations"]
        ),

        // AWS: SigV4 signer, KMS/EC2/STS protocols, credentials chain, retry and pacing. Knows nothing of transfers.
        .target(
            name: "TransferKeyAWS",
            dependencies: [
                "TransferKeyCore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: strict
        ),

        // The daemon: work loop, cleanup worker, completion poller, orphan scanner, sd_notify, logging.
        .target(
            name: "TransferKeyDaemon",
            dependencies: [
                "TransferKeyCore",
                "TransferKeyStore",
                "TransferKeyAWS",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),

        // Measures signing cost and request throughput against the emulator (not a test).
        .executableTarget(
            name: "TransferKeyAWSBench",
            dependencies: ["TransferKeyAWS", "TransferKeyTestSupport"],
            swiftSettings: strict
        ),

        .executableTarget(
            name: "transferkeyd",
            dependencies: [
                "TransferKeyCore",
                "TransferKeyStore",
                "TransferKeyDaemon",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                "CMallocTuning",
            ],
            swiftSettings: strict
        ),

        // glibc's <malloc.h> for the daemon's one allocator setting (Sources/transferkeyd/AllocatorTuning.swift).
        .systemLibrary(name: "CMallocTuning"),

        // Build-time generator: migrations/*.sql → one Swift file with the ordered list.
        .executableTarget(name: "MigrationEmbedder"),
        .plugin(
            name: "EmbedMigrations",
            capability: .buildTool(),
            dependencies: ["MigrationEmbedder"]
        ),

        // Shared by test targets only: temporary files, running the built binary, the AWS emulator.
        .target(
            name: "TransferKeyTestSupport",
            dependencies: [
                "TransferKeyAWS", .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: strict),

        .testTarget(
            name: "TransferKeyCoreTests",
            dependencies: [
                "TransferKeyCore", "TransferKeyTestSupport",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "TransferKeyStoreTests",
            dependencies: [
                "TransferKeyStore", "TransferKeyCore", "TransferKeyTestSupport",
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "TransferKeyDaemonTests",
            dependencies: [
                "TransferKeyDaemon", "TransferKeyCore", "TransferKeyStore", "TransferKeyAWS", "TransferKeyTestSupport",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "TransferKeyAWSTests",
            dependencies: [
                "TransferKeyAWS", "TransferKeyTestSupport", .product(name: "Logging", package: "swift-log"),
                .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            resources: [.copy("Fixtures")],
            swiftSettings: strict
        ),
        .testTarget(
            name: "TransferKeyCLITests",
            dependencies: ["TransferKeyCore", "TransferKeyTestSupport", "transferkeyd"],
            swiftSettings: strict
        ),
    ],
    swiftLanguageModes: [.v6]
)
