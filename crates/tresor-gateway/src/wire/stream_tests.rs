//! The stream meter against byte streams shaped like the providers' (and the mock
//! provider's), split at every byte position.

#![allow(clippy::unwrap_used)]

use super::*;

fn chat_chunk(content: &str, finish: Option<&str>) -> String {
    let finish = finish.map_or("null".to_owned(), |f| format!("\"{f}\""));
    format!(
        "data: {{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\
         \"model\":\"gpt-4o-mini\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"{content}\"}},\
         \"finish_reason\":{finish}}}],\"usage\":null}}\n\n"
    )
}

const CHAT_USAGE_EVENT: &str = "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\
    \"created\":1,\"model\":\"gpt-4o-mini\",\"choices\":[],\"usage\":{\"prompt_tokens\":12,\
    \"completion_tokens\":3,\"total_tokens\":15,\"prompt_tokens_details\":{\"cached_tokens\":4}}}\n\n";

/// A chat stream with the usage chunk: (whole stream, the stream without the usage chunk).
fn chat_stream() -> (String, String) {
    let before = [
        chat_chunk("", None),
        chat_chunk("Hel", None),
        chat_chunk("lo é", None),
        chat_chunk("", Some("stop")),
    ]
    .concat();
    let after = "data: [DONE]\n\n";
    (
        format!("{before}{CHAT_USAGE_EVENT}{after}"),
        format!("{before}{after}"),
    )
}

fn chat_usage() -> Usage {
    Usage {
        input_tokens: 12,
        output_tokens: 3,
        cached_input_tokens: 4,
        ..Usage::default()
    }
}

/// Runs `chunks` through a meter; returns what was forwarded and the meter.
fn run(mut meter: StreamMeter, chunks: &[&[u8]]) -> (Vec<u8>, StreamMeter) {
    let mut out = Vec::new();
    for chunk in chunks {
        out.extend_from_slice(&meter.push(chunk));
    }
    out.extend_from_slice(&meter.finish());
    (out, meter)
}

/// Every two-way split of `stream`, and byte by byte.
fn splits(stream: &[u8]) -> Vec<Vec<&[u8]>> {
    let mut all: Vec<Vec<&[u8]>> = (0..=stream.len())
        .map(|at| vec![&stream[..at], &stream[at..]])
        .collect();
    all.push(stream.chunks(1).collect());
    all
}

#[test]
fn passthrough_forwards_every_chunk_at_once_and_counts_usage() {
    let (stream, _) = chat_stream();
    for chunks in splits(stream.as_bytes()) {
        let mut meter = StreamMeter::new(Provider::OpenAi, Endpoint::ChatCompletions, false);
        let mut out = Vec::new();
        for chunk in &chunks {
            let forwarded = meter.push(chunk);
            assert_eq!(&forwarded[..], *chunk, "never waits for more");
            out.extend_from_slice(&forwarded);
        }
        assert!(meter.finish().is_empty());
        assert_eq!(out, stream.as_bytes());
        assert_eq!(meter.usage(), Some(chat_usage()));
        assert!(meter.completed());
        assert!(!meter.saw_error());
    }
}

#[test]
fn stripping_drops_exactly_the_usage_chunk_at_every_split() {
    let (stream, stripped) = chat_stream();
    for chunks in splits(stream.as_bytes()) {
        let meter = StreamMeter::new(Provider::OpenAi, Endpoint::ChatCompletions, true);
        let (out, meter) = run(meter, &chunks);
        assert_eq!(String::from_utf8(out).unwrap(), stripped);
        assert_eq!(meter.usage(), Some(chat_usage()));
        assert!(meter.completed());
    }
}

#[test]
fn stripping_forwards_each_event_as_soon_as_it_is_complete() {
    let (stream, _) = chat_stream();
    let first_event_end = stream.find("\n\n").unwrap() + 2;
    let mut meter = StreamMeter::new(Provider::OpenAi, Endpoint::ChatCompletions, true);
    let out = meter.push(&stream.as_bytes()[..first_event_end + 5]);
    assert_eq!(&out[..], &stream.as_bytes()[..first_event_end]);
}

