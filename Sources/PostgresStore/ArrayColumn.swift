import PostgresNIO

/// One column of rows bound as an array, for `unnest`: a checkpoint's rows go to the
/// server in a few statements, not one round trip a row. Columns that may hold NULL go
/// as an array literal (`{1,NULL}`) the statement casts (`$n::int8[]`).
enum ArrayColumn {
    case text([String])
    case optionalText([String?])
    case int([Int64])
    case optionalInt([Int64?])
    case bool([Bool])
    /// One value, not an array.
    case scalar(Int64)

    func append(to b: inout PostgresBindings) {
        switch self {
        case .text(let v): b.append(v)
        case .int(let v): b.append(v)
        case .bool(let v): b.append(v)
        case .scalar(let v): b.append(v)
        case .optionalInt(let v): b.append("{" + v.map { $0.map(String.init) ?? "NULL" }.joined(separator: ",") + "}")
        case .optionalText(let v): b.append("{" + v.map { $0.map(Self.quoted) ?? "NULL" }.joined(separator: ",") + "}")
        }
    }

    /// An element of an array literal: in double quotes, with `"` and `\` escaped.
    static func quoted(_ s: String) -> String {
        var out = "\""
        for ch in s.unicodeScalars {
            if ch == "\"" || ch == "\\" { out.unicodeScalars.append("\\") }
            out.unicodeScalars.append(ch)
        }
        return out + "\""
    }
}

extension PostgresStore {
    static func binds(_ columns: ArrayColumn...) -> PostgresBindings { binds(columns) }

    /// Single values (not arrays), in order.
    static func values(_ values: any PostgresNonThrowingEncodable...) -> PostgresBindings {
        var b = PostgresBindings(capacity: values.count)
        for v in values { b.append(v) }
        return b
    }

    static func binds(_ columns: [ArrayColumn]) -> PostgresBindings {
        var b = PostgresBindings(capacity: columns.count)
        for c in columns { c.append(to: &b) }
        return b
    }
}
