//! The `alertchart` command line as a user runs it: commands, defaults, overrides, error
//! messages and exit codes (0 success, 1 invalid input or drift, 2 usage or input error,
//! 3 internal bug), and that a failed run never touches the chart on disk.
//!
//! Every run uses an empty temporary directory as its working directory, which also proves
//! that the built-in profiles need no files around the binary (`common::cli`).

mod bad_input;
mod commands;
mod hostile_input;
