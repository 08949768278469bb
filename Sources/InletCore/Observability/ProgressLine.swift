import Foundation

/// The live line `inlet sync` shows on a terminal:
/// `Processed 500/21,000 (2.4%), unchanged 91.2%, elapsed 15s, ETA 5m`.
package enum ProgressLine {
    package static func render(done: UInt64, total: UInt64, changed: Int, elapsed: Duration) -> String {
        var parts: [String] = []
        if total > 0 {
            let percent = Double(done) / Double(total) * 100
            parts.append("Processed \(grouped(done))/\(grouped(total)) (\(String(format: "%.1f", percent))%)")
        } else {
            parts.append("Processed \(grouped(done))")
        }
        if done > 0 {
            let unchanged = Double(max(0, Int(done) - changed)) / Double(done) * 100
            parts.append("unchanged \(String(format: "%.1f", unchanged))%")
        }
        parts.append("elapsed \(format(elapsed))")
        let seconds = elapsed.seconds
        if total > 0, done > 0, done < total, seconds > 0 {
            let remaining = seconds / Double(done) * Double(total - done)
            parts.append("ETA \(format(.milliseconds(Int64(remaining * 1000))))")
        }
        return parts.joined(separator: ", ")
    }

    /// `21000` → `21,000`.
    package static func grouped(_ value: UInt64) -> String {
        let digits = String(value)
        var out = ""
        for (index, character) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { out.append(",") }
            out.append(character)
        }
        return out
    }

    /// `15s`, `5m`, `1h 4m`, `250ms`.
    package static func format(_ duration: Duration) -> String {
        let seconds = duration.seconds
        if seconds < 1 { return "\(Int(seconds * 1000))ms" }
        if seconds < 60 { return seconds < 10 ? String(format: "%.1fs", seconds) : "\(Int(seconds))s" }
        let minutes = Int(seconds) / 60
        if minutes < 60 { return "\(minutes)m \(Int(seconds) % 60)s" }
        return "\(minutes / 60)h \(minutes % 60)m"
    }
}

extension Duration {
    /// The duration in seconds, as a floating-point number.
    package var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
