//! Metering a streamed (SSE) response while it is forwarded.
//!
//! The meter sits between the upstream body and the client: every chunk goes through
//! [`StreamMeter::push`] and comes out at once (or, when the gateway asked an OpenAI chat
//! stream for its usage, as soon as each event is complete, minus that usage chunk). On the
//! side it reads the usage the stream reports, whether the stream reached its protocol end
//! (a stream that stops short was cut, and must not be shown to the client as a clean end),
//! and whether an in-band error passed.
//!
//! Where each provider reports usage in a stream:
//! - OpenAI chat: the chunk whose `usage` is not null (with `include_usage`, one chunk with
//!   empty `choices` just before `data: [DONE]`);
//! - OpenAI Responses: `response.usage` in the terminal `response.completed`,
//!   `response.incomplete` or `response.failed` event;
//! - Anthropic: `message_start.message.usage`, then `message_delta.usage` with the cumulative
//!   output (merged field by field, latest wins: summing them over-counts input and
//!   under- or over-counts output).

use bytes::Bytes;
use serde::de::IgnoredAny;
use serde::Deserialize;

use super::sse::{Piece, SseEvent, SseFramer};
use super::usage::{AnthropicUsage, AnthropicUsageRaw, OpenAiUsageRaw, Usage};
use super::{Endpoint, Provider};

/// The most one event may hold before it is passed through unparsed.
pub const MAX_EVENT_BYTES: usize = 1 << 20;

/// Meters one SSE response.
pub struct StreamMeter {
    provider: Provider,
    endpoint: Endpoint,
    strip_usage_chunk: bool,
    framer: SseFramer,
    pieces: Vec<Piece>,
    openai_usage: Option<Usage>,
    anthropic_usage: AnthropicUsage,
    completed: bool,
    saw_error: bool,
}

impl std::fmt::Debug for StreamMeter {
    // The held bytes are completion content: never in Debug output.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamMeter")
            .field("provider", &self.provider)
            .field("endpoint", &self.endpoint)
            .field("strip_usage_chunk", &self.strip_usage_chunk)
            .field("completed", &self.completed)
            .field("saw_error", &self.saw_error)
            .field("unparsed_events", &self.framer.unparsed_events)
            .finish_non_exhaustive()
    }
}

impl StreamMeter {
    /// `strip_usage_chunk` applies to OpenAI chat streams only (the gateway added
    /// `include_usage` to the request, so the client did not ask for the usage chunk); it is
    /// ignored elsewhere.
    pub fn new(provider: Provider, endpoint: Endpoint, strip_usage_chunk: bool) -> Self {
        let strip_usage_chunk = strip_usage_chunk
            && provider == Provider::OpenAi
            && endpoint == Endpoint::ChatCompletions;
        StreamMeter {
            provider,
            endpoint,
            strip_usage_chunk,
            framer: SseFramer::new(strip_usage_chunk, MAX_EVENT_BYTES),
            pieces: Vec::new(),
            openai_usage: None,
            anthropic_usage: AnthropicUsage::default(),
            completed: false,
            saw_error: false,
        }
    }

    /// Feeds upstream bytes; returns the bytes to forward to the client now.
    ///
    /// Without stripping that is exactly `chunk`, parsed on the side. With stripping, every
    /// event completed by `chunk` except the usage chunk; an incomplete event waits for the
    /// rest of its bytes (at most [`MAX_EVENT_BYTES`]; a larger one is forwarded as it comes).
    pub fn push(&mut self, chunk: &[u8]) -> Bytes {
        let mut pieces = std::mem::take(&mut self.pieces);
        self.framer.push(chunk, &mut pieces);
        let out = if self.strip_usage_chunk {
            self.forward(&mut pieces)
        } else {
            for piece in pieces.drain(..) {
                if let Piece::Event(event) = piece {
                    self.observe(&event);
                }
            }
            Bytes::copy_from_slice(chunk)
        };
        self.pieces = pieces;
        out
    }

    /// The upstream ended: whatever is still held back. An event the upstream left without its
    /// closing blank line is still read for usage.
    pub fn finish(&mut self) -> Bytes {
        let mut pieces = std::mem::take(&mut self.pieces);
        self.framer.finish(&mut pieces);
        let out = if self.strip_usage_chunk {
            self.forward(&mut pieces)
        } else {
            for piece in pieces.drain(..) {
                if let Piece::Event(event) = piece {
                    self.observe(&event);
                }
            }
            Bytes::new()
        };
        self.pieces = pieces;
        out
    }

    /// The usage the stream reported so far; `None` if it reported none.
    pub fn usage(&self) -> Option<Usage> {
        match self.provider {
            Provider::OpenAi => self.openai_usage,
            Provider::Anthropic => self.anthropic_usage.to_usage(),
        }
    }

