import Testing

@testable import TransferKeyCore

@Suite("TOML parser")
struct TOMLParserTests {
    /// The single value of `text`, which defines one key `k`.
    func value(_ text: String) throws -> TOMLValue.Kind {
        let root = try TOMLParser.parse(text)
        let entry = try #require(root["k"])
        guard case .value(let value) = entry.item else {
            Issue.record("not a value: \(entry.item)")
            return .boolean(false)
        }
        return value.kind
    }

    /// The error for `text`, which must not parse.
    func parseError(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) -> InputError? {
        do {
            let root = try TOMLParser.parse(text)
            Issue.record("parsed: \(root)", sourceLocation: sourceLocation)
            return nil
        } catch {
            return error
        }
    }

    @Test(
        "strings, escapes and literal strings",
        arguments: [
            (#"k = "plain""#, "plain"),
            (#"k = """#, ""),
            (
                #"k = "q\"b\\n\n t\t u\u00e9 U\U0001F600 r\r b\b f\f""#,
                "q\"b\\n\n t\t u\u{E9} U\u{1F600} r\r b\u{8} f\u{C}"
            ),
            (#"k = 'C:\path\no "escapes"'"#, #"C:\path\no "escapes""#),
            ("k = \"tab\tinside\"", "tab\tinside"),
            ("k = \"héllo ✓\"", "héllo ✓"),
            (#"k = "a # not a comment" # a comment"#, "a # not a comment"),
            ("k='x'#c", "x"),
        ])
    func strings(text: String, expected: String) throws {
        #expect(try value(text) == .string(expected))
    }

    @Test(
        "integers with sign and separators, and booleans",
        arguments: [
            ("k = 0", TOMLValue.Kind.integer(0)), ("k = 42", .integer(42)), ("k = +7", .integer(7)),
            ("k = -17", .integer(-17)), ("k = 1_000_000", .integer(1_000_000)), ("k = -0", .integer(0)),
            ("k = 9223372036854775807", .integer(Int.max)), ("k = -9223372036854775808", .integer(Int.min)),
            ("k = true", .boolean(true)), ("k = false # off", .boolean(false)),
        ])
    func scalars(text: String, expected: TOMLValue.Kind) throws {
        #expect(try value(text) == expected)
    }

    @Test("arrays: empty, multi-line with comments, trailing comma, each element with its line")
    func arrays() throws {
        #expect(try value("k = []") == .array([]))
        let root = try TOMLParser.parse(
            """
            # header
            k = [ # opening comment
              "a",   # first
              'b' ,

              "c",
            ]
            """)
        let entry = try #require(root["k"])
        #expect(entry.line == 2)
        guard case .value(let value) = entry.item, case .array(let elements) = value.kind else {
            Issue.record("not an array")
            return
        }
        #expect(elements.map(\.kind) == [.string("a"), .string("b"), .string("c")])
        #expect(elements.map(\.line) == [3, 4, 6])
    }

    @Test("keys, tables and arrays of tables keep their order and lines; CRLF and a BOM are accepted")
    func structure() throws {
        let text =
            "\u{FEFF}top = 1\r\n\"quoted key\" = 2\r\n'literal' = 3\r\n  bare-key_2 = 4\r\n\r\n[aws]\r\nx = 5\r\n"
            + "[[accounts]]\r\nid = \"a\"\r\n[ [accounts] ]\r\n"
        // "[ [accounts] ]" is not an array-of-tables header; the parser must not read it as one.
        #expect(parseError(text)?.line == 10)

        let root = try TOMLParser.parse(
            """
            top = 1
            "quoted key" = 2
            'literal' = 3
              bare-key_2 = 4

            [aws]
            x = 5

            [[accounts]]
            id = "a"
            [[ accounts ]]  # spaces inside the brackets are fine
            id = "b"
            """.replacingOccurrences(of: "\n", with: "\r\n"))
        #expect(root.entries.map(\.key) == ["top", "quoted key", "literal", "bare-key_2", "aws", "accounts"])
        #expect(root.entries.map(\.line) == [1, 2, 3, 4, 6, 9])
        guard case .table(let aws) = root["aws"]?.item, case .tableArray(let accounts) = root["accounts"]?.item else {
            Issue.record("wrong structure")
            return
        }
        #expect(aws.line == 6)
        #expect(aws["x"]?.line == 7)
        #expect(accounts.map(\.line) == [9, 11])
        #expect(accounts.map { $0["id"]?.line } == [10, 12])
    }

    @Test(
        "constructs outside the subset are refused, naming the construct and the line",
        arguments: [
            ("a = 1\nk = 1.5", 2, "unsupported TOML: floats"),
            ("k = 1e6", 1, "unsupported TOML: floats"),
            ("k = -inf", 1, "unsupported TOML: floats"),
            ("k = nan", 1, "unsupported TOML: floats"),
            ("k = 1979-05-27", 1, "unsupported TOML: dates and times"),
            ("k = 1979-05-27T07:32:00Z", 1, "unsupported TOML: dates and times"),
            ("k = 07:32:00", 1, "unsupported TOML: dates and times"),
            ("\n\nk = { a = 1 }", 3, "unsupported TOML: inline tables"),
            ("k = \"\"\"\nmulti\n\"\"\"", 1, "unsupported TOML: multi-line strings"),
            ("k = '''x'''", 1, "unsupported TOML: multi-line strings"),
            ("a.b = 1", 1, "unsupported TOML: dotted keys"),
            ("a . b = 1", 1, "unsupported TOML: dotted keys"),
            ("[a.b]", 1, "unsupported TOML: dotted table names"),
            ("[[a.b]]", 1, "unsupported TOML: dotted table names"),
            ("k = 0x1F", 1, "unsupported TOML: hexadecimal, octal and binary integers"),
            ("k = 0o17", 1, "unsupported TOML: hexadecimal, octal and binary integers"),
            ("k = 0b1", 1, "unsupported TOML: hexadecimal, octal and binary integers"),
            ("k = [\n  [1],\n]", 2, "unsupported TOML: nested arrays"),
            ("k = [{ a = 1 }]", 1, "unsupported TOML: inline tables"),
        ])
    func unsupported(text: String, line: Int, fragment: String) throws {
        let error = try #require(parseError(text))
        #expect(error.line == line)
        #expect(error.message.contains(fragment), "message: \(error.message)")
    }

    @Test(
        "syntax errors name the line",
        arguments: [
            ("k = 1\nk = 2", 2, "duplicate key, already defined on line 1"),
            ("k = 1\n\"k\" = 2", 2, "duplicate key"),
            ("[aws]\nx = 1\n[aws]", 3, "duplicate table [aws], already defined on line 1"),
            ("[[a]]\n[a]", 2, "conflicts with [[a]] defined on line 1"),
            ("[a]\n[[a]]", 2, "conflicts with [a] defined on line 1"),
            ("a = 1\n[a]", 2, "conflicts with the key defined on line 1"),
            ("a = 1\n[[a]]", 2, "conflicts with the key defined on line 1"),
            ("[aws]\nx = 1\nx = 2", 3, "duplicate key, already defined on line 2"),
            ("k = \"open", 1, "unterminated string"),
            ("k = \"open\nx = 1", 1, "unterminated string"),
            ("k = 'open", 1, "unterminated string"),
            ("k = [\"a\",\n\"b\"", 1, "unterminated array"),
            ("k = [\"a\" \"b\"]", 1, "expected , or ]"),
            ("k = [,]", 1, "expected a value"),
            ("k = \"bad \\q escape\"", 1, "invalid escape \\q"),
            ("k = \"\\u12\"", 1, "needs 4 hex digits"),
            ("k = \"\\uD800\"", 1, "not a Unicode scalar value"),
            ("k = \"\\U00110000\"", 1, "not a Unicode scalar value"),
            ("k = \"ctl\u{1}\"", 1, "control character U+1"),
            ("k = 'ctl\u{7F}'", 1, "control character U+7F"),
            ("k = 1 # bell \u{7}", 1, "control character U+7 in a comment"),
            ("k = 1 2", 1, "expected the end of the line"),
            ("k = \"a\" \"b\"", 1, "expected the end of the line"),
            ("k =", 1, "expected a value after ="),
            ("k = # nothing", 1, "expected a value after ="),
            ("k\n= 1", 1, "expected = after the key"),
            ("= 1", 1, "expected a key"),
            ("k = 1\r", 1, "carriage return without line feed"),
            ("k = 1\rj = 2", 1, "carriage return without line feed"),
            ("k = 007", 1, "leading zeros"),
            ("k = 1__0", 1, "each _ must be between two digits"),
            ("k = _1", 1, "invalid value"),
            ("k = 1_", 1, "each _ must be between two digits"),
            ("k = 9223372036854775808", 1, "out of range"),
            ("k = 30s", 1, "text must be in quotes, e.g. \"30s\""),
            ("k = yes", 1, "text must be in quotes"),
            ("k = True", 1, "booleans are lowercase"),
            ("[aws", 1, "expected ] to close"),
            ("[[aws]", 1, "expected ]] to close"),
            ("[]", 1, "expected a key"),
            ("[aws] x = 1", 1, "expected the end of the line"),
            ("ключ = 1", 1, "expected a key"),
        ])
    func syntaxErrors(text: String, line: Int, fragment: String) throws {
        let error = try #require(parseError(text))
        #expect(error.line == line)
        #expect(error.message.contains(fragment), "message: \(error.message)")
        #expect(!error.description.contains("\n"))
    }

    @Test("errors name the key path inside tables and arrays")
    func errorFields() throws {
        #expect(parseError("[aws]\nmax_attempts = 1.5")?.field == "aws.max_attempts")
        #expect(parseError("[[accounts]]\n[[accounts]]\nregions = [\"a\", 1.5]")?.field == "accounts[2].regions[2]")
        #expect(parseError("\"odd\\nkey\" = 1.5")?.field == "\"odd\\nkey\"")
        #expect(parseError("k = 1 2")?.field == "k")
        #expect(parseError("  # comment\n!")?.field == "config")
    }

    @Test("integer parsing matches TOML's rules", arguments: ["1_2_3", "+0", "-9_223_372_036_854_775_808"])
    func integerRules(text: String) {
        #expect(TOMLParser.integer(text) != nil)
    }

    @Test("an empty document, or one of only comments and blank lines, is an empty root table")
    func empty() throws {
        #expect(try TOMLParser.parse("").entries.isEmpty)
        #expect(try TOMLParser.parse("# only\n\n   \t\n# comments\n").entries.isEmpty)
    }
}
