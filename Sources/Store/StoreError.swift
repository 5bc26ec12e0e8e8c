/// A failure of the state database, worded for the operator.
public enum StoreError: Error, CustomStringConvertible {
    case sqlite(Int32, String)
    case setup(String)

    public var description: String {
        switch self {
        case .sqlite(let code, let message): "SQLite error \(code): \(message)"
        case .setup(let message): message
        }
    }
}
