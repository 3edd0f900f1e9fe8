import Foundation

/// The account PostgreSQL runs as when this process is root, because the server refuses to run as root.
struct ServerAccount {
    let name: String
    let userID: uid_t
    let groupIDs: Set<gid_t>

    /// Looks the account up in the system's user database.
    static func lookUp(_ name: String) throws(EmbeddedPostgresError) -> ServerAccount {
        guard let entry = getpwnam(name) else {
            throw .notAccessible("there is no account \"\(name)\" to run PostgreSQL as (running as root needs one: Debian's postgresql package creates \"postgres\")")
        }
        let userID = entry.pointee.pw_uid
        let primaryGroup = entry.pointee.pw_gid
        var count: Int32 = 64
        var groups = [gid_t](repeating: 0, count: Int(count))
        if getgrouplist(name, primaryGroup, &groups, &count) == -1 {
            groups = [gid_t](repeating: 0, count: Int(count))
            _ = getgrouplist(name, primaryGroup, &groups, &count)
        }
        return ServerAccount(name: name, userID: userID, groupIDs: Set(groups.prefix(Int(max(count, 0)))).union([primaryGroup]))
    }

    /// Makes this account the owner of `root` and everything below it.
    func takeOwnership(of root: String) throws(EmbeddedPostgresError) {
        var paths = [root]
        if let enumerator = FileManager.default.enumerator(atPath: root) {
            while let relative = enumerator.nextObject() as? String {
                paths.append(root + "/" + relative)
            }
        }
        for path in paths where lchown(path, userID, gid_t(bitPattern: -1)) != 0 {
            throw .notAccessible("could not give \(path) to \(name): \(String(cString: strerror(errno)))")
        }
    }

    /// Checks that this account can enter every folder above `path`, which it needs to reach the
    /// cluster; names the first folder that blocks it. Nothing is changed in those folders.
    func checkCanReach(_ path: String) throws(EmbeddedPostgresError) {
        let resolved = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        var ancestors: [String] = []
        var current = (resolved as NSString).deletingLastPathComponent
        while true {
            ancestors.append(current)
            if current == "/" || current.isEmpty { break }
            current = (current as NSString).deletingLastPathComponent
        }
        for directory in ancestors.reversed() where !canEnter(directory) {
            throw .notAccessible(
                "the account \"\(name)\" that runs PostgreSQL cannot enter \(directory), above \(path); "
                    + "choose a data directory whose parent folders it can traverse (mode o+x), for example under the temporary folder"
            )
        }
    }

    /// Whether this account has search permission on `directory`, by the owner/group/other rule.
    private func canEnter(_ directory: String) -> Bool {
        var status = stat()
        guard stat(directory, &status) == 0 else { return false }
        let mode = status.st_mode
        if status.st_uid == userID {
            return mode & S_IXUSR != 0
        }
        if groupIDs.contains(status.st_gid) {
            return mode & S_IXGRP != 0
        }
        return mode & S_IXOTH != 0
    }
}
