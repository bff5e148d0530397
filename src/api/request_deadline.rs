//! The deadline for receiving a request: its body must arrive within the
//! request timeout, else 408. Only receiving is bounded: once the body
//! is in, the handler runs to the end, since cutting it off there could
//! drop a write after it has committed (and tell the client it had not).

use super::ApiError;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body::{Frame, SizeHint};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

/// A body that says when it has been read to its end.
struct TrackedBody {
    inner: Body,
    received: Arc<AtomicBool>,
}

impl http_body::Body for TrackedBody {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if matches!(polled, Poll::Ready(None)) || self.inner.is_end_stream() {
            self.received.store(true, Ordering::Relaxed);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Answers 408 when the request's body has not been received within
/// `limit`; a request without a body, or whose body is in, is not cut off.
pub async fn receive_within(
    State(limit): State<Duration>,
    request: Request,
    next: Next,
) -> Response {
    use http_body::Body as _;
    let (parts, body) = request.into_parts();
    let received = Arc::new(AtomicBool::new(body.is_end_stream()));
    let body = Body::new(TrackedBody {
        inner: body,
        received: received.clone(),
    });
    let mut handler = std::pin::pin!(next.run(Request::from_parts(parts, body)));
    tokio::select! {
        response = &mut handler => return response,
        () = tokio::time::sleep(limit) => {}
    }
    if received.load(Ordering::Relaxed) {
        return handler.await;
    }
    ApiError::Rejected {
        status: StatusCode::REQUEST_TIMEOUT,
        detail: format!(
            "the request's body did not arrive within {} s",
            limit.as_secs()
        ),
    }
    .into_response()
}
