import Foundation
import Logging
import Testing

@testable import InletCore

/// C source of a minimal connector, with knobs for each way a plugin can be wrong.
func minimalConnectorSource(
    name: String = "mini", abi: String = "INLET_ABI_VERSION", structSize: String = "sizeof(inlet_connector)",
    createFails: Bool = false, returnsNull: Bool = false
) -> String {
    """
    #include <string.h>
    #include "inlet_connector.h"
    static inlet_status mini_create(const inlet_host *host, inlet_call *call, const char *json, size_t len, void **out) {
        (void)json; (void)len;
        if (\(createFails ? 1 : 0)) {
            const char *m = "mini: the token is missing";
            host->set_error(call, m, strlen(m), 0);
            return INLET_FAILED;
        }
        *out = (void *)host;
        return INLET_OK;
    }
    static void mini_destroy(void *instance) { (void)instance; }
    static inlet_status mini_sync(void *instance, inlet_call *call, const char *kind, const char *args, size_t len) {
        const inlet_host *host = instance; (void)kind; (void)args; (void)len;
        inlet_record r; memset(&r, 0, sizeof r);
        r.struct_size = sizeof r; r.key = "k"; r.key_len = 1; r.kind = "note";
        r.content = (const uint8_t *)"body"; r.content_len = 4;
        return host->emit(call, &r);
    }
    static const inlet_connector table = {
        .struct_size = \(structSize), .abi_version = \(abi), .name = "\(name)", .version = "9.9.9",
        .description = "test connector", .config_schema = NULL, .capabilities = 0,
        .create = mini_create, .destroy = mini_destroy, .sync = mini_sync, .webhook = NULL, .health = NULL,
    };
    INLET_EXPORT const inlet_connector *inlet_connector_register(uint32_t host_abi) {
        (void)host_abi;
        return \(returnsNull ? "NULL" : "&table");
    }
    """
}

@Suite("Plugin loader: each failure names the file and the reason")
struct PluginLoaderTests {
    @Test func loadsAPlainCConnector() async throws {
        let directory = try TemporaryDirectory()
        let path = try CCompiler.sharedLibrary(source: minimalConnectorSource(), in: directory, name: "mini")
        let plugin = try PluginLibrary.load(path: path)
        #expect(plugin.name == "mini")
        #expect(plugin.version == "9.9.9")
        #expect(plugin.summary == "test connector")
        #expect(plugin.capabilities == [])

        let database = try InletDatabase(path: directory.file("inlet.db"))
        let instance = try await ConnectorInstance.create(
            plugin: plugin, source: "m", configJSON: "{}", dataDirectory: directory.file("data"),
            configDirectory: directory.path, logger: Logger(label: "test"))
        let result = await SyncRunner(database: database, logger: Logger(label: "test")).run(instance: instance)
        #expect(result.status == .ok)
        #expect(result.counts.inserted == 1)
        await instance.destroy()
    }

