import InletCore
import Testing

@Suite("ConfigSchemaValidator")
struct ConfigSchemaValidatorTests {
    static let gitSchema = """
        {
          "type": "object",
          "properties": {
            "url": {"type": "string"},
            "branch": {"type": "string"},
            "depth": {"type": "integer", "minimum": 1},
            "include": {"type": "array", "items": {"type": "string"}},
            "mode": {"enum": ["full", "incremental"]},
            "token": {"type": ["string", "null"]},
            "ratio": {"type": "number", "maximum": 1}
          },
          "required": ["url"],
          "additionalProperties": false
        }
        """

    static func source(_ configBody: String) throws -> SourceConfig {
        let yaml = "sources:\n  - name: self\n    connector: git\n    config:\n" + configBody
        let config = try ConfigLoader.load(yaml: yaml, file: "inlet.yaml", environment: [:])
        return try #require(config.sources.first)
    }

    @Test func reportsEachViolationAtItsNode() throws {
        let source = try Self.source("""
                  branch: 7
                  depth: 0
                  include: ["a", 2]
                  mode: fast
                  brnch: x
                  ratio: 1.5
                  token: ~
            """)
        let validator = try ConfigSchemaValidator(schemaJSON: Self.gitSchema)
        let errors = validator.validate(source)
        #expect(errors.allSatisfy { $0.code == .schemaViolation && $0.file == "inlet.yaml" })
        #expect(errors.map { "\($0.line):\($0.column): \($0.message)" } == [
            "5:7: source 'self': config: missing required key 'url'",
            "5:15: source 'self': config.branch: expected string, got integer",
            "6:14: source 'self': config.depth: 0 is less than the minimum 1",
            "7:22: source 'self': config.include[1]: expected string, got integer",
            #"8:13: source 'self': config.mode: "fast" is not one of "full", "incremental""#,
            "9:7: source 'self': config: unknown key 'brnch'; did you mean 'branch'?",
            "10:14: source 'self': config.ratio: 1.5 is greater than the maximum 1",
        ])
        #expect(errors[1].description == "inlet.yaml:5:15: source 'self': config.branch: expected string, got integer")
    }

    @Test func acceptsAValidBlock() throws {
        let source = try Self.source("""
                  url: .
                  branch: main
                  depth: 3.0
                  include: ["**/*.swift"]
                  mode: incremental
                  token: null
                  ratio: 1
            """)
        #expect(try ConfigSchemaValidator(schemaJSON: Self.gitSchema).validate(source) == [])
    }

    @Test func emptyBlockIsCheckedAtTheSource() throws {
        let config = try ConfigLoader.load(
            yaml: "sources:\n  - name: self\n    connector: git\n", file: "inlet.yaml", environment: [:]
        )
        let source = try #require(config.sources.first)
        let errors = try ConfigSchemaValidator(schemaJSON: Self.gitSchema).validate(source)
        #expect(errors.map(\.description) == ["inlet.yaml:2:5: source 'self': config: missing required key 'url'"])
    }

    @Test func additionalPropertiesSchemaAndOddKeys() throws {
        let validator = try ConfigSchemaValidator(schemaJSON: """
            {"properties": {"name": {"type": "string"}}, "additionalProperties": {"type": "integer"}}
            """)
        let value: ConfigValue = ["name": "x", "a b": "nope", "ok": 2]
        let errors = validator.validate(value, source: "s", file: "f.yaml")
        #expect(errors.map(\.message) == [#"source 's': config["a b"]: expected integer, got string"#])
    }

    @Test func noPropertiesAllowed() throws {
        let validator = try ConfigSchemaValidator(schemaJSON: #"{"type": "object", "additionalProperties": false}"#)
        let errors = validator.validate(["x": 1], source: "s", file: "f.yaml")
        #expect(errors.map(\.message) == ["source 's': config: unknown key 'x'; no keys are allowed"])
        let listed = try ConfigSchemaValidator(schemaJSON: #"{"properties": {"alpha": {}}, "additionalProperties": false}"#)
        #expect(listed.validate(["zzz": 1], source: "s", file: "f").map(\.message) == [
            "source 's': config: unknown key 'zzz'; allowed keys: alpha"
        ])
    }

    @Test func typeChecks() throws {
        func errors(_ schema: String, _ value: ConfigValue) throws -> [String] {
            try ConfigSchemaValidator(schemaJSON: schema).validate(["v": value], source: "s", file: "f").map(\.message)
        }
        let schema = { (type: String) in #"{"properties": {"v": {"type": \#(type)}}}"# }
        #expect(try errors(schema(#""integer""#), 2.5) == ["source 's': config.v: expected integer, got number"])
        #expect(try errors(schema(#""integer""#), 2.0) == [])
        #expect(try errors(schema(#""number""#), 2) == [])
        #expect(try errors(schema(#""boolean""#), "true") == ["source 's': config.v: expected boolean, got string"])
        #expect(try errors(schema(#""object""#), [1]) == ["source 's': config.v: expected object, got array"])
        #expect(try errors(schema(#""array""#), [:]) == ["source 's': config.v: expected array, got object"])
        #expect(try errors(schema(#"["string", "null"]"#), 1) == ["source 's': config.v: expected string or null, got integer"])
        #expect(try errors(#"{"properties": {"v": {"enum": [1, true, null]}}}"#, 1.0) == [])
        #expect(try errors(#"{"properties": {"v": {"enum": [1, true, null]}}}"#, false) == [
            "source 's': config.v: false is not one of 1, true, null"
        ])
        #expect(try errors(#"{"properties": {"v": {"minimum": 0.5}}}"#, 0.25) == [
            "source 's': config.v: 0.25 is less than the minimum 0.5"
        ])
    }

    @Test func staticValidateReportsAnUnreadableSchemaAtTheBlock() throws {
        let source = try Self.source("      url: .\n")
        #expect(ConfigSchemaValidator.validate(source.config, schema: Self.gitSchema, source: "self", file: "inlet.yaml") == [])
        let errors = ConfigSchemaValidator.validate(source.config, schema: #"{"type": 5}"#, source: "self", file: "inlet.yaml")
        #expect(errors.map(\.description) == [
            "inlet.yaml:5:7: source 'self': cannot check config against the connector's schema: invalid config schema: schema.type must be a type name or a list of them"
        ])
        #expect(errors.first?.location == ConfigLocation(file: "inlet.yaml", line: 5, column: 7))
    }

    @Test(arguments: [
        ("not json", "invalid JSON"),
        (#"{"type": "strin"}"#, "invalid config schema: schema.type 'strin' is not one of string, integer, number, boolean, object, array, null"),
        (#"[1]"#, "invalid config schema: schema must be an object"),
        (#"{"properties": []}"#, "invalid config schema: schema.properties must be an object"),
        (#"{"properties": {"a": {"type": 3}}}"#, "invalid config schema: schema.properties.a.type must be a type name or a list of them"),
        (#"{"required": "a"}"#, "invalid config schema: schema.required must be a list of property names"),
        (#"{"additionalProperties": 1}"#, "invalid config schema: schema.additionalProperties must be a boolean or a schema"),
        (#"{"minimum": "1"}"#, "invalid config schema: schema.minimum must be a number"),
        (#"{"items": true}"#, "invalid config schema: schema.items must be an object"),
    ])
    func refusesBadSchemas(schema: String, messagePrefix: String) {
        #expect {
            try ConfigSchemaValidator(schemaJSON: schema)
        } throws: { error in
            (error as? ConfigValueError)?.message.hasPrefix(messagePrefix) ?? false
        }
    }
}
