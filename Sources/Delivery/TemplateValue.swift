/// A value a template sees: text, a number, or a list of objects (an order's lines).
/// The renderer builds views of these once per message; `FastTemplate` renders them
/// directly, and `anyView` hands the same view to swift-mustache.
enum TemplateValue: Sendable, Equatable {
    case text(String)
    case int(Int64)
    case list([TemplateObject])

    /// The view as swift-mustache takes it: strings, integers, arrays of dictionaries.
    var any: Any {
        switch self {
        case .text(let s): s
        case .int(let i): i
        case .list(let l): l.map(\.anyView)
        }
    }
}

typealias TemplateObject = [String: TemplateValue]

extension Dictionary where Key == String, Value == TemplateValue {
    var anyView: [String: Any] { mapValues(\.any) }
}
