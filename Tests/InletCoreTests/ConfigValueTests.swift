import InletCore
import Testing

@Suite("ConfigValue")
struct ConfigValueTests {
    static func configBlock(_ body: String, environment: [String: String] = [:]) throws -> ConfigValue {
        let yaml = "sources:\n  - name: a\n    connector: x\n    config:\n" + body
        let config = try ConfigLoader.load(yaml: yaml, file: "/i.yaml", environment: environment)
        return try #require(config.sources.first).config
    }

    @Test func typesScalarsByTheYAML12CoreSchema() throws {
        let value = try Self.configBlock("""
                  s: hello
                  q: "123"
                  sq: 'true'
                  i: 123
                  neg: -7
                  hex: 0x1F
                  oct: 0o17
                  f: 1.5
                  e: 1e3
                  b: true
                  B: False
                  n: null
                  t: ~
                  empty:
                  yes11: yes
                  octal11: 0755
                  ver: 1.2.3
                  date: 2024-01-01
                  tagged: !!str 42
                  list: [1, "two", 3.0, [], {}]
                  nested: { a: { b: [x] } }
                  multi: |
                    line1
                    line2
            """)
        #expect(value.jsonString() == """
            {"s":"hello","q":"123","sq":"true","i":123,"neg":-7,"hex":31,"oct":15,"f":1.5,"e":1000.0,\
            "b":true,"B":false,"n":null,"t":null,"empty":null,"yes11":"yes","octal11":755,"ver":"1.2.3",\
            "date":"2024-01-01","tagged":"42","list":[1,"two",3.0,[],{}],"nested":{"a":{"b":["x"]}},\
            "multi":"line1\\nline2"}
            """)
    }

    @Test func nodesRememberTheirPositions() throws {
        let value = try Self.configBlock("""
                  url: .
                  include:
                    - "**/*.swift"
                    - "**/*.md"
            """)
        #expect((value.line, value.column) == (5, 7))
        let include = try #require(value["include"])
        #expect((include.line, include.column) == (7, 9))
        let second = try #require(include[1])
        #expect((second.line, second.column) == (8, 11))
        #expect(second.kind == .string("**/*.md"))
        guard case .object(let members) = value.kind else {
            Issue.record("expected an object")
            return
        }
        #expect(members.map(\.key) == ["url", "include"])
        #expect((members[1].line, members[1].column) == (6, 7))
    }

    @Test func escapesJSONStrings() {
        let value: ConfigValue = ["k\"ey": "a\"b\\c\n\r\t\u{08}\u{0C}\u{01}\u{1F}é😀/</"]
        #expect(value.jsonString() == #"{"k\"ey":"a\"b\\c\n\r\t\b\f\u0001\u001fé😀/</"}"#)
    }

    @Test func rendersNumbersAndPrettyPrints() {
        let value: ConfigValue = ["int": -3, "double": 0.25, "big": 1e20, "tiny": 1e-7, "list": [true, nil], "empty": [:]]
        #expect(value.jsonString() == #"{"int":-3,"double":0.25,"big":1e+20,"tiny":1e-07,"list":[true,null],"empty":{}}"#)
        #expect(value.jsonString(prettyPrinted: true) == """
            {
              "int": -3,
              "double": 0.25,
              "big": 1e+20,
              "tiny": 1e-07,
              "list": [
                true,
                null
              ],
              "empty": {}
            }
            """)
    }

    @Test func jsonRoundTripsThroughFoundation() throws {
        let value = try Self.configBlock("""
                  a: [1, 2.5, true, null, "x\\"y"]
                  b: { c: -1 }
            """)
        let reparsed = try ConfigValue(json: value.jsonString())
        #expect(reparsed.hasSameValue(as: value))
        #expect(reparsed != value)  // Positions differ, and equality includes them.
    }

    @Test func refusesValuesWithoutAJSONForm() {
        let yaml = """
            sources:
              - name: a
                connector: x
                config:
                  ratio: .inf
                  huge: 99999999999999999999
                  bad: !!int abc
                  custom: !thing x
                  ok: ".inf"
            """
        #expect(ConfigTestSupport.positionedMessages(yaml) == [
            "5:14: source 'a': config.ratio: .inf has no JSON form; quote it to pass a string",
            "6:13: source 'a': config.huge: integer 99999999999999999999 is out of range (-9223372036854775808...9223372036854775807)",
            "7:12: source 'a': config.bad: 'abc' is not a valid !!int value",
            "8:15: source 'a': config.custom: unsupported tag '!thing' (use !!str, !!int, !!float, !!bool or !!null)",
        ])
    }

    @Test func aliasesAreExpanded() throws {
        let value = try Self.configBlock("""
                  base: &base { branch: main }
                  copy: *base
            """)
        #expect(value.jsonString() == #"{"base":{"branch":"main"},"copy":{"branch":"main"}}"#)
    }

    @Test func sameValueIgnoresPositionsAndNumberKinds() {
        let a = ConfigValue(.object([.init(key: "n", value: ConfigValue(.int(1), line: 3, column: 4))]), line: 2, column: 1)
        let b: ConfigValue = ["n": 1.0]
        #expect(a.hasSameValue(as: b))
        #expect(!a.hasSameValue(as: ["n": 2]))
        #expect(!a.hasSameValue(as: ["m": 1]))
        #expect(a.typeName == "object")
        #expect(a["n"]?.typeName == "integer")
    }
}
