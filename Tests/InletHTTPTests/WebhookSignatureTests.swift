import InletHTTP
import Testing

@Suite("Webhook signatures")
struct WebhookSignatureTests {
    /// GitHub's own test vector ("Validating webhook deliveries").
    static let vector = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"

    @Test func githubTestVector() {
        let body = Array("Hello, World!".utf8)
        #expect(WebhookSignature.sign(body, secret: "It's a Secret to Everybody") == Self.vector)
        #expect(WebhookSignature.isValid(Self.vector, body: body, secrets: ["It's a Secret to Everybody"]))
        #expect(WebhookSignature.isValid(Self.vector.uppercased().replacingOccurrences(of: "SHA256=", with: "sha256="), body: body,
                                         secrets: ["It's a Secret to Everybody"]))
    }

    @Test func anyOfSeveralSecretsDuringRotation() {
        let body = Array("Hello, World!".utf8)
        #expect(WebhookSignature.isValid(Self.vector, body: body, secrets: ["new one", "It's a Secret to Everybody"]))
        #expect(!WebhookSignature.isValid(Self.vector, body: body, secrets: ["new one", "another"]))
    }

    @Test(arguments: [
        "", "sha256=", "sha1=7d38cdd689735b008b3c702edd92eea23791c5f6",
        "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e1",
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e18",
        "sha256=zz7107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
    ])
    func refusesMalformedOrWrong(header: String) {
        #expect(!WebhookSignature.isValid(header, body: Array("Hello, World!".utf8), secrets: ["It's a Secret to Everybody"]))
    }

    @Test func aChangedBodyFails() {
        #expect(!WebhookSignature.isValid(Self.vector, body: Array("Hello, World?".utf8), secrets: ["It's a Secret to Everybody"]))
    }
}
