/// The schema migrations carried by the binary, in the order they apply.
public enum Migrations {
    /// Every migration embedded from `migrations/*.sql`, as (name, SQL), oldest first.
    public static var all: [(name: String, sql: String)] { EmbeddedMigrations.all }
}
