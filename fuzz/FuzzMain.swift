// The one libFuzzer entry point of the fuzz binary; the target is chosen
// by RESUME_FUZZ_TARGET (fuzz/run.sh sets it): image-decoder (default),
// memory-image, kept-kernel, cmdline, elf. One build serves them all.
#if canImport(Glibc)
import Glibc
#endif

enum FuzzTarget {
    static let selected: (UnsafePointer<UInt8>, Int) -> Int32 = {
        switch getenv("RESUME_FUZZ_TARGET").map({ String(cString: $0) }) ?? "image-decoder" {
        case "cmdline": return fuzzKernelCommandLine
        case "elf": return fuzzELFReader
        case "image-decoder": return fuzzImageDecoder
        case "memory-image": return fuzzMemoryImage
        case "kept-kernel": return fuzzKeptKernel
        case let other: fatalError("RESUME_FUZZ_TARGET=\(other): not image-decoder, memory-image, kept-kernel, cmdline or elf")
        }
    }()
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzEntry(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    var empty: UInt8 = 0
    return FuzzTarget.selected(data ?? withUnsafePointer(to: &empty) { $0 }, size)
}
