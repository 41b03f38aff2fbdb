/// The release, shown by `intake --version` and on the portal's operator view.
public enum IntakeVersion {
    public static let string = "1.4.0"
}