    @Test func missingFile() throws {
        #expect {
            _ = try PluginLibrary.load(path: "/nonexistent/libnothing.so")
        } throws: { error in
            let error = error as! PluginError
            return error.code == .missingFile && error.description.hasPrefix("plugin /nonexistent/libnothing.so: no such file")
        }
    }

    @Test func textFileNamedSo() throws {
        let directory = try TemporaryDirectory()
        let path = try directory.write("libtext.so", "this is not a library\n")
        #expect {
            _ = try PluginLibrary.load(path: path)
        } throws: { error in
            let error = error as! PluginError
            return error.code == .notSharedObject && error.description.contains(path)
                && error.description.contains("not a shared object")
        }
    }

    @Test func libraryWithoutTheSymbol() throws {
        let directory = try TemporaryDirectory()
        let path = try CCompiler.sharedLibrary(
            source: "__attribute__((visibility(\"default\"))) int something_else(void) { return 1; }\n",
            in: directory, name: "nosymbol")
        #expect {
            _ = try PluginLibrary.load(path: path)
        } throws: { error in
            let error = error as! PluginError
            return error.code == .symbolMissing && error.description.contains(path)
                && error.description.contains("inlet_connector_register")
        }
    }

    @Test func abiNewerMinorIsRefusedPrecisely() throws {
        let directory = try TemporaryDirectory()
        let path = try CCompiler.sharedLibrary(
            source: minimalConnectorSource(abi: "INLET_ABI_MAKE_VERSION(1, 7)"), in: directory, name: "newer")
        #expect {
            _ = try PluginLibrary.load(path: path)
        } throws: { error in
            let error = error as! PluginError
            return error.code == .abiTooNew
                && error.description == "plugin \(path): built for ABI 1.7, newer than this host's ABI 1.1: upgrade inlet, or rebuild the plugin against inlet_connector.h 1.1"
        }
    }

    @Test func otherMajorIsRefused() throws {
        let directory = try TemporaryDirectory()
        let path = try CCompiler.sharedLibrary(
            source: minimalConnectorSource(abi: "INLET_ABI_MAKE_VERSION(2, 0)"), in: directory, name: "major2")
        #expect {
            _ = try PluginLibrary.load(path: path)
        } throws: { error in
            (error as! PluginError).code == .abiMismatch && "\(error)".contains("built for ABI 2.0")
        }
    }

    @Test func tooSmallTableIsRefused() throws {
        let directory = try TemporaryDirectory()
        let path = try CCompiler.sharedLibrary(
            source: minimalConnectorSource(structSize: "offsetof(inlet_connector, sync)"), in: directory, name: "small")
        #expect {
            _ = try PluginLibrary.load(path: path)
        } throws: { error in
            (error as! PluginError).code == .invalidTable && "\(error)".contains("struct_size is 64 bytes, smaller than the 88 bytes")
        }
    }

    @Test func entryReturningNullIsRefused() throws {
        let directory = try TemporaryDirectory()
        let path = try CCompiler.sharedLibrary(source: minimalConnectorSource(returnsNull: true), in: directory, name: "null")
        #expect {
            _ = try PluginLibrary.load(path: path)
        } throws: { error in
            (error as! PluginError).code == .noTable && "\(error)".contains(path)
        }
    }

    @Test func createErrorCarriesThePluginsMessage() async throws {
        let directory = try TemporaryDirectory()
        let path = try CCompiler.sharedLibrary(source: minimalConnectorSource(createFails: true), in: directory, name: "refuses")
        let plugin = try PluginLibrary.load(path: path)
        await #expect {
            _ = try await ConnectorInstance.create(
                plugin: plugin, source: "m", configJSON: "{}", dataDirectory: directory.file("data"),
                configDirectory: directory.path, logger: Logger(label: "test"))
        } throws: { error in
            let error = error as! PluginError
            return error.code == .createFailed && error.description.contains(path)
                && error.description.contains("mini: the token is missing") && error.description.contains("source 'm'")
        }
    }

    @Test func catalogKeepsLoadingPastBadFilesAndRefusesDuplicateNames() throws {
        let directory = try TemporaryDirectory()
        let folder = directory.file("plugins")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let first = folder + "/liba-first.so"
        let second = folder + "/libb-second.so"
        try CCompiler.sharedLibrary(sources: [try directory.write("a.c", minimalConnectorSource(name: "twin"))], output: first)
        try CCompiler.sharedLibrary(sources: [try directory.write("b.c", minimalConnectorSource(name: "twin"))], output: second)
        try CCompiler.sharedLibrary(sources: [try directory.write("c.c", minimalConnectorSource(name: "other"))], output: folder + "/libc.so")
        try "junk".write(toFile: folder + "/libjunk.so", atomically: true, encoding: .utf8)
        try "not a plugin".write(toFile: folder + "/README.txt", atomically: true, encoding: .utf8)

        let catalog = PluginCatalog(folders: [folder, directory.file("missing-folder")], environment: [:])
        #expect(Set(catalog.plugins.keys) == ["twin", "other"])
        #expect(catalog.plugins["twin"]?.path == first)
        let reasons = catalog.failures.map(\.description)
        #expect(reasons.contains { $0.contains(second) && $0.contains("connector name 'twin' is already provided by \(first)") })
        #expect(reasons.contains { $0.contains("libjunk.so") && $0.contains("not a shared object") })
        #expect(reasons.contains { $0.contains("missing-folder") && $0.contains("does not exist") })
        #expect(catalog.failures.count == 3)
    }

    @Test func pluginPathEnvironmentIsSearchedAfterConfiguredFolders() throws {
        let directory = try TemporaryDirectory()
        let configured = directory.file("configured")
        let fromEnvironment = directory.file("env")
        for folder in [configured, fromEnvironment] {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        }
        try CCompiler.sharedLibrary(sources: [try directory.write("x.c", minimalConnectorSource(name: "x"))], output: configured + "/libx.so")
        try CCompiler.sharedLibrary(sources: [try directory.write("y.c", minimalConnectorSource(name: "y"))], output: fromEnvironment + "/liby.so")
        let catalog = PluginCatalog(folders: [configured], environment: ["INLET_PLUGIN_PATH": "\(fromEnvironment)::/nowhere"])
        #expect(Set(catalog.plugins.keys) == ["x", "y"])
        #expect(catalog.searchPath == [configured, fromEnvironment, "/nowhere"])
        #expect(catalog.failures.map(\.description) == ["plugin /nowhere: plugin folder (from INLET_PLUGIN_PATH) does not exist"])
    }

    @Test func unknownConnectorSuggestsTheClosestName() throws {
        let directory = try TemporaryDirectory()
        let folder = directory.file("plugins")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try CCompiler.sharedLibrary(sources: [try directory.write("f.c", minimalConnectorSource(name: "folder"))], output: folder + "/libf.so")
        let catalog = PluginCatalog(folders: [folder], environment: [:])
        #expect {
            _ = try catalog.plugin(connector: "fodler", explicitPath: nil)
        } throws: { error in
            "\(error)".hasPrefix("no plugin provides connector 'fodler'; did you mean 'folder'?")
        }
    }
}

