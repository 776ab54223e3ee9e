// Measures SigV4 signing cost and request throughput against the local emulator.
//
//   swift run -c release TransferKeyAWSBench [requests-per-level]
//
// Not a test: it prints figures and exits 0. The emulator is started on a free 127.0.0.1 port and stopped
// at the end; no other network is used.
import Foundation
import TransferKeyAWS
import TransferKeyTestSupport

let requestsPerLevel = CommandLine.arguments.dropFirst().first.flatMap { Int($0) } ?? 300

// MARK: Signing cost

let credentials = Credentials(
    accessKeyID: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    sessionToken: String(repeating: "T", count: 600))
let signer = SigV4Signer(credentials: credentials, region: "eu-west-1", service: "kms")
let request = SigV4Request(
    method: "POST", path: "/",
    headers: [
        ("Host", "kms.eu-west-1.amazonaws.com"), ("Content-Type", "application/x-amz-json-1.1"),
        ("X-Amz-Target", "TrentService.ScheduleKeyDeletion"),
    ],
    body: Array(#"{"KeyId":"1234abcd-12ab-34cd-56ef-1234567890ab","PendingWindowInDays":7}"#.utf8))
let date = Date(timeIntervalSince1970: 1_764_374_400)
var sink = 0
for _ in 0..<2_000 { sink &+= signer.sign(request, date: date).signature.utf8.count }
let signings = 50_000
let signStart = ContinuousClock.now
for _ in 0..<signings { sink &+= signer.sign(request, date: date).signature.utf8.count }
let signElapsed = ContinuousClock.now - signStart
let nanosPerSign =
    Double(signElapsed.components.seconds) * 1e9 / Double(signings)
    + Double(signElapsed.components.attoseconds) / 1e9 / Double(signings)
print("sigv4 signing: \(Int(nanosPerSign)) ns per request (\(signings) signatures, checksum \(sink % 10))")

// MARK: Throughput against the emulator

if requestsPerLevel == 0 { exit(0) }  // `TransferKeyAWSBench 0`: signing only.

let emulator = try await Emulator.start()
let aws = AWSClient(
    environment: ["AWS_ENDPOINT_URL": emulator.endpoint],
    credentials: StaticCredentialProvider(Credentials(accessKeyID: "AKIABENCH", secretAccessKey: "bench")),
    quotas: .unlimited, extraHeaders: ["x-moto-account-id": "210987654321"])
let kms = aws.kms(region: "eu-west-1")
let key = try await kms.createKey(description: "bench")
for _ in 0..<20 { _ = try await kms.describeKey(keyID: key.keyID) }

for concurrency in [1, 8, 32] {
    let started = ContinuousClock.now
    try await withThrowingTaskGroup(of: Void.self) { group in
        for worker in 0..<concurrency {
            group.addTask {
                var index = worker
                while index < requestsPerLevel {
                    _ = try await kms.describeKey(keyID: key.keyID)
                    index += concurrency
                }
            }
        }
        try await group.waitForAll()
    }
    let elapsed = ContinuousClock.now - started
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    let perSecond = Double(requestsPerLevel) / seconds
    print(
        "emulator DescribeKey: concurrency \(concurrency): \(String(format: "%.0f", perSecond)) requests/s, "
            + "\(String(format: "%.2f", seconds * 1000 / Double(requestsPerLevel) * Double(concurrency))) ms mean latency "
            + "(\(requestsPerLevel) requests)")
}
try await aws.shutdown()
emulator.stop()

// MARK: CPU per call against the keep-alive KMS stub (`TransferKeyAWSBench N STUB_ENDPOINT KEY_ID`)

/// This process's CPU time (user + system) so far, in seconds.
func processCPUSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
        + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
}

if CommandLine.arguments.count >= 4 {
    let stub = AWSClient(
        environment: ["AWS_ENDPOINT_URL": CommandLine.arguments[2]],
        credentials: StaticCredentialProvider(Credentials(accessKeyID: "AKIABENCH", secretAccessKey: "bench")),
        quotas: .unlimited)
    let stubKMS = stub.kms(region: "us-east-1")
    let keyID = CommandLine.arguments[3]
    for _ in 0..<50 { _ = try await stubKMS.describeKey(keyID: keyID) }
    let calls = Int(ProcessInfo.processInfo.environment["STUB_CALLS"] ?? "") ?? 2_000
    let cpuBefore = processCPUSeconds()
    let started = ContinuousClock.now
    try await withThrowingTaskGroup(of: Void.self) { group in
        for worker in 0..<8 {
            group.addTask {
                var index = worker
                while index < calls {
                    _ = try await stubKMS.describeKey(keyID: keyID)
                    index += 8
                }
            }
        }
        try await group.waitForAll()
    }
    let elapsed = ContinuousClock.now - started
    let cpu = processCPUSeconds() - cpuBefore
    print(
        "stub DescribeKey (keep-alive), concurrency 8: \(String(format: "%.0f", cpu * 1e6 / Double(calls))) µs CPU per call, "
            + "\(String(format: "%.0f", Double(calls) / (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18))) calls/s (\(calls) calls)"
    )
    try await stub.shutdown()
}
