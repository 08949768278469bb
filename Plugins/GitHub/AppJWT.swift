import Crypto
import Foundation
import _CryptoExtras

/// The JSON Web Token a GitHub App signs to ask for installation tokens: RS256 (PKCS#1 v1.5
/// over SHA-256) with the app's private key, valid for at most ten minutes.
struct AppJWT: Sendable {
    let appID: String
    private let key: _RSA.Signing.PrivateKey

    /// - Throws: when the PEM is not an RSA private key (GitHub issues PKCS#1 "RSA PRIVATE KEY" PEMs).
    init(appID: String, privateKeyPEM: String) throws {
        self.appID = appID
        self.key = try _RSA.Signing.PrivateKey(pemRepresentation: privateKeyPEM)
    }

    /// A token issued a minute in the past (GitHub's advice against clock drift), expiring nine
    /// minutes from now (GitHub refuses more than ten).
    func token(now: Date = Date()) throws -> String {
        let issued = Int(now.timeIntervalSince1970) - 60
        let header = Self.base64URL(Data(#"{"alg":"RS256","typ":"JWT"}"#.utf8))
        let payload = Self.base64URL(Data(#"{"iat":\#(issued),"exp":\#(issued + 600),"iss":"\#(appID)"}"#.utf8))
        let signingInput = header + "." + payload
        let signature = try key.signature(for: Data(signingInput.utf8), padding: .insecurePKCS1v1_5)
        return signingInput + "." + Self.base64URL(signature.rawRepresentation)
    }

    static func base64URL(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
