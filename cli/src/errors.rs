//! How `remap` reports an error: one message; for a trap, its kind and the
//! Wasm backtrace, with runs of identical frames (deep recursion) folded;
//! for an uncaught Wasm exception, its payload and the backtrace of the
//! throw.

use remap::{FrameInfo, ThrownException, Trap, WasmBacktrace};
use std::fmt::Write as _;

/// Most backtrace lines printed before the rest is summarised.
const MAX_BACKTRACE_LINES: usize = 64;

/// The message printed for `err`, starting with `error: `.
pub fn error_message(err: &anyhow::Error) -> String {
    if let Some(thrown) = err.downcast_ref::<ThrownException>() {
        return exception_message(err, thrown);
    }
    let Some(trap) = err.downcast_ref::<Trap>() else {
        return format!("error: {err:#}");
    };
    let mut message = String::from("error: ");
    for context in err.chain().take_while(|cause| !cause.is::<Trap>()) {
        let _ = write!(message, "{context}: ");
    }
    let _ = write!(message, "wasm trap: {}", trap.kind());
    let frames = trap.backtrace().frames();
    if !frames.is_empty() {
        message.push_str("\nwasm backtrace:");
        message.push_str(&format_frames(frames));
    }
    message
}

/// The message of an uncaught exception: its payload, and the Wasm frames
/// it was thrown from.
fn exception_message(err: &anyhow::Error, thrown: &ThrownException) -> String {
    let mut message = String::from("error: ");
    let backtrace = err.downcast_ref::<WasmBacktrace>();
    // The backtrace is a context of the exception: printed below, folded.
    let backtrace_text = backtrace.map(ToString::to_string);
    for context in err
        .chain()
        .take_while(|cause| !cause.is::<ThrownException>())
        .filter(|cause| Some(cause.to_string()) != backtrace_text)
    {
        let _ = write!(message, "{context}: ");
    }
    let _ = write!(message, "wasm exception: {thrown}");
    if let Some(backtrace) = backtrace
        && !backtrace.frames().is_empty()
    {
        message.push_str("\nwasm backtrace:");
        message.push_str(&format_frames(backtrace.frames()));
    }
    message
}

/// One line per frame, innermost first; a run of identical frames prints once
/// followed by how often it repeats.
fn format_frames(frames: &[FrameInfo]) -> String {
    let mut text = String::new();
    let mut lines = 0;
    let mut index = 0;
    while index < frames.len() {
        if lines == MAX_BACKTRACE_LINES {
            let _ = write!(text, "\n      ... and {} more frames", frames.len() - index);
            break;
        }
        let frame = &frames[index];
        let run = frames[index..]
            .iter()
            .take_while(|other| same_frame(frame, other))
            .count();
        let _ = write!(text, "\n{index:>6}: {}", describe_frame(frame));
        lines += 1;
        if run > 1 {
            let _ = write!(
                text,
                "\n      ... the frame above repeats {} more times",
                run - 1
            );
            lines += 1;
        }
        index += run;
    }
    text
}

fn same_frame(a: &FrameInfo, b: &FrameInfo) -> bool {
    a.func_index() == b.func_index()
        && a.module_offset() == b.module_offset()
        && a.module_name() == b.module_name()
}

fn describe_frame(frame: &FrameInfo) -> String {
    let mut text = String::new();
    if let Some(offset) = frame.module_offset() {
        let _ = write!(text, "{offset:#x} - ");
    }
    if let Some(module) = frame.module_name() {
        let _ = write!(text, "{module}!");
    }
    match frame.func_name() {
        Some(name) => text.push_str(name),
        None => {
            let _ = write!(text, "<wasm function {}>", frame.func_index());
        }
    }
    text
}
