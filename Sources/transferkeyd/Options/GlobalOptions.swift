import ArgumentParser
import Foundation
import TransferKeyCore
import TransferKeyStore

/// Options every subcommand takes.
struct GlobalOptions: ParsableArguments {
    @Option(
        name: .customLong("config"),
        help: ArgumentHelp(
            "The config file (TOML).", discussion: "Default: $TRANSFERKEYD_CONFIG, else \(Config.defaultPath).",
            valueName: "path"))
    var configPath: String?

    /// The config file path in effect.
    var resolvedConfigPath: String {
        if let configPath { return configPath }
        if let fromEnvironment = ProcessInfo.processInfo.environment["TRANSFERKEYD_CONFIG"], !fromEnvironment.isEmpty {
            return fromEnvironment
        }
        return Config.defaultPath
    }

    /// Reads and validates the config; every problem is exit 2 naming the field.
    func loadConfig() throws -> LoadedConfig {
        try LoadedConfig.load(path: resolvedConfigPath)
    }
}

/// Who did it, for the audit trail: `cli:<user>`.
func cliActor() -> String {
    if let entry = getpwuid(geteuid()), let name = entry.pointee.pw_name {
        return "cli:\(String(cString: name))"
    }
    return "cli:uid\(geteuid())"
}
