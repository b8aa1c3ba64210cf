use std::io::Result as IoResult;
use std::io::{Error as IoError, ErrorKind, Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};

use std::sync::mpsc::channel;
use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Arc, Mutex};

use std::mem;

pub struct SequentialReaderBuilder<R>
where
    R: Read + Send,
{
    inner: SequentialReaderBuilderInner<R>,
    // PATCH: set when a request body was abandoned part-way; every later reader of the
    // connection then fails instead of parsing the rest of that body as a request.
    poisoned: Arc<AtomicBool>,
}

enum SequentialReaderBuilderInner<R>
where
    R: Read + Send,
{
    First(R),
    NotFirst(Receiver<R>),
}

pub struct SequentialReader<R>
where
    R: Read + Send,
{
    inner: SequentialReaderInner<R>,
    next: Sender<R>,
    poisoned: Arc<AtomicBool>,
}

enum SequentialReaderInner<R>
where
    R: Read + Send,
{
    MyTurn(R),
    Waiting(Receiver<R>),
    Empty,
}

pub struct SequentialWriterBuilder<W>
where
    W: Write + Send,
{
    writer: Arc<Mutex<W>>,
    next_trigger: Option<Receiver<()>>,
}

pub struct SequentialWriter<W>
where
    W: Write + Send,
{
    trigger: Option<Receiver<()>>,
    writer: Arc<Mutex<W>>,
    on_finish: Sender<()>,
}

impl<R: Read + Send> SequentialReaderBuilder<R> {
    pub fn new(reader: R) -> SequentialReaderBuilder<R> {
        SequentialReaderBuilder {
            inner: SequentialReaderBuilderInner::First(reader),
            poisoned: Arc::new(AtomicBool::new(false)),
        }
    }

    /// PATCH: the flag that poisons this connection's readers (see `poisoned`).
    pub fn poison_flag(&self) -> Arc<AtomicBool> {
        self.poisoned.clone()
    }
}

impl<W: Write + Send> SequentialWriterBuilder<W> {
    pub fn new(writer: W) -> SequentialWriterBuilder<W> {
        SequentialWriterBuilder {
            writer: Arc::new(Mutex::new(writer)),
            next_trigger: None,
        }
    }
}

impl<R: Read + Send> Iterator for SequentialReaderBuilder<R> {
    type Item = SequentialReader<R>;

    fn next(&mut self) -> Option<SequentialReader<R>> {
        Some(self.next_reader())
    }
}

impl<R: Read + Send> SequentialReaderBuilder<R> {
    /// PATCH: the next reader; never fails (callers `unwrap`ped `next()`).
    pub fn next_reader(&mut self) -> SequentialReader<R> {
        let (tx, rx) = channel();

        let inner = mem::replace(&mut self.inner, SequentialReaderBuilderInner::NotFirst(rx));

        match inner {
            SequentialReaderBuilderInner::First(reader) => SequentialReader {
                inner: SequentialReaderInner::MyTurn(reader),
                next: tx,
                poisoned: self.poisoned.clone(),
            },

            SequentialReaderBuilderInner::NotFirst(previous) => SequentialReader {
                inner: SequentialReaderInner::Waiting(previous),
                next: tx,
                poisoned: self.poisoned.clone(),
            },
        }
    }
}

impl<W: Write + Send> Iterator for SequentialWriterBuilder<W> {
    type Item = SequentialWriter<W>;
    fn next(&mut self) -> Option<SequentialWriter<W>> {
        Some(self.next_writer())
    }
}

impl<W: Write + Send> SequentialWriterBuilder<W> {
    /// PATCH: the next writer; never fails (callers `unwrap`ped `next()`).
    pub fn next_writer(&mut self) -> SequentialWriter<W> {
        let (tx, rx) = channel();
        let mut next_next_trigger = Some(rx);
        ::std::mem::swap(&mut next_next_trigger, &mut self.next_trigger);

        SequentialWriter {
            trigger: next_next_trigger,
            writer: self.writer.clone(),
            on_finish: tx,
        }
    }
}

impl<R: Read + Send> Read for SequentialReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> IoResult<usize> {
        if self.poisoned.load(Ordering::Relaxed) {
            return Err(IoError::new(
                ErrorKind::ConnectionAborted,
                "a previous request body was abandoned",
            ));
        }
        let mut reader = match self.inner {
            SequentialReaderInner::MyTurn(ref mut reader) => return reader.read(buf),
            // PATCH: the previous reader can be gone without handing over (its connection
            // ended); that is an I/O error, not a panic.
            SequentialReaderInner::Waiting(ref mut recv) => recv
                .recv()
                .map_err(|_| IoError::new(ErrorKind::ConnectionAborted, "connection closed"))?,
            SequentialReaderInner::Empty => {
                return Err(IoError::new(
                    ErrorKind::ConnectionAborted,
                    "connection closed",
                ))
            }
        };
        if self.poisoned.load(Ordering::Relaxed) {
            self.inner = SequentialReaderInner::MyTurn(reader);
            return Err(IoError::new(
                ErrorKind::ConnectionAborted,
                "a previous request body was abandoned",
            ));
        }

        let result = reader.read(buf);
        self.inner = SequentialReaderInner::MyTurn(reader);
        result
    }
}

impl<R: Read + Send> SequentialReader<std::io::BufReader<R>> {
    /// PATCH: the bytes read from the socket but not yet consumed (after an upgrade's head,
    /// the client's first frames).
    pub fn buffered(&self) -> Vec<u8> {
        match &self.inner {
            SequentialReaderInner::MyTurn(r) => r.buffer().to_vec(),
            _ => Vec::new(),
        }
    }
}

impl<W: Write + Send> SequentialWriter<W> {
    /// PATCH: waits for the previous writer to finish (a vanished one only means there is
    /// nothing to wait for), then locks the shared writer without panicking on poison.
    fn turn(&mut self) -> IoResult<std::sync::MutexGuard<'_, W>> {
        if let Some(v) = self.trigger.as_mut() {
            let _ = v.recv();
        }
        self.trigger = None;
        self.writer
            .lock()
            .map_err(|_| IoError::other("writer poisoned"))
    }
}

impl<W: Write + Send> Write for SequentialWriter<W> {
    fn write(&mut self, buf: &[u8]) -> IoResult<usize> {
        self.turn()?.write(buf)
    }

    fn flush(&mut self) -> IoResult<()> {
        self.turn()?.flush()
    }
}

impl<R> Drop for SequentialReader<R>
where
    R: Read + Send,
{
    fn drop(&mut self) {
        let inner = mem::replace(&mut self.inner, SequentialReaderInner::Empty);

        match inner {
            SequentialReaderInner::MyTurn(reader) => {
                self.next.send(reader).ok();
            }
            // PATCH: never block here. The original waited for the previous reader so it could
            // pass the stream on; after a websocket upgrade that reader lives as long as the
            // session, so every session kept one tiny_http thread blocked in this drop. If a
            // later reader exists it waits on a channel whose sender is dropped with us, and
            // the stream closes when its current holder drops it.
            SequentialReaderInner::Waiting(_) => (),
            SequentialReaderInner::Empty => (),
        }
    }
}

impl<W> Drop for SequentialWriter<W>
where
    W: Write + Send,
{
    fn drop(&mut self) {
        self.on_finish.send(()).ok();
    }
}
