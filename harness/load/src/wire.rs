//! One keep-alive connection's HTTP/1.1 exchange: the request written, the response read and parsed
//! with httparse from the connection's buffer, its framing (length, chunked, until close), the limits
//! on head and body, and every failure as a counted kind with one message.

use super::*;

/// Initial read buffer per connection; it grows for larger responses.
pub(crate) const READ_BUF: usize = 4 * 1024;

/// Response headers parsed per response; more is a `bad_response`.
pub(crate) const MAX_HEADERS: usize = 32;

/// Why one request failed, as counted in the report.
pub(crate) type Kind = &'static str;

/// A failed request: its kind (counted) and what happened (one sample per kind is reported).
#[derive(Debug)]
pub(crate) struct Failed {
    pub(crate) kind: Kind,
    pub(crate) detail: String,
}

pub(crate) fn failed(kind: Kind, detail: impl Into<String>) -> Failed {
    Failed {
        kind,
        detail: detail.into(),
    }
}

/// The first bytes of `b`, printable, for an error message.
pub(crate) fn shown(b: &[u8]) -> String {
    let head: String = b
        .iter()
        .take(40)
        .flat_map(|c| c.escape_ascii())
        .map(char::from)
        .collect();
    if b.len() > 40 {
        format!("{head:?}...")
    } else {
        format!("{head:?}")
    }
}

/// A chunk-size line longer than this is not HTTP.
pub(crate) const MAX_CHUNK_LINE: usize = 1024;
/// Most interim (1xx) responses accepted before a request's final one. A server may send several
/// (RFC 9110 §15.2: e.g. 103 Early Hints), each discarded; one that never stops is a `bad_response`.
pub(crate) const MAX_INTERIM: usize = 16;

/// One keep-alive HTTP/1.1 connection: the request is encoded once and written as bytes; responses are
/// parsed with httparse and framed by Content-Length or chunked encoding. No pipelining.
pub(crate) struct Conn {
    stream: tokio::net::TcpStream,
    buf: Vec<u8>,
    /// Bytes of `buf` holding data not yet consumed.
    filled: usize,
    limits: Limits,
}

/// A parsed response: status, body bytes, whether the server asked to close.
pub(crate) struct Response {
    pub(crate) status: u16,
    pub(crate) body_len: u64,
    pub(crate) close: bool,
}

pub(crate) fn io_failed(e: &std::io::Error, doing: &str) -> Failed {
    use std::io::ErrorKind::*;
    let kind = match e.kind() {
        ConnectionReset | ConnectionAborted | BrokenPipe | UnexpectedEof => "reset",
        _ => "io",
    };
    failed(kind, format!("{doing}: {e}"))
}

impl Conn {
    pub(crate) async fn open(target: &Target) -> Result<Conn, String> {
        let stream = tokio::net::TcpStream::connect(&target.authority)
            .await
            .map_err(|e| e.to_string())?;
        stream.set_nodelay(true).map_err(|e| e.to_string())?;
        Ok(Conn {
            stream,
            buf: vec![0; READ_BUF],
            filled: 0,
            limits: target.limits,
        })
    }

    /// Read more bytes into the buffer (grown only while a head is incomplete, up to the head limit);
    /// EOF is a reset (the server closed mid-exchange).
    async fn fill(&mut self) -> Result<(), Failed> {
        use tokio::io::AsyncReadExt;
        if self.filled == self.buf.len() {
            self.buf.resize(self.buf.len() * 2, 0);
        }
        match self.stream.read(&mut self.buf[self.filled..]).await {
            Ok(0) => Err(failed(
                "reset",
                format!(
                    "the server closed the connection with {} bytes of a response read",
                    self.filled
                ),
            )),
            Ok(n) => {
                self.filled += n;
                Ok(())
            }
            Err(e) => Err(io_failed(&e, "read")),
        }
    }

    /// Discard `n` bytes from offset `at` on, reading (into the same space) as they arrive; returns the
    /// offset just past them.
    async fn skip(&mut self, at: usize, mut n: u64) -> Result<usize, Failed> {
        loop {
            let avail = (self.filled - at) as u64;
            if avail >= n {
                return Ok(at + n as usize);
            }
            n -= avail;
            self.filled = at;
            self.fill().await?;
        }
    }

