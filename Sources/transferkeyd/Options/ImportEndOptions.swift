import ArgumentParser
import Foundation
import TransferKeyCore

/// The options of `track` and `create` that say when an import ends: its snapshot copies and its lease.
struct ImportEndOptions: ParsableArguments {
    @Option(
        name: .customLong("snapshot"),
        help: ArgumentHelp(
            "A destination snapshot copy whose completion ends the import (repeatable).", valueName: "snap"))
    var snapshots: [String] = []

    @Option(help: ArgumentHelp("Account whose EC2 holds the snapshots (default: --account).", valueName: "acct"))
    var snapshotAccount: String?

    @Option(help: ArgumentHelp("Region whose EC2 holds the snapshots (default: --region).", valueName: "region"))
    var snapshotRegion: String?

    @Option(
        help: ArgumentHelp(
            "Lease: clean up no later than this (e.g. 90m, 12h; default and upper bound max_transfer_age).",
            valueName: "duration"))
    var maxAge: String?

    /// The validated values, each error naming its flag.
    struct Validated {
        var snapshotIDs: [String]
        var snapshotAccountID: String?
        var snapshotRegion: String?
        var deadline: Date
    }

    func validated(config: Config, now: Date = Date()) throws -> Validated {
        let maxAge = try maxAge.map { try Validator.duration($0, field: "--max-age") } ?? config.maxTransferAge
        // The config's lease is the backstop that guarantees cleanup: a transfer may shorten it, never extend it.
        guard maxAge <= config.maxTransferAge else {
            throw InputError(
                field: "--max-age",
                "\(self.maxAge ?? "") is longer than max_transfer_age (\(Int(config.maxTransferAge))s); "
                    + "a transfer may only shorten the lease")
        }
        return Validated(
            snapshotIDs: try snapshots.map { try Validator.snapshotID($0, field: "--snapshot") },
            snapshotAccountID: try snapshotAccount.map { try Validator.accountID($0, field: "--snapshot-account") },
            snapshotRegion: try snapshotRegion.map { try Validator.region($0, field: "--snapshot-region") },
            deadline: now.addingTimeInterval(maxAge))
    }
}
