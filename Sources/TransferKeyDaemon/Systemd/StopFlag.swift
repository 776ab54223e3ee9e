import Foundation
import ServiceLifecycle
import Synchronization
import TransferKeyAWS

/// A flag one side raises and the other polls.
final class StopFlag: Sendable {
    private let raised = Mutex(false)

    var isRaised: Bool { raised.withLock { $0 } }

    func raise() { raised.withLock { $0 = true } }
}
