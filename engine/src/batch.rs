//! Columnar batch types.
//!
//! A batch is a few flat arrays rather than a `Vec` of structs: public keys and signatures are
//! arrays of fixed-size byte arrays, and messages are one byte buffer plus `n + 1` offsets. This
//! is the layout the GPU backend uploads as-is, and it costs no allocation per item. The borrowed
//! forms ([`Messages`], [`SignatureBatch`]) are checked once at construction; the owned builders
//! ([`MessageBuf`], [`SignatureBatchBuf`]) are for callers that assemble a batch item by item.

use crate::error::{Error, OffsetError, Result};

/// The largest total message size in one batch: offsets are `u32` so that GPU kernels index
/// them directly.
pub const MAX_BATCH_BYTES: u64 = u32::MAX as u64;

/// Checks offsets into a column of `len` entries: at least one, non-decreasing, the last within
/// the column (messages' bytes, proofs' path hashes).
pub(crate) fn check_offsets(offsets: &[u32], len: usize) -> Result<()> {
    let last = *offsets.last().ok_or(Error::Offsets(OffsetError::Empty))?;
    if let Some(index) = offsets.windows(2).position(|w| w[0] > w[1]) {
        return Err(Error::Offsets(OffsetError::Decreasing { index }));
    }
    if last as usize > len {
        return Err(Error::Offsets(OffsetError::PastEnd { end: last, len }));
    }
    Ok(())
}

/// A borrowed, validated list of byte strings: message `i` is `bytes[offsets[i]..offsets[i + 1]]`.
#[derive(Debug, Clone, Copy)]
pub struct Messages<'a> {
    bytes: &'a [u8],
    offsets: &'a [u32],
}

impl<'a> Messages<'a> {
    /// Checks `offsets` (n + 1 entries, non-decreasing, the last within `bytes`) and wraps them.
    ///
    /// ```
    /// # use vera_engine::Messages;
    /// let m = Messages::new(b"abcde", &[0, 2, 2, 5]).unwrap();
    /// assert_eq!(m.len(), 3);
    /// assert_eq!(m.get(0), Some(&b"ab"[..]));
    /// assert_eq!(m.get(1), Some(&b""[..]));
    /// assert!(Messages::new(b"abc", &[0, 4]).is_err());
    /// ```
    pub fn new(bytes: &'a [u8], offsets: &'a [u32]) -> Result<Self> {
        check_offsets(offsets, bytes.len())?;
        Ok(Messages { bytes, offsets })
    }

    /// An empty list.
    pub fn empty() -> Messages<'static> {
        Messages {
            bytes: &[],
            offsets: &[0],
        }
    }

    /// The number of messages.
    pub fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    /// Whether there are no messages.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Message `i`, or `None` past the end.
    pub fn get(&self, i: usize) -> Option<&'a [u8]> {
        let start = *self.offsets.get(i)? as usize;
        let end = *self.offsets.get(i + 1)? as usize;
        // Validated in `new`: start <= end <= bytes.len().
        Some(&self.bytes[start..end])
    }

    /// The messages in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &'a [u8]> + Clone + 'a {
        let bytes = self.bytes;
        self.offsets
            .windows(2)
            .map(move |w| &bytes[w[0] as usize..w[1] as usize])
    }

    /// The messages `range`, sharing this buffer; `None` when the range is out of bounds.
    pub fn slice(&self, range: std::ops::Range<usize>) -> Option<Messages<'a>> {
        Some(Messages {
            bytes: self.bytes,
            offsets: self.offsets.get(range.start..range.end.checked_add(1)?)?,
        })
    }

    /// The underlying buffer, as a GPU backend uploads it.
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The `n + 1` offsets into [`bytes`](Self::bytes).
    pub fn offsets(&self) -> &'a [u32] {
        self.offsets
    }

    /// Total length of all messages.
    pub fn total_len(&self) -> usize {
        (self.offsets[self.len()] - self.offsets[0]) as usize
    }
}

/// An owned list of byte strings in the same layout as [`Messages`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageBuf {
    bytes: Vec<u8>,
    offsets: Vec<u32>,
}

