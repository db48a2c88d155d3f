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

    /// Whether the line has passed the limit (its bytes are being dropped as they come).
    pub(crate) fn is_too_long(&self) -> bool {
        self.too_long
    }

    /// Bytes buffered so far (at most `max + 2`: the line and its "\r\n").
    pub(crate) fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// The finished line. Its length without the newline and trailing '\r's is what the limit
    /// applies to: the two bytes of slack in [`feed`](Self::feed) are for "\r\n" only.
    pub(crate) fn finish(mut self) -> Line {
        if self.too_long {
            return Line::TooLong;
        }
        while matches!(self.buf.last(), Some(b'\n' | b'\r')) {
            self.buf.pop();
        }
        if self.buf.len() > self.max {
            return Line::TooLong;
        }
        Line::Text(self.buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(input: &[u8], max: usize, chunk: usize) -> Vec<Option<Vec<u8>>> {
        let mut out = Vec::new();
        let mut rest = input;
        while !rest.is_empty() {
            let mut line = LineBuf::new(max);
            loop {
                let piece = &rest[..rest.len().min(chunk)];
                if piece.is_empty() {
                    break;
                }
                let (take, done) = line.feed(piece);
                assert!(line.buffered() <= max + 2);
                rest = &rest[take..];
                if done {
                    break;
                }
            }
            out.push(match line.finish() {
                Line::Text(t) => Some(t),
                Line::TooLong => None,
            });
        }
        out
    }

    #[test]
    fn the_limit_is_exact_whatever_the_terminator_and_the_chunking() {
        for chunk in [1, 2, 3, 7, 64] {
            let got = lines(
                b"1234\n12345\n123456\n1234\r\n12345\r\n1234\r\r\n\n12345",
                4,
                chunk,
            );
            let want: Vec<Option<Vec<u8>>> = vec![
                Some(b"1234".to_vec()),
                None,
                None,
                Some(b"1234".to_vec()),
                None,
                // Only one '\r' is terminator slack: "\r\r\n" after a full line is too long.
                None,
                Some(vec![]),
                None,
            ];
            assert_eq!(got, want, "chunks of {chunk}");
        }
    }
}
