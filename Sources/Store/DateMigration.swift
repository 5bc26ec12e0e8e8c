import BackorderCore
import GRDB

/// Schema v7: turns the times a previous release stored for bare dates (midnight in
/// `policy.timezone`, as an instant) back into calendar dates (`Moment.raw`).
struct DateMigration {
    let calendar: DayCalendar

    /// The stored form of a v6 time: a date when it is exactly the start of its day in
    /// policy.timezone, else the instant it always was.
    func converted(_ ms: Int64) -> Int64 {
        guard ms < Moment.dayTag, ms > -Moment.dayTag else { return ms }
        let instant = Instant(milliseconds: ms)
        let day = calendar.day(of: instant)
        if calendar.start(of: day) == instant { return Moment.day(day).raw }
        // Where midnight is skipped, the previous releases put the date an hour before it.
        let next = day.adding(days: 1)
        if calendar.legacyMidnight(of: next) == instant { return Moment.day(next).raw }
        return ms
    }

    func run(_ db: Database) throws {
        let lines = try Row.fetchAll(db, sql: """
            SELECT order_id, line, ordered_at, promised_at, estimate_at, projected_at FROM order_line
            """)
        let updateLine = try db.makeStatement(sql: """
            UPDATE order_line SET ordered_at = ?, promised_at = ?, estimate_at = ?, projected_at = ?
            WHERE order_id = ? AND line = ?
            """)
        for r in lines {
            let ordered: Int64 = r[2], promised: Int64 = r[3]
            let estimate: Int64? = r[4], projected: Int64? = r[5]
            let new = (converted(ordered), converted(promised), estimate.map(converted), projected.map(converted))
            guard new != (ordered, promised, estimate, projected) else { continue }
            try updateLine.execute(arguments: [new.0, new.1, new.2, new.3, r[0] as String, r[1] as String])
        }
        let restocks = try Row.fetchAll(db, sql: "SELECT po, sku, location, expected_at FROM restock")
        let updateRestock = try db.makeStatement(sql: "UPDATE restock SET expected_at = ? WHERE po = ? AND sku = ? AND location = ?")
        for r in restocks {
            let expected: Int64 = r[3]
            let new = converted(expected)
            guard new != expected else { continue }
            try updateRestock.execute(arguments: [new, r[0] as String, r[1] as String, r[2] as String])
        }
    }
}
