// swift-tools-version:6.0
//
// Layout (docs/ARCHITECTURE.md says more):
//   ResumeCore      pure: image format, hashes, ELF, command line, the boot decision. No I/O.
//   ResumeSystem    the one layer that makes system calls (with a seam for tests).
//   ResumeBoot      what runs at boot: look, decide, act (restore paths, memory).
//   ResumeReports   what a person reads: resume-probe, image summaries, JSON.
//   ResumeHost      host-side work: capture, image targets, the restore benchmark.
//   resume-agent    the static binary in the initramfs (Boot + Reports; also answers as resume-probe).
//   resume-probe    the same diagnostics as a host command.
//   resume-image    the host tool that makes, inspects, verifies and invalidates images.
import PackageDescription

// The agent goes into every initramfs: keep Swift's regex libraries
// (about 1.1 MB, unused) out of everything it links.
let lean: [SwiftSetting] = [.unsafeFlags(["-Xfrontend", "-disable-implicit-string-processing-module-import"])]

let package = Package(
    name: "FastResume",
    products: [
        .executable(name: "resume-agent", targets: ["resume-agent"]),
        .executable(name: "resume-probe", targets: ["resume-probe"]),
        .executable(name: "resume-image", targets: ["resume-image"]),
        .library(name: "ResumeCore", targets: ["ResumeCore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-system", exact: "1.8.1"),
        .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2"),
    ],
    targets: [
        .systemLibrary(name: "CBlkid", pkgConfig: "blkid",
                       providers: [.apt(["libblkid-dev"])]),
        .systemLibrary(name: "CLZ4", pkgConfig: "liblz4",
                       providers: [.apt(["liblz4-dev"])]),
        // Ed25519, SHA-256 and BLAKE2b (libsodium); XXH64 and XXH3 (libxxhash). Linked statically into the agent.
        .systemLibrary(name: "CSodium", pkgConfig: "libsodium",
                       providers: [.apt(["libsodium-dev"])]),
        .systemLibrary(name: "CXXHash", pkgConfig: "libxxhash",
                       providers: [.apt(["libxxhash-dev"])]),
        .target(name: "CResumeShims"),
        // The restore stub (stub/): its header, restore-stub.h, is the one
        // place its parameters are laid out (the agent fills that struct),
        // and its C is built for the host too (no port I/O, no CR3), which
        // the tests run over the segments the agent lays out. In the agent
        // that host build is 2 KB that nothing calls.
        .target(name: "CRestoreStub", path: "stub", exclude: ["build.sh", "entry.S", "stub.ld"], sources: ["restore-stub.c"],
                publicHeadersPath: ".", cSettings: [.define("FR_STUB_HOST")]),
        .target(name: "ResumeCore", dependencies: ["CLZ4", "CSodium", "CXXHash"], swiftSettings: lean),
        .target(name: "ResumeSystem", dependencies: [
            "ResumeCore", "CBlkid", "CResumeShims",
            .product(name: "SystemPackage", package: "swift-system"),
        ], swiftSettings: lean),
        .target(name: "ResumeBoot", dependencies: ["ResumeCore", "ResumeSystem", "CResumeShims", "CRestoreStub"], swiftSettings: lean),
        .target(name: "ResumeReports", dependencies: ["ResumeCore", "ResumeSystem", "ResumeBoot"], swiftSettings: lean),
        .target(name: "ResumeHost", dependencies: ["ResumeCore", "ResumeSystem", "ResumeBoot", "ResumeReports"], swiftSettings: lean),
        .executableTarget(name: "resume-agent", dependencies: ["ResumeBoot", "ResumeReports"], swiftSettings: lean),
        .executableTarget(name: "resume-probe", dependencies: ["ResumeReports"]),
        .executableTarget(name: "resume-image", dependencies: [
            "ResumeCore", "ResumeSystem", "ResumeBoot", "ResumeReports", "ResumeHost",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .testTarget(name: "ResumeCoreTests", dependencies: ["ResumeCore"], exclude: ["Fixtures"]),
        .target(name: "ResumeTestSupport", dependencies: ["ResumeCore", "ResumeSystem", "ResumeBoot"], path: "Tests/Support"),
        .testTarget(name: "ResumeBootTests", dependencies: ["ResumeBoot", "ResumeReports", "ResumeSystem", "ResumeCore", "ResumeTestSupport",
                                                             "CRestoreStub"]),
        .testTarget(name: "ResumeSystemTests", dependencies: ["ResumeSystem", "ResumeCore"]),
        .testTarget(name: "ResumeHostTests", dependencies: ["ResumeHost", "ResumeBoot", "ResumeCore"]),
    ],
    swiftLanguageModes: [.v6]
)
