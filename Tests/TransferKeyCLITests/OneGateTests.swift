import Foundation
import Testing

/// The package root, found from this file (Tests/TransferKeyCLITests/…).
private let sourcesRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appending(path: "Sources")

/// A line of code that asks AWS to schedule a key's deletion, with where it is.
private struct CallSite: CustomStringConvertible {
    var file: String
    var line: Int
    /// The nearest `func` above the call: the function that makes it.
    var function: String
    var description: String { "\(file):\(line) in \(function)" }
}

/// Every line under Sources/ that calls `scheduleKeyDeletion(` or sends the `ScheduleKeyDeletion` operation by
/// name, outside comments and declarations.
private func callSites() throws -> [CallSite] {
    var sites: [CallSite] = []
    let files = try #require(FileManager.default.enumerator(at: sourcesRoot, includingPropertiesForKeys: nil))
    for case let url as URL in files where url.pathExtension == "swift" {
        let lines = try String(contentsOf: url, encoding: .utf8).components(separatedBy: "\n")
        let file = String(url.path.dropFirst(sourcesRoot.path.count + 1))
        var function = "(top level)"
        for (index, raw) in lines.enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("//") { continue }
            if let range = line.range(of: "func ") {
                function = String(line[range.upperBound...].prefix { $0 != "(" && $0 != "<" })
                if line.contains("func scheduleKeyDeletion") { continue }
            }
            let calls = line.contains(".scheduleKeyDeletion(")
            // The operation sent by name: the request's first argument, not an audit record's `operation:` field.
            let sends = line.hasPrefix("\"ScheduleKeyDeletion\", [")
            if calls || sends { sites.append(CallSite(file: file, line: index + 1, function: function)) }
        }
    }
    return sites.sorted { ($0.file, $0.line) < ($1.file, $1.line) }
}

@Suite("One gate for every deletion")
struct OneGateTests {
    /// The only places allowed to send `ScheduleKeyDeletion`: the worker's `schedule` (reached only from
    /// `perform`'s `.schedule` action, which `CleanupPlan.next` chooses only for an approved key, after `SafetyRules.verdict` approved and the `DeletionBudget` gave the call, for a transfer
    /// row), and the layers under it that carry that one call to AWS.
    static let allowed: Set<String> = [
        "TransferKeyDaemon/Cleanup/TransferWorker.swift schedule",
        "TransferKeyDaemon/Cloud/AWSCloud.swift scheduleKeyDeletion",
        "TransferKeyAWS/KMS/KMSClient.swift scheduleKeyDeletion",
    ]

    @Test("ScheduleKeyDeletion is sent from the worker's gate alone: a new call site anywhere else fails this test")
    func oneGate() throws {
        let sites = try callSites()
        let outside = sites.filter { !Self.allowed.contains("\($0.file) \($0.function)") }
        #expect(outside.isEmpty, "ScheduleKeyDeletion outside the gate: \(outside)")
        // Each allowed place still holds exactly one call, so the scan itself is known to see them.
        for place in Self.allowed {
            #expect(sites.filter { "\($0.file) \($0.function)" == place }.count == 1, "\(place): \(sites)")
        }
    }

    @Test("the worker sends it only after the verdict approved and the budget gave the call")
    func workerOrder() throws {
        let worker = try String(
            contentsOf: sourcesRoot.appending(path: "TransferKeyDaemon/Cleanup/TransferWorker.swift"), encoding: .utf8)
        let approval = try #require(worker.range(of: "private func perform("))
        let body = worker[approval.upperBound...]
        let take = try #require(body.range(of: "budget.take("))
        let schedule = try #require(body.range(of: "scheduleEverywhere("))
        #expect(take.lowerBound < schedule.lowerBound)
        // scheduleEverywhere is called from perform only; schedule(_:at:) from scheduleEverywhere only.
        #expect(worker.components(separatedBy: "try await scheduleEverywhere(").count == 2)
        #expect(worker.components(separatedBy: "try await schedule(").count == 2)
        let verdict = try #require(worker.range(of: "SafetyRules.verdict("))
        #expect(verdict.lowerBound < approval.lowerBound)
    }
}
