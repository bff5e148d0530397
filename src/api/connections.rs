//! Accepting connections with bounds, so that slow or idle clients cannot
//! hold the server: at most so many connections at once, a deadline for
//! each request's headers (which also closes keep-alive connections idle
//! that long), for each request as a whole (its body included), and for
//! a response the client does not read.
//!
//! `axum::serve` offers none of these; hyper's connection builder offers
//! the header deadline, tower-http the request deadlines, and the rest is
//! the small accept loop and write guard below.

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::io;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::time::Sleep;

/// The bounds on connections (see the README's configuration table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Connections served at once; more wait in the listen backlog.
    pub max_connections: usize,
    /// Connections from one address at once; more are closed at once, so
    /// that one host cannot take every slot.
    pub max_per_peer: usize,
    /// A request's headers must arrive within this, counted from when the
    /// connection is ready for them: a new connection, or one idle after
    /// its last response (so it is also the keep-alive idle timeout).
    pub header_read: Duration,
    /// A request's body must arrive within this (else 408).
    pub request: Duration,
    /// A response the client stops reading is dropped after this long
    /// without progress.
    pub write_stall: Duration,
    /// A connection is asked to close (after its current response) once
    /// it is this old, and closed whatever it is doing `write_stall`
    /// later: a client trickling requests or reading a byte at a time
    /// cannot hold its slot for ever.
    pub max_age: Duration,
}

impl ConnectionLimits {
    pub const DEFAULT: ConnectionLimits = ConnectionLimits {
        max_connections: 4_096,
        max_per_peer: 256,
        header_read: Duration::from_secs(10),
        request: Duration::from_secs(30),
        write_stall: Duration::from_secs(30),
        max_age: Duration::from_secs(300),
    };
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Connections open per peer address.
#[derive(Default)]
struct PeerCounts(std::sync::Mutex<std::collections::HashMap<IpAddr, usize>>);

/// One connection's place in [`PeerCounts`]; gives it back when dropped.
struct PeerSlot {
    counts: Arc<PeerCounts>,
    peer: IpAddr,
}

impl PeerCounts {
    fn enter(counts: &Arc<PeerCounts>, peer: IpAddr, most: usize) -> Option<PeerSlot> {
        let mut open = counts.0.lock().unwrap_or_else(|p| p.into_inner());
        let n = open.entry(peer).or_default();
        if *n >= most {
            return None;
        }
        *n += 1;
        Some(PeerSlot {
            counts: counts.clone(),
            peer,
        })
    }
}

impl Drop for PeerSlot {
    fn drop(&mut self) {
        let mut open = self.counts.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = open.get_mut(&self.peer) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.remove(&self.peer);
            }
        }
    }
}

/// Serves `router` on `listener` until `shutdown` completes, then lets the
/// open connections finish their requests.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let peers = Arc::new(PeerCounts::default());
    let (stop, stopping) = tokio::sync::watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: wait, retry.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Some(peer_slot) = PeerCounts::enter(&peers, peer.ip(), limits.max_per_peer) else {
            tracing::debug!(%peer, "too many connections from this address; closed");
            continue;
        };
        let _ = stream.set_nodelay(true);
        let io = TokioIo::new(WriteStallGuard::new(stream, limits.write_stall));
        let service = TowerToHyperService::new(router.clone());
        let connection = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_read)
            .keep_alive(true)
            .serve_connection(io, service);
        let mut stopping = stopping.clone();
        tokio::spawn(async move {
            let mut connection = std::pin::pin!(connection);
            let ended = tokio::select! {
                ended = connection.as_mut() => Some(ended),
                () = tokio::time::sleep(limits.max_age) => None,
                _ = stopping.wait_for(|stop| *stop) => None,
            };
            let ended = match ended {
                Some(ended) => Some(ended),
                None => {
                    // Finish the request in hand, then close.
                    connection.as_mut().graceful_shutdown();
                    tokio::time::timeout(limits.request + limits.write_stall, connection)
                        .await
                        .ok()
                }
            };
            if let Some(Err(e)) = ended {
                tracing::debug!(error = %e, "connection ended with an error");
            }
            drop((slot, peer_slot));
        });
    }
    drop(listener);
    let _ = stop.send(true);
    // In-flight requests finish within their own deadlines.
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    let _ =
        tokio::time::timeout(limits.request + limits.write_stall, slots.acquire_many(all)).await;
    Ok(())
}

/// A TCP stream whose writes fail after `stall` without progress: a
/// client that stops reading its response cannot hold the connection.
struct WriteStallGuard {
    stream: TcpStream,
    stall: Duration,
    /// Armed while a write is pending.
    deadline: Option<Pin<Box<Sleep>>>,
}

impl WriteStallGuard {
    fn new(stream: TcpStream, stall: Duration) -> Self {
        WriteStallGuard {
            stream,
            stall,
            deadline: None,
        }
    }

    /// After a pending write: fails once the deadline has passed.
    fn poll_stalled<T>(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<T>> {
        let stall = self.stall;
        let deadline = self
            .deadline
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(stall)));
        match deadline.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the client stopped reading the response",
            ))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl AsyncRead for WriteStallGuard {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for WriteStallGuard {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match Pin::new(&mut self.stream).poll_write(cx, buf) {
            Poll::Pending => self.poll_stalled(cx),
            done => {
                self.deadline = None;
                done
            }
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match Pin::new(&mut self.stream).poll_flush(cx) {
            Poll::Pending => self.poll_stalled(cx),
            done => {
                self.deadline = None;
                done
            }
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match Pin::new(&mut self.stream).poll_write_vectored(cx, bufs) {
            Poll::Pending => self.poll_stalled(cx),
            done => {
                self.deadline = None;
                done
            }
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}
