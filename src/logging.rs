//! The one logger. Adapters say what they do with `tracing` events (debug:
//! each call, for `--verbose`; info and warn: notes everyone sees); this
//! writes the events of this crate alone to stderr, one line each, made
//! visible, because they quote what servers said. Events of the libraries
//! (the AWS SDK logs requests) are never shown: they are not ours to vouch
//! for, secrets included.

use std::io::Write;

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

/// Installs the logger for the process: debug events with `verbose`.
pub fn init(verbose: bool) {
    let lines = StderrLines {
        max: if verbose { Level::DEBUG } else { Level::INFO },
    };
    // Fails only if a logger is installed already, which keeps its own.
    let _ = tracing::subscriber::set_global_default(tracing_subscriber::registry().with(lines));
}

struct StderrLines {
    max: Level,
}

impl StderrLines {
    fn shows(&self, metadata: &Metadata<'_>) -> bool {
        *metadata.level() <= self.max && metadata.target().starts_with(env!("CARGO_CRATE_NAME"))
    }
}

impl<S: Subscriber> Layer<S> for StderrLines {
    fn enabled(&self, metadata: &Metadata<'_>, _: Context<'_, S>) -> bool {
        self.shows(metadata)
    }

    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        if !self.shows(event.metadata()) {
            return;
        }
        let mut message = Message::default();
        event.record(&mut message);
        // One event, one line: a newline in a server's message it quotes
        // cannot start a line that passes for ours.
        let line = crate::text::visible(&message.0).into_owned();
        // A closed stderr has nobody left to tell.
        let _ = writeln!(std::io::stderr().lock(), "{line}");
    }
}

#[derive(Default)]
struct Message(String);

impl Visit for Message {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.0 = value.to_string();
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.0 = format!("{value:?}");
        }
    }
}
