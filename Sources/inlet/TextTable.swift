/// Rows of cells printed in aligned columns under upper-case headers.
struct TextTable {
    var headers: [String]
    var rows: [[String]] = []
    /// Columns aligned to the right (counts).
    var rightAligned: Set<Int> = []

    init(_ headers: [String], rightAligned: Set<Int> = []) {
        self.headers = headers
        self.rightAligned = rightAligned
    }

    mutating func append(_ row: [String]) { rows.append(row) }

    /// The lines, without trailing spaces; the last column is never padded.
    func render() -> String {
        let all = [headers] + rows
        var widths = Array(repeating: 0, count: headers.count)
        for row in all {
            for (index, cell) in row.enumerated() where index < widths.count { widths[index] = max(widths[index], cell.count) }
        }
        return all.map { row in
            var line = ""
            for (index, cell) in row.enumerated() where index < widths.count {
                if index > 0 { line += "  " }
                let pad = String(repeating: " ", count: widths[index] - cell.count)
                if rightAligned.contains(index) {
                    line += pad + cell
                } else {
                    line += index == row.count - 1 ? cell : cell + pad
                }
            }
            while line.last == " " { line.removeLast() }
            return line
        }.joined(separator: "\n")
    }

    /// A cell on one line, at most `limit` characters (`…` marks the cut); `-` when empty.
    static func cell(_ text: String?, limit: Int = 60) -> String {
        guard let text, !text.isEmpty else { return "-" }
        let line = text.split(whereSeparator: \.isNewline).joined(separator: " ")
        return line.count <= limit ? line : String(line.prefix(limit - 1)) + "…"
    }
}
