import Foundation

/// Folders the host creates (data_dir, a source's data folder), with errors a user can read:
/// Foundation's own name the Cocoa error domain and code before the reason.
package enum Directory {
    /// Creates `path` and its missing parents.
    /// - Throws: ``DirectoryError`` with the system's reason ("Permission denied").
    package static func create(_ path: String) throws(DirectoryError) {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw DirectoryError(path: path, reason: reason(error))
        }
    }

    /// The POSIX reason under a Foundation error, else its description.
    static func reason(_ error: any Error) -> String {
        var current: NSError? = error as NSError
        while let nsError = current {
            if nsError.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(nsError.code))) }
            current = (nsError.userInfo[NSUnderlyingErrorKey] as? any Error).map { $0 as NSError }
        }
        return error.localizedDescription
    }
}

/// A folder that could not be created.
package struct DirectoryError: Error, CustomStringConvertible {
    /// The folder asked for.
    package var path: String
    /// Why not, in the system's words.
    package var reason: String

    package var description: String { "cannot create \(path): \(reason)" }
}
