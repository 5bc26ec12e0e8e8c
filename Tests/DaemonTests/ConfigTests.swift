import BackorderCore
@testable import Daemon
import Engine
import Foundation
import Store
import TestSupport
import Testing

@Suite struct ConfigTests {
    static let minimal = """
        [inbox]
        directory = "/srv/inbox"
        [state]
        directory = "/srv/state"
        """

    static let endpoint = """
        [[endpoints]]
        name = "email"
        url = "https://mailer.example.com/hook"
        secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
        events = ["backorder.ready"]
        """

    func problems(_ text: String) -> [ConfigProblem] {
        do {
            _ = try ConfigLoader.parse(text, path: "/etc/backorderd/test.toml")
            return []
        } catch {
            return error.problems
        }
    }

    @Test func minimalConfigTakesEveryDefault() throws {
        let c = try ConfigLoader.parse(Self.minimal, path: "/etc/backorderd/x.toml")
        #expect(c.inbox.patterns == ["*.jsonl", "*.ndjson", "*.csv"])
        #expect(c.inbox.settle == .seconds(2))
        #expect(c.inbox.batchLines == 10_000)
        #expect(c.inbox.pollInterval == nil)
        #expect(c.policy == Policy())
        #expect(c.policy.longWait == .days(21))
        #expect(c.policy.lowStockThreshold == 5)
        #expect(c.delivery == DeliverySettings())
        #expect(c.delivery.maxAttempts == 12)
        #expect(c.metricsListen == nil)
        #expect(c.endpoints.isEmpty)
    }

    @Test func relativePathsAreTakenFromTheConfigFolder() throws {
        let c = try ConfigLoader.parse("[inbox]\ndirectory = \"in\"\n[state]\ndirectory = \"../st\"", path: "/opt/demo/cfg.toml")
        #expect(c.inbox.directory == "/opt/demo/in")
        #expect(c.stateDirectory == "/opt/st")
    }

