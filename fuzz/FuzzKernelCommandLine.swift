// libFuzzer target over the kernel command-line parser and what the agent
// derives from it (settings, the resume= device, kernel B's command line):
// any bytes /proc/cmdline could hold give settings and warnings, never a
// crash or a hang.

func fuzzKernelCommandLine(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    let line = KernelCommandLine(text)
    // Names are normalised ('-' is '_') and never hold an unquoted separator.
    for p in line.parameters where p.name.contains("-") {
        fatalError("parameter name \(p.name) is not normalised")
    }
    // Parsing is deterministic.
    guard KernelCommandLine(text) == line else { fatalError("two parses of the same text differ") }
    let settings = AgentSettings(line)
    guard settings.waitSeconds <= AgentSettings.maxSeconds, settings.delaySeconds <= AgentSettings.maxSeconds else {
        fatalError("a time setting escaped its bound: wait \(settings.waitSeconds) delay \(settings.delaySeconds)")
    }
    if let value = line.value("resume") { _ = DeviceSpec.parse(value) }
    // Kernel B's command line: the image's own, then what `pass` names.
    let b = KexecPolicy.commandLine(image: String(text.prefix(512)), running: line, pass: settings.pass)
    _ = KernelCommandLine(b)
    return 0
}
