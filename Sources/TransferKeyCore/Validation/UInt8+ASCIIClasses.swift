extension UInt8 {
    /// `0`–`9`.
    var isASCIIDigit: Bool { (0x30...0x39).contains(self) }

    /// `a`–`z`.
    var isASCIILowercaseLetter: Bool { (0x61...0x7A).contains(self) }

    /// `A`–`Z` or `a`–`z`.
    var isASCIILetter: Bool { isASCIILowercaseLetter || (0x41...0x5A).contains(self) }

    /// `A`–`Z`, `a`–`z` or `0`–`9`.
    var isASCIIAlphanumeric: Bool { isASCIILetter || isASCIIDigit }

    /// A character of an import id: `[A-Za-z0-9._-]`.
    var isImportIDCharacter: Bool {
        isASCIIAlphanumeric || self == UInt8(ascii: ".") || self == UInt8(ascii: "_") || self == UInt8(ascii: "-")
    }

    /// `0`–`9` or `a`–`f`: AWS writes its ids in lowercase hex.
    var isLowercaseHexDigit: Bool { isASCIIDigit || (0x61...0x66).contains(self) }

    /// A character KMS allows in an alias name: `[a-zA-Z0-9/_-]`.
    var isAliasCharacter: Bool {
        isASCIILetter || isASCIIDigit || self == UInt8(ascii: "/") || self == UInt8(ascii: "_")
            || self == UInt8(ascii: "-")
    }

    /// A character IAM allows in a role name: `[\w+=,.@-]` (ASCII `\w`).
    var isIAMNameCharacter: Bool {
        isASCIILetter || isASCIIDigit || "_+=,.@-".utf8.contains(self)
    }

    /// A character STS allows in an external id: `[\w+=,.@:/-]` (ASCII `\w`).
    var isExternalIDCharacter: Bool {
        isIAMNameCharacter || self == UInt8(ascii: ":") || self == UInt8(ascii: "/")
    }
}
