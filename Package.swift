// swift-tools-version:6.0
import PackageDescription

// Layers, each knowing only the ones below it:
// 1. C shims (CJansson, CLibPQ, CMicroHTTPD, CGnuTLS)
// 2. thin safe wrappers (JSON, MicroHTTP, Postgres) and BackgroundThreads
// 3. the task domain (TaskQueue)
// 4. the OCS API (OCSAPI)
// 5. the application: configuration, embedded database, command line (TaskDispatchApp, taskdispatch),
//    and the benchmark (TaskDispatchBench)
//
// Linux only: the server runs on libmicrohttpd's epoll mode and imports Glibc directly.
let package = Package(
    name: "TaskDispatch",
    products: [
        .executable(name: "taskdispatch", targets: ["taskdispatch"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
    ],
    targets: [
        .systemLibrary(name: "CJansson", pkgConfig: "jansson", providers: [.apt(["libjansson-dev"])]),
        .systemLibrary(name: "CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        .systemLibrary(name: "CMicroHTTPD", pkgConfig: "libmicrohttpd", providers: [.apt(["libmicrohttpd-dev"])]),
        // libmicrohttpd's TLS library: called directly to check certificates before serving, and
        // by the small HTTP client for https webhooks and the benchmark's TLS row.
        .systemLibrary(name: "CGnuTLS", pkgConfig: "gnutls", providers: [.apt(["libgnutls28-dev"])]),

        .target(name: "JSON", dependencies: ["CJansson"]),
        // One lifecycle for every long-lived blocking thread (start, interruptible sleep, stop).
        .target(name: "BackgroundThreads"),
        .target(name: "MicroHTTP", dependencies: [
            "CMicroHTTPD", "CGnuTLS", "BackgroundThreads",
            .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "Postgres", dependencies: [
            "CLibPQ",
            .product(name: "Logging", package: "swift-log"),
        ]),

        // Layer 5 pieces that tests share: a private PostgreSQL cluster (initdb + pg_ctl).
        .target(name: "EmbeddedPostgres", dependencies: [
            "Postgres",
            .product(name: "Logging", package: "swift-log"),
        ]),

        .target(name: "TaskQueue", dependencies: [
            "JSON", "Postgres",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "CoreMetrics", package: "swift-metrics"),
            .product(name: "Crypto", package: "swift-crypto"),
        ],
        // The schema the migrations add up to, for reading; a test keeps it current.
        exclude: ["Migrations/schema.sql"]),
        .target(name: "OCSAPI", dependencies: [
            "TaskQueue", "MicroHTTP", "JSON", "BackgroundThreads",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "CoreMetrics", package: "swift-metrics"),
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        .target(name: "TaskDispatchApp", dependencies: [
            "OCSAPI", "TaskQueue", "Postgres", "EmbeddedPostgres", "MicroHTTP", "JSON", "LoopbackHTTPClient",
            "BackgroundThreads",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "CoreMetrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
        ]),
        // The benchmark (`taskdispatch bench`), apart so that nothing is public only for it.
        .target(name: "TaskDispatchBench", dependencies: [
            "TaskDispatchApp", "OCSAPI", "TaskQueue", "Postgres", "EmbeddedPostgres", "MicroHTTP", "JSON", "LoopbackHTTPClient",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .executableTarget(name: "taskdispatch", dependencies: [
            "TaskDispatchApp", "TaskDispatchBench",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        // A small blocking HTTP/1.1 client over POSIX sockets (and GnuTLS), for tests and the
        // benchmark, and for webhooks: it can send what curl and URLSession refuse to (bodies on
        // GET, broken encodings, slow bytes), to the one address the SSRF guard checked.
        .target(name: "LoopbackHTTPClient", dependencies: ["CGnuTLS"]),

        // Shared by the test targets: one throwaway cluster per test process, a database per suite.
        .target(name: "TaskDispatchTesting", dependencies: [
            "EmbeddedPostgres", "Postgres",
            .product(name: "Logging", package: "swift-log"),
        ]),

        .testTarget(name: "JSONTests", dependencies: ["JSON"]),
        .testTarget(name: "BackgroundThreadsTests", dependencies: ["BackgroundThreads", "TaskDispatchTesting"]),
        .testTarget(name: "MicroHTTPTests", dependencies: ["MicroHTTP", "LoopbackHTTPClient", "BackgroundThreads", "TaskDispatchTesting"]),
        .testTarget(name: "PostgresTests", dependencies: ["Postgres", "EmbeddedPostgres", "TaskDispatchTesting"]),
        .testTarget(name: "TaskQueueTests", dependencies: ["TaskQueue", "TaskDispatchTesting", "JSON", "Postgres"]),
        .testTarget(name: "OCSAPITests", dependencies: [
            "OCSAPI", "TaskDispatchApp", "TaskDispatchBench", "TaskQueue", "JSON", "Postgres", "LoopbackHTTPClient", "TaskDispatchTesting",
            "MicroHTTP", "BackgroundThreads", .product(name: "Crypto", package: "swift-crypto"),
        ]),
    ],
    swiftLanguageModes: [.v6]
)
