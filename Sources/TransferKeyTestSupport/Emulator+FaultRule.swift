import Foundation

extension Emulator {
    /// One fault the emulator injects into the AWS requests that match it (`POST /_fault/rules`).
    ///
    /// A rule matches on `operation` (e.g. `ScheduleKeyDeletion`) and, when set, on `service`,
    /// `region` and `account`. It skips its first `after` matches and then fires `count` times
    /// (for ever when `count` is nil). Rules are tried in the order they were added: latency adds
    /// up, and the first error, throttle or reset answers the request.
    public struct FaultRule: Sendable, Encodable, Equatable {
        /// What the emulator does to a matching request.
        public enum Action: String, Sendable, Encodable {
            /// Answers with an AWS error in the protocol's shape (or an HTML page for code `html`).
            case error
            /// Waits `delayMilliseconds`, then lets moto answer.
            case latency
            /// Lets moto act at once, and answers only after `delayMilliseconds` (a call that
            /// succeeded although the client timed out).
            case lateAnswer = "late_answer"
            /// A token bucket per account, region and operation; beyond it, a throttling error.
            case throttleRate = "throttle_rate"
            /// Closes the connection without an answer.
            case reset
            /// Answers 200 with a body no client can decode (`body`: html, json, truncated); with `perform`, moto
            /// did the call first.
            case garbled
            /// Sends the headers and half the body, then nothing for `delayMilliseconds`, then the rest.
            case stallBody = "stall_body"
        }

        /// What the emulator does to a matching request.
        public var action: Action
        /// The AWS operation to match, e.g. `ScheduleKeyDeletion`; nil matches every operation.
        public var operation: String?
        /// The SigV4 service to match, e.g. `kms` or `ec2`; nil matches every service.
        public var service: String?
        /// The region to match; nil matches every region.
        public var region: String?
        /// The account to match, as moto resolves it; nil matches every account.
        public var account: String?
        /// The HTTP status of an injected error (default 400; throttling on EC2: 503).
        public var status: Int?
        /// The AWS error code, e.g. `ThrottlingException`; `html` answers with a proxy's HTML page.
        public var code: String?
        /// The error message.
        public var message: String?
        /// How many times the rule fires; nil means for ever.
        public var count: Int?
        /// How many matching requests pass untouched before the rule starts firing.
        public var after: Int?
        /// The delay of a `latency` rule.
        public var delayMilliseconds: Int?
        /// The sustained rate a `throttleRate` rule allows.
        public var ratePerSecond: Double?
        /// The requests a `throttleRate` rule allows at once (default: the rate).
        public var burst: Double?
        /// The body of a `garbled` answer: `html`, `json` or `truncated`.
        public var body: String?
        /// Whether a `garbled` answer's call was performed by moto first.
        public var perform: Bool?

        enum CodingKeys: String, CodingKey {
            case action, operation, service, region, account, status, code, message, count, after, burst, body, perform
            case delayMilliseconds = "delay_ms"
            case ratePerSecond = "rate_per_second"
        }

        /// Creates a rule from its fields; the static factories read better at the point of use.
        public init(
            action: Action, operation: String?, service: String? = nil, region: String? = nil,
            account: String? = nil, status: Int? = nil, code: String? = nil, message: String? = nil,
            count: Int? = nil, after: Int? = nil, delayMilliseconds: Int? = nil,
            ratePerSecond: Double? = nil, burst: Double? = nil
        ) {
            self.action = action
            self.operation = operation
            self.service = service
            self.region = region
            self.account = account
            self.status = status
            self.code = code
            self.message = message
            self.count = count
            self.after = after
            self.delayMilliseconds = delayMilliseconds
            self.ratePerSecond = ratePerSecond
            self.burst = burst
        }

        /// Answers `operation` with the AWS error `code`, e.g. `.error("ThrottlingException", on: "ScheduleKeyDeletion", count: 2)`.
        public static func error(
            _ code: String, status: Int = 400, message: String? = nil, on operation: String,
            count: Int? = nil, after: Int? = nil
        ) -> FaultRule {
            FaultRule(
                action: .error, operation: operation, status: status, code: code, message: message,
                count: count, after: after)
        }

        /// Answers `operation` with an HTML error page, as a proxy in front of AWS would.
        public static func htmlPage(
            status: Int = 502, on operation: String, count: Int? = nil, after: Int? = nil
        ) -> FaultRule {
            FaultRule(action: .error, operation: operation, status: status, code: "html", count: count, after: after)
        }

        /// Delays `operation` by `milliseconds` before moto answers it.
        public static func latency(
            milliseconds: Int, on operation: String, count: Int? = nil, after: Int? = nil
        ) -> FaultRule {
            FaultRule(
                action: .latency, operation: operation, count: count, after: after, delayMilliseconds: milliseconds)
        }

        /// Performs `operation` at once but answers only after `milliseconds`: with a shorter request
        /// timeout the caller gives up on a call that did succeed.
        public static func lateAnswer(
            milliseconds: Int, on operation: String, count: Int? = nil, after: Int? = nil
        ) -> FaultRule {
            FaultRule(
                action: .lateAnswer, operation: operation, count: count, after: after, delayMilliseconds: milliseconds)
        }

        /// Throttles `operation` beyond `ratePerSecond` per account and region, like AWS's KMS quotas.
        public static func throttle(
            _ operation: String, ratePerSecond: Double, burst: Double? = nil
        ) -> FaultRule {
            FaultRule(action: .throttleRate, operation: operation, ratePerSecond: ratePerSecond, burst: burst)
        }

        /// Answers `operation` with a 200 that cannot be decoded; `perform` lets moto do the call first.
        public static func garbled(
            _ body: String = "html", perform: Bool = false, on operation: String, count: Int? = nil
        ) -> FaultRule {
            var rule = FaultRule(action: .garbled, operation: operation, count: count)
            rule.body = body
            rule.perform = perform
            return rule
        }

        /// Sends `operation`'s headers and half its body, then stalls for `milliseconds`.
        public static func stallBody(milliseconds: Int, on operation: String, count: Int? = nil) -> FaultRule {
            FaultRule(action: .stallBody, operation: operation, count: count, delayMilliseconds: milliseconds)
        }

        /// Closes the connection of `operation` without an answer.
        public static func connectionReset(on operation: String, count: Int? = nil, after: Int? = nil) -> FaultRule {
            FaultRule(action: .reset, operation: operation, count: count, after: after)
        }

        /// The same rule, limited to `service`, `region` and/or `account`.
        public func matching(service: String? = nil, region: String? = nil, account: String? = nil) -> FaultRule {
            var rule = self
            rule.service = service ?? rule.service
            rule.region = region ?? rule.region
            rule.account = account ?? rule.account
            return rule
        }
    }
}
