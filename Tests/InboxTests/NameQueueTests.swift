@testable import Inbox
import Testing

@Suite struct NameQueueTests {
    /// Against an array searched and shifted (the list it replaces), over long random runs.
    @Test func behavesAsAListOfDistinctNames() {
        var rng = SystemRandomNumberGenerator()
        var queue = NameQueue()
        var model: [String] = []
        for _ in 0..<50_000 {
            if Int.random(in: 0..<3, using: &rng) < 2 {
                let name = "f\(Int.random(in: 0..<3_000, using: &rng))"
                queue.append(name)
                if !model.contains(name) { model.append(name) }
            } else if !model.isEmpty {
                #expect(queue.removeFirst() == model.removeFirst())
            }
            #expect(queue.isEmpty == model.isEmpty)
        }
        while !model.isEmpty { #expect(queue.removeFirst() == model.removeFirst()) }
        #expect(queue.isEmpty)
        #expect(!queue.contains("f1"))
    }
}
