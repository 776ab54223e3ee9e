import Foundation
import Logging
import TransferKeyCore
import TransferKeyStore

extension TransferWorker {
    /// After scheduling: retires the import's own grants on the key where it leads (`RetireGrant`, which the account
    /// that made a grant may call), so nothing the import handed out outlives it by the pending window. Every grant
    /// left on a key the rules approved is the import's (`SafetyRules.inUse` refuses any other), and a key pending
    /// deletion takes no new grant. The grants are those read before scheduling, or read now when this step runs in
    /// a later pass. Each call is one `aws_call` event; a grant already gone counts as retired, and a refusal
    /// (AccessDenied) is recorded and left: the grant dies with the key. Returns how many grants were retired.
    func retireImportGrants(_ transfer: TransferRecord, keyID: String, survey: Survey, log: Logger)
        async throws -> Int
    {
        let place = survey.lead
        let grants: [KeyUsage.Grant]
        if let usage = survey.evidence.usage {
            grants = usage.grants
        } else {
            grants = try await place.client.keyUsage(keyID).grants
        }
        // A RetireGrant announced earlier without its answer: done if the grant is no longer listed.
        try settleOpenIntents(
            "RetireGrant", keyID: keyID, subjectName: "grant_id", keyState: { region in survey.state(in: region) },
            for: transfer
        ) { intent in intent.region == place.region && grants.contains { $0.grantID == intent.subject } }
        var retired = 0
        for grant in grants.sorted(by: { $0.grantID < $1.grantID }) {
            try announceCall(
                "RetireGrant", region: place.region, keyID: keyID, subject: ("grant_id", grant.grantID), for: transfer)
            var call = AWSCallRecord(
                operation: "RetireGrant", region: place.region, keyID: keyID, requestID: nil,
                keyState: place.key.keyState,
                extra: ["grant_id": .string(grant.grantID), "grantee": .string(grant.granteePrincipal)])
            do {
                call.requestID = try await place.client.retireGrant(
                    keyID: place.key.arn ?? keyID, grantID: grant.grantID
                )
                .requestID
                retired += 1
            } catch let error as CloudError where error.kind == .notFound {
                call.requestID = error.requestID
                call.outcome = .alreadyGone
            } catch let error as CloudError where error.kind == .auth || error.kind == .invalidState {
                call.requestID = error.requestID
                call.outcome = .refused
                call.extra["aws_code"] = .string(error.code)
                log.warning(
                    "could not retire the import's grant; it ends with the key",
                    metadata: ["grant_id": "\(grant.grantID)", "aws.code": "\(error.code)"])
            }
            try recordCall(call, for: transfer)
        }
        return retired
    }
}
