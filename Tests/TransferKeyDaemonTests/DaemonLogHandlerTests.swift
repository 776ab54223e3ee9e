import Foundation
import Logging
import Testing
import TransferKeyAWS

@testable import TransferKeyDaemon

@Suite("Daemon log lines")
struct DaemonLogHandlerTests {
    @Test("plain lines: UTC millisecond timestamp, level, message, key=value")
    func plainFormat() {
        let log = CapturedLog()
        log.logger.info("key scheduled for deletion", metadata: ["attempt": "1", "transfer": "imp-42"])

        #expect(log.lines == ["2026-11-28T23:18:16.123Z info key scheduled for deletion transfer=imp-42 attempt=1"])
    }

    @Test("journald lines carry the syslog priority of each level and no timestamp")
    func journaldPriorities() {
        let log = CapturedLog()
        let logger = log.logger(format: .journald)
        logger.trace("t")
        logger.debug("d")
        logger.info("i")
        logger.notice("n")
        logger.warning("w")
        logger.error("e", metadata: ["aws.code": "ThrottlingException"])
        logger.critical("c")

        #expect(log.lines == ["<7>t", "<7>d", "<6>i", "<5>n", "<4>w", "<3>e aws.code=ThrottlingException", "<2>c"])
    }

    @Test("JOURNAL_STREAM chooses the journald format; TRANSFERKEYD_LOG_LEVEL the level")
    func environment() {
        #expect(DaemonLogHandler.format(environment: ["JOURNAL_STREAM": "8:12345"]) == .journald)
        #expect(DaemonLogHandler.format(environment: [:]) == .plain)
        #expect(DaemonLogHandler.logLevel(environment: [:]) == .info)
        #expect(DaemonLogHandler.logLevel(environment: ["TRANSFERKEYD_LOG_LEVEL": "DEBUG"]) == .debug)
        #expect(DaemonLogHandler.logLevel(environment: ["TRANSFERKEYD_LOG_LEVEL": "loud"]) == nil)
    }

    @Test("events below the logger's level are dropped")
    func levelFilter() {
        let log = CapturedLog()
        let logger = log.logger(level: .notice)
        logger.info("hidden")
        logger.notice("shown")
        #expect(log.lines.count == 1)
        #expect(log.lines.first?.hasSuffix("notice shown") == true)
    }

    @Test("a message with newlines stays one line, and one write per event")
    func oneLinePerEvent() {
        let log = CapturedLog()
        log.logger(format: .journald).error(
            "AWS said:\nline two\r\n<3>forged entry\u{1B}[31m", metadata: ["detail": "a\nb"])

        #expect(log.writes.count == 1)
        #expect(log.lines == [#"<3>AWS said:\nline two\r\n<3>forged entry\u{1B}[31m detail="a\nb""#])
    }

