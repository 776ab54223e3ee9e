import Testing
import TransferKeyCore

@Suite("KMS key state")
struct KMSKeyStateTests {
    @Test("every documented state maps from AWS's name and back")
    func roundTrip() {
        for state in KMSKeyState.known {
            #expect(KMSKeyState(aws: state.awsName) == state)
        }
        #expect(KMSKeyState.known.count == 8)
        #expect(KMSKeyState(aws: "PendingReplicaDeletion").isPendingDeletion)
        #expect(KMSKeyState(aws: "Updating").isTransitional)
    }

    @Test("a state AWS adds later is unknown, keeps AWS's word for the audit, and is neither pending nor transitional")
    func unknownKeepsTheWord() {
        let state = KMSKeyState(aws: "PendingRotation")
        #expect(state == .unknown("PendingRotation"))
        #expect(state.awsName == "PendingRotation")
        #expect("\(state)" == "PendingRotation")
        #expect(!state.isPendingDeletion && !state.isTransitional)
        #expect(KMSKeyState(aws: "enabled") == .unknown("enabled"), "AWS's names are case-sensitive")
    }
}
