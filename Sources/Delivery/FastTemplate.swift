/// A Mustache template compiled for the views `TemplateRenderer` builds: text,
/// variables (`{{name}}`, `{{{name}}}`, `{{&name}}`), sections and inverted sections
/// over text, numbers and lists, comments. It renders without swift-mustache's dynamic
/// lookups (a fifth of the cost), and parses the way swift-mustache 2 does — the same
/// standalone-line rules, the same quirks — so the output is the same byte for byte.
///
/// `init` returns nil for anything else (partials, transforms, dotted names, set
/// delimiters, pragmas, unusual line breaks, a list used as a variable): such a
/// template is rendered by swift-mustache. `TemplateRenderer` also renders sample
/// messages through both at load and keeps this one only when they agree.
struct FastTemplate: Sendable {
    indirect enum Node: Sendable {
        case text(String)
        case variable(String)
        case section(String, [Node], inverted: Bool)
    }

    let nodes: [Node]

    /// Compiles `source`; `lists` names the view's list values (`lines`, `remaining`).
    init?(_ source: String, lists: Set<String>) {
        // Only "\n" and "\r\n" end lines here; other line-break characters are read by
        // swift-mustache in ways this parser does not copy.
        guard !source.contains(where: { $0.isNewline && $0 != "\n" && $0 != "\r\n" }) else { return nil }
        var p = Scanner(chars: Array(source))
        // The renderer gives swift-mustache `{{% CONTENT_TYPE: TEXT}}` + the template: that
        // tag is standalone when the first line is otherwise blank (which it then removes),
        // and a first line after it does not start a line.
        let startsOnNewLine = Self.lineFinished(&p)
        guard let nodes = Self.parse(&p, section: nil, newLine: startsOnNewLine, lists: lists, dot: false), p.atEnd else { return nil }
        self.nodes = nodes
    }

    func render(_ view: TemplateObject) -> String {
        var out = ""
        out.reserveCapacity(512)
        var stack: [TemplateValue] = [.list([view])]  // the root object, as the bottom of the stack
        Self.render(nodes, stack: &stack, into: &out)
        return out
    }

    // MARK: Rendering

    private static func lookup(_ name: String, stack: [TemplateValue]) -> TemplateValue? {
        if name == "." { return stack.last }
        // Objects on the stack, innermost first; scalars pushed by a section have no names.
        for v in stack.reversed() {
            if case .list(let objects) = v, objects.count == 1, let found = objects[0][name] { return found }
        }
        return nil
    }

    private static func render(_ nodes: [Node], stack: inout [TemplateValue], into out: inout String) {
        for node in nodes {
            switch node {
            case .text(let t):
                out += t
            case .variable(let name):
                switch lookup(name, stack: stack) {
                case .text(let s)?: out += s
                case .int(let i)?: out += String(i)
                case .list?, nil: break  // compile time keeps lists out of variables
                }
            case .section(let name, let children, let inverted):
                let value = lookup(name, stack: stack)
                switch (value, inverted) {
                case (nil, false): break
                case (nil, true): render(children, stack: &stack, into: &out)
                case (.list(let objects)?, false):
                    for o in objects {
                        stack.append(.list([o]))
                        render(children, stack: &stack, into: &out)
                        stack.removeLast()
                    }
                case (.list(let objects)?, true):
                    if objects.isEmpty { render(children, stack: &stack, into: &out) }
                case (let scalar?, false):
                    stack.append(scalar)
                    render(children, stack: &stack, into: &out)
                    stack.removeLast()
                case (_?, true): break
                }
            }
        }
    }

    // MARK: Parsing, after swift-mustache's `MustacheTemplate.parse`

    private struct Scanner {
        let chars: [Character]
        var i = 0
        var atEnd: Bool { i >= chars.count }
        var current: Character? { i < chars.count ? chars[i] : nil }

        /// Reads `s` if it comes next.
        mutating func read(_ s: String) -> Bool {
            var j = i
            for c in s {
                guard j < chars.count, chars[j] == c else { return false }
                j += 1
            }
            i = j
            return true
        }

        mutating func read(while accept: (Character) -> Bool) -> String {
            let start = i
            while i < chars.count, accept(chars[i]) { i += 1 }
            return String(chars[start..<i])
        }
    }

    private static let nameChars = Set<Character>("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-_?()*")

