//! Ctrl-C for the whole process: one listener, made at start so that no
//! press is lost, shared by every executor and prompt of the run (a fleet
//! runs many at once). What a press does depends on what is running:
//! - nothing has claimed it: leave at once, since nothing is being changed;
//! - an executor or a prompt has: the first press asks it to stop (between
//!   steps; a prompt ends), and the run ends with its own message;
//! - a later press while steps still run leaves at once; one after the run
//!   began to end (a prompt already stopped, a terminal that delivers one
//!   key as two signals) is ignored, so the message is never cut off.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::watch;

/// Ctrl-C presses, listened for from the moment `listen` returns (tokio's
/// `ctrl_c()` only starts listening when first polled, and a press before
/// that is lost, or ignored where the parent process ignored SIGINT).
pub struct CtrlC(Option<CtrlCSignal>);

#[cfg(unix)]
type CtrlCSignal = tokio::signal::unix::Signal;
#[cfg(windows)]
type CtrlCSignal = tokio::signal::windows::CtrlC;

impl CtrlC {
    pub fn listen() -> CtrlC {
        #[cfg(unix)]
        let signal = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt());
        #[cfg(windows)]
        let signal = tokio::signal::windows::ctrl_c();
        CtrlC(signal.ok())
    }

    /// The next press; never, when no listener could be made.
    pub async fn pressed(&mut self) -> bool {
        match &mut self.0 {
            Some(signal) => signal.recv().await.is_some(),
            None => std::future::pending().await,
        }
    }
}

/// Ctrl-C as the executors and prompts see it: set once, waited on by every step.
#[derive(Clone)]
pub struct Interrupt {
    set: Arc<watch::Sender<bool>>,
    seen: watch::Receiver<bool>,
    /// Executors running steps: a second press leaves while any does.
    steps: Arc<AtomicUsize>,
    /// Prompts waiting for an answer: the first press ends them.
    prompts: Arc<AtomicUsize>,
    /// What to wipe off the terminal before leaving at once.
    before_leaving: Arc<Mutex<Vec<Cleanup>>>,
}

/// Undoes something drawn on the terminal (a progress bar), so that
/// leaving at once does not leave it on the screen.
pub type Cleanup = Box<dyn Fn() + Send + Sync>;

/// What a press means now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Press {
    /// Whatever claimed the interrupt stops between steps and reports.
    Stop,
    /// Leave at once: nothing is being changed, or steps still run after a first press.
    Exit,
    /// The run is already ending after an earlier press: let it say so.
    Ignore,
}

impl Default for Interrupt {
    fn default() -> Self {
        Self::new()
    }
}

impl Interrupt {
    pub fn new() -> Interrupt {
        let (set, seen) = watch::channel(false);
        Interrupt {
            set: Arc::new(set),
            seen,
            steps: Arc::new(AtomicUsize::new(0)),
            prompts: Arc::new(AtomicUsize::new(0)),
            before_leaving: Arc::default(),
        }
    }

    /// The process's one watcher calls this on each press.
    pub fn press(&self) -> Press {
        let steps = self.steps.load(Ordering::SeqCst);
        let prompts = self.prompts.load(Ordering::SeqCst);
        match (self.is_set(), steps, prompts) {
            (true, 0, _) => Press::Ignore,
            (true, _, _) => Press::Exit,
            (false, 0, 0) => Press::Exit,
            (false, _, _) => {
                self.stop();
                Press::Stop
            }
        }
    }

    /// Asks everything that claimed the interrupt to stop.
    pub fn stop(&self) {
        self.set.send_replace(true);
    }

    /// Held while steps run: a press then stops them between steps, rather
    /// than ending the run, and a second one leaves.
    pub fn claim(&self) -> Claim {
        self.steps.fetch_add(1, Ordering::SeqCst);
        Claim(self.steps.clone())
    }

    /// Held while a prompt waits: a press ends it with its own message.
    pub fn claim_prompt(&self) -> Claim {
        self.prompts.fetch_add(1, Ordering::SeqCst);
        Claim(self.prompts.clone())
    }

    /// Registers what leaving at once must wipe first: two presses can
    /// reach the watcher before the steps see the first and clear their
    /// bar themselves.
    pub fn before_leaving(&self, cleanup: Cleanup) {
        self.cleanups().push(cleanup);
    }