    /// Whether the stream reached its protocol end (OpenAI chat `[DONE]`; Responses
    /// `response.completed|incomplete|failed`; Anthropic `message_stop`).
    pub fn completed(&self) -> bool {
        self.completed
    }

    /// Whether an in-band error event passed (OpenAI `data: {"error":…}`, Responses
    /// `response.failed` or `error`, Anthropic `event: error`).
    pub fn saw_error(&self) -> bool {
        self.saw_error
    }

    /// Events passed through unparsed because they exceeded [`MAX_EVENT_BYTES`] (usage in
    /// one of them is not counted).
    pub fn unparsed_events(&self) -> u64 {
        self.framer.unparsed_events
    }

    fn forward(&mut self, pieces: &mut Vec<Piece>) -> Bytes {
        let mut out = Vec::new();
        for piece in pieces.drain(..) {
            match piece {
                Piece::Event(event) => {
                    if !self.observe(&event) {
                        out.extend_from_slice(&event.raw);
                    }
                }
                Piece::Unparsed(bytes) => out.extend_from_slice(&bytes),
            }
        }
        Bytes::from(out)
    }

    /// Reads one event; returns whether it is the usage chunk to drop from what is forwarded.
    fn observe(&mut self, event: &SseEvent) -> bool {
        let Some(data) = event.data.as_deref() else {
            return false;
        };
        match (self.provider, self.endpoint) {
            (Provider::Anthropic, _) => {
                self.observe_anthropic(event.name.as_deref(), data);
                false
            }
            (Provider::OpenAi, Endpoint::Responses) => {
                self.observe_responses(event.name.as_deref(), data);
                false
            }
            (Provider::OpenAi, _) => self.observe_chat(data),
        }
    }

    fn observe_chat(&mut self, data: &str) -> bool {
        if data.trim() == "[DONE]" {
            self.completed = true;
            return false;
        }
        let Ok(chunk) = serde_json::from_str::<ChatChunk>(data) else {
            return false;
        };
        if chunk.error.is_some() {
            self.saw_error = true;
        }
        let Some(usage) = chunk.usage.as_ref().and_then(OpenAiUsageRaw::to_usage) else {
            return false;
        };
        self.openai_usage = Some(usage);
        // Only the dedicated usage chunk is dropped: providers that put usage on a chunk that
        // also carries choices (some OpenAI-compatible ones do) keep that chunk.
        self.strip_usage_chunk && chunk.choices.is_some_and(|c| c.is_empty())
    }

    fn observe_responses(&mut self, name: Option<&str>, data: &str) {
        let Ok(event) = serde_json::from_str::<ResponsesEvent>(data) else {
            return;
        };
        if event.error.is_some() {
            self.saw_error = true;
        }
        match event.kind.as_deref().or(name) {
            Some("response.completed" | "response.incomplete") => self.completed = true,
            Some("response.failed") => {
                self.completed = true;
                self.saw_error = true;
            }
            Some("error") => self.saw_error = true,
            _ => {}
        }
        if let Some(usage) = event
            .response
            .and_then(|r| r.usage)
            .as_ref()
            .and_then(OpenAiUsageRaw::to_usage)
        {
            self.openai_usage = Some(usage);
        }
    }

    fn observe_anthropic(&mut self, name: Option<&str>, data: &str) {
        let Ok(event) = serde_json::from_str::<AnthropicEvent>(data) else {
            if name == Some("error") {
                self.saw_error = true;
            }
            return;
        };
        match event.kind.as_deref().or(name) {
            Some("message_stop") => self.completed = true,
            Some("error") => self.saw_error = true,
            _ => {}
        }
        if let Some(usage) = event.message.and_then(|m| m.usage) {
            self.anthropic_usage.merge(&usage);
        }
        if let Some(usage) = event.usage {
            self.anthropic_usage.merge(&usage);
        }
    }
}

#[derive(Deserialize)]
struct ChatChunk {
    #[serde(default)]
    choices: Option<Vec<IgnoredAny>>,
    #[serde(default)]
    usage: Option<OpenAiUsageRaw>,
    #[serde(default)]
    error: Option<IgnoredAny>,
}

#[derive(Deserialize)]
struct ResponsesEvent {
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    response: Option<ResponseObject>,
    #[serde(default)]
    error: Option<IgnoredAny>,
}

#[derive(Deserialize)]
struct ResponseObject {
    #[serde(default)]
    usage: Option<OpenAiUsageRaw>,
}

#[derive(Deserialize)]
struct AnthropicEvent {
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    message: Option<AnthropicMessage>,
    #[serde(default)]
    usage: Option<AnthropicUsageRaw>,
}

#[derive(Deserialize)]
struct AnthropicMessage {
    #[serde(default)]
    usage: Option<AnthropicUsageRaw>,
}

#[cfg(test)]
#[path = "stream_tests.rs"]
mod tests;
