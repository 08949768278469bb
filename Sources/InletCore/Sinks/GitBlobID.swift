import Crypto

/// Git's blob id: SHA-1 of `"blob <length>\0"` followed by the bytes, as 40 lowercase hex digits.
/// Ids computed here equal `git hash-object`'s, so a blob ingested from git and from a folder is
/// stored once.
package enum GitBlobID {
    package static func of(_ bytes: some Collection<UInt8>) -> String {
        var hasher = Insecure.SHA1()
        hasher.update(data: Array("blob \(bytes.count)\0".utf8))
        let hashed: Void? = bytes.withContiguousStorageIfAvailable { hasher.update(bufferPointer: UnsafeRawBufferPointer($0)) }
        if hashed == nil { hasher.update(data: Array(bytes)) }
        return hex(hasher.finalize())
    }

    /// True for 40 lowercase hex digits.
    package static func isValid(_ sha: String) -> Bool {
        sha.utf8.count == 40 && sha.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }

    private static func hex(_ digest: Insecure.SHA1.Digest) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(40)
        for byte in digest {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
