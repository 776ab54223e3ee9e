import GRDB
import TransferKeyCore

extension DerivableRequest<TransferRecord> {
    /// Only transfers in one of `states`.
    func inStates(_ states: [TransferState]) -> Self {
        filter(states.map(\.rawValue).contains(TransferRecord.Columns.state))
    }
}