    /// Runs what `before_leaving` registered, while steps run: their bars
    /// are live then. Once no step runs, the bars are finished (a fleet's
    /// stay as its record) and other output may follow them, which a wipe
    /// would erase.
    pub fn clean_up(&self) {
        if self.steps.load(Ordering::SeqCst) == 0 {
            return;
        }
        for cleanup in self.cleanups().iter() {
            cleanup();
        }
    }

    fn cleanups(&self) -> std::sync::MutexGuard<'_, Vec<Cleanup>> {
        // A cleanup that panicked left the list itself whole.
        self.before_leaving
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn is_set(&self) -> bool {
        *self.seen.borrow()
    }

    /// Resolves once a press asked to stop.
    pub async fn wait(&self) {
        let mut seen = self.seen.clone();
        // The sender lives as long as any Interrupt: no error while we wait.
        if seen.wait_for(|set| *set).await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// A claim on the interrupt, released when dropped.
pub struct Claim(Arc<AtomicUsize>);

impl Drop for Claim {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The process's one Ctrl-C watcher: started once, before anything runs.
/// On `Press::Exit` it calls `leave`, which ends the process.
pub fn watch(interrupt: &Interrupt, leave: fn() -> !) -> tokio::task::JoinHandle<()> {
    let mut ctrl_c = CtrlC::listen();
    let interrupt = interrupt.clone();
    tokio::spawn(async move {
        while ctrl_c.pressed().await {
            if interrupt.press() == Press::Exit {
                interrupt.clean_up();
                leave();
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_press_with_nothing_claimed_leaves_at_once() {
        let interrupt = Interrupt::new();
        assert_eq!(interrupt.press(), Press::Exit);
        assert!(!interrupt.is_set());
    }

    #[test]
    fn a_claimed_run_stops_on_the_first_press_and_leaves_on_the_second() {
        let interrupt = Interrupt::new();
        let claim = interrupt.claim();
        assert_eq!(interrupt.press(), Press::Stop);
        assert!(interrupt.is_set());
        assert_eq!(interrupt.press(), Press::Exit);
        drop(claim);
    }

    /// Seen in CI: a prompt stopped by one press, then a second signal
    /// (another press, or one key delivered twice) ended the process before
    /// "interrupted at the prompt" was written.
    #[test]
    fn a_press_after_a_prompt_was_stopped_is_ignored_not_an_exit() {
        let interrupt = Interrupt::new();
        let prompt = interrupt.claim_prompt();
        assert_eq!(interrupt.press(), Press::Stop);
        assert_eq!(interrupt.press(), Press::Ignore);
        drop(prompt);
        assert_eq!(interrupt.press(), Press::Ignore);
    }

    #[test]
    fn a_press_after_the_steps_stopped_is_ignored() {
        let interrupt = Interrupt::new();
        let steps = interrupt.claim();
        assert_eq!(interrupt.press(), Press::Stop);
        drop(steps);
        // The executor has returned and the run is saying what was done.
        assert_eq!(interrupt.press(), Press::Ignore);
    }

    #[test]
    fn cleanups_run_only_while_steps_run() {
        let interrupt = Interrupt::new();
        let runs = Arc::new(AtomicUsize::new(0));
        let counted = runs.clone();
        interrupt.before_leaving(Box::new(move || {
            counted.fetch_add(1, Ordering::SeqCst);
        }));
        interrupt.clean_up();
        assert_eq!(runs.load(Ordering::SeqCst), 0, "no step ran");
        let steps = interrupt.claim();
        interrupt.clone().clean_up();
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        drop(steps);
        interrupt.clean_up();
        assert_eq!(runs.load(Ordering::SeqCst), 1, "the steps had ended");
    }

    #[test]
    fn a_released_claim_no_longer_holds_a_press() {
        let interrupt = Interrupt::new();
        drop(interrupt.claim());
        assert_eq!(interrupt.press(), Press::Exit);
    }

    #[tokio::test]
    async fn every_clone_sees_a_stop() {
        let interrupt = Interrupt::new();
        let other = interrupt.clone();
        let _claim = interrupt.claim();
        let waiting = tokio::spawn(async move { other.wait().await });
        assert_eq!(interrupt.press(), Press::Stop);
        assert!(waiting.await.is_ok());
    }
}
