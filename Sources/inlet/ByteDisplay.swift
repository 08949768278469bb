/// Quarantined bytes on a terminal: as text when they are text, else as a hex dump.
enum ByteDisplay {
    /// The bytes as a string when they are UTF-8 without control characters other than tab,
    /// newline and carriage return (valid UTF-8 with NULs or escapes is binary to a terminal).
    static func text(_ bytes: [UInt8]) -> String? {
        guard let string = String(validating: bytes, as: UTF8.self) else { return nil }
        let printable = string.unicodeScalars.allSatisfy { scalar in
            scalar == "\t" || scalar == "\n" || scalar == "\r" || !(scalar.value < 0x20 || scalar.value == 0x7F)
        }
        return printable ? string : nil
    }

    /// `hexdump -C` style: offset, 16 bytes in hex, the printable ASCII.
    static func hexDump(_ bytes: ArraySlice<UInt8>) -> String {
        var lines: [String] = []
        var offset = 0
        let all = Array(bytes)
        while offset < all.count {
            let chunk = all[offset..<min(offset + 16, all.count)]
            var hex = ""
            for (index, byte) in chunk.enumerated() {
                if index == 8 { hex += " " }
                hex += hexByte(byte) + " "
            }
            let width = 16 * 3 + 1
            hex += String(repeating: " ", count: max(0, width - hex.count))
            let ascii = String(chunk.map { (0x20..<0x7F).contains($0) ? Character(Unicode.Scalar($0)) : "." })
            lines.append("\(hexOffset(offset))  \(hex) |\(ascii)|")
            offset += 16
        }
        return lines.joined(separator: "\n")
    }

    private static func hexByte(_ byte: UInt8) -> String {
        let digits = Array("0123456789abcdef")
        return String([digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]])
    }

    private static func hexOffset(_ offset: Int) -> String {
        let text = String(offset, radix: 16)
        return String(repeating: "0", count: max(0, 8 - text.count)) + text
    }
}
