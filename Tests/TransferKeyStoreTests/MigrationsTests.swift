import Testing

@testable import TransferKeyStore

@Suite("Embedded migrations")
struct MigrationsTests {
    @Test("the binary carries every migration, numbered and in order")
    func embedded() {
        let names = Migrations.all.map(\.name)
        #expect(names.first == "0001_init")
        #expect(names == names.sorted())
        #expect(Migrations.all.allSatisfy { $0.sql.contains("CREATE") })
    }
}
