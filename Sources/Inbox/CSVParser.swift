import BackorderCore

/// RFC 4180 CSV: a header row names the columns, a `type` column is required, nested
/// fields use dotted names (`customer.email`). Quoted cells may hold commas, doubled
/// quotes and line breaks.
public struct CSVParser: Sendable {
    public init() {}

    /// Splits one record (without its final line break) into cells.
    public func cells(_ record: UnsafeRawBufferPointer) throws(RecordError) -> [String] {
        var cells: [String] = []
        var cell: [UInt8] = []
        var i = 0
        let n = record.count
        var end = n
        if end > 0, record[end - 1] == 0x0D { end -= 1 }
        while true {
            cell.removeAll(keepingCapacity: true)
            if i < end, record[i] == UInt8(ascii: "\"") {
                i += 1
                var closed = false
                while i < end {
                    let c = record[i]
                    if c == UInt8(ascii: "\"") {
                        if i + 1 < end, record[i + 1] == UInt8(ascii: "\"") {
                            cell.append(c)
                            i += 2
                            continue
                        }
                        i += 1
                        closed = true
                        break
                    }
                    cell.append(c)
                    i += 1
                }
                guard closed else { throw RecordError("CSV: unterminated quoted cell in column \(cells.count + 1)") }
                guard i == end || record[i] == UInt8(ascii: ",") else {
                    throw RecordError("CSV: unexpected text after a closing quote in column \(cells.count + 1)")
                }
            } else {
                while i < end, record[i] != UInt8(ascii: ",") {
                    if record[i] == UInt8(ascii: "\"") {
                        throw RecordError("CSV: a quote inside an unquoted cell in column \(cells.count + 1) (quote the whole cell and double the quote)")
                    }
                    cell.append(record[i])
                    i += 1
                }
            }
            cells.append(String(decoding: cell, as: UTF8.self))
            if i >= end { break }
            i += 1  // the comma
        }
        return cells
    }

    /// Reads the header row; every column needs a name and `type` must be one of them.
    /// A UTF-8 byte order mark before it (spreadsheets write one) is not part of it.
    public func header(_ record: UnsafeRawBufferPointer) throws(RecordError) -> [String] {
        var row = record
        if row.count >= 3, row[0] == 0xEF, row[1] == 0xBB, row[2] == 0xBF {
            row = UnsafeRawBufferPointer(rebasing: row[3...])
        }
        let names = try cells(row).map { $0.trimmingCharacters() }
        guard names.contains("type") else {
            throw RecordError("CSV header has no 'type' column (columns: \(names.prefix(12).joined(separator: ",")))")
        }
        if let empty = names.firstIndex(of: "") { throw RecordError("CSV header column \(empty + 1) has no name") }
        return names
    }

    /// Fills `fields` from one data row.
    public func row(_ record: UnsafeRawBufferPointer, header: [String], into fields: inout Fields) throws(RecordError) {
        fields.removeAll()
        let values = try cells(record)
        guard values.count == header.count else {
            throw RecordError("CSV row has \(values.count) columns, the header has \(header.count)")
        }
        for (name, value) in zip(header, values) where !value.isEmpty {
            fields.set(name, .text(value))
        }
    }
}

extension String {
    func trimmingCharacters() -> String {
        var s = self[...]
        while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" { s.removeLast() }
        return String(s)
    }
}
