/// The version this build reports.
public enum TaskDispatchVersion {
    public static let current = "0.1.0"
}
