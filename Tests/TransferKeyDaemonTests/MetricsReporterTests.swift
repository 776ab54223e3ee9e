import Foundation
import GRDB
import Logging
import Testing
import TransferKeyAWS
import TransferKeyCore
import TransferKeyStore

@testable import TransferKeyDaemon

/// A strict reader of the text exposition format: every line must be a `# HELP`, a `# TYPE` or a
/// sample of the family announced last; label values are unescaped.
private struct ParsedExposition {
    struct Sample: Equatable {
        var name: String
        var labels: [String: String]
        var value: Double
    }

    var types: [String: String] = [:]
    var help: [String: String] = [:]
    var samples: [Sample] = []

    init(_ text: String) throws {
        guard text.hasSuffix("\n") else { throw ParseError("no final newline") }
        var family: String?
        for line in text.dropLast().split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            if line.hasPrefix("# HELP ") {
                let rest = line.dropFirst(7)
                guard let space = rest.firstIndex(of: " ") else { throw ParseError("HELP without text: \(line)") }
                let name = String(rest[..<space])
                guard Self.isName(name), help[name] == nil else { throw ParseError("bad or repeated HELP: \(line)") }
                help[name] = String(rest[rest.index(after: space)...])
                family = name
            } else if line.hasPrefix("# TYPE ") {
                let parts = line.dropFirst(7).split(separator: " ").map(String.init)
                guard parts.count == 2, parts[0] == family, ["counter", "gauge"].contains(parts[1]),
                    types[parts[0]] == nil
                else { throw ParseError("bad TYPE: \(line)") }
                types[parts[0]] = parts[1]
            } else {
                let sample = try Self.sample(line)
                guard sample.name == family, types[sample.name] != nil else {
                    throw ParseError("sample outside its family: \(line)")
                }
                samples.append(sample)
            }
        }
    }

    func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        samples.first { $0.name == name && $0.labels == labels }?.value
    }

    static func isName(_ name: String) -> Bool {
        name.range(of: "^[a-zA-Z_:][a-zA-Z0-9_:]*$", options: .regularExpression) != nil
    }

    static func sample(_ line: String) throws -> Sample {
        var index = line.startIndex
        while index < line.endIndex, line[index] != "{", line[index] != " " { index = line.index(after: index) }
        let name = String(line[..<index])
        guard isName(name), index < line.endIndex else { throw ParseError("bad sample name: \(line)") }
        var labels: [String: String] = [:]
        if line[index] == "{" {
            index = line.index(after: index)
            while line[index] != "}" {
                var labelName = ""
                while line[index] != "=" {
                    labelName.append(line[index])
                    index = line.index(after: index)
                }
                guard isName(labelName), labels[labelName] == nil else { throw ParseError("bad label: \(line)") }
                index = line.index(after: index)
                guard line[index] == "\"" else { throw ParseError("unquoted label value: \(line)") }
                index = line.index(after: index)
                var value = ""
                while line[index] != "\"" {
                    if line[index] == "\\" {
                        index = line.index(after: index)
                        switch line[index] {
                        case "\\": value.append("\\")
                        case "\"": value.append("\"")
                        case "n": value.append("\n")
                        default: throw ParseError("bad escape: \(line)")
                        }
                    } else {
                        value.append(line[index])
                    }
                    index = line.index(after: index)
                }
                labels[labelName] = value
                index = line.index(after: index)
                if line[index] == "," { index = line.index(after: index) }
            }
            index = line.index(after: index)
        }
        guard index < line.endIndex, line[index] == " " else { throw ParseError("no value: \(line)") }
        let text = String(line[line.index(after: index)...])
        let value: Double? =
            switch text {
            case "+Inf": .infinity
            case "-Inf": -.infinity
            case "NaN": .nan
            default: Double(text)
            }
        guard let value else { throw ParseError("bad value: \(line)") }
        return Sample(name: name, labels: labels, value: value)
    }
}

private struct ParseError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

