//! Files the packages install beside the binary — shell completions and the man page — made from
//! the command line's own clap definition at packaging time, so they cannot drift from it.

use std::io::Write;
use std::process::ExitCode;

use clap_complete::Shell;

use crate::args::command;

/// `dockhand completions <shell>`: the completion script on stdout.
pub fn print_completions(shell: Shell) -> ExitCode {
    match crate::complete::registration(shell) {
        Ok(out) => write_stdout(&out, "completion script"),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `dockhand internal man`: the man page (roff) on stdout.
pub fn print_man_page() -> ExitCode {
    let mut out = Vec::new();
    if let Err(e) = clap_mangen::Man::new(command()).render(&mut out) {
        eprintln!("error: could not render the man page: {e}");
        return ExitCode::FAILURE;
    }
    write_stdout(&out, "man page")
}

fn write_stdout(bytes: &[u8], what: &str) -> ExitCode {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        // The reader stopped early (`dockhand completions bash | head`): what it read is what it
        // wanted, as with any Unix tool.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: could not write the {what} to stdout: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bash_script_asks_dockhand_itself() {
        let script =
            String::from_utf8(crate::complete::registration(Shell::Bash).unwrap()).unwrap();
        assert!(script.contains("DOCKHAND_COMPLETE=\"bash\""), "{script}");
        assert!(
            script.contains("-F _clap_complete_dockhand dockhand"),
            "{script}"
        );
        for shell in [Shell::Zsh, Shell::Fish] {
            let s = crate::complete::registration(shell).unwrap();
            assert!(String::from_utf8(s).unwrap().contains("DOCKHAND_COMPLETE"));
        }
    }

    #[test]
    fn man_page_names_the_commands_but_not_the_internal_ones() {
        let mut out = Vec::new();
        clap_mangen::Man::new(command()).render(&mut out).unwrap();
        let page = String::from_utf8(out).unwrap();
        assert!(page.starts_with(".ie"), "not roff: {page}");
        assert!(
            page.contains("dockhand\\-up") || page.contains("dockhand-up"),
            "{page}"
        );
        assert!(
            !page.contains("stop\\-idle") && !page.contains("stop-idle"),
            "{page}"
        );
    }
}
