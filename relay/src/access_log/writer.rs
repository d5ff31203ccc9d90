//! The access log's one writer: group commits of every record waiting, one fsync each.
//!
//! Being the only writer of the log's rows, it reads each owner's counter, numbers that
//! owner's records of the batch after it, and writes the records and the new counters in one
//! atomic synced batch: a crash leaves all of a batch or none of it, and two records never get
//! one sequence. Only then does each waiting read learn that its record is on disk.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::mpsc;

use tokio::sync::oneshot;
use uuid::Uuid;

use super::{AccessLogError, AccessRecord, LogRows, counter_key, row_key, stored_count};

/// Most records one batch writes; more wait for the next.
const MAX_BATCH: usize = 1024;

/// A record to write and who waits for it.
struct Job {
    record: AccessRecord,
    done: oneshot::Sender<Result<(), AccessLogError>>,
}

/// The handle to the writer thread. Dropping it lets the thread finish what was queued and
/// waits for it, so the store is free (to reopen, say) once the last `AccessLog` is gone.
#[derive(Debug)]
pub(super) struct Writer {
    jobs: Option<mpsc::Sender<Job>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.jobs.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The error of a record the writer could not take or answer (it stopped: a panic).
pub(super) fn stopped() -> AccessLogError {
    AccessLogError::Store("the access log's writer stopped".into())
}

impl Writer {
    /// Starts the writer thread over `rows`.
    pub(super) fn start(rows: Arc<dyn LogRows>) -> Writer {
        let (jobs, queue) = mpsc::channel();
        // If the thread cannot start, every record fails with `stopped` (the send fails).
        let thread = std::thread::Builder::new()
            .name("idos-access-log".into())
            .spawn(move || write_until_closed(&*rows, &queue))
            .ok();
        Writer {
            jobs: thread.is_some().then_some(jobs),
            thread,
        }
    }

    /// Queues `record`; the receiver answers once it is on disk (or could not be written).
    pub(super) fn record(
        &self,
        record: AccessRecord,
    ) -> Result<oneshot::Receiver<Result<(), AccessLogError>>, AccessLogError> {
        let (done, answer) = oneshot::channel();
        self.jobs
            .as_ref()
            .ok_or_else(stopped)?
            .send(Job { record, done })
            .map_err(|_| stopped())?;
        Ok(answer)
    }
}

fn write_until_closed(rows: &dyn LogRows, queue: &mpsc::Receiver<Job>) {
    while let Ok(first) = queue.recv() {
        let mut jobs = vec![first];
        while jobs.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        let result = write_batch(rows, &jobs);
        for job in jobs {
            // A read that gave up waiting no longer listens; its record stays written.
            let _ = job.done.send(result.clone());
        }
    }
}

/// Writes `jobs`' records, each numbered after its owner's last, and the owners' new counts,
/// in one synced batch.
fn write_batch(rows: &dyn LogRows, jobs: &[Job]) -> Result<(), AccessLogError> {
    let mut next: HashMap<Uuid, u64> = HashMap::new();
    let mut batch = Vec::with_capacity(jobs.len() + 1);
    for job in jobs {
        let owner = job.record.owner_user_id;
        let sequence = match next.get(&owner) {
            Some(n) => *n,
            None => stored_count(rows, &owner)?,
        };
        let value =
            serde_json::to_vec(&job.record).map_err(|e| AccessLogError::Corrupt(e.to_string()))?;
        batch.push((row_key(&owner, sequence), value));
        next.insert(owner, sequence.saturating_add(1));
    }
    for (owner, count) in next {
        batch.push((counter_key(&owner), count.to_be_bytes().to_vec()));
    }
    rows.put_all_synced(&batch).map_err(AccessLogError::Store)
}
