import Synchronization

/// One ``AssumeRoleCredentialProvider`` per account and role, created on first use.
final class RoleProviderRegistry: Sendable {
    private struct Key: Hashable {
        var account: AWSAccount
        var stsRegion: String
    }
    private let providers = Mutex<[Key: AssumeRoleCredentialProvider]>([:])

    func provider(
        for account: AWSAccount, stsRegion: String, make: () -> AssumeRoleCredentialProvider
    ) -> AssumeRoleCredentialProvider {
        let key = Key(account: account, stsRegion: stsRegion)
        return providers.withLock { providers in
            if let existing = providers[key] { return existing }
            let created = make()
            providers[key] = created
            return created
        }
    }
}
