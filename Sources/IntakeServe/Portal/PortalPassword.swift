import HummingbirdBcrypt

/// Portal passwords: bcrypt (hummingbird-auth's), cost 12, about a quarter of a second per try
/// on one core, so a stolen database costs an attacker that per guess per account.
public enum PortalPassword {
    static let cost: UInt8 = 12
    /// bcrypt reads at most 72 bytes; a longer password would be silently cut.
    public static let lengthRule = "a password is 10 to 72 bytes long"

    public static func isAcceptable(_ password: String) -> Bool {
        (10...72).contains(password.utf8.count)
    }

    /// The hash to store. Slow on purpose: call it off the cooperative threads.
    public static func hash(_ password: String) -> String {
        Bcrypt.hash(password, cost: cost)
    }

    /// Whether `password` matches `hash`. Slow on purpose, like ``hash(_:)``.
    public static func verify(_ password: String, hash: String) -> Bool {
        Bcrypt.verify(password, hash: hash)
    }

    /// A hash no password matches, checked when the email is unknown so that the answer takes
    /// as long as for a known one (the timing does not tell which emails have accounts). Made
    /// when the listener starts (``prepare()``), not by the first unknown email.
    static let decoy = Bcrypt.hash("no account has this password", cost: cost)

    /// Computes the decoy hash now.
    static func prepare() { _ = decoy }
}