impl Default for MessageBuf {
    fn default() -> Self {
        Self::new()
    }
}

impl MessageBuf {
    /// An empty list.
    pub fn new() -> Self {
        MessageBuf {
            bytes: Vec::new(),
            offsets: vec![0],
        }
    }

    /// An empty list with room for `n` messages of `bytes` bytes in all.
    pub fn with_capacity(n: usize, bytes: usize) -> Self {
        let mut offsets = Vec::with_capacity(n + 1);
        offsets.push(0);
        MessageBuf {
            bytes: Vec::with_capacity(bytes),
            offsets,
        }
    }

    /// Appends a message; fails when the total would pass [`MAX_BATCH_BYTES`].
    pub fn push(&mut self, msg: &[u8]) -> Result<()> {
        let end = self.bytes.len() as u64 + msg.len() as u64;
        if end > MAX_BATCH_BYTES {
            return Err(Error::TooLarge {
                what: "total message bytes",
                found: end,
                limit: MAX_BATCH_BYTES,
            });
        }
        self.bytes.extend_from_slice(msg);
        self.offsets.push(end as u32);
        Ok(())
    }

    /// Builds a list from any messages; fails when they total more than [`MAX_BATCH_BYTES`].
    pub fn from_slices<I, M>(msgs: I) -> Result<Self>
    where
        I: IntoIterator<Item = M>,
        M: AsRef<[u8]>,
    {
        let mut buf = MessageBuf::new();
        for m in msgs {
            buf.push(m.as_ref())?;
        }
        Ok(buf)
    }

    /// The number of messages.
    pub fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    /// Whether there are no messages.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Removes every message, keeping the allocations.
    pub fn clear(&mut self) {
        self.bytes.clear();
        self.offsets.truncate(1);
    }

    /// Borrows the list.
    pub fn as_messages(&self) -> Messages<'_> {
        // The builder maintains the invariants `Messages::new` checks.
        Messages {
            bytes: &self.bytes,
            offsets: &self.offsets,
        }
    }
}

/// A borrowed, validated batch of Ed25519 signatures: item `i` is
/// (`public_keys[i]`, `messages[i]`, `signatures[i]`). Signatures are `R ‖ S` as in RFC 8032.
#[derive(Debug, Clone, Copy)]
pub struct SignatureBatch<'a> {
    public_keys: &'a [[u8; 32]],
    signatures: &'a [[u8; 64]],
    messages: Messages<'a>,
}

impl<'a> SignatureBatch<'a> {
    /// Checks that the three columns have the same length.
    ///
    /// ```
    /// # use vera_engine::{Messages, SignatureBatch};
    /// let msgs = Messages::new(b"hi", &[0, 2]).unwrap();
    /// assert!(SignatureBatch::new(&[[0; 32]], &[[0; 64]], msgs).is_ok());
    /// assert!(SignatureBatch::new(&[], &[[0; 64]], msgs).is_err());
    /// ```
    pub fn new(
        public_keys: &'a [[u8; 32]],
        signatures: &'a [[u8; 64]],
        messages: Messages<'a>,
    ) -> Result<Self> {
        let n = messages.len();
        for (column, found) in [
            ("public_keys", public_keys.len()),
            ("signatures", signatures.len()),
        ] {
            if found != n {
                return Err(Error::ColumnLength {
                    column,
                    found,
                    expected: n,
                });
            }
        }
        Ok(SignatureBatch {
            public_keys,
            signatures,
            messages,
        })
    }

    /// The number of signatures.
    pub fn len(&self) -> usize {
        self.messages.len()
    }