@Suite("Host services")
struct HostServicesTests {
    @Test func aRecordMayReferToABlobStagedEarlierInTheSameCall() async throws {
        let directory = try TemporaryDirectory()
        let source = """
            #include <string.h>
            #include "inlet_connector.h"
            static inlet_status c(const inlet_host *h, inlet_call *call, const char *j, size_t l, void **out) {
                (void)call; (void)j; (void)l; *out = (void *)h; return INLET_OK;
            }
            static void d(void *i) { (void)i; }
            static inlet_status s(void *i, inlet_call *call, const char *k, const char *a, size_t l) {
                const inlet_host *h = i; (void)k; (void)a; (void)l;
                inlet_record r; memset(&r, 0, sizeof r);
                r.struct_size = sizeof r; r.kind = "file";
                r.key = "a"; r.key_len = 1; r.content = (const uint8_t *)"hello"; r.content_len = 5;
                if (h->emit(call, &r) != INLET_OK) return INLET_FAILED;
                const char *sha = "b6fc4c620b67d95f953a5c1c1230aaab5db5a1b0";  /* git hash-object of "hello" */
                if (!h->has_blob(call, sha)) return INLET_FAILED;
                memset(&r, 0, sizeof r);
                r.struct_size = sizeof r; r.kind = "file"; r.key = "b"; r.key_len = 1; r.blob_sha = sha;
                if (h->emit(call, &r) != INLET_OK) return INLET_FAILED;
                r.key = "c"; r.blob_sha = "0000000000000000000000000000000000000000";
                return h->emit(call, &r) == INLET_FAILED ? INLET_OK : INLET_FAILED;  /* unknown blob: refused */
            }
            static const inlet_connector t = { .struct_size = sizeof t, .abi_version = INLET_ABI_VERSION, .name = "ref",
                .version = "1", .create = c, .destroy = d, .sync = s };
            INLET_EXPORT const inlet_connector *inlet_connector_register(uint32_t v) { (void)v; return &t; }
            """
        let path = try CCompiler.sharedLibrary(source: source, in: directory, name: "ref")
        let database = try InletDatabase(path: directory.file("inlet.db"))
        let instance = try await ConnectorInstance.create(
            plugin: try PluginLibrary.load(path: path), source: "ref", configJSON: "{}", dataDirectory: directory.file("data"),
            configDirectory: directory.path, logger: Logger(label: "test"))
        let result = await SyncRunner(database: database, logger: Logger(label: "test")).run(instance: instance)
        #expect(result.status == .ok, "\(result.message ?? "")")
        #expect(result.counts.inserted == 2)
        #expect(result.rejected == 1)
        let shas = try await database.pool.read { db in try String.fetchAll(db, sql: "SELECT blob_sha FROM documents ORDER BY key") }
        #expect(shas == ["b6fc4c620b67d95f953a5c1c1230aaab5db5a1b0", "b6fc4c620b67d95f953a5c1c1230aaab5db5a1b0"])
        await instance.destroy()
    }

