import InletCore
import Testing

@Suite("Config environment substitution")
struct ConfigEnvironmentTests {
    let substitution = EnvironmentSubstitution(environment: ["A": "1", "EMPTY": "", "PATHISH": "/srv/$x"])

    @Test(arguments: [
        ("x${A}y", "x1y"),
        ("${MISSING:-fallback}", "fallback"),
        ("${EMPTY:-fallback}", "fallback"),
        ("${EMPTY}", ""),
        ("${MISSING:-}", ""),
        ("${MISSING:-${A}}", "1"),
        ("${MISSING:-${OTHER:-deep}}", "deep"),
        ("${MISSING:-a:b-c}", "a:b-c"),
        ("$$", "$"),
        ("$${A}", "${A}"),
        ("cost $5 and $HOME", "cost $5 and $HOME"),
        ("trailing $", "trailing $"),
        ("${PATHISH}", "/srv/$x"),  // Values are not substituted again.
        ("no references", "no references"),
    ])
    func substitutes(input: String, expected: String) throws {
        #expect(try substitution.apply(to: input) == expected)
    }

    @Test func reportsEveryProblemInAString() {
        #expect(throws: EnvironmentSubstitution.Failure(messages: [
            "environment variable USER is not set (use ${USER:-default} for a default)",
            "environment variable PASS is not set (use ${PASS:-default} for a default)",
        ])) {
            try substitution.apply(to: "${USER}:${PASS}")
        }
    }

    @Test(arguments: [
        ("${A", "unterminated '${A': add '}' or write '$$' for a literal '$'"),
        ("${}", "'${}' names no variable"),
        ("${1X}", "invalid variable name '1X' in '${1X}': use letters, digits and '_' (defaults are written ${NAME:-default})"),
        ("${A-x}", "invalid variable name 'A-x' in '${A-x}': use letters, digits and '_' (defaults are written ${NAME:-default})"),
    ])
    func refusesMalformedReferences(input: String, message: String) {
        #expect(throws: EnvironmentSubstitution.Failure(messages: [message])) {
            try substitution.apply(to: input)
        }
    }

    static let yaml = """
        workers: ${WORKERS:-2}
        data_dir: ${DATA_DIR}
        sources:
          - name: acme
            connector: github
            webhook: { secret: "${SECRET}" }
            config:
              token: "${GITHUB_TOKEN}"
              owner: "$${literal}"
              port: ${PORT:-8080}  # plain scalars with ${…} need block style: { } end them in flow style
              name: "${NAME:-42}"
        """

    @Test func missingVariablesAreErrorsAtTheirScalar() {
        let errors = ConfigTestSupport.errors(Self.yaml)
        #expect(errors.allSatisfy { $0.code == .undefinedVariable })
        #expect(errors.map(\.description) == [
            "/etc/inlet/inlet.yaml:2:11: data_dir: environment variable DATA_DIR is not set (use ${DATA_DIR:-default} for a default)",
            "/etc/inlet/inlet.yaml:6:24: source 'acme': webhook.secret: environment variable SECRET is not set (use ${SECRET:-default} for a default)",
            "/etc/inlet/inlet.yaml:8:14: source 'acme': config.token: environment variable GITHUB_TOKEN is not set (use ${GITHUB_TOKEN:-default} for a default)",
        ])
    }

    @Test func substitutesEverywhereIncludingConfigBlocks() throws {
        let config = try ConfigLoader.load(
            yaml: Self.yaml,
            file: "/etc/inlet/inlet.yaml",
            environment: ["DATA_DIR": "/data", "SECRET": "s3cret", "GITHUB_TOKEN": "ghp_x", "WORKERS": "6"]
        )
        #expect(config.workers == 6)
        #expect(config.dataDirectory == "/data")
        let source = try #require(config.sources.first)
        #expect(source.webhook?.secrets == ["s3cret"])
        // Plain scalars are typed after substitution (port → integer); quoted ones stay strings.
        #expect(source.config.jsonString() == #"{"token":"ghp_x","owner":"${literal}","port":8080,"name":"42"}"#)
    }

    @Test func emptySecretFromEnvironmentIsRefused() {
        let yaml = """
            sources:
              - name: a
                connector: github
                webhook: { secrets: ["${OLD}", "${NEW}"] }
            """
        #expect(ConfigTestSupport.positionedMessages(yaml, environment: ["OLD": "", "NEW": "n"]) == [
            "4:26: source 'a': webhook.secrets[0]: must not be empty"
        ])
    }
}

@Suite("Config environment substitution in flow style")
struct ConfigEnvironmentFlowStyleTests {
    @Test func unquotedReferenceInsideBracesGetsAHint() {
        #expect(ConfigTestSupport.positionedMessages("queue: { max_size: ${MAX:-10} }\n") == [
            "1:21: invalid YAML: did not find expected ',' or '}' (while parsing a flow mapping started at 1:8); quote values that contain ${…} inside { } or [ ]"
        ])
    }
}
