import Foundation

/// Plain-text tables with aligned columns.
public enum Table {
    /// The header and rows with every column as wide as its widest cell. The last cell of a row
    /// shorter than the header runs on over the columns it leaves empty (a note such as "not
    /// run"), and widens none of them.
    public static func render(header: [String], rows: [[String]]) -> String {
        var widths = header.map(\.count)
        for row in rows {
            for (index, cell) in row.enumerated()
            where index < widths.count && (row.count >= header.count || index < row.count - 1) {
                widths[index] = max(widths[index], cell.count)
            }
        }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { index, cell in
                index == cells.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }
        return ([line(header)] + rows.map(line)).joined(separator: "\n")
    }
}
