import Foundation
import GRDB
import Testing

@testable import InletCore

@Suite("Checkpoints on a thread of their own")
struct BackgroundCheckpointerTests {
    @Test func theWALIsCopiedIntoTheDatabaseFileWithoutTheWriterCheckpointing() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("inlet.db")
        let database = try InletDatabase(path: path)
        let checkpointer = try BackgroundCheckpointer(pool: database.pool)
        defer { checkpointer.stop() }
        // 500 pages of rows: under SQLite's own automatic checkpoint (1,000 pages) and the
        // backstop (10,000), so only the checkpointer's thread can copy them into the file.
        let before = try Self.size(of: path)
        let value = Data(repeating: 0x61, count: 4096)
        for index in 0..<500 {
            try await database.pool.write { db in
                try db.execute(
                    sql: "INSERT INTO state (source, key, value, updated_at) VALUES ('s', ?, ?, '')", arguments: ["k\(index)", value])
            }
        }
        // Only a checkpoint writes the rows into the database file itself.
        var waited = 0
        while try Self.size(of: path) < before + 500 * 4096, waited < 1_000 {
            try await Task.sleep(for: .milliseconds(10))
            waited += 1
        }
        #expect(try Self.size(of: path) >= before + 500 * 4096)
        #expect(checkpointer.checkpoints > 0)

        checkpointer.stop()
        let restored = try await database.pool.writeWithoutTransaction { db in try Int.fetchOne(db, sql: "PRAGMA wal_autocheckpoint") }
        #expect(restored == Int(BackgroundCheckpointer.defaultPages))
        let count = try await database.pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM state") }
        #expect(count == 500)
    }

    private static func size(of path: String) throws -> Int {
        (try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
    }
}
