/// One request's state across the several access-handler calls libmicrohttpd makes for it.
///
/// libmicrohttpd keeps it in `*con_cls` from the first call until the completion notice. A
/// connection is served by one worker thread at a time, so it needs no lock. Keeping the
/// outcome in ``phase`` rather than in the call stack is what lets a later answer (a long poll
/// resumed after `MHD_suspend_connection`) be added without reshaping the flow.
final class RequestContext {
    /// Where the request stands.
    enum Phase {
        /// Body bytes are being stored for the handler.
        case receiving
        /// The server refused the request; any further body bytes are dropped unread.
        case refusing(HTTPRejection)
        /// The handler answers later: the connection is suspended until it does.
        case parked(PendingResponse)
        /// A response is queued; nothing more is to be done but wait for completion.
        case answered(status: Int)
    }

    /// What the access handler should tell libmicrohttpd after a body chunk.
    enum ChunkOutcome {
        case keepReading
        /// The client keeps sending far past the limit: close rather than read it all.
        case closeConnection
    }

    let head: HTTPRequestHead
    private(set) var phase: Phase
    /// When the head arrived.
    private let arrivedAt = ContinuousClock.now
    private(set) var body: [UInt8] = []

    private let bodyLimit: Int
    /// How much of a refused body is read and dropped before the connection is closed; reading
    /// some lets a modest overshoot still get its 413 instead of a reset connection. At most
    /// 16 MiB past the limit, so that large upload limits do not mean reading gigabytes.
    private let discardLimit: Int
    private var discardedBytes = 0

    /// Seconds since the head arrived.
    var age: Double {
        let elapsed = ContinuousClock.now - arrivedAt
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }

    init(head: HTTPRequestHead, bodyLimit: Int, rejection: HTTPRejection?) {
        self.head = head
        self.bodyLimit = bodyLimit
        let (quadrupled, overflow) = max(bodyLimit, 64 * 1024).multipliedReportingOverflow(by: 4)
        let (capped, cappedOverflow) = bodyLimit.addingReportingOverflow(16 << 20)
        self.discardLimit = min(overflow ? Int.max : quadrupled, cappedOverflow ? Int.max : capped)
        self.phase = rejection.map(Phase.refusing) ?? .receiving
        if case .receiving = phase, let declared = head.declaredContentLength {
            // Capped: a large upload limit must not let a bare header reserve that much memory.
            body.reserveCapacity(min(declared, bodyLimit, 1 << 20))
        }
    }

    /// Stores a body chunk, or drops it once the request is refused or the body too large.
    func receive(_ chunk: UnsafeRawBufferPointer) -> ChunkOutcome {
        switch phase {
        case .receiving where body.count + chunk.count <= bodyLimit:
            body.append(contentsOf: chunk)
            return .keepReading
        case .receiving:
            // A chunked body has no declared length, so the limit is only seen here.
            discardedBytes = body.count
            body = []
            phase = .refusing(.bodyTooLarge(limit: bodyLimit))
            return discard(chunk.count)
        case .refusing, .parked, .answered:
            return discard(chunk.count)
        }
    }

    /// Records that the connection is suspended until `pending` is completed.
    func markParked(_ pending: PendingResponse) {
        phase = .parked(pending)
    }

    /// Records that a response with `status` is queued.
    func markAnswered(status: Int) {
        phase = .answered(status: status)
    }

    private func discard(_ byteCount: Int) -> ChunkOutcome {
        let (total, overflow) = discardedBytes.addingReportingOverflow(byteCount)
        discardedBytes = overflow ? Int.max : total
        return discardedBytes > discardLimit ? .closeConnection : .keepReading
    }
}

extension HTTPRequestHead {
    /// The `Content-Length` as a number; `Int.max` for a run of digits too long for `Int`, so
    /// that it counts as over any limit; `nil` if absent or not a number (libmicrohttpd refuses
    /// those itself).
    var declaredContentLength: Int? {
        guard let text = headers["Content-Length"]?.trimmingASCIIWhitespace(),
              !text.isEmpty, text.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) })
        else { return nil }
        return Int(text) ?? Int.max
    }
}

extension String {
    fileprivate func trimmingASCIIWhitespace() -> Substring {
        let isWhitespace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let first = firstIndex(where: { !isWhitespace($0) }),
              let last = lastIndex(where: { !isWhitespace($0) })
        else { return "" }
        return self[first...last]
    }
}
