/// A refused line as the status page lists it: where and why, never its content.
public struct RecentReject: Sendable, Equatable {
    public var at: String
    public var file: String
    public var line: Int
    public var reason: String

    public init(at: String, file: String, line: Int, reason: String) {
        self.at = at
        self.file = file
        self.line = line
        self.reason = reason
    }
}
