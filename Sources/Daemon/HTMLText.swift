/// Builds an HTML page as text: every value goes through `escape`, the layout is one
/// self-contained document (inline CSS, no script, no external asset) that reads on a
/// phone.
struct HTMLText {
    private(set) var text = ""

    /// Escapes `&`, `<`, `>`, `"` and `'` for text and attribute values.
    static func escape(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for c in s.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }

    /// Percent-encodes a value for a path segment or a query parameter.
    static func urlEncode(_ s: String) -> String {
        var out = ""
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(b))
            default:
                out += "%" + (b < 16 ? "0" : "") + String(b, radix: 16, uppercase: true)
            }
        }
        return out
    }

    /// Raw markup (never a value from the state: use `text(_:)` or `cell(_:)` for those).
    mutating func raw(_ markup: String) { text += markup }
    mutating func text(_ value: String) { text += Self.escape(value) }

    mutating func heading(_ level: Int, _ value: String) { raw("<h\(level)>"); text(value); raw("</h\(level)>\n") }

    /// A table: headers, then rows of already-escaped cells (`cell`, `link`).
    mutating func table(_ id: String, _ headers: [String], _ rows: [[String]], empty: String) {
        guard !rows.isEmpty else { raw("<p class=\"empty\" id=\"\(id)\">"); text(empty); raw("</p>\n"); return }
        raw("<div class=\"scroll\"><table id=\"\(id)\"><thead><tr>")
        for h in headers { raw("<th>"); text(h); raw("</th>") }
        raw("</tr></thead><tbody>\n")
        for r in rows {
            raw("<tr>")
            for (i, c) in r.enumerated() { raw("<td data-label=\"\(Self.escape(headers[min(i, headers.count - 1)]))\">\(c)</td>") }
            raw("</tr>\n")
        }
        raw("</tbody></table></div>\n")
    }

    static func cell(_ value: String?) -> String { value.map(escape) ?? "–" }
    static func link(_ href: String, _ value: String) -> String { "<a href=\"\(escape(href))\">\(escape(value))</a>" }
    static func code(_ value: String) -> String { "<code>\(escape(value))</code>" }
    static func badge(_ value: String, _ kind: String) -> String { "<span class=\"badge \(kind)\">\(escape(value))</span>" }

    /// The whole document around `body`.
    static func page(title: String, version: String, body: String) -> String {
        """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>\(escape(title)) · backorderd</title>
        <style>
        body{font:15px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1d232a;background:#f6f7f9}
        header{background:#1d2b3a;color:#fff;padding:.6em 1em;display:flex;flex-wrap:wrap;gap:.4em 1.2em;align-items:center}
        header a{color:#fff;text-decoration:none;font-weight:600}header .brand{font-size:1.1em;margin-right:.5em}
        header form{margin-left:auto;display:flex;gap:.3em}
        input,select,button{font:inherit;padding:.25em .5em;border:1px solid #b8c0c8;border-radius:4px}
        main{padding:0 1em 2em;max-width:1200px}
        h1{font-size:1.3em;margin:1em 0 .4em}h2{font-size:1.1em;margin:1.4em 0 .4em}
        .scroll{overflow-x:auto}table{border-collapse:collapse;background:#fff;min-width:100%}
        th,td{padding:.35em .6em;border-bottom:1px solid #e3e6ea;text-align:left;white-space:nowrap;vertical-align:top}
        th{background:#eef1f4;font-weight:600;font-size:.9em}td.num,th.num{text-align:right}
        code{font:13px ui-monospace,SFMono-Regular,Menlo,monospace;background:#eef1f4;padding:.1em .3em;border-radius:3px;white-space:pre-wrap;word-break:break-all}
        td code{white-space:nowrap;word-break:normal}
        .badge{padding:.05em .45em;border-radius:9px;font-size:.85em;background:#e3e6ea}
        .ok{background:#d5f0dc}.warn{background:#fdecc8}.bad{background:#f9d0d0}
        .tiles{display:flex;flex-wrap:wrap;gap:.6em}.tile{background:#fff;border:1px solid #e3e6ea;border-radius:6px;padding:.5em .9em;min-width:8em}
        .tile b{display:block;font-size:1.5em}.empty{color:#5b6670}.muted{color:#5b6670;font-size:.9em}
        @media (max-width:640px){thead{display:none}table,tbody,tr,td{display:block;min-width:0}tr{background:#fff;border-bottom:2px solid #d5dae0;padding:.3em 0}
        td{border:none;white-space:normal;padding:.1em .6em}td::before{content:attr(data-label);font-weight:600;color:#5b6670;display:inline-block;min-width:8.5em}
        header form{margin-left:0;width:100%}header input{flex:1}}
        </style></head><body>
        <header><a class="brand" href="/">backorderd</a><a href="/">Overview</a><a href="/dead-letters">Dead letters</a>
        <form action="/orders" method="get" role="search"><input name="q" placeholder="order, customer or webhook id" aria-label="Search"><button>Find</button></form></header>
        <main>
        \(body)
        <p class="muted">backorderd \(escape(version)) · read-only: changes are made with the commands shown</p>
        </main></body></html>

        """
    }
}
