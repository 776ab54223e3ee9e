import Foundation

/// Prometheus text exposition format (version 0.0.4), as node_exporter's textfile collector reads it:
/// per metric family a `# HELP` and a `# TYPE` line, then one line per sample.
public struct PrometheusExposition: Sendable {
    /// A metric family's type.
    public enum Kind: String, Sendable {
        case counter, gauge
    }

    /// One sample: label pairs (in order) and a value.
    public struct Sample: Sendable {
        /// Label names and values; values are escaped when rendered.
        public var labels: [(String, String)]
        /// The value.
        public var value: Double

        /// Creates a sample.
        public init(_ labels: [(String, String)] = [], _ value: Double) {
            self.labels = labels
            self.value = value
        }
    }

    private var lines: [String] = []

    /// An empty exposition.
    public init() {}

    /// Adds a family: `name` (`[a-zA-Z_:][a-zA-Z0-9_:]*`), its help text, type and samples.
    public mutating func add(_ name: String, help: String, kind: Kind, samples: [Sample]) {
        precondition(Self.isValidName(name), "invalid metric name \(name)")
        lines.append("# HELP \(name) \(Self.escapeHelp(help))")
        lines.append("# TYPE \(name) \(kind.rawValue)")
        for sample in samples {
            let labels = sample.labels.map { name, value in
                precondition(Self.isValidName(name) && !name.contains(":"), "invalid label name \(name)")
                return "\(name)=\"\(Self.escapeLabelValue(value))\""
            }
            let labelText = labels.isEmpty ? "" : "{\(labels.joined(separator: ","))}"
            lines.append("\(name)\(labelText) \(Self.format(sample.value))")
        }
    }

    /// Adds a family with one unlabelled sample.
    public mutating func add(_ name: String, help: String, kind: Kind, value: Double) {
        add(name, help: help, kind: kind, samples: [Sample([], value)])
    }

    /// The exposition, ending with a newline (the format requires it).
    public var text: String { lines.isEmpty ? "" : lines.joined(separator: "\n") + "\n" }

    /// `\` → `\\`, `"` → `\"`, line feed → `\n`, per Unicode scalar (so `"\r\n"`, one Swift `Character`,
    /// is seen as two scalars); other control characters (carriage return, line/paragraph separators, NUL…),
    /// which the format has no escape for, become `?`, so a value can never end a line.
    static func escapeLabelValue(_ value: String) -> String {
        var out = String.UnicodeScalarView()
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\\": out.append(contentsOf: "\\\\".unicodeScalars)
            case "\"": out.append(contentsOf: "\\\"".unicodeScalars)
            case "\n": out.append(contentsOf: "\\n".unicodeScalars)
            default: out.append(isLineBreaking(scalar) ? "?" : scalar)
            }
        }
        return String(out)
    }

    /// `\` → `\\`, line feed → `\n`, other control characters → `?` (per Unicode scalar).
    static func escapeHelp(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\\": out.append(contentsOf: "\\\\".unicodeScalars)
            case "\n": out.append(contentsOf: "\\n".unicodeScalars)
            default: out.append(isLineBreaking(scalar) ? "?" : scalar)
            }
        }
        return String(out)
    }

    /// C0/C1 controls and the Unicode line and paragraph separators.
    static func isLineBreaking(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) || scalar == "\u{2028}" || scalar == "\u{2029}"
    }

    /// Integers without a fraction; `+Inf`, `-Inf` and `NaN` as the format spells them.
    static func format(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return String(value)
    }

    static func isValidName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, first.isASCIILetterOrUnderscoreOrColon else { return false }
        return name.unicodeScalars.allSatisfy { $0.isASCIILetterOrUnderscoreOrColon || ("0"..."9").contains($0) }
    }
}

extension Unicode.Scalar {
    fileprivate var isASCIILetterOrUnderscoreOrColon: Bool {
        ("a"..."z").contains(self) || ("A"..."Z").contains(self) || self == "_" || self == ":"
    }
}
