/// The KMS values the safety rules compare, spelled once.
public enum KMSValue {
    /// `KeyManager` of a key the account manages.
    public static let customerManaged = "CUSTOMER"
    /// `Origin` of a key whose material KMS made and holds (not imported, not in an external or CloudHSM store).
    public static let originAWSKMS = "AWS_KMS"
    /// `KeySpec` of a symmetric encryption key.
    public static let symmetricDefault = "SYMMETRIC_DEFAULT"
    /// `KeyUsage` of an encryption key.
    public static let encryptDecrypt = "ENCRYPT_DECRYPT"
    /// `MultiRegionKeyType` of a multi-Region primary.
    public static let primary = "PRIMARY"
    /// `MultiRegionKeyType` of a multi-Region replica.
    public static let replica = "REPLICA"
    /// The tag `transferkeyd create` puts on every key it makes: its value is the import id.
    public static let importIDTag = "transferkeyd:import-id"
}
