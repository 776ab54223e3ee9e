/// Levenshtein distance, to suggest the key (or subcommand) an operator probably meant.
public enum EditDistance {
    /// The number of single-character insertions, deletions and substitutions that turn `a` into `b`.
    static func between(_ a: String, _ b: String) -> Int {
        let a = Array(a.unicodeScalars)
        let b = Array(b.unicodeScalars)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                let substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)
                current[j] = min(previous[j] + 1, current[j - 1] + 1, substitution)
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }

    /// The candidate closest to `text` if it is at most `maximum` edits away (the first one on a tie).
    public static func closest(to text: String, among candidates: [String], maximum: Int = 2) -> String? {
        // Keys are short; a pathological 10 000-character key is not worth a quadratic comparison.
        guard text.unicodeScalars.count <= 64 else { return nil }
        // A key in the wrong case (`[AWS]`, `Poll_Interval`) is that key, however many letters differ.
        if let exact = candidates.first(where: { $0.lowercased() == text.lowercased() }) { return exact }
        var best: (candidate: String, distance: Int)?
        for candidate in candidates {
            let distance = between(text, candidate)
            if distance <= maximum, distance < (best?.distance ?? .max) {
                best = (candidate, distance)
            }
        }
        return best?.candidate
    }
}
