//! Server-sent events framing, incremental: bytes go in as the upstream sends them (split
//! anywhere, inside a line or a UTF-8 character) and complete events come out.
//!
//! Follows the WHATWG event-stream rules the SDKs implement: lines end in CRLF, LF or a lone
//! CR; a blank line ends an event; `data:` lines of one event are joined with `\n`; `event:`
//! names it; one space after the colon is dropped; lines starting with `:` are comments;
//! other fields are ignored. What the framer holds is capped: an event larger than its cap is
//! given up (its bytes come out as [`Piece::Unparsed`] as they arrive, and they are not
//! parsed), so a hostile upstream cannot make the gateway buffer without bound.

/// One complete event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SseEvent {
    /// The `event:` field, if any.
    pub name: Option<String>,
    /// The joined `data:` lines; `None` when the event had no `data:` field (comments, or a
    /// blank line on its own), which the SSE rules do not dispatch.
    pub data: Option<String>,
    /// The event's bytes as received (only when the framer keeps them).
    pub raw: Vec<u8>,
}

/// What the framer gives back for the bytes pushed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Piece {
    Event(SseEvent),
    /// Bytes of an event over the cap, to be forwarded without parsing (only when the framer
    /// keeps raw bytes).
    Unparsed(Vec<u8>),
}

#[derive(Debug)]
pub(crate) struct SseFramer {
    /// Keep each event's raw bytes, for a caller that forwards events one by one.
    keep_raw: bool,
    /// The cap on what one event may hold (raw bytes, current line, data).
    max_event: usize,
    raw: Vec<u8>,
    line: Vec<u8>,
    /// The current line has bytes (tracked apart from `line`, which is dropped on overflow).
    line_started: bool,
    /// The last byte seen was a CR, so an LF right after it ends nothing.
    after_cr: bool,
    name: Option<Vec<u8>>,
    data: Option<Vec<u8>>,
    /// The current event passed the cap: its remaining bytes are passed on, not parsed.
    overflowed: bool,
    /// Events given up because of the cap.
    pub unparsed_events: u64,
}

impl SseFramer {
    pub(crate) fn new(keep_raw: bool, max_event: usize) -> Self {
        SseFramer {
            keep_raw,
            max_event,
            raw: Vec::new(),
            line: Vec::new(),
            line_started: false,
            after_cr: false,
            name: None,
            data: None,
            overflowed: false,
            unparsed_events: 0,
        }
    }

    /// Frames `chunk`, appending the events it completes (and any unparsed bytes) to `out`.
    pub(crate) fn push(&mut self, chunk: &[u8], out: &mut Vec<Piece>) {
        let mut rest = chunk;
        while !rest.is_empty() {
            if self.after_cr {
                self.after_cr = false;
                if rest.first() == Some(&b'\n') {
                    self.take_raw(&rest[..1], out);
                    rest = &rest[1..];
                    continue;
                }
            }
            match rest.iter().position(|b| *b == b'\n' || *b == b'\r') {
                None => {
                    self.take_raw(rest, out);
                    self.take_line(rest);
                    rest = &[];
                }
                Some(at) => {
                    let (text, tail) = rest.split_at(at);
                    let terminator = &tail[..1];
                    self.after_cr = terminator == b"\r";
                    self.take_raw(text, out);
                    self.take_raw(terminator, out);
                    self.take_line(text);
                    self.end_line(out);
                    rest = &tail[1..];
                }
            }
        }
    }

    /// The upstream ended. An event cut off before its blank line is dispatched all the same
    /// (a metering choice: the SSE rules drop it, but what it reports was reported), and any
    /// bytes held for it are returned with it.
    pub(crate) fn finish(&mut self, out: &mut Vec<Piece>) {
        if self.line_started {
            self.end_line(out);
        }
        if self.data.is_some() || !self.raw.is_empty() {
            self.dispatch(out);
        }
        self.after_cr = false;
    }

    fn take_raw(&mut self, bytes: &[u8], out: &mut Vec<Piece>) {
        if !self.keep_raw || bytes.is_empty() {
            return;
        }
        if self.overflowed {
            out.push(Piece::Unparsed(bytes.to_vec()));
            return;
        }
        self.raw.extend_from_slice(bytes);
        if self.raw.len() > self.max_event {
            self.overflow(out);
        }
    }

    fn take_line(&mut self, text: &[u8]) {
        if text.is_empty() {
            return;
        }
        self.line_started = true;
        if self.overflowed {
            return;
        }
        self.line.extend_from_slice(text);
        if self.line.len() > self.max_event {
            // Without raw bytes to hand on there is nothing to flush; just stop parsing.
            self.overflow(&mut Vec::new());
        }
    }

    fn overflow(&mut self, out: &mut Vec<Piece>) {
        if !self.overflowed {
            self.overflowed = true;
            self.unparsed_events = self.unparsed_events.saturating_add(1);
        }
        if !self.raw.is_empty() {
            out.push(Piece::Unparsed(std::mem::take(&mut self.raw)));
        }
        self.line = Vec::new();
        self.data = None;
        self.name = None;
    }

