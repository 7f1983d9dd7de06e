//! Stream bodies: [`BodyStream`] and [`BodyReader`].
//!
//! A body can be read piece by piece, whatever its kind, with
//! [`Exchange::body_reader`](crate::Exchange::body_reader) (a
//! [`std::io::Read`]); a streamed body from the host is then never held
//! whole by the plugin. A plugin streams a body out with
//! [`Body::from_chunks`](crate::Body::from_chunks): the host pulls the
//! chunks after the call has returned, as fast as the consumer reads.

use std::collections::HashMap;
use std::io::{self, Read};
use std::sync::{Arc, Mutex};

use crate::__private::wit;
use crate::PluginError;

/// Chunks of a body a plugin produces.
type Chunks = Box<dyn Iterator<Item = Result<Vec<u8>, PluginError>> + Send>;

/// A body handed over piece by piece.
///
/// Either a streamed body from the host, read with [`BodyStream::read`] (or
/// through a [`BodyReader`]), or chunks the plugin produces
/// ([`Body::from_chunks`](crate::Body::from_chunks)). Like rust-camel's
/// stream bodies it can be consumed once: clones share it. Returning an
/// exchange whose body is a host stream passes on what was not read.
#[derive(Clone)]
pub struct BodyStream {
    inner: Arc<Mutex<Option<Inner>>>,
}

enum Inner {
    /// A streamed body the host hands over.
    Host(wit::BodyStream),
    /// Chunks the plugin produces.
    Chunks(Chunks),
}

impl BodyStream {
    fn new(inner: Inner) -> Self {
        BodyStream {
            inner: Arc::new(Mutex::new(Some(inner))),
        }
    }

    pub(crate) fn from_host(handle: wit::BodyStream) -> Self {
        BodyStream::new(Inner::Host(handle))
    }

    pub(crate) fn from_chunks(chunks: Chunks) -> Self {
        BodyStream::new(Inner::Chunks(chunks))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Inner>> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The next piece: at most `max` bytes of a host stream, or the next
    /// (non-empty) chunk of a produced body; `Ok(None)` at the end (and once
    /// the stream was handed on).
    ///
    /// # Errors
    ///
    /// What the source reports: [`PluginError::Io`] when the host's stream
    /// failed, or a produced chunk's own error.
    pub fn read(&self, max: usize) -> Result<Option<Vec<u8>>, PluginError> {
        let mut inner = self.lock();
        match inner.as_mut() {
            None => Ok(None),
            Some(Inner::Host(handle)) => {
                let max = u32::try_from(max.max(1)).unwrap_or(u32::MAX);
                let piece = handle.read(max).map_err(crate::__private::error_from_wit)?;
                Ok((!piece.is_empty()).then_some(piece))
            }
            Some(Inner::Chunks(chunks)) => {
                for chunk in chunks.by_ref() {
                    let chunk = chunk?;
                    if !chunk.is_empty() {
                        return Ok(Some(chunk));
                    }
                }
                Ok(None)
            }
        }
    }

    /// The body's total size, if its source says.
    pub fn size_hint(&self) -> Option<u64> {
        match self.lock().as_ref() {
            Some(Inner::Host(handle)) => handle.size_hint(),
            _ => None,
        }
    }

    /// The body's content type, if its source says.
    pub fn content_type(&self) -> Option<String> {
        match self.lock().as_ref() {
            Some(Inner::Host(handle)) => handle.content_type(),
            _ => None,
        }
    }

    /// The stream for the host: a host stream's own handle, or a new handle
    /// whose chunks the host will pull from this plugin.
    pub(crate) fn into_wit(self) -> Option<wit::BodyStream> {
        match self.lock().take()? {
            Inner::Host(handle) => Some(handle),
            Inner::Chunks(chunks) => {
                let id = PRODUCERS.with(|producers| producers.insert(chunks));
                Some(crate::__private::wit_host::produce_body(id))
            }
        }
    }
}

impl PartialEq for BodyStream {
    /// The same stream (clones of one another).
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}

impl std::fmt::Debug for BodyStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.lock().as_ref() {
            None => "handed on",
            Some(Inner::Host(_)) => "from the host",
            Some(Inner::Chunks(_)) => "produced",
        };
        write!(f, "BodyStream({kind})")
    }
}

/// Reads a body as bytes, piece by piece ([`std::io::Read`]).
///
/// Made by [`Exchange::body_reader`](crate::Exchange::body_reader): a
/// streamed body is read from its source as the plugin asks for bytes; any
/// other body is read from the bytes (or text) it already holds.
#[derive(Debug)]
pub struct BodyReader<'a> {
    source: Source<'a>,
}

#[derive(Debug)]
enum Source<'a> {
    Slice(&'a [u8]),
    Stream {
        stream: BodyStream,
        /// The rest of the last piece.
        piece: Vec<u8>,
        at: usize,
    },
}

