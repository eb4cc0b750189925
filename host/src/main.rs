//! The `aiopt` binary: parse arguments, run, print the error once, exit with
//! a documented code.

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = aiopt::cli::Cli::parse();
    match aiopt::cli::run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            let code = aiopt::cli::exit_code(&error);
            // Plugin text inside is escaped where the error is made; this
            // catches control characters from anywhere else.
            let message = one_message(&error);
            eprintln!("error: {}", aiopt::report::terminal::escape_lines(&message));
            std::process::ExitCode::from(code as u8)
        }
    }
}

/// The error and its causes, without repeating a cause that the message
/// already contains.
fn one_message(error: &anyhow::Error) -> String {
    let mut message = error.to_string();
    for cause in error.chain().skip(1) {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
    }
    message
}
