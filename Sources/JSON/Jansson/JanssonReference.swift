import CJansson

/// The one owner of a reference to a jansson value: releases it on `deinit` unless handed on.
struct JanssonReference: ~Copyable {
    /// The value; borrowed by whoever reads it, valid while `self` lives.
    let pointer: UnsafeMutablePointer<json_t>

    /// Takes over a reference returned by a jansson constructor; `nil` means the call failed.
    ///
    /// Constructors only fail when memory runs out (or, for `json_real`, on NaN and infinity).
    init(createdBy call: StaticString, _ pointer: UnsafeMutablePointer<json_t>?) throws(JanssonError) {
        guard let pointer else { throw JanssonError(failedCall: call) }
        self.pointer = pointer
    }

    /// Takes over a reference jansson returned successfully.
    init(adopting pointer: UnsafeMutablePointer<json_t>) {
        self.pointer = pointer
    }

    /// Gives the reference up, for jansson calls that steal it (`json_array_append_new`, …).
    consuming func transfer() -> UnsafeMutablePointer<json_t> {
        let pointer = self.pointer
        discard self
        return pointer
    }

    deinit {
        json_decref(pointer)
    }
}