    /// Text up to the next `{{` (consumed) or line break (not consumed).
    private static func readText(_ p: inout Scanner) -> String {
        var text = ""
        while let c = p.current {
            if c == "\n" || c == "\r\n" { break }
            if c == "{" {
                if p.read("{{") { break }
                text.append(c)
                p.i += 1
                continue
            }
            text.append(c)
            p.i += 1
        }
        return text
    }

    /// A tag's name and its closing `}}`; nil for names this template type does not take.
    private static func readName(_ p: inout Scanner) -> String? {
        _ = p.read(while: \.isWhitespace)
        let name = p.read(while: { nameChars.contains($0) })
        _ = p.read(while: \.isWhitespace)
        guard p.read("}}") else { return nil }
        // Transforms, wildcards and dotted paths are left to swift-mustache.
        guard !name.isEmpty, name == "." || !name.contains(where: { "().*".contains($0) }) else { return nil }
        return name
    }

    /// The line ends here (after spaces and tabs), or the template does: the line break is consumed.
    private static func lineFinished(_ p: inout Scanner) -> Bool {
        if p.atEnd { return true }
        var q = p
        _ = q.read(while: { $0 == " " || $0 == "\t" })
        if let c = q.current, c.isNewline {
            q.i += 1
            p = q
            return true
        }
        return false
    }

    /// `dot`: whether `{{.}}` names a scalar here (directly inside a section over one).
    private static func parse(_ p: inout Scanner, section: String?, newLine startOnNewLine: Bool, lists: Set<String>,
                              dot: Bool) -> [Node]? {
        var nodes: [Node] = []
        var newLine = startOnNewLine
        var whiteSpaceBefore = ""
        func flush() {
            if !whiteSpaceBefore.isEmpty { nodes.append(.text(whiteSpaceBefore)); whiteSpaceBefore = "" }
        }
        while !p.atEnd {
            if newLine { whiteSpaceBefore = p.read(while: { $0 == " " || $0 == "\t" }) }
            let text = readText(&p)
            if let c = p.current, c.isNewline {
                nodes.append(.text(whiteSpaceBefore + text + String(c)))
                newLine = true
                p.i += 1
                continue
            }
            if !text.isEmpty {
                nodes.append(.text(whiteSpaceBefore + text))
                whiteSpaceBefore = ""
                newLine = false
            }
            if p.atEnd { break }
            var setNewLine = false
            switch p.current! {
            case "#", "^":
                let inverted = p.current == "^"
                p.i += 1
                guard let name = readName(&p), name != "." else { return nil }
                if newLine && lineFinished(&p) { setNewLine = true } else { flush() }
                // A section over a scalar pushes it (`.` names it); an inverted one pushes
                // nothing over a scalar, and the (empty) list over a list.
                let childDot = lists.contains(name) ? false : (inverted ? dot : true)
                guard let children = parse(&p, section: name, newLine: setNewLine, lists: lists, dot: childDot) else { return nil }
                nodes.append(.section(name, children, inverted: inverted))
            case "/":
                p.i += 1
                guard let name = readName(&p), name == section else { return nil }
                if !(newLine && lineFinished(&p)) { flush() }
                return nodes
            case "!":
                p.i += 1
                while !p.atEnd, !p.read("}}") { p.i += 1 }
                setNewLine = newLine && lineFinished(&p)
            case "{":
                flush()
                p.i += 1
                guard let name = readName(&p), p.read("}") else { return nil }
                guard variableAllowed(name, lists: lists, dot: dot) else { return nil }
                nodes.append(.variable(name))
            case "&":
                flush()
                p.i += 1
                guard let name = readName(&p), variableAllowed(name, lists: lists, dot: dot) else { return nil }
                nodes.append(.variable(name))
            case ">", "<", "$", "=", "%":
                return nil  // partials, blocks, delimiters, pragmas: swift-mustache's
            default:
                flush()
                guard let name = readName(&p), variableAllowed(name, lists: lists, dot: dot) else { return nil }
                nodes.append(.variable(name))
            }
            newLine = setNewLine
        }
        return section == nil ? nodes : nil  // a section left open is swift-mustache's error to report
    }

    /// A variable names text or a number: not a list, and `.` only where it names a scalar.
    private static func variableAllowed(_ name: String, lists: Set<String>, dot: Bool) -> Bool {
        name == "." ? dot : !lists.contains(name)
    }
}