impl<'a> BodyReader<'a> {
    pub(crate) fn slice(bytes: &'a [u8]) -> Self {
        BodyReader {
            source: Source::Slice(bytes),
        }
    }

    pub(crate) fn stream(stream: BodyStream) -> Self {
        BodyReader {
            source: Source::Stream {
                stream,
                piece: Vec::new(),
                at: 0,
            },
        }
    }
}

impl Read for BodyReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match &mut self.source {
            Source::Slice(bytes) => bytes.read(buf),
            Source::Stream { stream, piece, at } => {
                if *at == piece.len() {
                    match stream.read(buf.len().max(1)) {
                        Ok(Some(next)) => {
                            *piece = next;
                            *at = 0;
                        }
                        Ok(None) => return Ok(0),
                        Err(err) => return Err(io::Error::other(err)),
                    }
                }
                let n = buf.len().min(piece.len() - *at);
                buf[..n].copy_from_slice(&piece[*at..*at + n]);
                *at += n;
                Ok(n)
            }
        }
    }
}

/// The bodies this plugin is producing, by the id the host pulls them by.
struct Producers {
    open: std::cell::RefCell<HashMap<u32, Producing>>,
    next_id: std::cell::Cell<u32>,
}

struct Producing {
    chunks: Chunks,
    /// The rest of a chunk larger than the host asked for.
    rest: Vec<u8>,
}

thread_local! {
    static PRODUCERS: Producers = Producers {
        open: std::cell::RefCell::new(HashMap::new()),
        next_id: std::cell::Cell::new(1),
    };
}

impl Producers {
    fn insert(&self, chunks: Chunks) -> u32 {
        let mut open = self.open.borrow_mut();
        let mut id = self.next_id.get();
        while open.contains_key(&id) {
            id = id.wrapping_add(1).max(1);
        }
        self.next_id.set(id.wrapping_add(1).max(1));
        open.insert(
            id,
            Producing {
                chunks,
                rest: Vec::new(),
            },
        );
        id
    }
}

/// `body-source.next`: the next piece of body `id`, at most `max` bytes.
pub(crate) fn next_piece(id: u32, max: u32) -> Result<Option<Vec<u8>>, PluginError> {
    let max = (max as usize).max(1);
    PRODUCERS.with(|producers| {
        let mut open = producers.open.borrow_mut();
        let Some(producing) = open.get_mut(&id) else {
            return Err(PluginError::not_found(format!("no produced body {id}")));
        };
        let mut piece = std::mem::take(&mut producing.rest);
        while piece.is_empty() {
            match producing.chunks.next() {
                Some(Ok(chunk)) => piece = chunk,
                Some(Err(err)) => {
                    open.remove(&id);
                    return Err(err);
                }
                None => {
                    open.remove(&id);
                    return Ok(None);
                }
            }
        }
        if piece.len() > max {
            producing.rest = piece.split_off(max);
        }
        Ok(Some(piece))
    })
}

/// `body-source.cancel`: the consumer of body `id` went away.
pub(crate) fn cancel(id: u32) {
    PRODUCERS.with(|producers| producers.open.borrow_mut().remove(&id));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunks(pieces: Vec<Result<Vec<u8>, PluginError>>) -> Chunks {
        Box::new(pieces.into_iter())
    }

    #[test]
    fn the_host_pulls_produced_chunks_in_pieces() {
        let id = PRODUCERS.with(|p| {
            p.insert(chunks(vec![
                Ok(b"hello ".to_vec()),
                Ok(Vec::new()),
                Ok(b"world".to_vec()),
            ]))
        });
        assert_eq!(next_piece(id, 4).unwrap().as_deref(), Some(&b"hell"[..]));
        assert_eq!(next_piece(id, 4).unwrap().as_deref(), Some(&b"o "[..]));
        assert_eq!(next_piece(id, 100).unwrap().as_deref(), Some(&b"world"[..]));
        assert_eq!(next_piece(id, 100).unwrap(), None);
        assert!(next_piece(id, 100).is_err(), "ended bodies are gone");
    }

    #[test]
    fn errors_and_cancel_end_a_produced_body() {
        let id = PRODUCERS.with(|p| p.insert(chunks(vec![Err(PluginError::io("disk"))])));
        assert_eq!(next_piece(id, 10).unwrap_err().kind(), "io");
        let id = PRODUCERS.with(|p| p.insert(chunks(vec![Ok(vec![1])])));
        cancel(id);
        assert!(next_piece(id, 10).is_err());
    }

    #[test]
    fn a_produced_stream_reads_natively() {
        let stream = BodyStream::from_chunks(chunks(vec![
            Ok(b"ab".to_vec()),
            Ok(Vec::new()),
            Ok(b"cd".to_vec()),
        ]));
        let mut text = String::new();
        BodyReader::stream(stream.clone())
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(text, "abcd");
        assert_eq!(stream.read(10).unwrap(), None);
    }
}