    @Test("transfer, account and region lead; the other keys follow in order; nested keys are dotted")
    func keyOrder() {
        let log = CapturedLog()
        log.logger(format: .journald).info(
            "cleanup",
            metadata: [
                "zeta": "1", "region": "eu-west-1", "aws": ["code": "X", "request": "r-1"], "account": "111122223333",
                "alpha": "2", "transfer": "imp-1",
            ])

        #expect(
            log.lines == [
                "<6>cleanup transfer=imp-1 account=111122223333 region=eu-west-1 alpha=2 aws.code=X aws.request=r-1 zeta=1"
            ])
    }

    @Test("values with spaces, quotes, = or backslashes are quoted; empty values too")
    func quoting() {
        let log = CapturedLog()
        log.logger(format: .journald).info(
            "q",
            metadata: [
                "a": "two words", "b": #"say "hi""#, "c": "k=v", "d": #"C:\path"#, "e": "", "f": "plain-value_1.2",
                "bad key=": "x",
            ])

        #expect(
            log.lines == [
                #"<6>q a="two words" b="say \"hi\"" bad_key_=x c="k=v" d="C:\\path" e="" f=plain-value_1.2"#
            ])
    }

    @Test("handler, provider and call metadata merge; the call wins; an error is shown")
    func metadataMerge() {
        let log = CapturedLog()
        var logger = log.logger(format: .journald)
        logger[metadataKey: "account"] = "111122223333"
        logger[metadataKey: "attempt"] = "1"
        logger.info("retry", metadata: ["attempt": "2"])
        logger.error("failed", error: SampleError())

        #expect(
            log.lines == [
                "<6>retry account=111122223333 attempt=2", "<3>failed account=111122223333 attempt=1 error=sample",
            ])
    }

    @Test("values of secret-named keys are redacted, whatever their case")
    func secretKeys() {
        let log = CapturedLog()
        log.logger(format: .journald).info(
            "credentials refreshed",
            metadata: [
                "aws_secret_access_key": "wJalrFAKEsecretK7MDENGbPxRfiCYEXAMPLEKEY",
                "SessionToken": "FwoGZXIvFAKEtokenAAAA",
                "db.Password": "hunter2FAKE",
                "Authorization": "AWS4-HMAC-SHA256 Credential=AKIAFAKEFAKEFAKE1234/x, Signature=deadbeefFAKE",
                "x-amz-signature": "cafebabeFAKE",
                "credential.source": "environment",
                "region": "eu-west-1",
            ])

        let line = log.lines.joined()
        for secret in [
            "wJalrFAKEsecretK7MDENGbPxRfiCYEXAMPLEKEY", "FwoGZXIvFAKEtokenAAAA", "hunter2FAKE", "deadbeefFAKE",
            "cafebabeFAKE", "AKIAFAKE", "AWS4-HMAC",
        ] {
            #expect(!line.contains(secret), "\(secret) leaked: \(line)")
        }
        #expect(line.contains("region=eu-west-1"))
        #expect(line.contains("aws_secret_access_key=<redacted>"))
        #expect(line.contains("Authorization=<redacted>"))
    }

    @Test("signatures, session tokens and Authorization headers inside messages and values are redacted")
    func secretsInText() {
        let log = CapturedLog()
        let logger = log.logger(format: .journald)
        logger.error(
            "request failed: Authorization: AWS4-HMAC-SHA256 Credential=ASIAFAKEQWERTY123456/20261128/eu-west-1/kms/aws4_request, SignedHeaders=host, Signature=0123456789abcdefFAKEFAKE"
        )
        logger.error(
            "GET /?X-Amz-Security-Token=IQoJb3JpZ2luFAKE%2Ftoken&X-Amz-Signature=feedfaceFAKE&Action=DescribeKey",
            metadata: ["url": "https://kms/?X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F2026&X-Amz-Signature=abad1deaFAKE"])
        logger.error(
            #"STS said {"Credentials": {"AccessKeyId": "ASIAIOSFODNN7EXAMPLE", "SecretAccessKey": "s3cr3tFAKEvalue", "SessionToken": "FQoDYXdzFAKE"}}"#
        )
        logger.warning("environment has AWS_SECRET_ACCESS_KEY=envFAKEsecret and aws_session_token = envFAKEtoken")
        logger.warning("header X-Amz-Security-Token: headerFAKEtoken seen")

        let text = log.lines.joined(separator: "\n")
        for secret in [
            "0123456789abcdefFAKEFAKE", "IQoJb3JpZ2luFAKE", "feedfaceFAKE", "abad1deaFAKE", "s3cr3tFAKEvalue",
            "FQoDYXdzFAKE", "envFAKEsecret", "envFAKEtoken", "headerFAKEtoken", "ASIAFAKEQWERTY123456",
            "AKIAIOSFODNN7EXAMPLE", "ASIAIOSFODNN7EXAMPLE",
        ] {
            #expect(!text.contains(secret), "\(secret) leaked:\n\(text)")
        }
        // What an operator needs stays: the action, and which access key (last four characters).
        #expect(text.contains("Action=DescribeKey"))
        #expect(text.contains("ASIA…MPLE"))
        #expect(log.lines.count == 5)
    }

    @Test("AWS error codes that merely mention a secret's name stay readable")
    func errorCodesStay() {
        let log = CapturedLog()
        log.logger(format: .journald).error(
            "SignatureDoesNotMatch: The request signature we calculated does not match",
            metadata: ["aws.code": "ExpiredTokenException", "detail": "InvalidSignatureException: bad clock"])

        #expect(
            log.lines == [
                #"<3>SignatureDoesNotMatch: The request signature we calculated does not match aws.code=ExpiredTokenException detail="InvalidSignatureException: bad clock""#
            ])
    }

    @Test("concurrent events never interleave within a line")
    func concurrentLines() async {
        let log = CapturedLog()
        let logger = log.logger(format: .journald)
        await withTaskGroup(of: Void.self) { group in
            for task in 0..<8 {
                group.addTask {
                    for event in 0..<50 {
                        logger.info(
                            "event \(String(repeating: "x", count: 200))",
                            metadata: ["n": "\(event)", "task": "\(task)"])
                    }
                }
            }
        }
        #expect(log.lines.count == 400)
        let wellFormed = #/<6>event x{200} n=\d+ task=\d/#
        #expect(log.lines.allSatisfy { $0.wholeMatch(of: wellFormed) != nil })
    }
}

private struct SampleError: Error, CustomStringConvertible {
    var description: String { "sample" }
}

@Suite("Log redaction's byte search")
struct LogRedactionSearchTests {
    @Test("finds a fragment wherever the standard library finds it: start, middle, end, absent, longer, empty")
    func agreesWithTheLibrary() {
        var generator = SplitMix64(seed: 7)
        let alphabet = Array("abkiatoken=é😀 ")
        func text(_ most: Int) -> String {
            String(
                (0..<Int.random(in: 0...most, using: &generator)).map { _ in
                    alphabet.randomElement(using: &generator)!
                })
        }
        for _ in 0..<3_000 {
            let (haystack, needle) = (text(24), text(4))
            #expect(
                LogRedaction.has(haystack, needle) == (haystack.utf8.firstRange(of: needle.utf8) != nil),
                "\(haystack) / \(needle)")
        }
        #expect(LogRedaction.has("x-amz-security-token", "token"))
        #expect(LogRedaction.has("token", "token") && !LogRedaction.has("toke", "token"))
        #expect(LogRedaction.has("anything", ""))
    }
}
