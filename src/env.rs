//! What one process shares between its commands and clusters, built once:
//! the AWS access (one HTTP client, one credentials session, so one MFA
//! prompt per device), km-config.yaml, and the global flags.

use crate::apply::Interrupt;
use crate::aws;
use crate::cli::GlobalArgs;
use crate::store::{self, Store, StoreError};

pub struct Env {
    pub global: GlobalArgs,
    /// The process's one Ctrl-C: executors and prompts claim it while they run.
    pub interrupt: Interrupt,
    /// Whether questions may be asked on the terminal.
    pub interactive: bool,
    pub access: aws::Access,
    pub store: Store,
}

impl Env {
    /// `interactive`: stdin and stderr are terminals (the caller knows).
    pub fn new(
        global: &GlobalArgs,
        interactive: bool,
        interrupt: &Interrupt,
    ) -> Result<Env, StoreError> {
        Ok(Env {
            interrupt: interrupt.clone(),
            access: aws::Access::new(
                global.mfa_code.clone(),
                global.timeout(),
                global.verbose,
                interactive,
            ),
            store: store::open(global.config.as_deref())?,
            global: global.clone(),
            interactive,
        })
    }

    /// The run works on several clusters at once (see `aws::Access::for_fleet`).
    pub fn for_fleet(mut self) -> Env {
        self.access = self.access.for_fleet();
        self
    }

    pub fn verbose(&self) -> bool {
        self.global.verbose
    }
}
