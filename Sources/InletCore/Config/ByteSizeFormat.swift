/// Reads the sizes config files use: `512KB`, `25MB`, `1GB`, or a plain number of bytes.
///
/// Units are binary: 1 KB = 1024 bytes, 1 MB = 1024 KB, and so on, because the sizes Inlet
/// limits (bodies, blobs, buffers) are memory. `KiB`, `MiB`, … are accepted as the same units,
/// and unit letters may be in any case. A space between number and unit is allowed.
package enum ByteSizeFormat {
    private static let units: [(suffix: String, bytes: Int)] = [
        ("b", 1),
        ("kb", 1 << 10), ("kib", 1 << 10),
        ("mb", 1 << 20), ("mib", 1 << 20),
        ("gb", 1 << 30), ("gib", 1 << 30),
        ("tb", 1 << 40), ("tib", 1 << 40),
    ]

    /// Parses `text` into a number of bytes.
    /// - Throws: `ConfigValueError` naming the text and what is wrong with it.
    package static func parse(_ text: String) throws(ConfigValueError) -> Int {
        if text.isEmpty {
            throw ConfigValueError("empty size; expected e.g. 512KB, 25MB, 1GB or a number of bytes")
        }
        if text.hasPrefix("-") {
            throw ConfigValueError("invalid size '\(text)': must not be negative")
        }
        let digits = text.prefix { ("0"..."9").contains($0) }
        if digits.isEmpty {
            throw ConfigValueError("invalid size '\(text)': expected a number, e.g. 25MB")
        }
        var unit = text.dropFirst(digits.count)
        if unit.first == "." || unit.first == "," {
            throw ConfigValueError("invalid size '\(text)': use whole numbers, e.g. 1536KB rather than 1.5MB")
        }
        if unit.first == " " {
            unit = unit.dropFirst()
        }
        let factor: Int
        if unit.isEmpty {
            factor = 1
        } else if let known = units.first(where: { $0.suffix == unit.lowercased() }) {
            factor = known.bytes
        } else {
            throw ConfigValueError("invalid size '\(text)': unknown unit '\(unit)' (use B, KB, MB, GB or TB; 1 KB = 1024 bytes)")
        }
        guard let number = Int(digits) else {
            throw ConfigValueError("invalid size '\(text)': too large")
        }
        let (bytes, overflowed) = number.multipliedReportingOverflow(by: factor)
        if overflowed {
            throw ConfigValueError("invalid size '\(text)': too large")
        }
        return bytes
    }
}