#[test]
fn stripping_with_crlf_line_endings() {
    let (stream, stripped) = chat_stream();
    let stream = stream.replace('\n', "\r\n");
    let stripped = stripped.replace('\n', "\r\n");
    for chunks in splits(stream.as_bytes()) {
        let meter = StreamMeter::new(Provider::OpenAi, Endpoint::ChatCompletions, true);
        let (out, meter) = run(meter, &chunks);
        assert_eq!(String::from_utf8(out).unwrap(), stripped);
        assert_eq!(meter.usage(), Some(chat_usage()));
        assert!(meter.completed());
    }
}

#[test]
fn usage_on_a_chunk_with_choices_is_counted_and_kept() {
    // Some OpenAI-compatible servers put usage on the last content chunk.
    let stream = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"x\"}}],\
                  \"usage\":{\"prompt_tokens\":5,\"completion_tokens\":1}}\n\ndata: [DONE]\n\n";
    let meter = StreamMeter::new(Provider::OpenAi, Endpoint::ChatCompletions, true);
    let (out, meter) = run(meter, &[stream.as_bytes()]);
    assert_eq!(out, stream.as_bytes());
    assert_eq!(meter.usage().unwrap().input_tokens, 5);
}

#[test]
fn a_cut_chat_stream_is_not_completed_and_has_no_usage() {
    let (stream, _) = chat_stream();
    let cut = &stream[..stream.find("data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o-mini\",\"choices\":[]").unwrap()];
    let meter = StreamMeter::new(Provider::OpenAi, Endpoint::ChatCompletions, true);
    let (out, meter) = run(meter, &[cut.as_bytes()]);
    assert_eq!(out, cut.as_bytes());
    assert!(!meter.completed());
    assert_eq!(meter.usage(), None);
    // Cut in the middle of an event: the partial event is handed on at the end.
    let half = &stream[..stream.len() - 7];
    let meter = StreamMeter::new(Provider::OpenAi, Endpoint::ChatCompletions, true);
    let (_, meter) = run(meter, &[half.as_bytes()]);
    assert!(!meter.completed());
}

#[test]
fn done_without_its_blank_line_still_completes() {
    let meter = StreamMeter::new(Provider::OpenAi, Endpoint::ChatCompletions, false);
    let (_, meter) = run(meter, &[b"data: {\"choices\":[]}\n\ndata: [DONE]"]);
    assert!(meter.completed());
}

#[test]
fn an_in_band_chat_error_is_seen() {
    let stream = format!(
        "{}data: {{\"error\":{{\"message\":\"boom\",\"type\":\"server_error\",\"param\":null,\"code\":null}}}}\n\n",
        chat_chunk("a", None)
    );
    for strip in [false, true] {
        let meter = StreamMeter::new(Provider::OpenAi, Endpoint::ChatCompletions, strip);
        let (out, meter) = run(meter, &[stream.as_bytes()]);
        assert_eq!(out, stream.as_bytes(), "an error event is never dropped");
        assert!(meter.saw_error());
        assert!(!meter.completed());
    }
}

