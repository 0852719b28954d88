//! `rotatectl doctor`'s checklist: each check printed as it is made, PASS or FAIL with the fix, and the verdict.

use std::process::ExitCode;

use rotation_core::{Check, RotationError, with_causes};

/// The checks printed so far, and how many failed.
#[derive(Debug, Default)]
pub struct Checklist {
    failed: usize,
}

impl Checklist {
    /// Prints the check `name` of `result`; its value when it passed.
    pub fn check<T>(&mut self, name: &str, result: Result<T, String>) -> Option<T> {
        match result {
            Ok(value) => {
                println!("PASS  {name}");
                Some(value)
            }
            Err(problem) => {
                println!("FAIL  {name}\n      {problem}");
                self.failed += 1;
                None
            }
        }
    }

    /// Prints the checks a function made.
    pub fn checks(&mut self, checks: Vec<Check>) {
        for Check { name, result } in checks {
            self.check(&name, result);
        }
    }

    /// Prints the verdict; failure when any check failed.
    pub fn exit_code(&self) -> ExitCode {
        match self.failed {
            0 => println!("all checks passed"),
            failed => println!("{failed} check(s) failed"),
        }
        if self.failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE }
    }
}

/// An error as a check's problem: its message and its causes.
pub fn text(error: RotationError) -> String {
    with_causes(&error)
}