    @Test func theHostRefusesKeysWithNULsOversizedRecordsStateInCreateAndAHandleUsedAfterItsCall() async throws {
        let directory = try TemporaryDirectory()
        let source = """
            #include <stdlib.h>
            #include <string.h>
            #include <pthread.h>
            #include <unistd.h>
            #include "inlet_connector.h"
            typedef struct { const inlet_host *h; inlet_call *kept; } inst;
            static int in_create_state = -1;
            static inlet_status c(const inlet_host *h, inlet_call *call, const char *j, size_t l, void **out) {
                (void)j; (void)l;
                inlet_buffer b; in_create_state = h->state_get(call, "offset", 6, &b);
                h->log(call, INLET_LOG_WARNING, "from create", 11);
                inst *i = calloc(1, sizeof *i); i->h = h; *out = i; return INLET_OK;
            }
            static void d(void *i) { free(i); }
            static volatile int late = -2, late_cancelled = -2;
            static void *later(void *p) {
                inst *i = p; usleep(100000);
                inlet_record r; memset(&r, 0, sizeof r);
                r.struct_size = sizeof r; r.key = "late"; r.key_len = 4;
                late = i->h->emit(i->kept, &r);
                late_cancelled = i->h->is_cancelled(i->kept);
                return NULL;
            }
            static inlet_status s(void *p, inlet_call *call, const char *k, const char *a, size_t l) {
                inst *i = p; const inlet_host *h = i->h; (void)a; (void)l;
                if (strcmp(k, "late") == 0) {
                    /* Answers what the thread of the previous call met. */
                    return late == INLET_FAILED && late_cancelled == 1 && in_create_state == INLET_FAILED ? INLET_OK : INLET_FAILED;
                }
                inlet_record r; memset(&r, 0, sizeof r);
                r.struct_size = sizeof r;
                r.key = "a\\0one"; r.key_len = 5;
                if (h->emit(call, &r) != INLET_FAILED) return INLET_FAILED;
                if (h->state_set(call, "s\\0x", 3, (const uint8_t *)"1", 1) != INLET_FAILED) return INLET_FAILED;
                if (h->quarantine_item(call, "", 0, "e", 1, NULL, 0) != INLET_FAILED) return INLET_FAILED;
                r.key = "big"; r.key_len = 3; r.content = (const uint8_t *)"x"; r.content_len = ((size_t)256 << 20) + 1;
                if (h->emit(call, &r) != INLET_FAILED) return INLET_FAILED;  /* refused on its length: never read */
                if (h->quarantine_item(call, "big", 3, "too big", 7, NULL, 0) != INLET_OK) return INLET_FAILED;
                r.key = "ok"; r.key_len = 2; r.content = (const uint8_t *)"fine"; r.content_len = 4;
                if (h->emit(call, &r) != INLET_OK) return INLET_FAILED;
                i->kept = call;
                pthread_t t; pthread_create(&t, NULL, later, i); pthread_detach(t);
                return INLET_OK;
            }
            static const inlet_connector t = { .struct_size = sizeof t, .abi_version = INLET_ABI_VERSION, .name = "rude",
                .version = "1", .create = c, .destroy = d, .sync = s };
            INLET_EXPORT const inlet_connector *inlet_connector_register(uint32_t v) { (void)v; return &t; }
            """
        let path = try CCompiler.sharedLibrary(source: source, in: directory, name: "rude")
        let database = try InletDatabase(path: directory.file("inlet.db"))
        let logs = CapturedLogs()
        let instance = try await ConnectorInstance.create(
            plugin: try PluginLibrary.load(path: path), source: "rude", configJSON: "{}", dataDirectory: directory.file("data"),
            configDirectory: directory.path, logger: logs.logger())
        // What the plugin logs from create names its source.
        #expect(logs.all.contains { $0.contains("from create") && $0.contains("source=rude") }, "\(logs.all)")
        #expect(logs.all.contains { $0.contains("state_get is not available during create") }, "\(logs.all)")
        let runner = SyncRunner(database: database, logger: Logger(label: "test"))
        let result = await runner.run(instance: instance)
        #expect(result.status == .ok, "\(result.message ?? "")")
        #expect(result.counts.inserted == 1)
        // The big record refused, then quarantined, is one failed item, not two.
        #expect(result.rejected == 2 && result.counts.quarantined == 1 && result.failed == 3)
        // The thread the plugin left behind uses the call's handle after the call returned:
        // refused, and told to stop; the next call reports what it met.
        try await Task.sleep(for: .milliseconds(400))
        let after = await runner.run(instance: instance, kind: "late")
        #expect(after.status == .ok, "\(after.message ?? "")")
        let keys = try await database.pool.read { db in try String.fetchAll(db, sql: "SELECT key FROM documents ORDER BY key") }
        #expect(keys == ["ok"])
        await instance.destroy()
    }
}
