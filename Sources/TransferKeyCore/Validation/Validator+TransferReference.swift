extension Validator {
    /// What `show`, `complete` and `retry` accept as `ID`: an import id, a key id or a key ARN —
    /// 1–256 printable ASCII characters without spaces (the lookup decides which it is).
    public static func transferReference(_ text: String, field: String) throws(InputError) -> String {
        guard !text.isEmpty else { throw InputError(field: field, "must not be empty") }
        guard text.utf8.count <= 256 else {
            throw InputError(field: field, "must be at most 256 characters, got \(text.utf8.count)")
        }
        guard text.utf8.allSatisfy({ (0x21...0x7E).contains($0) }) else {
            throw InputError(field: field, "must be printable ASCII without spaces")
        }
        return text
    }
}