fn responses_stream(terminal: &str) -> String {
    let events = [
        ("response.created", r#"{"type":"response.created","sequence_number":0,"response":{"id":"resp_1","status":"in_progress","usage":null}}"#.to_owned()),
        ("response.output_text.delta", r#"{"type":"response.output_text.delta","sequence_number":1,"item_id":"msg_1","output_index":0,"content_index":0,"delta":"Hi"}"#.to_owned()),
        (terminal, format!(r#"{{"type":"{terminal}","sequence_number":2,"response":{{"id":"resp_1","status":"x","usage":{{"input_tokens":36,"input_tokens_details":{{"cached_tokens":6}},"output_tokens":87,"output_tokens_details":{{"reasoning_tokens":0}},"total_tokens":123}}}}}}"#)),
    ];
    events
        .iter()
        .map(|(name, data)| format!("event: {name}\ndata: {data}\n\n"))
        .collect()
}

#[test]
fn responses_usage_comes_from_the_terminal_event() {
    let stream = responses_stream("response.completed");
    for chunks in splits(stream.as_bytes()) {
        // The strip flag is ignored: the Responses API never gets include_usage.
        let meter = StreamMeter::new(Provider::OpenAi, Endpoint::Responses, true);
        let (out, meter) = run(meter, &chunks);
        assert_eq!(out, stream.as_bytes());
        let usage = meter.usage().unwrap();
        assert_eq!(
            (
                usage.input_tokens,
                usage.output_tokens,
                usage.cached_input_tokens
            ),
            (36, 87, 6)
        );
        assert!(meter.completed());
        assert!(!meter.saw_error());
    }
}

#[test]
fn responses_incomplete_and_failed_are_ends() {
    let meter = StreamMeter::new(Provider::OpenAi, Endpoint::Responses, false);
    let (_, meter) = run(meter, &[responses_stream("response.incomplete").as_bytes()]);
    assert!(meter.completed() && !meter.saw_error());
    assert_eq!(meter.usage().unwrap().output_tokens, 87);

    let meter = StreamMeter::new(Provider::OpenAi, Endpoint::Responses, false);
    let (_, meter) = run(meter, &[responses_stream("response.failed").as_bytes()]);
    assert!(meter.completed() && meter.saw_error());

    let meter = StreamMeter::new(Provider::OpenAi, Endpoint::Responses, false);
    let (_, meter) = run(
        meter,
        &[b"event: error\ndata: {\"type\":\"error\",\"code\":\"server_error\",\"message\":\"x\",\"param\":null}\n\n"],
    );
    assert!(meter.saw_error() && !meter.completed());
    assert_eq!(meter.usage(), None);
}

#[test]
fn a_cut_responses_stream_is_not_completed() {
    let stream = responses_stream("response.completed");
    let cut = &stream[..stream.find("event: response.completed").unwrap()];
    let meter = StreamMeter::new(Provider::OpenAi, Endpoint::Responses, false);
    let (_, meter) = run(meter, &[cut.as_bytes()]);
    assert!(!meter.completed());
    assert_eq!(
        meter.usage(),
        None,
        "response.created's null usage is no usage"
    );
}

fn anthropic_stream() -> String {
    let events = [
        (
            "message_start",
            r#"{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","content":[],"model":"claude-sonnet-4-5","stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":25,"cache_creation_input_tokens":100,"cache_read_input_tokens":50,"output_tokens":1}}}"#,
        ),
        ("ping", r#"{"type": "ping"}"#),
        (
            "content_block_start",
            r#"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#,
        ),
        (
            "content_block_delta",
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello ü"}}"#,
        ),
        (
            "message_delta",
            r#"{"type":"message_delta","delta":{"stop_reason":null},"usage":{"output_tokens":20}}"#,
        ),
        (
            "content_block_delta",
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"!"}}"#,
        ),
        (
            "content_block_stop",
            r#"{"type":"content_block_stop","index":0}"#,
        ),
        (
            "message_delta",
            r#"{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":42}}"#,
        ),
        ("message_stop", r#"{"type":"message_stop"}"#),
    ];
    events
        .iter()
        .map(|(name, data)| format!("event: {name}\ndata: {data}\n\n"))
        .collect()
}

#[test]
fn anthropic_usage_is_merged_field_by_field_at_every_split() {
    let stream = anthropic_stream();
    for chunks in splits(stream.as_bytes()) {
        let meter = StreamMeter::new(Provider::Anthropic, Endpoint::Messages, true);
        let (out, meter) = run(meter, &chunks);
        assert_eq!(out, stream.as_bytes());
        assert_eq!(
            meter.usage(),
            Some(Usage {
                input_tokens: 175,
                output_tokens: 42,
                cached_input_tokens: 50,
                cache_creation_tokens: 100,
                cache_creation_1h_tokens: 0,
            })
        );
        assert!(meter.completed());
        assert!(!meter.saw_error());
    }
}

#[test]
fn anthropic_error_after_200_is_seen_and_usage_so_far_kept() {
    let stream = anthropic_stream();
    let cut = &stream[..stream.find("event: content_block_stop").unwrap()];
    let stream = format!(
        "{cut}event: error\ndata: {{\"type\":\"error\",\"error\":{{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}}}\n\n"
    );
    let meter = StreamMeter::new(Provider::Anthropic, Endpoint::Messages, false);
    let (_, meter) = run(meter, &[stream.as_bytes()]);
    assert!(meter.saw_error());
    assert!(!meter.completed());
    let usage = meter.usage().unwrap();
    assert_eq!((usage.input_tokens, usage.output_tokens), (175, 20));
}

#[test]
fn an_oversized_event_is_forwarded_intact_and_not_parsed() {
    let huge = "x".repeat(MAX_EVENT_BYTES + 10);
    let (stream, stripped) = chat_stream();
    let big_event = format!("data: {{\"choices\":[{{\"delta\":{{\"content\":\"{huge}\"}}}}]}}\n\n");
    let input = format!("{big_event}{stream}");
    let meter = StreamMeter::new(Provider::OpenAi, Endpoint::ChatCompletions, true);
    let chunks: Vec<&[u8]> = input.as_bytes().chunks(64 * 1024).collect();
    let (out, meter) = run(meter, &chunks);
    assert_eq!(out, format!("{big_event}{stripped}").as_bytes());
    assert_eq!(meter.unparsed_events(), 1);
    assert_eq!(meter.usage(), Some(chat_usage()));
    assert!(meter.completed());
}

#[test]
fn garbage_is_forwarded_and_reports_nothing() {
    let input: &[u8] = b"\xff\xfe not sse at all {\"usage\":1}\n\n\0\0";
    for strip in [false, true] {
        let meter = StreamMeter::new(Provider::OpenAi, Endpoint::ChatCompletions, strip);
        let (out, meter) = run(meter, &[input]);
        assert_eq!(out, input);
        assert_eq!(meter.usage(), None);
        assert!(!meter.completed() && !meter.saw_error());
    }
}

#[test]
fn debug_output_shows_no_content() {
    let mut meter = StreamMeter::new(Provider::OpenAi, Endpoint::ChatCompletions, true);
    let _ = meter.push(b"data: {\"choices\":[{\"delta\":{\"content\":\"PLANTED-CONTENT");
    assert!(!format!("{meter:?}").contains("PLANTED"));
}

// Streams recorded from tests/compat/mock_provider.py (the compat suites' upstream), so the
// meter and the mock are known to agree on the wire: a chat stream with include_usage and a
// Responses stream (prompt "Count the tokens of this prompt, mock.", x-mock-cached-tokens: 2),
// and an Anthropic stream (same prompt, x-mock-cache-read: 30, x-mock-cache-creation: 20).
// If the mock's output changes, record them again and take the figures from its
// `expected_usage`.
const MOCK_CHAT: &[u8] = include_bytes!("testdata/openai_chat_usage.sse");
const MOCK_RESPONSES: &[u8] = include_bytes!("testdata/openai_responses.sse");
const MOCK_ANTHROPIC: &[u8] = include_bytes!("testdata/anthropic_messages.sse");

#[test]
fn the_mock_providers_streams_are_metered_at_every_split() {
    let mock_usage = Usage {
        input_tokens: 16,
        output_tokens: 25,
        cached_input_tokens: 2,
        ..Usage::default()
    };
    for (endpoint, stream, strip) in [
        (Endpoint::ChatCompletions, MOCK_CHAT, true),
        (Endpoint::ChatCompletions, MOCK_CHAT, false),
        (Endpoint::Responses, MOCK_RESPONSES, false),
    ] {
        for chunks in splits(stream) {
            let meter = StreamMeter::new(Provider::OpenAi, endpoint, strip);
            let (out, meter) = run(meter, &chunks);
            assert_eq!(meter.usage(), Some(mock_usage), "{endpoint:?}");
            assert!(meter.completed() && !meter.saw_error());
            if strip {
                let text = String::from_utf8(out).unwrap();
                assert!(!text.contains("\"choices\": []"), "usage chunk stripped");
                assert!(text.ends_with("data: [DONE]\n\n"));
                assert_eq!(text.matches("\n\n").count(), stream_events(stream) - 1);
            } else {
                assert_eq!(out, stream);
            }
        }
    }
    for chunks in splits(MOCK_ANTHROPIC) {
        let meter = StreamMeter::new(Provider::Anthropic, Endpoint::Messages, false);
        let (out, meter) = run(meter, &chunks);
        assert_eq!(out, MOCK_ANTHROPIC);
        // message_delta repeats the input figures: merged, not summed.
        assert_eq!(
            meter.usage(),
            Some(Usage {
                input_tokens: 16 + 20 + 30,
                output_tokens: 25,
                cached_input_tokens: 30,
                cache_creation_tokens: 20,
                cache_creation_1h_tokens: 0,
            })
        );
        assert!(meter.completed() && !meter.saw_error());
    }
}

fn stream_events(stream: &[u8]) -> usize {
    String::from_utf8_lossy(stream).matches("\n\n").count()
}