    fn end_line(&mut self, out: &mut Vec<Piece>) {
        let started = std::mem::replace(&mut self.line_started, false);
        let line = std::mem::take(&mut self.line);
        if !started {
            // A blank line ends the event.
            if self.overflowed {
                self.overflowed = false;
                self.raw.clear();
                self.name = None;
                self.data = None;
            } else {
                self.dispatch(out);
            }
            return;
        }
        if self.overflowed {
            return;
        }
        let (field, value) = match line.iter().position(|b| *b == b':') {
            Some(0) => return,
            Some(colon) => {
                let value = &line[colon + 1..];
                let value = value.strip_prefix(b" ").unwrap_or(value);
                (&line[..colon], value)
            }
            None => (&line[..], &[][..]),
        };
        match field {
            b"data" => {
                // Each data line is followed by a newline, the last one dropped at dispatch:
                // that joins the lines with `\n`.
                let data = self.data.get_or_insert_with(Vec::new);
                data.extend_from_slice(value);
                data.push(b'\n');
                if data.len() > self.max_event {
                    self.overflow(out);
                }
            }
            b"event" => self.name = Some(value.to_vec()),
            _ => {}
        }
    }

    fn dispatch(&mut self, out: &mut Vec<Piece>) {
        if self.overflowed {
            self.overflowed = false;
            self.raw.clear();
            self.name = None;
            self.data = None;
            return;
        }
        let raw = std::mem::take(&mut self.raw);
        let name = self.name.take();
        let data = self.data.take().map(|mut d| {
            // The buffer ends with the newline every data line adds; the last one is not part
            // of the data.
            d.pop();
            d
        });
        // Invalid UTF-8 is replaced rather than refused: the event is still forwarded, and
        // JSON parsing of it fails on its own if it matters.
        let event = SseEvent {
            name: name.map(|n| String::from_utf8_lossy(&n).into_owned()),
            data: data.map(|d| String::from_utf8_lossy(&d).into_owned()),
            raw,
        };
        out.push(Piece::Event(event));
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn frame_in(chunks: &[&[u8]], keep_raw: bool, cap: usize) -> (Vec<Piece>, SseFramer) {
        let mut framer = SseFramer::new(keep_raw, cap);
        let mut out = Vec::new();
        for c in chunks {
            framer.push(c, &mut out);
        }
        framer.finish(&mut out);
        (out, framer)
    }

    fn events(pieces: &[Piece]) -> Vec<(Option<String>, Option<String>)> {
        pieces
            .iter()
            .filter_map(|p| match p {
                Piece::Event(e) => Some((e.name.clone(), e.data.clone())),
                Piece::Unparsed(_) => None,
            })
            .collect()
    }

    fn raw_of(pieces: &[Piece]) -> Vec<u8> {
        pieces
            .iter()
            .flat_map(|p| match p {
                Piece::Event(e) => e.raw.clone(),
                Piece::Unparsed(b) => b.clone(),
            })
            .collect()
    }

    const STREAM: &[u8] = b"event: message_start\ndata: {\"a\":1}\n\n: comment\n\ndata: line one\ndata:line two\n\ndata: caf\xc3\xa9\r\n\r\nevent: ping\rdata: {}\r\r";

    fn want() -> Vec<(Option<String>, Option<String>)> {
        vec![
            (Some("message_start".into()), Some("{\"a\":1}".into())),
            (None, None),
            (None, Some("line one\nline two".into())),
            (None, Some("café".into())),
            (Some("ping".into()), Some("{}".into())),
        ]
    }

    #[test]
    fn frames_events_with_every_line_ending() {
        let (pieces, _) = frame_in(&[STREAM], true, 1 << 20);
        assert_eq!(events(&pieces), want());
        assert_eq!(raw_of(&pieces), STREAM);
    }

    #[test]
    fn any_split_gives_the_same_events_and_bytes() {
        for at in 0..=STREAM.len() {
            let (pieces, _) = frame_in(&[&STREAM[..at], &STREAM[at..]], true, 1 << 20);
            assert_eq!(events(&pieces), want(), "split at {at}");
            assert_eq!(raw_of(&pieces), STREAM, "split at {at}");
        }
        let bytes: Vec<&[u8]> = STREAM.chunks(1).collect();
        let (pieces, _) = frame_in(&bytes, false, 1 << 20);
        assert_eq!(events(&pieces), want());
    }

    #[test]
    fn an_event_cut_before_its_blank_line_is_still_read_at_the_end() {
        let (pieces, _) = frame_in(&[b"data: [DONE]"], true, 1 << 20);
        assert_eq!(events(&pieces), vec![(None, Some("[DONE]".into()))]);
        assert_eq!(raw_of(&pieces), b"data: [DONE]");
    }

    #[test]
    fn an_oversized_event_is_passed_unparsed_and_the_next_one_is_read() {
        let big = vec![b'x'; 5000];
        let mut stream = b"data: {\"small\":1}\n\ndata: ".to_vec();
        stream.extend_from_slice(&big);
        stream.extend_from_slice(b"\n\ndata: after\n\n");
        for at in [0, 10, 30, 2000, stream.len() - 3] {
            let (pieces, framer) = frame_in(&[&stream[..at], &stream[at..]], true, 1024);
            assert_eq!(
                events(&pieces),
                vec![
                    (None, Some("{\"small\":1}".into())),
                    (None, Some("after".into()))
                ],
                "split at {at}"
            );
            assert_eq!(raw_of(&pieces), stream, "split at {at}");
            assert_eq!(framer.unparsed_events, 1);
        }
        // Without raw bytes kept, the cap holds on the line buffer alone.
        let (pieces, framer) = frame_in(&[&stream], false, 1024);
        assert_eq!(events(&pieces).len(), 2);
        assert_eq!(framer.unparsed_events, 1);
    }

    #[test]
    fn held_bytes_never_exceed_the_cap_much() {
        let mut framer = SseFramer::new(true, 1024);
        let mut out = Vec::new();
        framer.push(b"data: ", &mut out);
        for _ in 0..1000 {
            framer.push(&[b'y'; 1000], &mut out);
            assert!(framer.raw.len() <= 1024 && framer.line.len() <= 1024);
        }
    }
}
