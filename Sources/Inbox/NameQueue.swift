/// File names waiting to be read: in the order they came, each at most once, with
/// constant-time membership, append and take (an inbox can hold 100,000 files; a list
/// searched and shifted for each made every scan quadratic).
struct NameQueue {
    private var names: [String] = []
    private var head = 0
    private var members: Set<String> = []

    var isEmpty: Bool { head == names.count }

    func contains(_ name: String) -> Bool { members.contains(name) }

    /// Adds `name` at the end unless it is already waiting.
    mutating func append(_ name: String) {
        if members.insert(name).inserted { names.append(name) }
    }

    /// Takes the first name waiting.
    mutating func removeFirst() -> String {
        let name = names[head]
        head += 1
        members.remove(name)
        if head == names.count {
            names.removeAll(keepingCapacity: names.count <= 4096)
            head = 0
        } else if head >= 4096, head * 2 >= names.count {
            names.removeFirst(head)
            head = 0
        }
        return name
    }
}
