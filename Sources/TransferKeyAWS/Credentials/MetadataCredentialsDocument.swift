import Foundation

/// The JSON credentials document of the ECS agent and EC2 instance metadata
/// (`AccessKeyId`, `SecretAccessKey`, `Token`, `Expiration`).
struct MetadataCredentialsDocument: Decodable {
    let code: String?
    let accessKeyID: String
    let secretAccessKey: String
    let token: String?
    let expiration: String?

    enum CodingKeys: String, CodingKey {
        case code = "Code"
        case accessKeyID = "AccessKeyId"
        case secretAccessKey = "SecretAccessKey"
        case token = "Token"
        case expiration = "Expiration"
    }

    static func decode(_ body: [UInt8], source: String) throws -> Credentials {
        guard let document = try? JSONDecoder().decode(MetadataCredentialsDocument.self, from: Data(body)) else {
            throw CredentialProviderError(source: source, message: "the credentials document is not valid JSON")
        }
        if let code = document.code, code != "Success" {
            throw CredentialProviderError(source: source, message: "the credentials document says \(code)")
        }
        return Credentials(
            accessKeyID: document.accessKeyID, secretAccessKey: document.secretAccessKey,
            sessionToken: document.token, expiration: document.expiration.flatMap(STSClient.parseDate))
    }
}