@Suite("Metrics: Prometheus text exposition")
struct MetricsReporterTests {
    @Test("every line is valid exposition format and label values with quotes, backslashes and newlines round-trip")
    func escaping() throws {
        var exposition = PrometheusExposition()
        let tricky = "a \"quoted\" \\ back\\slash\nnew line ✓"
        exposition.add(
            "test_total", help: "Help with a \\ and a\nnewline.", kind: .counter,
            samples: [.init([("code", tricky), ("operation", "ListAliases")], 3), .init([("code", "")], 0)])
        exposition.add("test_gauge", help: "A gauge.", kind: .gauge, value: 1.5)
        exposition.add("test_empty", help: "No samples yet.", kind: .counter, samples: [])

        let parsed = try ParsedExposition(exposition.text)
        #expect(parsed.types == ["test_total": "counter", "test_gauge": "gauge", "test_empty": "counter"])
        #expect(parsed.value("test_total", ["code": tricky, "operation": "ListAliases"]) == 3)
        #expect(parsed.value("test_total", ["code": ""]) == 0)
        #expect(parsed.value("test_gauge") == 1.5)
        #expect(parsed.help["test_total"] == "Help with a \\\\ and a\\nnewline.")
        #expect(!exposition.text.contains("\n\n"))
    }

    @Test("the reporter's file: every state, AWS counters by operation and code, throttling, orphans; written 0644")
    func report() throws {
        let store = TransferStore(try AppDatabase(DatabaseQueue()))
        let created = Date(timeIntervalSince1970: 1_795_000_000)
        let now = created.addingTimeInterval(600)
        for n in 1...3 {
            _ = try store.record(
                NewTransfer(
                    importID: "imp-\(n)", accountID: "111122223333", region: "eu-west-1",
                    keyID: String(format: "%08d-0000-4000-8000-000000000000", n), origin: .tracked,
                    deadline: created.addingTimeInterval(86400)),
                now: created.addingTimeInterval(Double(n)), actor: "test")
        }
        let aws = AWSCallMetrics()
        aws.record(service: "kms", operation: "ListAliases", errorCode: nil)
        aws.record(service: "kms", operation: "ListAliases", errorCode: "ThrottlingException", isThrottled: true)
        aws.record(service: "kms", operation: "ScheduleKeyDeletion", errorCode: "AccessDeniedException")

        let folder = FileManager.default.temporaryDirectory.appending(path: "metrics-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appending(path: "transferkeyd.prom").path
        let reporter = MetricsReporter(
            path: path, store: store, aws: aws,
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        var scan = ScanReport()
        var region = ScanReport.Region(accountID: "111122223333", region: "eu-west-1")
        region.adopted = ["orphan-1", "orphan-2"]
        scan.regions = [region]
        reporter.record(scan: scan)
        reporter.record(cycleDuration: .milliseconds(250))
        let oldUmask = umask(0o077)
        reporter.write(now: now)
        umask(oldUmask)

        let text = try String(contentsOfFile: path, encoding: .utf8)
        let parsed = try ParsedExposition(text)
        for state in TransferState.allCases {
            #expect(
                parsed.value("transferkeyd_transfers", ["state": state.rawValue]) == (state == .active ? 3 : 0),
                "\(state)")
        }
        #expect(parsed.types["transferkeyd_transfers"] == "gauge")
        #expect(parsed.value("transferkeyd_aws_calls_total", ["service": "kms", "operation": "ListAliases"]) == 2)
        #expect(
            parsed.value(
                "transferkeyd_aws_errors_total",
                ["service": "kms", "operation": "ScheduleKeyDeletion", "code": "AccessDeniedException"]) == 1)
        #expect(parsed.value("transferkeyd_aws_throttled_total", ["service": "kms", "operation": "ListAliases"]) == 1)
        #expect(parsed.types["transferkeyd_aws_calls_total"] == "counter")
        #expect(parsed.value("transferkeyd_orphans_found_total") == 2)
        #expect(parsed.value("transferkeyd_cycle_duration_seconds") == 0.25)
        #expect(parsed.value("transferkeyd_oldest_active_transfer_age_seconds") == 599)
        #expect(parsed.value("transferkeyd_up") == 1)
        #expect(parsed.value("transferkeyd_build_info", ["version": DaemonVersion.current]) == 1)

        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode == 0o644)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["transferkeyd.prom"])

        // The last write of a stopping daemon says it is down.
        reporter.write(now: now, isUp: false)
        #expect(try ParsedExposition(String(contentsOfFile: path, encoding: .utf8)).value("transferkeyd_up") == 0)
    }
}
