import GRDB

extension AuditLog {
    /// Walks the whole chain oldest first and returns the first problem.
    ///
    /// It streams with a cursor (memory stays flat whatever the number of rows) and checks, for
    /// each row: its `seq` follows the previous one; its `hash` matches its content; its
    /// `prev_hash` is the previous row's `hash`. At the end, `sqlite_sequence` must not record a
    /// higher `seq` than the last row (else rows were deleted from the end). Run it in a read
    /// transaction (`AppDatabase.read`) so it sees one consistent snapshot.
    ///
    /// With `key` it also checks the MACs: every event from `key.fromSeq` on must carry one, and every MAC must be
    /// the key's HMAC of the event's hash — a chain recomputed without the key fails at the first forged event.
    /// Without a key, a chain that carries MACs is `unverified` (the keyed part cannot be checked), never intact.
    public static func verify(_ db: Database, key: AuditKey? = nil) throws -> AuditVerification {
        let rows = try Row.fetchCursor(
            db, sql: "SELECT seq, at, import_id, kind, detail, actor, prev_hash, hash, mac FROM events ORDER BY seq")
        var expectedSeq: Int64 = 1
        var lastHash = genesisHash
        var count = 0
        var firstKeyed: Int64?
        while let row = try rows.next() {
            // Row values are read at once: the cursor reuses its row.
            guard let seq = row[0] as Int64? else { return .broken(seq: expectedSeq, reason: "a row has no seq") }
            guard let content = Content(row) else {
                return .broken(seq: seq, reason: "row \(seq) was edited (a column holds a value that is not text)")
            }
            if seq < expectedSeq {
                return .broken(seq: seq, reason: "rows out of order at \(seq)")
            }
            if seq > expectedSeq {
                return .broken(
                    seq: expectedSeq, reason: gapReason(expected: expectedSeq, found: seq, content, lastHash))
            }
            if content.hash(seq: seq) == content.hash {
                if content.prevHash != lastHash {
                    // This row is consistent: the previous one changed after this row was chained to it.
                    return seq == 1
                        ? .broken(seq: 1, reason: "row 1's prev_hash is not 64 zeros: rows before it were removed")
                        : .broken(
                            seq: seq - 1,
                            reason: "row \(seq - 1) was rewritten: row \(seq)'s prev_hash does not match its hash")
                }
            } else {
                if content.prevHash != lastHash, let origin = try originalSeq(db, of: content, at: seq) {
                    return .broken(
                        seq: seq, reason: "rows out of order at \(seq): it holds the entry written as row \(origin)")
                }
                return .broken(seq: seq, reason: "row \(seq) was edited (hash mismatch)")
            }
            let mac = row[8] as String?
            if mac != nil, firstKeyed == nil { firstKeyed = seq }
            if let key, let broken = keyed(seq: seq, hash: content.hash, mac: mac, key: key) { return broken }
            lastHash = content.hash
            expectedSeq = seq + 1
            count += 1
        }
        let lastSeq = expectedSeq - 1
        let highWater = try Int64.fetchOne(db, sql: "SELECT seq FROM sqlite_sequence WHERE name = 'events'") ?? 0
        if highWater == lastSeq + 1 {
            return .broken(seq: highWater, reason: "the last row (\(highWater)) was deleted")
        }
        if highWater > lastSeq {
            return .broken(
                seq: lastSeq + 1, reason: "the last rows (\(lastSeq + 1)–\(highWater)) were deleted")
        }
        if highWater < lastSeq {
            return .broken(
                seq: lastSeq,
                reason: "sqlite_sequence was altered: it records \(highWater) but row \(lastSeq) exists")
        }
        if key == nil, let firstKeyed {
            return .unverified(
                events: count,
                reason:
                    "events from \(firstKeyed) on carry MACs, but no audit key is configured (audit_key_file): "
                    + "they cannot be checked — restore the key file")
        }
        return .intact(events: count)
    }

    /// The keyed rule for one event, or nil when it holds.
    private static func keyed(seq: Int64, hash: String, mac: String?, key: AuditKey) -> AuditVerification? {
        guard let mac else {
            guard seq >= key.fromSeq else { return nil }
            return .broken(
                seq: seq,
                reason:
                    "event \(seq) carries no MAC though the chain is keyed from event \(key.fromSeq): it was written or "
                    + "rewritten without the audit key")
        }
        guard mac != key.mac(hash: hash) else { return nil }
        return .broken(
            seq: seq,
            reason:
                "event \(seq)'s MAC does not verify with the audit key \(key.fingerprint): the chain was rewritten "
                + "without the key from here (or the key file is not this ledger's)")
    }

    private static func gapReason(expected: Int64, found seq: Int64, _ content: Content, _ lastHash: String) -> String {
        let missing = seq == expected + 1 ? "row \(expected) is missing" : "rows \(expected)–\(seq - 1) are missing"
        if expected == 1 { return "\(missing): the chain starts at row \(seq)" }
        if content.prevHash != lastHash {
            return "\(missing): row \(seq)'s prev_hash does not match row \(expected - 1)"
        }
        return "\(missing): the numbering jumps from \(expected - 1) to \(seq)"
    }

    /// Where a row that does not hash at its `seq` was first written, if it hashes at that position:
    /// right after the row whose hash it links to, or right before the row that links to it.
    private static func originalSeq(_ db: Database, of content: Content, at seq: Int64) throws -> Int64? {
        var candidates: [Int64] = []
        if content.prevHash == genesisHash {
            candidates.append(1)
        } else if let before = try Int64.fetchOne(
            db, sql: "SELECT seq FROM events WHERE hash = ?", arguments: [content.prevHash])
        {
            candidates.append(before + 1)
        }
        // prev_hash has no index: this scan runs once, on a chain already known to be broken.
        if let after = try Int64.fetchOne(
            db, sql: "SELECT seq FROM events WHERE prev_hash = ? LIMIT 1", arguments: [content.hash])
        {
            candidates.append(after - 1)
        }
        return candidates.first { $0 != seq && content.hash(seq: $0) == content.hash }
    }

    /// The hashed fields of one row, when every one of them holds text (or NULL where allowed).
    private struct Content {
        let at: String
        let importID: String?
        let kind: String
        let detail: String
        let actor: String
        let prevHash: String
        let hash: String

        init?(_ row: Row) {
            guard let at = Self.text(row[1]), let kind = Self.text(row[3]), let detail = Self.text(row[4]),
                let actor = Self.text(row[5]), let prevHash = Self.text(row[6]), let hash = Self.text(row[7])
            else { return nil }
            let importID = row[2] as DatabaseValue
            if importID.isNull {
                self.importID = nil
            } else {
                guard let text = Self.text(importID) else { return nil }
                self.importID = text
            }
            (self.at, self.kind, self.detail, self.actor, self.prevHash, self.hash) =
                (at, kind, detail, actor, prevHash, hash)
        }

        func hash(seq: Int64) -> String {
            AuditLog.hash(
                prevHash: prevHash, seq: seq, at: at, importID: importID, kind: kind, detail: detail, actor: actor)
        }

        private static func text(_ value: DatabaseValue) -> String? {
            if case .string(let text) = value.storage { return text }
            return nil
        }
    }
}
