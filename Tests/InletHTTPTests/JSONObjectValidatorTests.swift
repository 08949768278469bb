import Foundation
import InletHTTP
import Testing

@Suite("JSON object validation")
struct JSONObjectValidatorTests {
    @Test(arguments: ["push", "issues-opened", "pull_request-opened", "ping"])
    func acceptsRealPayloads(fixture: String) throws {
        #expect(JSONObjectValidator.isObject(try Fixture.payload(fixture)))
    }

    @Test(arguments: [
        "{}", " {} \n", #"{"a":1}"#, #"{"a":[1,2.5,-0.1e+3,true,false,null,"x"]}"#, #"{"k":{"n":{"m":[]}}}"#,
        #"{"esc":"\" \\ \/ \b \f \n \r \t \u00e9 \uD83D\uDE00"}"#, #"{"ü":"ßtr"}"#, "{\"a\" : 0 , \"b\" :\t-0}",
        #"{"big":12345678901234567890123,"e":1E5}"#,
    ])
    func acceptsObjects(text: String) {
        #expect(JSONObjectValidator.isObject(Array(text.utf8)), "\(text)")
        // Agrees with Foundation.
        #expect((try? JSONSerialization.jsonObject(with: Data(text.utf8))) is [String: Any])
    }

    @Test(arguments: [
        "", " ", "[]", "1", #""s""#, "null", "{", "}", "{}{}", "{} x", #"{"a"}"#, #"{"a":}"#, #"{"a":1,}"#, #"{,}"#,
        #"{a:1}"#, #"{'a':1}"#, #"{"a":01}"#, #"{"a":1.}"#, #"{"a":.5}"#, #"{"a":1e}"#, #"{"a":+1}"#, #"{"a":tru}"#,
        #"{"a":"\x"}"#, #"{"a":"\u12"}"#, "{\"a\":\"line\nbreak\"}", #"{"a":[1 2]}"#, #"{"a":[1,]}"#, #"{"a":"unterminated}"#,
        "payload=%7B%7D",
    ])
    func refusesEverythingElse(text: String) {
        #expect(!JSONObjectValidator.isObject(Array(text.utf8)), "\(text)")
    }

    @Test func refusesInvalidUTF8AndDeepNesting() {
        #expect(!JSONObjectValidator.isObject(Array(#"{"a":""#.utf8) + [0xFF] + Array(#""}"#.utf8)))
        let deep = "{\"a\":" + String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000) + "}"
        #expect(!JSONObjectValidator.isObject(Array(deep.utf8)))
    }
}
