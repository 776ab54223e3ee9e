/// A compact, aligned, plain-text table for people (`--json` is for programs).
struct TextTable {
    var headers: [String]
    var rows: [[String]] = []

    init(_ headers: String...) {
        self.headers = headers
    }

    mutating func add(_ cells: String...) {
        rows.append(cells)
    }

    var rendered: String {
        let all = [headers] + rows
        let widths = headers.indices.map { column in
            all.map { $0.indices.contains(column) ? $0[column].count : 0 }.max() ?? 0
        }
        return all.map { row in
            row.enumerated().map { index, cell in
                index == row.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }

    /// Like `rendered`, with the last column's words wrapped so no line is wider than `width` (a
    /// word longer than the room left stays whole); continuation lines start under that column.
    func rendered(wrappingLastColumnAt width: Int) -> String {
        let all = [headers] + rows
        let widths = headers.indices.map { column in
            all.map { $0.indices.contains(column) ? $0[column].count : 0 }.max() ?? 0
        }
        let indent = widths.dropLast().reduce(0) { $0 + $1 + 2 }
        let room = max(20, width - indent)
        return all.map { row in
            let leading = row.dropLast().enumerated().map { index, cell in
                cell.padding(toLength: widths[index], withPad: " ", startingAt: 0) + "  "
            }.joined()
            var lines: [String] = []
            var line = ""
            for word in (row.last ?? "").split(separator: " ") {
                if !line.isEmpty, line.count + 1 + word.count > room {
                    lines.append(line)
                    line = ""
                }
                line += line.isEmpty ? String(word) : " " + word
            }
            lines.append(line)
            return leading + lines.joined(separator: "\n" + String(repeating: " ", count: indent))
        }.joined(separator: "\n")
    }
}
