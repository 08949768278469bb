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

    /// The schema the folder plugin publishes (`inlet plugins inspect libinlet-folder.so`), verbatim.
    static let folderSchema = #"""
        {
          "$schema": "https://json-schema.org/draft/2020-12/schema",
          "title": "folder connector",
          "type": "object",
          "properties": {
            "path": {"type": "string", "minLength": 1,
                     "description": "The folder to mirror; relative paths are resolved against the config file's folder."},
            "include": {"type": "array", "items": {"type": "string", "minLength": 1}, "default": ["**"],
                        "description": "Globs of relative paths to take (** = any number of segments, * and ? within one segment, [a-z] classes)."},
            "exclude": {"type": "array", "items": {"type": "string", "minLength": 1}, "default": [],
                        "description": "Globs of relative paths to leave out; a folder whose whole content is excluded (\".git/**\") is not entered."},
            "max_file_size": {"oneOf": [
                {"type": "integer", "minimum": 0},
                {"type": "string", "pattern": "^\\s*[0-9]+(\\.[0-9]+)?\\s*([bB]|[kKmMgG]([iI]?[bB])?)?\\s*$"}],
              "default": "1MB",
              "description": "Bigger files are recorded with metadata only: bytes, or a string such as \"512KB\", \"1MB\", \"2GB\" (KB = 1024)."},
            "follow_symlinks": {"type": "boolean", "default": false,
                                "description": "Follow symbolic links to files and folders (loops are detected)."},
            "_inlet": {"type": "object", "description": "Added by the host."}
          },
          "required": ["path"],
          "additionalProperties": false
        }
        """#

    static let sizePattern = #"^\s*[0-9]+(\.[0-9]+)?\s*([bB]|[kKmMgG]([iI]?[bB])?)?\s*$"#

    /// The messages for `{"v": value}` checked against `{"properties": {"v": property}}`.
    static func messages(_ property: String, _ value: ConfigValue) throws -> [String] {
        try ConfigSchemaValidator(schemaJSON: #"{"properties": {"v": \#(property)}}"#)
            .validate(["v": value], source: "s", file: "f").map(\.message)
    }

    @Test func folderSchemaReportsEachViolationAtItsNode() throws {
        let yaml = """
            sources:
              - name: tok
                connector: folder
                config:
                  path: ""
                  include: ["**/*.md", ""]
                  max_file_size: [1]
                  follw_symlinks: true
              - name: big
                connector: folder
                config:
                  path: docs
                  max_file_size: "12XB"
              - name: neg
                connector: folder
                config:
                  path: docs
                  max_file_size: -1
            """
        let config = try ConfigLoader.load(yaml: yaml, file: "inlet.yaml", environment: [:])
        let validator = try ConfigSchemaValidator(schemaJSON: Self.folderSchema)
        let messages = config.sources.flatMap(validator.validate).map { "\($0.line):\($0.column): \($0.message)" }
        #expect(messages == [
            #"5:13: source 'tok': config.path: "" is shorter than the minimum length 1"#,
            #"6:28: source 'tok': config.include[1]: "" is shorter than the minimum length 1"#,
            "7:22: source 'tok': config.max_file_size: expected integer or string, got array",
            "8:7: source 'tok': config: unknown key 'follw_symlinks'; did you mean 'follow_symlinks'?",
            #"13:22: source 'big': config.max_file_size: "12XB" does not match pattern \#(Self.sizePattern)"#,
            "18:22: source 'neg': config.max_file_size: -1 is less than the minimum 0",
        ])
    }

    @Test(arguments: [
        ConfigValue(0), 1_048_576, 2.0, "1MB", "512KB", " 1.5 GiB ", "7", "3kb", "10 b",
    ])
    func folderSchemaAcceptsSizes(size: ConfigValue) throws {
        let validator = try ConfigSchemaValidator(schemaJSON: Self.folderSchema)
        let config: ConfigValue = ["path": ".", "max_file_size": size, "_inlet": ["root": "/etc"]]
        #expect(validator.validate(config, source: "tok", file: "f") == [])
    }

    @Test func folderSchemaReportsTheBranchOfTheValuesType() throws {
        let validator = try ConfigSchemaValidator(schemaJSON: Self.folderSchema)
        func messages(_ size: ConfigValue) -> [String] {
            validator.validate(["path": ".", "max_file_size": size], source: "tok", file: "f").map(\.message)
        }
        #expect(messages(1.5) == ["source 'tok': config.max_file_size: expected integer or string, got number"])
        #expect(messages(true) == ["source 'tok': config.max_file_size: expected integer or string, got boolean"])
        #expect(messages(nil) == ["source 'tok': config.max_file_size: expected integer or string, got null"])
        #expect(messages("1 MB B") == [
            #"source 'tok': config.max_file_size: "1 MB B" does not match pattern \#(Self.sizePattern)"#
        ])
    }

    @Test func oneOfNeedsExactlyOneMatch() throws {
        let overlapping = #"{"oneOf": [{"type": "integer"}, {"type": "number", "maximum": 10}]}"#
        #expect(try Self.messages(overlapping, 20) == [])
        #expect(try Self.messages(overlapping, 2.5) == [])
        #expect(try Self.messages(overlapping, 5) == [
            "source 's': config.v: 5 matches more than one alternative (oneOf[0], oneOf[1]); expected exactly one"
        ])
        // Both branches take strings, so neither is the obvious one: each says why it failed.
        let twoStrings = #"{"oneOf": [{"enum": ["auto", "off"]}, {"type": "string", "pattern": "^[0-9]+s$"}]}"#
        #expect(try Self.messages(twoStrings, "off") == [])
        #expect(try Self.messages(twoStrings, "30s") == [])
        #expect(try Self.messages(twoStrings, "5m") == [
            #"source 's': config.v: "5m" matches none of the alternatives: "5m" is not one of "auto", "off"; "5m" does not match pattern ^[0-9]+s$"#
        ])
        // A branch without `type` takes every type, so it is the one meant for an array.
        #expect(try Self.messages(twoStrings, [1]) == [#"source 's': config.v: [1] is not one of "auto", "off""#])
    }

    @Test func oneOfBranchErrorsKeepTheirNodes() throws {
        let schema = """
            {"oneOf": [
              {"type": "string"},
              {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}, "port": {"type": "integer"}}}
            ]}
            """
        let value: ConfigValue = ["port": ConfigValue(.string("80"), line: 3, column: 13)]
        let errors = try ConfigSchemaValidator(schemaJSON: #"{"properties": {"v": \#(schema)}}"#)
            .validate(["v": value], source: "s", file: "f")
        #expect(errors.map { "\($0.line):\($0.column): \($0.message)" } == [
            "0:0: source 's': config.v: missing required key 'name'",
            "3:13: source 's': config.v.port: expected integer, got string",
        ])
        // Two object branches: their problems are quoted, deeper ones with their paths.
        let twoObjects = #"{"oneOf": [{"required": ["a"]}, {"properties": {"b": {"type": "string"}}, "required": ["b"]}]}"#
        #expect(try Self.messages(twoObjects, ["b": 1]) == [
            "source 's': config.v: {\"b\":1} matches none of the alternatives: missing required key 'a'; config.v.b: expected string, got integer"
        ])
    }

    @Test func anyOfNeedsOneMatch() throws {
        let schema = #"{"anyOf": [{"type": "integer", "minimum": 1}, {"type": "number", "maximum": 10}, {"type": "null"}]}"#
        #expect(try Self.messages(schema, 5) == [])
        #expect(try Self.messages(schema, 50) == [])
        #expect(try Self.messages(schema, 0.5) == [])
        #expect(try Self.messages(schema, nil) == [])
        #expect(try Self.messages(schema, 10.5) == ["source 's': config.v: 10.5 is greater than the maximum 10"])
        #expect(try Self.messages(schema, "5") == ["source 's': config.v: expected integer or number or null, got string"])
        // Failing `minimum` in the integer branch doesn't matter while the number branch passes.
        #expect(try Self.messages(schema, -50) == [])
    }

    @Test func anyOfAndOneOfNest() throws {
        // `type` on a branch settles which branch a value was meant for, also through nesting.
        let schema = #"{"anyOf": [{"oneOf": [{"type": "integer"}, {"type": "boolean"}]}, {"type": "string", "minLength": 2}]}"#
        #expect(try Self.messages(schema, true) == [])
        #expect(try Self.messages(schema, "ab") == [])
        #expect(try Self.messages(schema, "a") == [#"source 's': config.v: "a" is shorter than the minimum length 2"#])
        #expect(try Self.messages(schema, [:]) == ["source 's': config.v: expected integer or boolean or string, got object"])
        // With `type` beside it, a wrong type is reported once, before any alternative is tried.
        #expect(try Self.messages(#"{"type": "string", "anyOf": [{"minLength": 3}, {"pattern": "x"}]}"#, 1) == [
            "source 's': config.v: expected string, got integer"
        ])
    }

    @Test func stringLengthCountsCharacters() throws {
        let schema = #"{"type": "string", "minLength": 2, "maxLength": 3}"#
        #expect(try Self.messages(schema, "ab") == [])
        #expect(try Self.messages(schema, "abc") == [])
        // One Character each, though several scalars and bytes: what the user sees as a letter.
        #expect(try Self.messages(schema, "e\u{301}🇩🇪👍🏽") == [])
        #expect(try Self.messages(schema, "👍🏽") == [#"source 's': config.v: "👍🏽" is shorter than the minimum length 2"#])
        #expect(try Self.messages(schema, "") == [#"source 's': config.v: "" is shorter than the minimum length 2"#])
        #expect(try Self.messages(schema, "abcd") == [#"source 's': config.v: "abcd" is longer than the maximum length 3"#])
        // Length bounds say nothing about other types.
        #expect(try Self.messages(#"{"minLength": 2, "maxLength": 3}"#, 12345) == [])
        #expect(try Self.messages(#"{"maxLength": 0.0}"#, "") == [])
    }

    @Test func patternSearchesUnanchored() throws {
        #expect(try Self.messages(#"{"pattern": "[0-9]+"}"#, "abc123def") == [])
        #expect(try Self.messages(#"{"pattern": "[0-9]+"}"#, "abc") == [
            #"source 's': config.v: "abc" does not match pattern [0-9]+"#
        ])
        #expect(try Self.messages(#"{"pattern": "^[0-9]+$"}"#, "abc123") == [
            #"source 's': config.v: "abc123" does not match pattern ^[0-9]+$"#
        ])
        // `.` is one code point, as in JSON Schema, even outside UTF-16's basic plane.
        #expect(try Self.messages(#"{"pattern": "^é.$"}"#, "é👍") == [])
        // A pattern says nothing about other types.
        #expect(try Self.messages(#"{"pattern": "^x$"}"#, 7) == [])
    }

    @Test func arrayItemCounts() throws {
        let schema = #"{"type": "array", "minItems": 1, "maxItems": 2, "items": {"type": "string"}}"#
        #expect(try Self.messages(schema, ["a"]) == [])
        #expect(try Self.messages(schema, ["a", "b"]) == [])
        #expect(try Self.messages(schema, []) == ["source 's': config.v: expected at least 1 item, got 0"])
        #expect(try Self.messages(schema, ["a", "b", 3]) == [
            "source 's': config.v: expected at most 2 items, got 3",
            "source 's': config.v[2]: expected string, got integer",
        ])
        #expect(try Self.messages(#"{"minItems": 3}"#, ["a"]) == ["source 's': config.v: expected at least 3 items, got 1"])
        #expect(try Self.messages(#"{"minItems": 3}"#, "a") == [])
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
        (#"{"oneOf": []}"#, "invalid config schema: schema.oneOf must be a non-empty list of schemas"),
        (#"{"anyOf": {"type": "string"}}"#, "invalid config schema: schema.anyOf must be a non-empty list of schemas"),
        (#"{"oneOf": [{"type": "string"}, 3]}"#, "invalid config schema: schema.oneOf[1] must be an object"),
        (#"{"anyOf": [{"oneOf": [{"type": "strng"}]}]}"#, "invalid config schema: schema.anyOf[0].oneOf[0].type 'strng' is not one of"),
        (#"{"minLength": -1}"#, "invalid config schema: schema.minLength must be a non-negative integer"),
        (#"{"maxLength": 1.5}"#, "invalid config schema: schema.maxLength must be a non-negative integer"),
        (#"{"minItems": "1"}"#, "invalid config schema: schema.minItems must be a non-negative integer"),
        (#"{"maxItems": true}"#, "invalid config schema: schema.maxItems must be a non-negative integer"),
        (#"{"pattern": 5}"#, "invalid config schema: schema.pattern must be a string"),
        (#"{"properties": {"a": {"pattern": "([a-z]"}}}"#, #"invalid config schema: schema.properties.a.pattern "([a-z]" is not a valid regular expression"#),
    ])
    func refusesBadSchemas(schema: String, messagePrefix: String) {
        #expect {
            try ConfigSchemaValidator(schemaJSON: schema)
        } throws: { error in
            (error as? ConfigValueError)?.message.hasPrefix(messagePrefix) ?? false
        }
    }
}
