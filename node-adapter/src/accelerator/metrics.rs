//! The accelerator's metrics, in a Prometheus / OpenMetrics registry.
//!
//! Per lane (`lane` label: `verify-strict`, `verify-zip215`, `verify-dalek`, `sha256`): items
//! answered, batch sizes, batch run times, request latencies (submit to answer), and items
//! pending (queued or in a running batch). From the engine: batches per backend, GPU failures,
//! fallbacks to the CPU, cross-checks and cross-check mismatches.

use std::sync::{Arc, Mutex};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric, NoLabelSet};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use tokio::sync::Semaphore;
use vera_engine::{Engine, LATENCY_BOUNDS};

type Labels = Vec<(&'static str, String)>;

fn sizes() -> Histogram {
    Histogram::new(exponential_buckets(1.0, 4.0, 10)) // 1 .. 262,144 items
}

fn seconds() -> Histogram {
    Histogram::new(exponential_buckets(1e-5, 4.0, 12)) // 10 µs .. 42 s
}

/// Handles a lane records into.
#[derive(Clone)]
pub(super) struct LaneMetrics {
    pub(super) items: Counter,
    pub(super) batch_size: Histogram,
    pub(super) batch_seconds: Histogram,
    pub(super) request_seconds: Histogram,
}

/// The registry and the families behind it.
pub(super) struct Metrics {
    registry: Mutex<Registry>,
    items: Family<Labels, Counter>,
    batch_size: Family<Labels, Histogram, fn() -> Histogram>,
    batch_seconds: Family<Labels, Histogram, fn() -> Histogram>,
    request_seconds: Family<Labels, Histogram, fn() -> Histogram>,
    live: Arc<Live>,
}

impl Metrics {
    pub(super) fn new(engine: Engine) -> Self {
        let items = Family::<Labels, Counter>::default();
        let batch_size =
            Family::<Labels, Histogram, fn() -> Histogram>::new_with_constructor(sizes);
        let batch_seconds =
            Family::<Labels, Histogram, fn() -> Histogram>::new_with_constructor(seconds);
        let request_seconds =
            Family::<Labels, Histogram, fn() -> Histogram>::new_with_constructor(seconds);
        let live = Arc::new(Live {
            engine,
            lanes: Mutex::new(Vec::new()),
        });
        let mut registry = Registry::with_prefix("vera");
        registry.register("items", "Items answered", items.clone());
        registry.register("batch_size", "Items per engine batch", batch_size.clone());
        registry.register(
            "batch_seconds",
            "Time to run one engine batch",
            batch_seconds.clone(),
        );
        registry.register(
            "request_seconds",
            "Time from submitting a request to its answer",
            request_seconds.clone(),
        );
        registry.register_collector(Box::new(Arc::clone(&live)));
        Metrics {
            registry: Mutex::new(registry),
            items,
            batch_size,
            batch_seconds,
            request_seconds,
            live,
        }
    }

    /// The handles for lane `name`, whose queue room is `room` out of `capacity` items.
    pub(super) fn lane(&self, name: &str, room: Arc<Semaphore>, capacity: usize) -> LaneMetrics {
        let l: Labels = vec![("lane", name.to_string())];
        self.live
            .lanes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((name.to_string(), room, capacity));
        LaneMetrics {
            items: self.items.get_or_create(&l).clone(),
            batch_size: self.batch_size.get_or_create(&l).clone(),
            batch_seconds: self.batch_seconds.get_or_create(&l).clone(),
            request_seconds: self.request_seconds.get_or_create(&l).clone(),
        }
    }

    /// Adds a metric of the caller's.
    pub(super) fn register(
        &self,
        name: &str,
        help: &str,
        metric: impl prometheus_client::registry::Metric,
    ) {
        self.registry
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .register(name, help, metric);
    }

    /// Everything in the OpenMetrics text format.
    pub(super) fn encode(&self) -> String {
        let mut out = String::new();
        let registry = self.registry.lock().unwrap_or_else(|p| p.into_inner());
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &registry);
        out
    }
}

/// Values read at scrape time: the engine's counters and the queues' depths.
struct Live {
    engine: Engine,
    lanes: Mutex<Vec<(String, Arc<Semaphore>, usize)>>,
}

impl std::fmt::Debug for Live {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Live")
    }
}

impl Collector for Live {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let s = self.engine.stats();
        for (name, help, value) in [
            ("gpu_failures", "GPU batches that failed", s.gpu_failures),
            (
                "gpu_fallbacks",
                "Failed GPU batches answered by the CPU",
                s.fallbacks,
            ),
            (
                "cross_checks",
                "GPU batches recomputed on the CPU to compare",
                s.cross_checks,
            ),
            (
                "cross_check_mismatches",
                "Cross-checks where the GPU's answer differed (the CPU's was used)",
                s.cross_check_mismatches,
            ),
        ] {
            let c = ConstCounter::new(value);
            let m = encoder.encode_descriptor(name, help, None, c.metric_type())?;
            c.encode(m)?;
        }
        {
            let mut m = encoder.encode_descriptor(
                "engine_batches",
                "Engine batches by the backend that answered them",
                None,
                prometheus_client::metrics::MetricType::Counter,
            )?;
            for (backend, value) in [("gpu", s.gpu_batches), ("cpu", s.cpu_batches)] {
                let labels = [("backend", backend)];
                ConstCounter::new(value).encode(m.encode_family(&labels)?)?;
            }
        }
        {
            let mut m = encoder.encode_descriptor(
                "engine_items",
                "Items the engine answered, by backend (fallbacks and split batches included)",
                None,
                prometheus_client::metrics::MetricType::Counter,
            )?;
            for (backend, load) in [("gpu", &s.gpu), ("cpu", &s.cpu)] {
                let labels = [("backend", backend)];
                ConstCounter::new(load.items).encode(m.encode_family(&labels)?)?;
            }
        }
        {
            let mut m = encoder.encode_descriptor(
                "engine_batch_seconds",
                "Engine batch latency by backend",
                None,
                prometheus_client::metrics::MetricType::Histogram,
            )?;
            for (backend, load) in [("gpu", &s.gpu), ("cpu", &s.cpu)] {
                let labels = [("backend", backend)];
                let buckets: Vec<(f64, u64)> = LATENCY_BOUNDS
                    .iter()
                    .copied()
                    .chain(std::iter::once(f64::INFINITY))
                    .zip(load.latency)
                    .collect();
                m.encode_family(&labels)?.encode_histogram::<NoLabelSet>(
                    load.nanos as f64 / 1e9,
                    load.batches,
                    &buckets,
                    None,
                )?;
            }
        }
        let mut m = encoder.encode_descriptor(
            "pending_items",
            "Items queued or in a running batch",
            None,
            prometheus_client::metrics::MetricType::Gauge,
        )?;
        for (name, room, capacity) in self.lanes.lock().unwrap_or_else(|p| p.into_inner()).iter() {
            let pending = capacity.saturating_sub(room.available_permits()) as i64;
            let labels = [("lane", name.as_str())];
            ConstGauge::new(pending).encode(m.encode_family(&labels)?)?;
        }
        Ok(())
    }
}
