//! One lane: a bounded queue of requests, gathered into batches by a task of its own.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use super::metrics::{LaneMetrics, Metrics};
use super::{AcceleratorError, Config};

/// The engine call for a batch: items in, one result per item out, in order.
pub(super) type Work<I, O> = Arc<dyn Fn(Vec<I>) -> Result<Vec<O>, String> + Send + Sync>;

type Reply<O> = oneshot::Sender<Result<Vec<O>, AcceleratorError>>;

/// A request: its items, where to send their results, and the queue room it holds.
struct Request<I, O> {
    items: Vec<I>,
    reply: Reply<O>,
    queued_at: Instant,
    _room: OwnedSemaphorePermit,
}

pub(super) struct Lane<I, O> {
    tx: mpsc::UnboundedSender<Request<I, O>>,
    /// Queue room in items: a request holds a permit per item until its batch has run.
    room: Arc<Semaphore>,
    capacity: usize,
}

impl<I, O> Clone for Lane<I, O> {
    fn clone(&self) -> Self {
        Lane {
            tx: self.tx.clone(),
            room: Arc::clone(&self.room),
            capacity: self.capacity,
        }
    }
}

impl<I: Send + 'static, O: Send + 'static> Lane<I, O> {
    pub(super) fn start(
        name: String,
        config: &Config,
        work: Work<I, O>,
        metrics: &Metrics,
    ) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        // Out-of-range settings are brought into range rather than allowed to panic here or in
        // the lane's task: a semaphore holds at most MAX_PERMITS (and permits are taken in u32
        // counts), and a deadline must not overflow the clock.
        let capacity = config
            .queue_items
            .clamp(1, Semaphore::MAX_PERMITS.min(u32::MAX as usize));
        let room = Arc::new(Semaphore::new(capacity));
        let m = metrics.lane(&name, Arc::clone(&room), capacity);
        tokio::spawn(gather(
            name,
            rx,
            work,
            config.max_batch.max(1),
            config.max_delay.min(Duration::from_secs(3600)),
            m,
        ));
        Lane { tx, room, capacity }
    }

    fn permits(&self, n: usize) -> Result<u32, AcceleratorError> {
        if n > self.capacity {
            return Err(AcceleratorError::Invalid(format!(
                "{n} items is more than the queue holds ({})",
                self.capacity
            )));
        }
        Ok(n.max(1) as u32)
    }

    /// Queues `items`, waiting for room, and resolves to their results.
    pub(super) async fn submit(&self, items: Vec<I>) -> Result<Vec<O>, AcceleratorError> {
        if items.is_empty() {
            return Ok(Vec::new());
        }
        let n = self.permits(items.len())?;
        let room = Arc::clone(&self.room)
            .acquire_many_owned(n)
            .await
            .map_err(|_| AcceleratorError::Closed)?;
        self.send(items, room)?.await
    }

    /// Queues `items` if there is room now; the returned future resolves to their results.
    pub(super) fn try_submit(
        &self,
        items: Vec<I>,
    ) -> Result<impl std::future::Future<Output = Result<Vec<O>, AcceleratorError>>, AcceleratorError>
    {
        let n = self.permits(items.len())?;
        let room = Arc::clone(&self.room)
            .try_acquire_many_owned(n)
            .map_err(|e| match e {
                tokio::sync::TryAcquireError::NoPermits => AcceleratorError::Busy,
                tokio::sync::TryAcquireError::Closed => AcceleratorError::Closed,
            })?;
        let pending = if items.is_empty() {
            None
        } else {
            Some(self.send(items, room)?)
        };
        Ok(async move {
            match pending {
                Some(p) => p.await,
                None => Ok(Vec::new()),
            }
        })
    }

    fn send(
        &self,
        items: Vec<I>,
        room: OwnedSemaphorePermit,
    ) -> Result<impl std::future::Future<Output = Result<Vec<O>, AcceleratorError>>, AcceleratorError>
    {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Request {
                items,
                reply,
                queued_at: Instant::now(),
                _room: room,
            })
            .map_err(|_| AcceleratorError::Closed)?;
        Ok(async move { rx.await.unwrap_or(Err(AcceleratorError::Closed)) })
    }
}

/// The lane's task: gathers requests into batches and runs them, one batch at a time.
async fn gather<I: Send + 'static, O: Send + 'static>(
    name: String,
    mut rx: mpsc::UnboundedReceiver<Request<I, O>>,
    work: Work<I, O>,
    max_batch: usize,
    max_delay: Duration,
    metrics: LaneMetrics,
) {
    while let Some(first) = rx.recv().await {
        let deadline = Instant::now() + max_delay;
        let mut count = first.items.len();
        let mut batch = vec![first];
        while count < max_batch {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(r)) => {
                    count += r.items.len();
                    batch.push(r);
                }
                Ok(None) | Err(_) => break,
            }
        }
        run(&name, &work, batch, &metrics).await;
    }
}

/// Runs one batch off the async workers and answers every request in it.
async fn run<I: Send + 'static, O: Send + 'static>(
    name: &str,
    work: &Work<I, O>,
    batch: Vec<Request<I, O>>,
    metrics: &LaneMetrics,
) {
    let mut sizes = Vec::with_capacity(batch.len());
    let mut items = Vec::new();
    let mut replies = Vec::with_capacity(batch.len());
    let mut queued = Vec::with_capacity(batch.len());
    for r in batch {
        sizes.push(r.items.len());
        items.extend(r.items);
        queued.push(r.queued_at);
        replies.push((r.reply, r._room));
    }
    let total = items.len();
    let w = Arc::clone(work);
    let started = Instant::now();
    let outcome = tokio::task::spawn_blocking(move || w(items))
        .await
        .map_err(|e| format!("{name} batch task failed: {e}"))
        .and_then(|r| r);
    metrics.batch_size.observe(total as f64);
    metrics
        .batch_seconds
        .observe(started.elapsed().as_secs_f64());
    metrics.items.inc_by(total as u64);
    for q in queued {
        metrics.request_seconds.observe(q.elapsed().as_secs_f64());
    }
    match outcome {
        Ok(results) if results.len() == total => {
            let mut results = results.into_iter();
            for ((reply, _room), n) in replies.into_iter().zip(sizes) {
                let mine: Vec<O> = results.by_ref().take(n).collect();
                // A caller that has gone away just does not get its results.
                let _ = reply.send(Ok(mine));
            }
        }
        Ok(results) => {
            let msg = format!(
                "{name}: the engine returned {} results for {total} items",
                results.len()
            );
            for (reply, _room) in replies {
                let _ = reply.send(Err(AcceleratorError::Engine(msg.clone())));
            }
        }
        Err(e) => {
            for (reply, _room) in replies {
                let _ = reply.send(Err(AcceleratorError::Engine(e.clone())));
            }
        }
    }
}
