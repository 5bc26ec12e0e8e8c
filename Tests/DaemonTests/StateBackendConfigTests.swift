import BackorderCore
@testable import Daemon
import Foundation
import PostgresStore
import TestSupport
import Testing

/// `[state] backend = "postgres"`: what is taken, what is refused, and in which words.
@Suite struct StateBackendConfigTests {
    static func parse(_ state: String) throws -> Config {
        try ConfigLoader.parse("[inbox]\ndirectory = \"/srv/inbox\"\n[state]\ndirectory = \"/srv/state\"\n" + state, path: "/etc/backorderd/t.toml")
    }

    static func problems(_ state: String) -> [String] {
        do {
            _ = try parse(state)
            return []
        } catch {
            return (error as? ConfigError)?.problems.map(\.description) ?? ["\(error)"]
        }
    }

    @Test func sqliteIsTheDefault() throws {
        #expect(try Self.parse("").backend == .sqlite)
        #expect(try Self.parse("backend = \"sqlite\"").backend == .sqlite)
    }

    @Test func postgresTakesAURLAPasswordFileAndANode() throws {
        let root = TempDirectory()
        let file = root.file("pg.password")
        try Files.write(file, "s3cret\n")
        chmod(file, 0o644)
        let c = try Self.parse("""
            backend = "postgres"
            url = "postgresql://bo@db.internal:6432/shop?sslmode=require"
            password_file = "\(file)"
            node = "web-1"
            """)
        guard case .postgres(let pg) = c.backend else { Issue.record("not postgres: \(c.backend)"); return }
        #expect(pg.url == PostgresURL(user: "bo", host: "db.internal", port: 6432, database: "shop", tls: .require))
        #expect(pg.password == "s3cret", "the first line, without its newline")
        #expect(pg.node == "web-1")
        #expect(c.warnings.contains { $0.contains("password_file") && $0.contains("chmod 600") }, "\(c.warnings)")
        #expect(!c.warnings.joined().contains("s3cret"))
        chmod(file, 0o600)
        #expect(try Self.parse("backend = \"postgres\"\nurl = \"postgresql://bo@db/shop\"\npassword_file = \"\(file)\"").warnings.isEmpty)
    }

    @Test func theNodeDefaultsToTheHostName() throws {
        guard case .postgres(let pg) = try Self.parse("backend = \"postgres\"\nurl = \"postgresql://bo@db/shop\"").backend else {
            Issue.record("not postgres")
            return
        }
        #expect(pg.node == PostgresSettings.hostName() && !pg.node.isEmpty)
        #expect(pg.password == nil)
        #expect(pg.url.tls == .verifyFull, "verify-full unless told otherwise")
    }

    @Test(arguments: [
        ("backend = \"mysql\"", "state.backend: 'mysql' is not a backend; choose sqlite or postgres"),
        ("backend = \"postgres\"", "state.url: missing"),
        ("backend = \"postgres\"\nurl = \"postgresql://bo:hunter2@db/shop\"", "state.url: must not hold a password"),
        ("backend = \"postgres\"\nurl = \"mysql://bo@db/shop\"", "state.url: must look like postgresql://"),
        ("backend = \"postgres\"\nurl = \"postgresql://bo@db/shop?sslmode=maybe\"", "state.url: sslmode must be disable, prefer, require or verify-full"),
        ("url = \"postgresql://bo@db/shop\"", "state.url: is for backend = \"postgres\""),
        ("backend = \"postgres\"\nurl = \"postgresql://bo@db/shop\"\npassword_file = \"/nonexistent/pw\"", "state.password_file: cannot read /nonexistent/pw"),
        ("backend = \"postgres\"\nurl = \"postgresql://bo@db/shop\"\nnode = \"web 1\"", "state.node: 'web 1' must be"),
    ])
    func refusedWithWhatToChange(_ state: String, _ expected: String) {
        let found = Self.problems(state)
        #expect(found.contains { $0.hasPrefix(expected) || $0.contains(expected) }, "\(found)")
        #expect(!found.joined().contains("hunter2"), "a password never echoed")
    }

    @Test func aPasswordCredentialNeedsSystemdsDirectory() {
        let found = Self.problems("backend = \"postgres\"\nurl = \"postgresql://bo@db/shop\"\npassword_credential = \"pg\"")
        if ProcessInfo.processInfo.environment["CREDENTIALS_DIRECTORY"] == nil {
            #expect(found.contains { $0.contains("state.password_credential") && $0.contains("CREDENTIALS_DIRECTORY") }, "\(found)")
        }
    }
}
