import Testing

@Suite("CLI placeholder")
struct HelpTests {
    @Test("placeholder until the CLI lands") func placeholder() { #expect(1 + 1 == 2) }
}