    /// Whether the batch is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The public keys (`A`), one per item.
    pub fn public_keys(&self) -> &'a [[u8; 32]] {
        self.public_keys
    }

    /// The signatures (`R ‖ S`), one per item.
    pub fn signatures(&self) -> &'a [[u8; 64]] {
        self.signatures
    }

    /// The messages, one per item.
    pub fn messages(&self) -> Messages<'a> {
        self.messages
    }

    /// Item `i` as (public key, message, signature).
    pub fn get(&self, i: usize) -> Option<(&'a [u8; 32], &'a [u8], &'a [u8; 64])> {
        Some((
            self.public_keys.get(i)?,
            self.messages.get(i)?,
            self.signatures.get(i)?,
        ))
    }

    /// The sub-batch `range`, e.g. to split work between backends.
    pub fn slice(&self, range: std::ops::Range<usize>) -> Option<SignatureBatch<'a>> {
        let offsets = self.messages.offsets.get(range.start..range.end + 1)?;
        Some(SignatureBatch {
            public_keys: self.public_keys.get(range.clone())?,
            signatures: self.signatures.get(range)?,
            messages: Messages {
                bytes: self.messages.bytes,
                offsets,
            },
        })
    }
}

/// An owned batch of signatures, assembled item by item.
///
/// ```
/// # use vera_engine::SignatureBatchBuf;
/// let mut batch = SignatureBatchBuf::new();
/// batch.push(&[0; 32], b"message", &[0; 64]).unwrap();
/// assert_eq!(batch.as_batch().len(), 1);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SignatureBatchBuf {
    public_keys: Vec<[u8; 32]>,
    signatures: Vec<[u8; 64]>,
    messages: MessageBuf,
}

impl SignatureBatchBuf {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends one item; fails only when the messages would pass [`MAX_BATCH_BYTES`].
    pub fn push(
        &mut self,
        public_key: &[u8; 32],
        message: &[u8],
        signature: &[u8; 64],
    ) -> Result<()> {
        self.messages.push(message)?;
        self.public_keys.push(*public_key);
        self.signatures.push(*signature);
        Ok(())
    }

    /// The number of items.
    pub fn len(&self) -> usize {
        self.public_keys.len()
    }

    /// Whether the batch is empty.
    pub fn is_empty(&self) -> bool {
        self.public_keys.is_empty()
    }

    /// Removes every item, keeping the allocations.
    pub fn clear(&mut self) {
        self.public_keys.clear();
        self.signatures.clear();
        self.messages.clear();
    }

    /// Borrows the batch.
    pub fn as_batch(&self) -> SignatureBatch<'_> {
        SignatureBatch {
            public_keys: &self.public_keys,
            signatures: &self.signatures,
            messages: self.messages.as_messages(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_are_checked() {
        assert_eq!(
            Messages::new(b"", &[]).unwrap_err(),
            Error::Offsets(OffsetError::Empty)
        );
        assert_eq!(
            Messages::new(b"abc", &[0, 2, 1]).unwrap_err(),
            Error::Offsets(OffsetError::Decreasing { index: 1 })
        );
        assert!(matches!(
            Messages::new(b"abc", &[0, 4]).unwrap_err(),
            Error::Offsets(OffsetError::PastEnd { end: 4, len: 3 })
        ));
        // Offsets need not start at zero: a window into a larger buffer is fine.
        let m = Messages::new(b"xxabc", &[2, 3, 5]).unwrap();
        assert_eq!(m.iter().collect::<Vec<_>>(), vec![&b"a"[..], &b"bc"[..]]);
        assert_eq!(m.total_len(), 3);
        let tail = m.slice(1..2).unwrap();
        assert_eq!(tail.iter().collect::<Vec<_>>(), vec![&b"bc"[..]]);
        assert!(m.slice(2..2).unwrap().is_empty());
        assert!(m.slice(1..3).is_none());
        assert!(m.slice(0..usize::MAX).is_none());
    }

    #[test]
    fn slices_keep_items_aligned() {
        let mut b = SignatureBatchBuf::new();
        for i in 0..5u8 {
            b.push(&[i; 32], &vec![i; i as usize], &[i; 64]).unwrap();
        }
        let batch = b.as_batch();
        let s = batch.slice(2..4).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s.get(1), Some((&[3; 32], &[3u8, 3, 3][..], &[3; 64])));
        assert!(batch.slice(4..6).is_none());
        assert!(batch.slice(5..5).unwrap().is_empty());
    }
}