    @Test(arguments: [
        ("", ["inbox.directory", "state.directory"]),
        ("[inbox]\ndirectory = 3\n[state]\ndirectory = \"/s\"", ["inbox.directory"]),
        (minimal + "\n[inbox.extra]", ["inbox.extra"]),
        ("inbox = 1\n[state]\ndirectory = \"/s\"", ["inbox", "inbox.directory"]),
        (minimal.replacingOccurrences(of: "[state]", with: "settle = \"2 seconds\"\n[state]"), ["inbox.settle"]),
        (minimal.replacingOccurrences(of: "[state]", with: "settle = 5\n[state]"), ["inbox.settle"]),
        (minimal.replacingOccurrences(of: "[state]", with: "batch_lines = 0\n[state]"), ["inbox.batch_lines"]),
        (minimal.replacingOccurrences(of: "[state]", with: "poll_interval = \"10ms\"\n[state]"), ["inbox.poll_interval"]),
        (minimal.replacingOccurrences(of: "[state]", with: "patterns = []\n[state]"), ["inbox.patterns"]),
        (minimal.replacingOccurrences(of: "[state]", with: "patterns = [\"*.csv\", 4]\n[state]"), ["inbox.patterns"]),
        (minimal.replacingOccurrences(of: "[state]", with: "setle = \"1s\"\n[state]"), ["inbox.setle"]),
        (minimal + "\n[policy]\nallocation = \"lifo\"", ["policy.allocation"]),
        (minimal + "\n[policy]\ngrace = \"-1s\"", ["policy.grace"]),
        (minimal + "\n[policy]\nlong_wait = \"0s\"", ["policy.long_wait"]),
        (minimal + "\n[policy]\nlow_stock_threshold = -1", ["policy.low_stock_threshold"]),
        (minimal + "\n[policy]\nlow_stock_threshold = 2.5", ["policy.low_stock_threshold"]),
        (minimal + "\n[policy]\nstock_counts = \"gross\"", ["policy.stock_counts"]),
        (minimal + "\n[policy]\ntimezone = \"Mars/Base\"", ["policy.timezone"]),
        (minimal + "\n[links]\ncancel = \"shop.example.com/{{order}}\"", ["links.cancel"]),
        (minimal + "\n[delivery]\ninitial_backoff = \"10s\"\nmax_backoff = \"5s\"", ["delivery.max_backoff"]),
        (minimal + "\n[delivery]\nmax_attempts = 0", ["delivery.max_attempts"]),
        (minimal + "\n[delivery]\nmax_age = \"soon\"", ["delivery.max_age"]),
        (minimal + "\n[delivery]\ntimeout = \"1h\"", ["delivery.timeout"]),
        (minimal + "\n[delivery]\nconcurrency = 5000", ["delivery.concurrency"]),
        (minimal + "\n[metrics]\nlisten = \"9464\"", ["metrics.listen"]),
        (minimal + "\n[metrics]\nlisten = \"127.0.0.1:99999\"", ["metrics.listen"]),
        ("endpoints = \"all\"\n" + minimal, ["endpoints"]),
        (minimal + "\n[[endpoints]]\nname = \"x\"", ["endpoints[0].url", "endpoints[0].secret", "endpoints[0].events"]),
        (minimal + "\n" + endpoint.replacingOccurrences(of: "https://mailer", with: "http://mailer"), ["endpoints[0].url"]),
        (minimal + "\n" + endpoint.replacingOccurrences(of: "https://mailer.example.com/hook", with: "ftp://x/y"), ["endpoints[0].url"]),
        (minimal + "\n" + endpoint.replacingOccurrences(of: "https://mailer.example.com/hook", with: "not a url"), ["endpoints[0].url"]),
        (minimal + "\n" + endpoint.replacingOccurrences(of: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", with: "hunter2"), ["endpoints[0].secret"]),
        (minimal + "\n" + endpoint.replacingOccurrences(of: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", with: "whsec_c2hvcnQ="), ["endpoints[0].secret"]),
        (minimal + "\n" + endpoint + "\nsecret_file = \"/etc/x\"", ["endpoints[0].secret"]),
        (minimal + "\n" + endpoint.replacingOccurrences(of: "backorder.ready", with: "backorder.shipped"), ["endpoints[0].events"]),
        (minimal + "\n" + endpoint.replacingOccurrences(of: "[\"backorder.ready\"]", with: "[]"), ["endpoints[0].events"]),
        (minimal + "\n" + endpoint + "\nquiet_hours = \"9pm-8am\"", ["endpoints[0].quiet_hours"]),
        (minimal + "\n" + endpoint + "\nmax_in_flight = 0", ["endpoints[0].max_in_flight"]),
        (minimal + "\n" + endpoint + "\nallow_insecure = \"yes\"", ["endpoints[0].allow_insecure"]),
        (minimal + "\n" + endpoint.replacingOccurrences(of: "\"email\"", with: "\"e mail\""), ["endpoints[0].name"]),
        (minimal + "\n" + endpoint + "\n" + endpoint, ["endpoints[1].name"]),
        ("[inbox\ndirectory = 1", ["line 1"]),
        // Durations too long to keep, and "off" where it means nothing.
        (minimal + "\n[delivery]\nmax_age = \"999999999999999d\"", ["delivery.max_age"]),
        (minimal.replacingOccurrences(of: "[state]", with: "settle = \"100000000000000h\"\n[state]"), ["inbox.settle"]),
        (minimal + "\n[policy]\nlong_wait = \"36501d\"", ["policy.long_wait"]),
        (minimal + "\n[delivery]\ntimeout = \"off\"", ["delivery.timeout"]),
        (minimal + "\n[policy]\ngrace = \"off\"", ["policy.grace"]),
        (minimal.replacingOccurrences(of: "[state]", with: "settle = \"off\"\n[state]"), ["inbox.settle"]),
        (minimal + "\ncheckpoint_records = 0", ["state.checkpoint_records"]),
        (minimal + "\ncheckpoint_interval = \"2h\"", ["state.checkpoint_interval"]),
        (minimal + "\nretain_delivered = \"10m\"", ["state.retain_delivered"]),
        (minimal + "\nretain_delivered = \"never\"", ["state.retain_delivered"]),
        // A host that only looks like loopback is remote.
        (minimal + "\n" + endpoint.replacingOccurrences(of: "https://mailer.example.com", with: "http://127.attacker.example"), ["endpoints[0].url"]),
        (minimal + "\n" + endpoint.replacingOccurrences(of: "https://mailer.example.com", with: "http://127.0.0.1.nip.io"), ["endpoints[0].url"]),
        (minimal + "\n" + endpoint.replacingOccurrences(of: "https://mailer.example.com", with: "http://localhost.example"), ["endpoints[0].url"]),
    ] as [(String, [String])])
    func namesEveryProblem(text: String, keys: [String]) {
        let found = problems(text)
        #expect(Set(found.map(\.key)) == Set(keys), "\(found)")
        #expect(found.allSatisfy { !$0.message.isEmpty })
    }

    @Test func listsEveryProblemAtOnce() {
        let text = """
            [inbox]
            directory = "/i"
            settle = "soon"
            [state]
            [policy]
            allocation = "random"
            [delivery]
            concurrency = 0
            """
        let keys = problems(text).map(\.key)
        #expect(keys == ["inbox.settle", "state.directory", "policy.allocation", "delivery.concurrency"])
    }

    @Test(arguments: [
        ("localhost", true), ("LOCALHOST", true), ("127.0.0.1", true), ("127.255.3.4", true), ("::1", true), ("[::1]", true),
        ("0:0:0:0:0:0:0:1", true), ("127.attacker.example", false), ("127.0.0.1.nip.io", false), ("localhost.example", false),
        ("128.0.0.1", false), ("::2", false), ("::ffff:127.0.0.1", false), ("", false), ("127.1", false),
    ] as [(String, Bool)])
    func loopbackIsDecidedFromTheParsedAddress(host: String, loopback: Bool) {
        #expect(ConfigLoader.isLoopback(host) == loopback, "\(host)")
    }

    @Test func stateKeysTakeTheirDefaultsOrTheirValues() throws {
        let d = try ConfigLoader.parse(Self.minimal, path: "/etc/b.toml")
        #expect(d.checkpoints == CheckpointPolicy())
        #expect(d.checkpoints.records == 100_000 && d.checkpoints.interval == .seconds(1))
        #expect(d.retainDelivered == .days(30))
        let set = try ConfigLoader.parse(Self.minimal + "\ncheckpoint_records = 7\ncheckpoint_interval = \"250ms\"\nretain_delivered = \"forever\"",
                                         path: "/etc/b.toml")
        #expect(set.checkpoints.records == 7 && set.checkpoints.interval == .ms(250))
        #expect(set.retainDelivered == nil)
    }

    @Test func offIsAValueOnlyForThePollInterval() throws {
        let text = Self.minimal.replacingOccurrences(of: "[state]", with: "poll_interval = \"off\"\n[state]")
        #expect(try ConfigLoader.parse(text, path: "/etc/b.toml").inbox.pollInterval == nil)
    }

    @Test func httpIsAllowedToLoopbackOrWhenInsecureIsSet() throws {
        let loop = Self.minimal + "\n" + Self.endpoint.replacingOccurrences(of: "https://mailer.example.com", with: "http://127.0.0.1:8080")
        #expect(problems(loop).isEmpty)
        let insecure = Self.minimal + "\n" + Self.endpoint.replacingOccurrences(of: "https://", with: "http://") + "\nallow_insecure = true"
        #expect(problems(insecure).isEmpty)
    }

    @Test func secretsRotateAndNeverPrint() throws {
        let text = Self.minimal + "\n" + Self.endpoint.replacingOccurrences(
            of: "\"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"",
            with: "[\"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\", \"whsec_c3RhZmYtYWxlcnRzLXNlY3JldC1rZXktMzI=\"]")
        let c = try ConfigLoader.parse(text, path: "/x.toml")
        #expect(c.endpoints[0].secrets.count == 2)
        #expect(!"\(c.endpoints[0])".contains("MfKQ9r8"))
    }

    @Test func readsSecretFilesAndWarnsWhenOthersCanReadThem() throws {
        let dir = TempDirectory()
        let secret = dir.file("email.secret")
        try Files.write(secret, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n")
        chmod(secret, 0o644)
        let text = Self.minimal + "\n" + Self.endpoint.replacingOccurrences(
            of: "secret = \"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"", with: "secret_file = \"email.secret\"")
        try Files.write(dir.file("b.toml"), text)
        chmod(dir.file("b.toml"), 0o600)
        let c = try ConfigLoader.load(path: dir.file("b.toml"))
        #expect(c.endpoints[0].secrets.count == 1)
        #expect(c.warnings.count == 1)
        #expect(c.warnings[0].contains("email.secret"))
        chmod(secret, 0o600)
        #expect(try ConfigLoader.load(path: dir.file("b.toml")).warnings.isEmpty)
        try Files.write(secret, "")
        #expect(throws: ConfigError.self) { try ConfigLoader.load(path: dir.file("b.toml")) }
    }

    @Test func warnsWhenAConfigHoldingASecretIsWorldReadable() throws {
        let dir = TempDirectory()
        try Files.write(dir.file("c.toml"), Self.minimal + "\n" + Self.endpoint)
        chmod(dir.file("c.toml"), 0o644)
        #expect(try ConfigLoader.load(path: dir.file("c.toml")).warnings.first?.contains("chmod 600") == true)
    }

    @Test func aMissingFileSaysWhatToDo() {
        #expect(throws: ConfigError.self) { try ConfigLoader.load(path: "/nonexistent/backorderd.toml") }
    }

    @Test func quietHoursWrapPastMidnight() throws {
        let q = try #require(QuietHours.parse("21:00-08:00"))
        #expect(q.contains(minuteOfDay: 22 * 60))
        #expect(q.contains(minuteOfDay: 7 * 60 + 59))
        #expect(!q.contains(minuteOfDay: 8 * 60))
        #expect(!q.contains(minuteOfDay: 12 * 60))
        #expect(q.description == "21:00-08:00")
    }

    static func repoFile(_ relative: String) -> String {
        var dir = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { dir = dir.deletingLastPathComponent() }
        return dir.appendingPathComponent(relative).path
    }
}
