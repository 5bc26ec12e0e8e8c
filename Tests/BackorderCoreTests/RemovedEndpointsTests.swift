import BackorderCore
import Testing

@Suite struct RemovedEndpointsTests {
    let t0 = Instant(milliseconds: 1_796_083_200_000)

    @Test func announcedOnceThenDeadAfterTheGrace() {
        var r = RemovedEndpoints()
        #expect(r.review(stranded: ["sms": 3], now: t0, grace: .hours(24))
                == [.announce(endpoint: "sms", waiting: 3, deadAt: t0 + .hours(24))])
        #expect(r.review(stranded: ["sms": 3], now: t0 + .hours(23), grace: .hours(24)).isEmpty, "told once, within the grace")
        #expect(r.review(stranded: ["sms": 4], now: t0 + .hours(24), grace: .hours(24)) == [.deadLetter(endpoint: "sms")])
    }

    @Test func anEndpointThatComesBackIsForgotten() {
        var r = RemovedEndpoints()
        _ = r.review(stranded: ["sms": 1], now: t0, grace: .hours(1))
        #expect(r.review(stranded: [:], now: t0 + .minutes(30), grace: .hours(1)).isEmpty)
        #expect(r.since.isEmpty)
        // Gone again later: a new grace from then.
        #expect(r.review(stranded: ["sms": 1], now: t0 + .hours(5), grace: .hours(1))
                == [.announce(endpoint: "sms", waiting: 1, deadAt: t0 + .hours(6))])
    }

    @Test func aGraceOfZeroDeadLettersAtOnce() {
        var r = RemovedEndpoints()
        #expect(r.review(stranded: ["a": 2], now: t0, grace: .zero)
                == [.announce(endpoint: "a", waiting: 2, deadAt: t0), .deadLetter(endpoint: "a")])
    }
}
