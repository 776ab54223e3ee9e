import Foundation

/// AWS access credentials: an access key, its secret, and the session token of temporary credentials.
///
/// The `description` never shows the secret or the token, so a `Credentials` value may be interpolated
/// into a log line safely.
public struct Credentials: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable
{
    /// The access key id (`AKIA…` for long-term keys, `ASIA…` for temporary ones).
    public var accessKeyID: String
    /// The secret access key; never logged.
    public var secretAccessKey: String
    /// The session token of temporary credentials; never logged.
    public var sessionToken: String?
    /// When temporary credentials stop working; `nil` for long-term keys.
    public var expiration: Date?

    /// Creates credentials from their parts.
    public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil, expiration: Date? = nil) {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
        self.expiration = expiration
    }

    /// Whether the credentials expire within `margin` of `now` (never, for long-term keys).
    public func isExpiring(within margin: TimeInterval, now: Date = Date()) -> Bool {
        guard let expiration else { return false }
        return expiration.timeIntervalSince(now) <= margin
    }

    /// A redacted rendering: the access key id only, plus whether a session token and an expiry exist.
    public var description: String {
        var parts = ["accessKeyID: \(accessKeyID)", "secretAccessKey: <redacted>"]
        if sessionToken != nil { parts.append("sessionToken: <redacted>") }
        if let expiration { parts.append("expiration: \(expiration.ISO8601Format())") }
        return "Credentials(\(parts.joined(separator: ", ")))"
    }

    /// The same redacted rendering as `description`.
    public var debugDescription: String { description }

    /// What `dump()` and reflection show: the access key id and expiry, the secret and token redacted.
    public var customMirror: Mirror {
        Mirror(
            self,
            children: [
                "accessKeyID": accessKeyID, "secretAccessKey": "<redacted>",
                "sessionToken": sessionToken == nil ? "nil" : "<redacted>",
                "expiration": expiration.map { $0.ISO8601Format() } ?? "nil",
            ], displayStyle: .struct)
    }
}
