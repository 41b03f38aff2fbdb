extension String {
    /// Whether two texts (nil for SQL NULL) are the same bytes. Swift's `==` on strings is
    /// canonical equivalence: it calls "é" precomposed and "é" decomposed equal, while a database
    /// stores and compares the bytes, so a value that changed only in its form is a change.
    public static func sameBytes(_ a: String?, _ b: String?) -> Bool {
        switch (a, b) {
        case (nil, nil): true
        case let (a?, b?): a.utf8.count == b.utf8.count && a.utf8.elementsEqual(b.utf8)
        default: false
        }
    }
}
