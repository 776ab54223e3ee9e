import Foundation
import TransferKeyCore

/// Wording for people in text output (`--json` keeps the raw values): counts with the right
/// noun form, and times with how far away they are.
enum HumanText {
    /// `1 account`, `2 accounts`, `0 accounts`.
    static func count(_ count: Int, _ noun: String, plural: String? = nil) -> String {
        "\(count) \(count == 1 ? noun : (plural ?? noun + "s"))"
    }

    /// How far `date` is from `now`, in its largest whole unit: `in 6 d`, `3 min ago`, `now`.
    static func relative(_ date: Date, now: Date) -> String {
        let seconds = date.timeIntervalSince(now)
        let magnitude = Int(abs(seconds).rounded(.down))
        guard magnitude >= 1 else { return "now" }
        let amount: String
        switch magnitude {
        case ..<60: amount = "\(magnitude) s"
        case ..<3_600: amount = "\(magnitude / 60) min"
        case ..<(48 * 3_600): amount = "\(magnitude / 3_600) h"
        default: amount = "\(magnitude / 86_400) d"
        }
        return seconds > 0 ? "in \(amount)" : "\(amount) ago"
    }

    /// A time as the contract writes it, with the distance beside it: `2026-12-08T10:00:00.000Z (in 6 d)`;
    /// `-` for none.
    static func at(_ date: Date?, now: Date) -> String {
        guard let date else { return "-" }
        return "\(Timestamp.string(date)) (\(relative(date, now: now)))"
    }
}

/// `HumanText.count` for call sites that read better without the namespace.
func plural(_ count: Int, _ noun: String, plural: String? = nil) -> String {
    HumanText.count(count, noun, plural: plural)
}
