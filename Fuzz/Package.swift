// swift-tools-version:6.1
// libFuzzer targets for backorderd's parsers and decision core. Built by
// scripts/fuzz.sh with `-sanitize=fuzzer,address -parse-as-library`; each target's
// `<module>_main` hands its test function to libFuzzer's driver. Not part of the product.
import PackageDescription

let fuzz: [SwiftSetting] = [.swiftLanguageMode(.v6)]

let package = Package(
    name: "backorderd-fuzz",
    dependencies: [.package(path: "../.build-fuzz/backorderd")],
    targets: [
        .target(name: "FuzzSupport", swiftSettings: fuzz),
        .executableTarget(name: "fuzz-json", dependencies: ["FuzzSupport", .product(name: "Inbox", package: "backorderd"),
                                                            .product(name: "BackorderCore", package: "backorderd")], swiftSettings: fuzz),
        .executableTarget(name: "fuzz-csv", dependencies: ["FuzzSupport", .product(name: "Inbox", package: "backorderd"),
                                                           .product(name: "BackorderCore", package: "backorderd")], swiftSettings: fuzz),
        .executableTarget(name: "fuzz-time", dependencies: ["FuzzSupport", .product(name: "BackorderCore", package: "backorderd")], swiftSettings: fuzz),
        .executableTarget(name: "fuzz-decider", dependencies: ["FuzzSupport", .product(name: "BackorderCore", package: "backorderd")], swiftSettings: fuzz),
    ]
)
