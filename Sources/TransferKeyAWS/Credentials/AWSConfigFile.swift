import Foundation

/// The shared AWS `credentials` and `config` files, parsed into profiles of lower-cased keys.
///
/// `[name]` sections of the credentials file and `[profile name]` (or `[default]`) sections of the config file
/// both define profile `name`; keys from the credentials file win.
public struct AWSConfigFile: Sendable, Equatable {
    /// Settings by profile name.
    public var profiles: [String: [String: String]]

    /// Reads the files named by `AWS_SHARED_CREDENTIALS_FILE` / `AWS_CONFIG_FILE`, else `~/.aws/credentials`
    /// and `~/.aws/config` under the environment's `HOME`. Missing files count as empty.
    public init(environment: [String: String]) {
        let home = environment["HOME"] ?? NSHomeDirectory()
        let credentialsPath = environment["AWS_SHARED_CREDENTIALS_FILE"] ?? "\(home)/.aws/credentials"
        let configPath = environment["AWS_CONFIG_FILE"] ?? "\(home)/.aws/config"
        let config = Self.read(configPath).map { Self.parse($0, isConfigFile: true) } ?? [:]
        let credentials = Self.read(credentialsPath).map { Self.parse($0, isConfigFile: false) } ?? [:]
        profiles = config.merging(credentials) { configKeys, credentialKeys in
            configKeys.merging(credentialKeys) { $1 }
        }
    }

    /// Creates a value from parsed profiles (tests).
    public init(profiles: [String: [String: String]]) { self.profiles = profiles }

    /// Parses INI text; `isConfigFile` strips the `profile ` prefix from section names.
    public static func parse(_ text: String, isConfigFile: Bool) -> [String: [String: String]] {
        var profiles: [String: [String: String]] = [:]
        var current: String?
        for rawLine in text.split(whereSeparator: \.isNewline) {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("[") && line.hasSuffix("]") {
                var name = line.dropFirst().dropLast().trimmingCharacters(in: .whitespaces)
                if isConfigFile, name.hasPrefix("profile ") {
                    name = String(name.dropFirst("profile ".count)).trimmingCharacters(in: .whitespaces)
                } else if isConfigFile, name != "default", name.contains(" ") {
                    current = nil  // [sso-session x], [services x]: not profiles.
                    continue
                }
                current = name
                profiles[name, default: [:]] = profiles[name] ?? [:]
                continue
            }
            guard let current, let equals = line.firstIndex(of: "=") else { continue }
            let key = line[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
            let value = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            profiles[current, default: [:]][key] = value
        }
        return profiles
    }

    private static func read(_ path: String) -> String? {
        FileManager.default.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) }
    }
}
