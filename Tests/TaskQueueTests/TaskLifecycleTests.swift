import Testing
@testable import TaskQueue

@Suite("Task lifecycle (no I/O)")
struct TaskLifecycleTests {
    @Test("only a scheduled task can be claimed")
    func claim() {
        for status in TaskStatus.allCases {
            let expected: TaskTransition = status == .scheduled ? .apply(to: .running) : .conflict
            #expect(TaskLifecycle.transition(for: .claim, from: status) == expected, "claim from \(status)")
        }
    }

    @Test("progress applies to running tasks, answers cancelled ones unchanged, refuses the rest")
    func progress() {
        for status in TaskStatus.allCases {
            let expected: TaskTransition =
                switch status {
                case .running: .apply(to: .running)
                case .cancelled: .answerUnchanged
                default: .conflict
                }
            #expect(TaskLifecycle.transition(for: .progress, from: status) == expected, "progress from \(status)")
        }
    }

    @Test("a result is accepted only while running: never twice, never after cancel")
    func result() {
        for status in TaskStatus.allCases {
            let transition = TaskLifecycle.transition(for: .result, from: status)
            if status == .running {
                #expect(transition == .apply(to: .successful))
            } else {
                #expect(transition == .conflict, "result from \(status)")
            }
        }
    }

    @Test("cancel acts on scheduled, waiting and running tasks only")
    func cancel() {
        for status in TaskStatus.allCases {
            let expected: TaskTransition =
                [.scheduled, .waiting, .running].contains(status) ? .apply(to: .cancelled) : .answerUnchanged
            #expect(TaskLifecycle.transition(for: .cancel, from: status) == expected, "cancel from \(status)")
        }
    }

    @Test("final states are exactly successful, failed and cancelled")
    func finalStates() {
        #expect(TaskStatus.allCases.filter(\.isFinal) == [.successful, .failed, .cancelled])
    }

    @Test("wire names are Nextcloud's; a waiting task shows as scheduled there and apart in the admin's views")
    func wireNames() {
        #expect(TaskStatus.allCases.map(\.wireName) == [
            "STATUS_UNKNOWN", "STATUS_SCHEDULED", "STATUS_RUNNING", "STATUS_SUCCESSFUL", "STATUS_FAILED",
            "STATUS_CANCELLED", "STATUS_SCHEDULED",
        ])
        #expect(TaskStatus.allCases.map(\.rawValue) == [0, 1, 2, 3, 4, 5, 6])
        #expect(TaskStatus.waiting.adminName == "STATUS_WAITING")
        #expect(Set(TaskStatus.allCases.map(\.adminName)).count == TaskStatus.allCases.count)
        #expect(TaskStatus(operatorName: "waiting") == .waiting)
        #expect(TaskStatus(operatorName: "STATUS_SCHEDULED") == .scheduled)
        #expect(TaskStatus(operatorName: "6") == .waiting)
    }
}

@Suite("Secrets")
struct SecretHasherTests {
    @Test("tokens are random, of the asked length and alphabet")
    func tokens() {
        let tokens = (0..<100).map { _ in SecretHasher.generateToken(length: 44) }
        #expect(Set(tokens).count == 100)
        #expect(tokens.allSatisfy { $0.count == 44 && $0.allSatisfy { $0.isLetter || $0.isNumber } })
    }

    @Test("hashes are salted and verify only the right secret")
    func hashing() {
        let salt = SecretHasher.generateSalt()
        let otherSalt = SecretHasher.generateSalt()
        let hash = SecretHasher.hash(secret: "s3cret", salt: salt)
        #expect(hash.count == 32)
        #expect(hash != SecretHasher.hash(secret: "s3cret", salt: otherSalt))
        #expect(SecretHasher.verify(secret: "s3cret", salt: salt, expectedHash: hash))
        #expect(!SecretHasher.verify(secret: "s3cres", salt: salt, expectedHash: hash))
        #expect(!SecretHasher.verify(secret: "s3cret", salt: otherSalt, expectedHash: hash))
        #expect(!SecretHasher.constantTimeEquals([1, 2], [1, 2, 3]))
    }
}