    /// Send one request and read its whole response.
    pub(crate) async fn exchange(&mut self, request: &[u8]) -> Result<Response, Failed> {
        use tokio::io::AsyncWriteExt;
        self.stream
            .write_all(request)
            .await
            .map_err(|e| io_failed(&e, "write"))?;
        let max_head = self.limits.max_head_bytes;
        // The head.
        let mut interim = 0;
        let (head_len, status, framing, close) = loop {
            let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
            let mut resp = httparse::Response::new(&mut headers);
            match resp.parse(&self.buf[..self.filled]) {
                Ok(httparse::Status::Complete(len)) => {
                    let status = resp.code.unwrap_or(0);
                    if status == 101 {
                        return Err(failed(
                            "bad_response",
                            "101 Switching Protocols to a request that asked for no upgrade",
                        ));
                    }
                    if (100..200).contains(&status) {
                        // An interim response has no body: discard its head and read on.
                        interim += 1;
                        if interim > MAX_INTERIM {
                            return Err(failed(
                                "bad_response",
                                format!(
                                    "more than {MAX_INTERIM} interim (1xx) responses before a final one"
                                ),
                            ));
                        }
                        self.buf.copy_within(len..self.filled, 0);
                        self.filled -= len;
                        continue;
                    }
                    let mut framing = Framing::UntilClose;
                    let mut close = false;
                    for h in resp.headers.iter() {
                        if h.name.eq_ignore_ascii_case("content-length") {
                            let n = std::str::from_utf8(h.value)
                                .ok()
                                .and_then(|v| v.trim().parse().ok())
                                .ok_or_else(|| {
                                    failed(
                                        "bad_response",
                                        format!("Content-Length is {}", shown(h.value)),
                                    )
                                })?;
                            framing = Framing::Length(n);
                        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
                            if h.value.eq_ignore_ascii_case(b"chunked") {
                                framing = Framing::Chunked;
                            }
                        } else if h.name.eq_ignore_ascii_case("connection") {
                            close = h.value.eq_ignore_ascii_case(b"close");
                        }
                    }
                    if status == 204 || status == 304 {
                        framing = Framing::Length(0);
                    }
                    break (len, status, framing, close);
                }
                Ok(httparse::Status::Partial) if self.filled >= max_head => {
                    return Err(failed(
                        "head_too_large",
                        format!("no end of the response head in {max_head} bytes (--max-head)"),
                    ));
                }
                Ok(httparse::Status::Partial) => self.fill().await?,
                Err(httparse::Error::TooManyHeaders) => {
                    return Err(failed(
                        "head_too_large",
                        format!("more than {MAX_HEADERS} response headers"),
                    ));
                }
                Err(e) => {
                    return Err(failed(
                        "bad_response",
                        format!(
                            "expected HTTP/1.x ({e}), got {}",
                            shown(&self.buf[..self.filled])
                        ),
                    ));
                }
            }
        };
        // The body: counted and discarded as it arrives.
        let max_body = self.limits.max_body_bytes;
        let (consumed, body_len) = match framing {
            Framing::Length(n) if n > max_body => {
                return Err(failed(
                    "body_too_large",
                    format!(
                        "Content-Length {n} is above the limit of {max_body} bytes (--max-body)"
                    ),
                ));
            }
            Framing::Length(n) => (self.skip(head_len, n).await?, n),
            Framing::Chunked => self.chunked(head_len).await?,
            // No length and no chunking: the body runs to EOF, which ends keep-alive.
            Framing::UntilClose => {
                return Err(failed(
                    "bad_response",
                    "a response with neither Content-Length nor chunked encoding (body until close)",
                ));
            }
        };
        self.buf.copy_within(consumed..self.filled, 0);
        self.filled -= consumed;
        Ok(Response {
            status,
            body_len,
            close,
        })
    }

    /// Read a chunked body starting at `at`, discarding its data; returns (bytes consumed from the
    /// buffer start, body length).
    async fn chunked(&mut self, mut at: usize) -> Result<(usize, u64), Failed> {
        let max_body = self.limits.max_body_bytes;
        let mut body: u64 = 0;
        loop {
            // Drop what is consumed, so the buffer does not creep forward chunk by chunk.
            self.buf.copy_within(at..self.filled, 0);
            self.filled -= at;
            at = 0;
            let (size_len, size) = loop {
                match httparse::parse_chunk_size(&self.buf[at..self.filled]) {
                    Ok(httparse::Status::Complete((len, size))) => break (len, size),
                    Ok(httparse::Status::Partial) if self.filled - at > MAX_CHUNK_LINE => {
                        return Err(failed(
                            "bad_response",
                            format!("no end of a chunk-size line in {MAX_CHUNK_LINE} bytes"),
                        ));
                    }
                    Ok(httparse::Status::Partial) => self.fill().await?,
                    Err(_) => {
                        return Err(failed(
                            "bad_response",
                            format!(
                                "expected a chunk size, got {}",
                                shown(&self.buf[at..self.filled])
                            ),
                        ));
                    }
                }
            };
            at += size_len;
            if size == 0 {
                // Trailers (none expected) end with an empty line.
                loop {
                    if let Some(i) = self.buf[at..self.filled]
                        .windows(2)
                        .position(|w| w == b"\r\n")
                    {
                        let line_empty = i == 0;
                        at += i + 2;
                        if line_empty {
                            return Ok((at, body));
                        }
                    } else if self.filled - at > self.limits.max_head_bytes {
                        return Err(failed(
                            "head_too_large",
                            "no end of the chunked trailers within the head limit",
                        ));
                    } else {
                        self.fill().await?;
                    }
                }
            }
            body += size;
            if body > max_body {
                return Err(failed(
                    "body_too_large",
                    format!("the chunked body passed the limit of {max_body} bytes (--max-body)"),
                ));
            }
            at = self.skip(at, size).await?;
            // The chunk's closing CRLF.
            while self.filled - at < 2 {
                self.fill().await?;
            }
            if &self.buf[at..at + 2] != b"\r\n" {
                return Err(failed(
                    "bad_response",
                    format!(
                        "a chunk not ended by CRLF: {}",
                        shown(&self.buf[at..self.filled])
                    ),
                ));
            }
            at += 2;
        }
    }
}

pub(crate) enum Framing {
    Length(u64),
    Chunked,
    UntilClose,
}
