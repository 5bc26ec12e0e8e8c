import BackorderCore
@testable import Delivery
import Mustache
import TestSupport
import Testing

/// `FastTemplate` against swift-mustache: the shipped templates, and thousands of
/// generated ones (line breaks, indentation, standalone tags, nested sections, lists,
/// missing values) on generated views — whatever `FastTemplate` accepts must render
/// byte for byte as swift-mustache renders it.
@Suite struct FastTemplateTests {
    static let scalars = ["name", "order", "sku", "qty", "cancel_url", "expected", "missing"]

    static func template(_ g: inout SplitMix, depth: Int = 0, inside: [String] = []) -> String {
        var out = ""
        for _ in 0..<Int.random(in: 1...8, using: &g) {
            switch Int.random(in: 0..<14, using: &g) {
            case 0: out += ["Hello", "a b", "-", "{", "}", "x}}", "ü"].randomElement(using: &g)!
            case 1: out += "\n"
            case 2: out += ["  ", "\t", " "].randomElement(using: &g)!
            case 3: out += "\r\n"
            case 4: out += "{{\(scalars.randomElement(using: &g)!)}}"
            case 5: out += "{{{\(scalars.randomElement(using: &g)!)}}}"
            case 6: out += "{{& \(scalars.randomElement(using: &g)!) }}"
            case 7: out += "{{! a comment }}"
            case 8 where depth < 3, 9 where depth < 3:
                let name = (scalars + ["lines", "remaining"]).randomElement(using: &g)!
                let inverted = Bool.random(using: &g)
                let open = Bool.random(using: &g) ? "\n" : ""
                let close = Bool.random(using: &g) ? "\n" : ""
                let pad = Bool.random(using: &g) ? "  " : ""
                out += "\(pad){{\(inverted ? "^" : "#")\(name)}}\(open)"
                out += template(&g, depth: depth + 1, inside: inverted ? inside : inside + [name])
                out += "\(close)\(pad){{/\(name)}}"
            case 10 where inside.last.map({ !["lines", "remaining"].contains($0) }) ?? false:
                out += "{{.}}"
            case 11: out += "{{ lines }}"  // a list as a variable: swift-mustache's to render
            default: out += "text "
            }
        }
        return out
    }

    static func view(_ g: inout SplitMix) -> TemplateObject {
        var v: TemplateObject = ["order": .text("O-1"), "sku": .text("MUG"), "qty": .int(Int64.random(in: -3...12, using: &g))]
        if Bool.random(using: &g) { v["name"] = .text(Bool.random(using: &g) ? "Ana" : "") }
        if Bool.random(using: &g) { v["cancel_url"] = .text("https://x.example/c") }
        if Bool.random(using: &g) { v["expected"] = .text("1 December 2026") }
        func line(_ i: Int) -> TemplateObject {
            var l: TemplateObject = ["sku": .text("S\(i)"), "qty": .int(Int64(i))]
            if i % 2 == 0 { l["expected"] = .text("day \(i)") }
            return l
        }
        v["lines"] = .list((0..<Int.random(in: 0...3, using: &g)).map(line))
        v["remaining"] = .list((0..<Int.random(in: 0...2, using: &g)).map(line))
        return v
    }

    @Test func generatedTemplatesRenderAsSwiftMustacheRendersThem() throws {
        var g = SplitMix(seed: 20_261_201)
        var compared = 0, declined = 0
        for _ in 0..<4_000 {
            let source = Self.template(&g)
            guard let mustache = try? MustacheTemplate(string: "{{% CONTENT_TYPE: TEXT}}" + source) else { continue }
            guard let fast = FastTemplate(source, lists: TemplateRenderer.lists) else { declined += 1; continue }
            for _ in 0..<3 {
                let v = Self.view(&g)
                let expected = mustache.render(v.anyView)
                let got = fast.render(v)
                #expect(got == expected, "template \(source.debugDescription) view \(v)")
                if got != expected { return }
                compared += 1
            }
        }
        #expect(compared > 6_000, "most generated templates are compiled (\(compared) compared, \(declined) declined)")
    }

    @Test func everyShippedTemplateIsCompiledAndRendersTheSame() throws {
        let r = try TemplateRenderer()
        #expect(r.fastTemplates == DefaultTemplates.all.keys.sorted())
        for (name, source) in DefaultTemplates.all {
            let fast = try #require(FastTemplate(source, lists: TemplateRenderer.lists))
            let mustache = try MustacheTemplate(string: "{{% CONTENT_TYPE: TEXT}}" + source)
            let type = String(name.dropFirst(3).split(separator: ".").dropLast().joined(separator: "."))
            for n in TemplateRenderer.samples(locale: "en", variations: true) where n.type.rawValue == type {
                let v = TemplateRenderer.view(n, locale: "en", zone: .gmt, formats: DateFormats())
                #expect(fast.render(v) == mustache.render(v.anyView), "\(name)")
            }
        }
    }

    @Test func whatItDoesNotTakeIsLeftToSwiftMustache() {
        for source in ["{{> partial}}", "{{=<% %>=}}", "{{uppercased(name)}}", "{{lines.sku}}", "{{#lines}}{{.}}{{/lines}}",
                       "{{lines}}", "{{#a}}unclosed", "x\u{2028}y", "{{$block}}{{/block}}"] {
            #expect(FastTemplate(source, lists: TemplateRenderer.lists) == nil, "\(source)")
        }
    }
}
