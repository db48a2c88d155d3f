//! Bounded line splitting, shared by the JSON-lines subcommands (blocking reads) and the server
//! (async reads): a line longer than the limit is skipped whole rather than buffered, so no
//! input can make vera allocate more than the limit for one line.

/// One input line, without its newline and any trailing '\r'.
pub(crate) enum Line {
    /// The line's bytes.
    Text(Vec<u8>),
    /// The line was longer than the limit; its bytes were dropped as they arrived.
    TooLong,
}

/// A line being assembled from buffered chunks of input.
pub(crate) struct LineBuf {
    buf: Vec<u8>,
    too_long: bool,
    max: usize,
}

impl LineBuf {
    /// Starts a line of at most `max` bytes (not counting "\r\n").
    pub(crate) fn new(max: usize) -> Self {
        LineBuf {
            buf: Vec::new(),
            too_long: false,
            max,
        }
    }

    /// Takes what belongs to this line from the start of `chunk`: returns how many bytes to
    /// consume, and whether the line ended (at a newline) within them.
    pub(crate) fn feed(&mut self, chunk: &[u8]) -> (usize, bool) {
        let (take, done) = match chunk.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (chunk.len(), false),
        };
        if !self.too_long {
            if self.buf.len() + take > self.max + 2 {
                self.too_long = true;
                self.buf = Vec::new();
            } else {
                self.buf.extend_from_slice(&chunk[..take]);
            }
        }
        (take, done)
    }

    /// Whether nothing at all has been fed (at end of input: there is no last line).
    pub(crate) fn is_empty(&self) -> bool {
        self.buf.is_empty() && !self.too_long
    }

    /// The finished line.
    pub(crate) fn finish(mut self) -> Line {
        if self.too_long {
            return Line::TooLong;
        }
        while matches!(self.buf.last(), Some(b'\n' | b'\r')) {
            self.buf.pop();
        }
        Line::Text(self.buf)
    }
}
