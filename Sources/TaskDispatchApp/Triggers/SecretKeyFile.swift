import Foundation
import Glibc
import TaskQueue

/// The key file behind ``SecretSealer``: 32 random bytes, base64, one line. Created on first
/// use (mode 0600, with `O_EXCL`, so two processes starting together agree on one key) unless
/// it exists; every server process and `app` command must read the same file.
enum SecretKeyFile {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// The sealer for the key in `path`, creating the file when it is missing.
    static func sealer(path: String) throws(Failure) -> SecretSealer {
        if !FileManager.default.fileExists(atPath: path) { try createKey(at: path) }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw Failure(description: "cannot read the secret key file \(path)")
        }
        guard let key = Data(base64Encoded: text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw Failure(description: "the secret key file \(path) does not hold base64")
        }
        do {
            return try SecretSealer(key: Array(key))
        } catch {
            throw Failure(description: "the secret key file \(path): \(error)")
        }
    }

    /// Writes a new key to a file of its own, then links it in place: `link` fails if the
    /// file exists, so a racing process never reads half a key and both end with the same one.
    private static func createKey(at path: String) throws(Failure) {
        let folder = (path as NSString).deletingLastPathComponent
        if !folder.isEmpty {
            try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
        let temporary = path + ".new-\(getpid())-\(UInt32.random(in: .min ... .max))"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw Failure(description: "cannot create the secret key file \(path): \(String(cString: strerror(errno)))")
        }
        defer { unlink(temporary) }
        let line = Array((Data(SecretSealer.generateKey()).base64EncodedString() + "\n").utf8)
        let written = line.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
        let synced = fsync(descriptor) == 0
        close(descriptor)
        guard written == line.count, synced else {
            throw Failure(description: "cannot write the secret key file \(path): \(String(cString: strerror(errno)))")
        }
        // EEXIST: another process made it first; theirs is read.
        guard link(temporary, path) == 0 || errno == EEXIST else {
            throw Failure(description: "cannot create the secret key file \(path): \(String(cString: strerror(errno)))")
        }
    }
}
