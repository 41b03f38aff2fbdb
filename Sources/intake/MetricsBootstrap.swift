import Metrics
import Prometheus

/// swift-metrics bootstrapped with swift-prometheus for `intake watch`: everything the modules
/// and Hummingbird record goes into one registry, which `/metrics` renders.
enum MetricsBootstrap {
    /// Bootstraps the process's metrics system (once per process, as swift-metrics requires) and
    /// returns the registry to render.
    static func prometheus() -> PrometheusCollectorRegistry {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        // A file takes from a fraction of a second to tens of minutes; HTTP requests keep the
        // factory's 5 ms to 10 s buckets.
        factory.durationHistogramBuckets["intake_import_duration_seconds"] = [
            .milliseconds(100), .milliseconds(500), .seconds(1), .seconds(5), .seconds(15), .seconds(60),
            .seconds(300), .seconds(900), .seconds(1800), .seconds(3600),
        ]
        factory.valueHistogramBuckets["intake_file_size_bytes"] = [1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10]
        MetricsSystem.bootstrap(factory)
        return registry
    }
}
