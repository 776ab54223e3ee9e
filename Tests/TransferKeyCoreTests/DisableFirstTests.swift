import Foundation
import Testing
import TransferKeyCore

@Suite("DisableFirst: disable, watch, look for use, then schedule")
struct DisableFirstTests {
    static let now = Date(timeIntervalSince1970: 1_795_000_000)

    @Test(
        "each case of the plan",
        arguments: [
            // Never disabled by the daemon: disable, watch for the whole span from now.
            (nil, [String](), 0.0, DisableFirst.disable(until: now.addingTimeInterval(3600))),
            (nil, ["eu-west-1"], 0.0, .disable(until: now.addingTimeInterval(3600))),
            // Disabled 10 min ago: watched until the hour is over.
            (now.addingTimeInterval(-600), [], 0.0, .watch(until: now.addingTimeInterval(3000))),
            // Enabled again in a region while watched (also after the watch): somebody needs it.
            (now.addingTimeInterval(-600), ["us-east-1"], 0.0, .reEnabled(region: "us-east-1")),
            (now.addingTimeInterval(-7200), ["eu-west-1"], 0.0, .reEnabled(region: "eu-west-1")),
            // Watch over: look since the disable, on AWS's clock (30 s ahead here), with a 5 min margin.
            (now.addingTimeInterval(-3600), [], 30.0, .lookForUse(since: now.addingTimeInterval(-3600 + 30 - 300))),
        ] as [(Date?, [String], TimeInterval, DisableFirst)])
    func plan(disabledAt: Date?, enabled: [String], offset: TimeInterval, expected: DisableFirst) {
        #expect(
            DisableFirst.next(
                disabledAt: disabledAt, enabledRegions: enabled, watch: 3600, now: Self.now, awsOffset: offset)
                == expected)
    }
}
