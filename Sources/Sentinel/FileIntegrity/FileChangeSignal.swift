#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// Tells the sentinel that something under the watched paths changed, so the file check runs at
/// the next round (two seconds) instead of waiting for its schedule. The schedule stays: a lost
/// or overflowed notification, or a platform without one, costs time, never a finding.
public protocol FileChangeSignal: Sendable {
    /// Whether anything changed since the last call.
    func takeChanges() -> Bool
}

/// No notifications: the file check runs on its schedule only (tests of the schedule, and
/// systems without inotify).
public struct ScheduleOnly: FileChangeSignal {
    public init() {}
    public func takeChanges() -> Bool { false }
}

#if canImport(Glibc)
/// Linux inotify on the paths a ``FileIntegrity`` compares: each shallow folder, every folder
/// under each deep one (folders created later are added when their parent reports them) and each
/// single file. Read without blocking, from the sentinel's own loop.
public final class InotifyFileChangeSignal: FileChangeSignal {
    private let descriptor: Int32
    private let shallow: [String]
    private let deep: [String]
    private let files: [String]

    private static let events = UInt32(
        IN_CREATE | IN_DELETE | IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF)

    /// `nil` when the kernel refuses an inotify instance (the limit per user reached).
    public init?(watching integrity: FileIntegrity) {
        let descriptor = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard descriptor >= 0 else { return nil }
        self.descriptor = descriptor
        self.shallow = integrity.shallow
        self.deep = integrity.deep
        self.files = integrity.files
        arm()
    }

    deinit { close(descriptor) }

    /// Adds a watch for every path (adding one twice keeps one watch).
    private func arm() {
        for path in shallow + files { _ = inotify_add_watch(descriptor, path, Self.events) }
        let manager = FileManager.default
        for folder in deep {
            _ = inotify_add_watch(descriptor, folder, Self.events)
            guard let walker = manager.enumerator(atPath: folder) else { continue }
            while let relative = walker.nextObject() as? String {
                var info = stat()
                let path = folder + "/" + relative
                if lstat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR { _ = inotify_add_watch(descriptor, path, Self.events) }
            }
        }
    }

    public func takeChanges() -> Bool {
        var buffer = [UInt8](repeating: 0, count: 8192)
        var changed = false
        while buffer.withUnsafeMutableBytes({ read(descriptor, $0.baseAddress, $0.count) }) > 0 { changed = true }
        if changed { arm() }  // a folder created under web/ is watched from now on
        return changed
    }
}
#endif

extension FileIntegrity {
    /// The platform's notification for these paths, or the schedule alone.
    public func changeSignal() -> any FileChangeSignal {
        #if canImport(Glibc)
        if let inotify = InotifyFileChangeSignal(watching: self) { return inotify }
        #endif
        return ScheduleOnly()
    }
}
