import BackorderCore
import Engine
import Delivery
import Foundation
import PostgresStore
import Inbox
import TOMLKit

/// Reads and validates a TOML configuration, collecting every problem before it gives up.
public enum ConfigLoader {
    public static let defaultPath = "/etc/backorderd/backorderd.toml"

    /// Loads the file at `path`; relative directories in it are taken from the file's folder.
    public static func load(path: String) throws(ConfigError) -> Config {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigError(path: path, problems: [ConfigProblem("(file)", "cannot read \(path); pass --config PATH or create it (see config/backorderd.toml)")])
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigError(path: path, problems: [ConfigProblem("(file)", "\(path) is not UTF-8 text")])
        }
        var config = try parse(text, path: path)
        try checkTemplates(config)
        if config.endpoints.contains(where: { $0.secretSource == .inline && !$0.secrets.isEmpty }),
           let mode = permissions(path), mode & 0o077 != 0 {
            config.warnings.append("\(path) holds a secret and other users can read it (mode \(String(mode, radix: 8))): chmod 600 it, or move the secret to a credential (secret_credential) or a secret_file")
        }
        let claimed = config.endpoints.reduce(0) { $0 + config.inFlightLimit($1) }
        if claimed > config.delivery.concurrency {
            config.warnings.append("the endpoints may have \(claimed) deliveries under way together but delivery.concurrency is \(config.delivery.concurrency): "
                + "endpoints that stop answering can then hold back the others; raise delivery.concurrency to \(claimed) or lower max_in_flight")
        }
        return config
    }

    /// Loads the templates the configuration names and renders each with sample data:
    /// a template that cannot render is found here, not at 3 a.m.
    static func checkTemplates(_ config: Config) throws(ConfigError) {
        do {
            let problems = try TemplateRenderer(directory: config.templatesDirectory, defaultTimeZone: config.policy.timezone).check()
            if !problems.isEmpty {
                throw ConfigError(path: config.path, problems: problems.map { ConfigProblem("templates", $0) })
            }
        } catch let e as TemplateError {
            throw ConfigError(path: config.path, problems: e.problems.map { ConfigProblem("templates", $0) })
        } catch let e as ConfigError {
            throw e
        } catch {
            throw ConfigError(path: config.path, problems: [ConfigProblem("templates", "\(error)")])
        }
    }

    static func permissions(_ path: String) -> Int? {
        (try? FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int) ?? nil
    }

    /// Validates configuration text. `path` names the file in messages and anchors relative paths.
    public static func parse(_ text: String, path: String) throws(ConfigError) -> Config {
        let table: TOMLTable
        do {
            table = try TOMLTable(string: text)
        } catch let e as TOMLParseError {
            throw ConfigError(path: path, problems: [ConfigProblem("line \(e.source.begin.line)", "not valid TOML: \(e.description)")])
        } catch {
            throw ConfigError(path: path, problems: [ConfigProblem("(file)", "not valid TOML: \(error)")])
        }
        let base = (path as NSString).deletingLastPathComponent
        var r = TableReader(table: table, prefix: "", problems: [])
        r.allow(["inbox", "state", "policy", "links", "templates", "delivery", "metrics", "http", "endpoints"])

        // [inbox]
        var inboxR = r.section("inbox")
        let inboxDir = inboxR.path("directory", base: base, required: true) ?? ""
        var inbox = InboxSettings(directory: inboxDir)
        if let patterns = inboxR.stringArray("patterns") {
            if patterns.isEmpty || patterns.contains(where: \.isEmpty) {
                inboxR.problem("patterns", "must list at least one non-empty glob such as \"*.jsonl\"")
            } else {
                inbox.patterns = patterns
            }
        }
        inbox.settle = inboxR.span("settle", default: inbox.settle, min: .zero)
        inbox.batchLines = inboxR.int("batch_lines", default: inbox.batchLines, range: 1...1_000_000)
        inbox.pollInterval = inboxR.optionalSpan("poll_interval", min: Span(milliseconds: 100), allowOff: true)
        inboxR.finish()
        r.merge(inboxR)

        // [state]
        var stateR = r.section("state")
        let stateDir = stateR.path("directory", base: base, required: true) ?? ""
        var checkpoints = CheckpointPolicy()
        checkpoints.records = stateR.int("checkpoint_records", default: checkpoints.records, range: 1...10_000_000)
        checkpoints.interval = stateR.span("checkpoint_interval", default: checkpoints.interval, min: .ms(1))
        if checkpoints.interval > .hours(1) {
            stateR.problem("checkpoint_interval", "(\(checkpoints.interval)) is longer than the 1h allowed; a crash would repeat that much work")
        }
        var retain = Config.defaultRetainDelivered
        if let text = stateR.peekString("retain_delivered"), text == "forever" {
            _ = stateR.take("retain_delivered")
            retain = nil
        } else if let r = stateR.optionalSpan("retain_delivered", min: .hours(1)) {
            retain = r
        }
        var backendWarnings: [String] = []
        let backend = Self.backend(&stateR, base: base, warnings: &backendWarnings)
        stateR.finish()
        r.merge(stateR)

        // [policy]
        var policyR = r.section("policy")
        var policy = Policy()
        policy.allocation = policyR.choice("allocation", default: policy.allocation)
        policy.grace = policyR.span("grace", default: policy.grace, min: .zero)
        policy.longWait = policyR.span("long_wait", default: policy.longWait, min: Span(milliseconds: 1))
        policy.lowStockThreshold = Int64(policyR.int("low_stock_threshold", default: Int(policy.lowStockThreshold), range: 0...1_000_000_000))
        policy.stockCounts = policyR.choice("stock_counts", default: policy.stockCounts)
        if let tz = policyR.string("timezone") {
            if TimeZone(identifier: tz) == nil {
                policyR.problem("timezone", "'\(tz)' is not a time zone; use an IANA name such as \"UTC\" or \"Europe/Berlin\"")
            } else {
                policy.timezone = tz
            }
        }
        policyR.finish()
        r.merge(policyR)

        // [links]
        var linksR = r.section("links")
        var cancel: String? = nil
        if let c = linksR.string("cancel") {
            if !(c.hasPrefix("https://") || c.hasPrefix("http://")) {
                linksR.problem("cancel", "must be an http(s) URL template such as \"https://shop.example.com/orders/{{order}}/cancel\"")
            } else {
                cancel = c
            }
        }
        linksR.finish()
        r.merge(linksR)

        // [templates]
        var tR = r.section("templates")
        let templates = tR.path("directory", base: base, required: false)
        if let templates {
            var isDir: ObjCBool = false
            if !FileManager.default.fileExists(atPath: templates, isDirectory: &isDir) || !isDir.boolValue {
                tR.problem("directory", "\(templates) is not a directory; point it at a folder of LOCALE/TYPE.PART.mustache files, or remove the key to use the built-in templates")
            }
        }
        tR.finish()
        r.merge(tR)

        // [delivery]
        var dR = r.section("delivery")
        var delivery = DeliverySettings()
        delivery.initialBackoff = dR.span("initial_backoff", default: delivery.initialBackoff, min: Span(milliseconds: 1))
        delivery.maxBackoff = dR.span("max_backoff", default: delivery.maxBackoff, min: Span(milliseconds: 1))
        if delivery.maxBackoff < delivery.initialBackoff {
            dR.problem("max_backoff", "(\(delivery.maxBackoff)) is shorter than initial_backoff (\(delivery.initialBackoff)); make it at least as long")
        }
        delivery.maxAttempts = dR.int("max_attempts", default: delivery.maxAttempts, range: 1...1000)
        delivery.maxAge = dR.span("max_age", default: delivery.maxAge, min: .seconds(1))
        delivery.removedEndpointGrace = dR.span("removed_endpoint_grace", default: delivery.removedEndpointGrace, min: .zero)
        delivery.timeout = dR.span("timeout", default: delivery.timeout, min: Span(milliseconds: 10))
        if delivery.timeout > .minutes(10) { dR.problem("timeout", "(\(delivery.timeout)) is longer than the 10m allowed") }
        delivery.concurrency = dR.int("concurrency", default: delivery.concurrency, range: 1...1024)
        dR.finish()
        r.merge(dR)

        // [metrics]
        var mR = r.section("metrics")
        var listen: String? = nil
        if let l = mR.string("listen") {
            if let (host, port) = splitHostPort(l), (1...65535).contains(port), !host.isEmpty {
                listen = l
            } else {
                mR.problem("listen", "'\(l)' is not HOST:PORT; write e.g. \"127.0.0.1:9464\"")
            }
        }
        mR.finish()
        r.merge(mR)

        // [http]
        var httpWarnings: [String] = []
        var hR = r.section("http")
        let http = httpSettings(&hR, base: base, metricsListen: listen, warnings: &httpWarnings)
        hR.finish()
        r.merge(hR)

        // [[endpoints]]
        var endpoints: [Endpoint] = []
        var warnings: [String] = httpWarnings
        if let value = r.take("endpoints") {
            if let array = value.array {
                for i in 0..<array.count {
                    guard let t = array[i].table else {
                        r.problem("endpoints[\(i)]", "must be a table ([[endpoints]])")
                        continue
                    }
                    var eR = TableReader(table: t, prefix: "endpoints[\(i)].", problems: [])
                    if let e = endpoint(&eR, base: base, warnings: &warnings) {
                        if endpoints.contains(where: { $0.name == e.name }) {
                            eR.problem("name", "'\(e.name)' is used by another endpoint; names must be unique")
                        }
                        endpoints.append(e)
                    }
                    eR.finish()
                    r.merge(eR)
                }
            } else {
                r.problem("endpoints", "must be written as [[endpoints]] tables")
            }
        }
        r.finish()
        guard r.problems.isEmpty else { throw ConfigError(path: path, problems: r.problems) }
        var config = Config(inbox: inbox, stateDirectory: stateDir, policy: policy, cancelLink: cancel, templatesDirectory: templates,
                            delivery: delivery,
                            metricsListen: listen, endpoints: endpoints, warnings: backendWarnings + warnings, path: path)
        config.checkpoints = checkpoints
        config.http = http
        config.retainDelivered = retain
        config.backend = backend
        return config
    }

    private static func endpoint(_ r: inout TableReader, base: String, warnings: inout [String]) -> Endpoint? {
        let name = r.string("name", required: true) ?? ""
        if !name.isEmpty, !name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) {
            r.problem("name", "'\(name)' may hold only letters, digits, '-' and '_'")
        }
        let url = r.string("url", required: true) ?? ""
        let allowInsecure = r.bool("allow_insecure", default: false)
        if !url.isEmpty { checkURL(url, allowInsecure: allowInsecure, &r) }
        var secrets: [Secret] = []
        let inline = r.take("secret")
        var file = r.path("secret_file", base: base, required: false)
        var fileKey = "secret_file"
        var source: Endpoint.SecretSource = file.map { .file($0) } ?? .inline
        if let credential = r.string("secret_credential") {
            fileKey = "secret_credential"
            source = .credential(credential)
            if let path = credentialPath(credential, &r) {
                if inline != nil || file != nil {
                    r.problem("secret_credential", "set only one of secret, secret_file and secret_credential")
                }
                file = path
            }
        }
        switch (inline, file) {
        case (nil, nil):
            if fileKey == "secret_file" {
                r.problem("secret", "missing: set secret_credential = \"NAME\" (systemd LoadCredential=), secret_file = \"/etc/backorderd/NAME.secret\" or secret = \"whsec_…\"")
            }
        case (_?, _?):
            r.problem("secret", "set either secret or secret_file, not both")
        case (let v?, nil):
            var texts: [String] = []
            if let s = v.string { texts = [s] } else if let a = v.array { texts = (0..<a.count).compactMap { a[$0].string } }
            if texts.isEmpty { r.problem("secret", "must be a \"whsec_…\" string, or a list of them while rotating") }
            for t in texts {
                if let s = decodeSecret(t) { secrets.append(s) } else {
                    r.problem("secret", "is not a Standard Webhooks secret: expected \"whsec_\" followed by base64 (at least 16 bytes)")
                }
            }
        case (nil, let f?):
            if let data = FileManager.default.contents(atPath: f), let text = String(data: data, encoding: .utf8) {
                let lines = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
                if lines.isEmpty { r.problem(fileKey, "\(f) is empty; put one whsec_… secret per line in it") }
                for l in lines {
                    if let s = decodeSecret(l) { secrets.append(s) } else {
                        r.problem(fileKey, "\(f) holds a line that is not a whsec_… secret")
                    }
                }
                if fileKey == "secret_file", let mode = permissions(f), mode & 0o077 != 0 {
                    warnings.append("secret_file \(f) can be read by other users (mode \(String(mode, radix: 8))): chmod 600 it")
                }
            } else {
                r.problem(fileKey, "cannot read \(f); check the path and that the daemon's user may read it")
            }
        }
        var events: [String] = []
        if let list = r.stringArray("events", required: true) {
            if list.isEmpty { r.problem("events", "must list at least one event type: \(EventType.all.joined(separator: ", "))") }
            for e in list {
                if EventType.all.contains(e) { events.append(e) } else {
                    r.problem("events", "'\(e)' is not an event type; choose from \(EventType.all.joined(separator: ", "))")
                }
            }
        }
        var quiet: QuietHours? = nil
        if let q = r.string("quiet_hours") {
            quiet = QuietHours.parse(q)
            if quiet == nil { r.problem("quiet_hours", "'\(q)' is not a window; write e.g. \"21:00-08:00\"") }
        }
        let maxInFlight = r.optionalInt("max_in_flight", range: 1...1024)
        return Endpoint(name: name, url: url, secrets: secrets, secretSource: source, events: events, quietHours: quiet,
                        allowInsecure: allowInsecure, maxInFlight: maxInFlight)
    }

    /// The file systemd put a credential in: `$CREDENTIALS_DIRECTORY/NAME`, set for a
    /// service with `LoadCredential=NAME:…` or `LoadCredentialEncrypted=NAME:…`.
    private static func credentialPath(_ name: String, key: String = "secret_credential", instead: String = "secret_file",
                                       _ r: inout TableReader) -> String? {
        guard !name.isEmpty, !name.contains("/"), name != ".", name != ".." else {
            r.problem(key, "'\(name)' is not a credential name; use the NAME of LoadCredential=NAME:PATH")
            return nil
        }
        guard let dir = ProcessInfo.processInfo.environment["CREDENTIALS_DIRECTORY"], !dir.isEmpty else {
            r.problem(key, "$CREDENTIALS_DIRECTORY is not set: systemd sets it for a unit with LoadCredential=\(name):PATH; outside systemd, run with CREDENTIALS_DIRECTORY=DIR or use \(instead)")
            return nil
        }
        return dir + "/" + name
    }

    /// `backend`, and for PostgreSQL `url`, `password_credential` or `password_file`, and `node`.
    private static func backend(_ r: inout TableReader, base: String, warnings: inout [String]) -> StateBackend {
        let name = r.string("backend") ?? StateBackend.names[0]
        guard name == "postgres" else {
            if name != "sqlite" { r.problem("backend", "'\(name)' is not a backend; choose \(StateBackend.names.joined(separator: " or "))") }
            for key in ["url", "password_credential", "password_file", "node"] where r.take(key) != nil {
                r.problem(key, "is for backend = \"postgres\"; remove it, or set backend = \"postgres\"")
            }
            return .sqlite
        }
        var url: PostgresURL? = nil
        if let text = r.string("url", required: true) {
            do {
                url = try PostgresURL(parsing: text)
            } catch {
                // The key is said by the problem's place: "state.url's sslmode must be…" → "sslmode must be…".
                var text = error.description
                for prefix in ["state.url's ", "state.url "] where text.hasPrefix(prefix) {
                    text = String(text.dropFirst(prefix.count))
                    break
                }
                r.problem("url", text)
            }
        }
        var password: String? = nil, source: String? = nil
        let credential = r.string("password_credential")
        var file = r.path("password_file", base: base, required: false)
        if let credential {
            if file != nil { r.problem("password_credential", "set only one of password_credential and password_file") }
            file = credentialPath(credential, key: "password_credential", instead: "password_file", &r)
            source = "credential \(credential)"
        } else if let file {
            source = file
            if let mode = permissions(file), mode & 0o077 != 0 {
                warnings.append("state.password_file \(file) can be read by other users (mode \(String(mode, radix: 8))): chmod 600 it")
            }
        }
        if let f = file {
            let key = credential == nil ? "password_file" : "password_credential"
            if let data = FileManager.default.contents(atPath: f), let text = String(data: data, encoding: .utf8) {
                // The first line, without its end: a file written by `echo` ends in a newline.
                let first = text.split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
                if first.isEmpty { r.problem(key, "\(f) is empty; put the database password on its first line") }
                password = first
            } else {
                r.problem(key, "cannot read \(f); check the path and that the daemon's user may read it")
            }
        }
        var node = PostgresSettings.hostName()
        if let n = r.string("node") {
            // 52: the server keeps 63 bytes of `backorderd/NODE`.
            if n.isEmpty || n.count > 52 || !n.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }) {
                r.problem("node", "'\(n)' must be 1 to 52 letters, digits, '-', '_' or '.' (it names this daemon on the database)")
            } else {
                node = n
            }
        }
        guard let url else { return .sqlite }
        return .postgres(PostgresSettings(url: url, password: password, passwordSource: source, node: node))
    }

    static func decodeSecret(_ text: String) -> Secret? {
        WebhookSigner.key(of: text).map { Secret(text: text, key: $0) }
    }

    private static func checkURL(_ url: String, allowInsecure: Bool, _ r: inout TableReader) {
        guard let c = URLComponents(string: url), let scheme = c.scheme?.lowercased(), let host = c.host, !host.isEmpty else {
            r.problem("url", "is not a valid URL; write e.g. \"https://mailer.example.com/hooks/backorder\"")
            return
        }
        switch scheme {
        case "https": break
        case "http":
            if !isLoopback(host), !allowInsecure {
                r.problem("url", "uses plain http to \(host), which is not loopback; use https, or set allow_insecure = true on this endpoint")
            }
        default:
            r.problem("url", "scheme '\(scheme)' is not supported; use https")
        }
    }

    /// Whether a URL's host is this machine: exactly `localhost`, an IPv4 literal in
    /// 127.0.0.0/8 or the IPv6 literal `::1` (bracketed or not). Decided from the parsed
    /// address, never from a text prefix: `127.attacker.example` is a remote name.
    public static func isLoopback(_ host: String) -> Bool {
        var h = host.lowercased()
        if h.hasPrefix("["), h.hasSuffix("]") { h = String(h.dropFirst().dropLast()) }
        if h == "localhost" { return true }
        var v4 = in_addr()
        if inet_pton(AF_INET, h, &v4) == 1 {
            return UInt32(bigEndian: v4.s_addr) >> 24 == 127
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, h, &v6) == 1 {
            return withUnsafeBytes(of: &v6) { b in b.prefix(15).allSatisfy { $0 == 0 } && b[15] == 1 }
        }
        return false
    }

    /// `[http]`: where the status page listens and who may read it. The page shows
    /// orders and masked contact details, so a non-loopback address needs both
    /// `allow_remote = true` and a token.
    static func httpSettings(_ r: inout TableReader, base: String, metricsListen: String?, warnings: inout [String]) -> HTTPSettings? {
        let allowRemote = r.bool("allow_remote", default: false)
        let tokenPath = r.string("token_file").map { $0.hasPrefix("/") ? $0 : base + "/" + $0 }
        guard let listen = r.string("listen") else {
            if allowRemote || tokenPath != nil { r.problem("listen", "missing: the [http] section needs listen = \"127.0.0.1:8080\" (or remove the section)") }
            return nil
        }
        guard let (host, port) = splitHostPort(listen), (1...65535).contains(port), !host.isEmpty else {
            r.problem("listen", "'\(listen)' is not HOST:PORT; write e.g. \"127.0.0.1:8080\"")
            return nil
        }
        if listen == metricsListen {
            r.problem("listen", "is the same address as metrics.listen; remove listen from [metrics]: the [http] listener serves /metrics too")
        }
        var token: BearerToken? = nil
        if let path = tokenPath {
            if let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) {
                let value = text.trimmingCharacters(in: .whitespacesAndNewlines)
                if value.count < BearerToken.minimumLength || value.contains(where: \.isWhitespace) {
                    r.problem("token_file", "\(path) must hold one token of at least \(BearerToken.minimumLength) characters and no spaces; make one with: head -c 32 /dev/urandom | base64 > \(path)")
                } else {
                    token = BearerToken(value)
                }
                if let mode = permissions(path), mode & 0o077 != 0 {
                    warnings.append("token_file \(path) can be read by other users (mode \(String(mode, radix: 8))): chmod 600 it")
                }
            } else {
                r.problem("token_file", "cannot read \(path); check the path and that the daemon's user may read it")
            }
        }
        if !isLoopback(host) {
            if !allowRemote {
                r.problem("listen", "'\(listen)' is not a loopback address, and the page shows orders and customers: listen on 127.0.0.1, or set allow_remote = true and token_file")
            } else if tokenPath == nil {
                r.problem("token_file", "missing: allow_remote = true needs token_file, a file holding the bearer token every request must send (Authorization: Bearer TOKEN)")
            }
        }
        return HTTPSettings(listen: listen, allowRemote: allowRemote, token: token)
    }

    static func splitHostPort(_ s: String) -> (String, Int)? {
        guard let colon = s.lastIndex(of: ":"), let port = Int(s[s.index(after: colon)...]) else { return nil }
        return (String(s[..<colon]), port)
    }
}
