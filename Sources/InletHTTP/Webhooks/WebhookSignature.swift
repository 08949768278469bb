import Crypto
import Foundation

/// GitHub's `X-Hub-Signature-256`: `sha256=` and the lowercase hex HMAC-SHA256 of the raw body,
/// keyed by the webhook's secret.
package enum WebhookSignature {
    /// The header value GitHub sends for `body` signed with `secret`.
    package static func sign(_ body: some DataProtocol, secret: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: Data(secret.utf8)))
        return "sha256=" + mac.map { String(format: "%02x", $0) }.joined()
    }

    /// True when `header` is a valid signature of `body` under any of `secrets` (several during a
    /// rotation). Every secret is tried and compared in constant time, so timing reveals neither
    /// which secret matched nor how much of a forged signature was right.
    package static func isValid(_ header: String, body: some DataProtocol, secrets: [String]) -> Bool {
        guard header.hasPrefix("sha256="), let given = hexBytes(header.dropFirst(7)), given.count == SHA256.byteCount else {
            return false
        }
        var valid = false
        for secret in secrets {
            // Crypto's check compares the whole code in constant time.
            if HMAC<SHA256>.isValidAuthenticationCode(given, authenticating: body, using: SymmetricKey(data: Data(secret.utf8))) {
                valid = true
            }
        }
        return valid
    }

    private static func hexBytes(_ text: Substring) -> [UInt8]? {
        guard text.utf8.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count / 2)
        var high: UInt8?
        for character in text.utf8 {
            let nibble: UInt8
            switch character {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): nibble = character - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): nibble = character - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): nibble = character - UInt8(ascii: "A") + 10
            default: return nil
            }
            if let value = high {
                bytes.append(value << 4 | nibble)
                high = nil
            } else {
                high = nibble
            }
        }
        return bytes
    }
}
