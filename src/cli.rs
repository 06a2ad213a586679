//! Command line: parsing, the commands, and exit codes.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Result, bail};
use clap::{Args, CommandFactory, Parser, Subcommand};

use crate::chart::{self, Chart};
use crate::input::{self, ProfileSource};
use crate::profile::Profile;
use crate::{pipeline, render, schema, validate};

const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  validation failed, or --check found the chart on disk out of date
  2  usage or input error (bad arguments, unreadable or malformed file, unusable --out)
  3  internal error: a bug in alertchart";

const EXAMPLES: &str = "\
Examples:
  alertchart render                                  # standard profile into charts-out/standard/alert-history
  alertchart render --profile lite --out deploy/     # lite chart into deploy/alert-history
  alertchart render -f prod.yaml --set postgresql.resources.limits.memory=4Gi
  alertchart render --check                          # exit 1 with a diff when the chart on disk is stale
  alertchart diff --profile lite                     # what `render` would change, as a unified diff
  alertchart validate --profile ./my-profile.yaml
  alertchart schema > values.schema.json";

#[derive(Parser)]
#[command(
    name = "alertchart",
    version,
    about = "Renders the production Helm chart of alert-history from a deployment profile",
    after_help = format!("{EXAMPLES}\n\n{EXIT_CODES}")
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Render the chart of a profile into <out>/alert-history (or compare with it: --check)
    #[command(after_help = format!("{EXAMPLES}\n\n{EXIT_CODES}"))]
    Render {
        #[command(flatten)]
        input: Input,
        /// Directory that receives the chart directory `alert-history` [default: charts-out/<profile name>]
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Write nothing; exit 1 with a unified diff when the chart on disk differs
        #[arg(long)]
        check: bool,
        /// Replace <out>/alert-history even when it was not written by alertchart
        #[arg(long)]
        force: bool,
    },
    /// Show what `render` would change in the chart on disk, as a unified diff per file
    #[command(after_help = EXIT_CODES)]
    Diff {
        #[command(flatten)]
        input: Input,
        /// Directory that holds the chart directory `alert-history` [default: charts-out/<profile name>]
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
    /// Validate a profile and its overrides without rendering
    #[command(after_help = EXIT_CODES)]
    Validate {
        #[command(flatten)]
        input: Input,
    },
    /// Print the JSON schema of the chart values (of all profiles, or of one profile's chart)
    Schema {
        /// Print the schema of this profile's chart (its values.schema.json) instead
        #[arg(long, value_name = "PROFILE")]
        profile: Option<String>,
    },
    /// List the built-in profiles
    Profiles,
    /// Print a shell completion script, e.g. `alertchart completions bash > /etc/bash_completion.d/alertchart`
    Completions {
        /// Shell to complete for
        shell: clap_complete::Shell,
    },
}

#[derive(Args)]
struct Input {
    /// Built-in profile name (standard, ha, lite), a name in ./profiles/, or a path to a profile file
    #[arg(short, long, default_value = "standard", value_name = "PROFILE")]
    profile: String,
    /// Values file(s) merged over the profile, as for `helm -f`: comma-separated, `-` for
    /// standard input, repeatable; later files win
    #[arg(
        short = 'f',
        long = "values",
        value_name = "FILES",
        allow_hyphen_values = true
    )]
    values: Vec<String>,
    /// Set values, as for `helm --set` (`a.b=1,c={x,y},list[0].k=v`); applied after -f
    /// and --set-json
    #[arg(long = "set", value_name = "KEY.PATH=VALUE")]
    set: Vec<String>,
    /// Set values as strings, as for `helm --set-string`; applied after --set
    #[arg(long = "set-string", value_name = "KEY.PATH=VALUE")]
    set_string: Vec<String>,
    /// Set JSON values (`a.b={"x":1}`, or a whole JSON object), as for `helm --set-json`;
    /// applied first after the -f files
    #[arg(long = "set-json", value_name = "KEY.PATH=JSON")]
    set_json: Vec<String>,
    /// Set values to the contents of files, as for `helm --set-file`; applied after
    /// --set-string
    #[arg(long = "set-file", value_name = "KEY.PATH=FILE")]
    set_file: Vec<String>,
    /// Set one value to the literal rest of the argument, as for `helm --set-literal`;
    /// applied last
    #[arg(long = "set-literal", value_name = "KEY.PATH=VALUE")]
    set_literal: Vec<String>,
}

impl Input {
    fn overrides(&self) -> Result<input::Overrides> {
        Ok(input::Overrides {
            values: input::ValuesFile::from_args(&self.values)?,
            set_json: self.set_json.clone(),
            set: self.set.clone(),
            set_string: self.set_string.clone(),
            set_file: self.set_file.clone(),
            set_literal: self.set_literal.clone(),
        })
    }
}

/// The chart on disk differs from what would be rendered (exit code 1).
#[derive(Debug)]
struct Drift(PathBuf);

impl std::fmt::Display for Drift {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = if self.0.is_dir() {
            "is out of date with its profile"
        } else {
            "does not exist"
        };
        write!(
            f,
            "{} {state}; run `alertchart render` with the same arguments and commit the result",
            self.0.display()
        )
    }
}

impl std::error::Error for Drift {}

/// Runs the command line and returns the process exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2));
        }
    };
    match run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(exit_code(&e))
        }
    }
}

/// The exit code of a failed command, as `EXIT_CODES` documents them.
fn exit_code(e: &anyhow::Error) -> u8 {
    if e.downcast_ref::<validate::Invalid>().is_some() || e.downcast_ref::<Drift>().is_some() {
        1
    } else if e.downcast_ref::<render::Bug>().is_some() {
        3
    } else {
        2
    }
}

fn run(command: Command) -> Result<()> {
    match command {
        Command::Render {
            input,
            out,
            check,
            force,
        } => {
            let (profile, chart, out) = render_to(&input, out)?;
            let target = chart::chart_path(&out);
            if check {
                if let Some(diff) = Chart::read(&target)?.diff(&chart) {
                    // The verdict is the exit code; a reader that stops early (`| head`) is fine.
                    let _ = std::io::stdout().lock().write_all(diff.as_bytes());
                    bail!(Drift(target));
                }
                eprintln!("{} is up to date", target.display());
            } else {
                chart.write(&out, force)?;
                eprintln!(
                    "wrote {} ({} files, profile {})",
                    target.display(),
                    chart.files().len(),
                    profile.profile.name.as_str()
                );
            }
        }
        Command::Diff { input, out } => {
            let (_, chart, out) = render_to(&input, out)?;
            let target = chart::chart_path(&out);
            match Chart::read(&target)?.diff(&chart) {
                Some(diff) => {
                    let _ = std::io::stdout().lock().write_all(diff.as_bytes());
                }
                None => eprintln!("{} is up to date: no changes", target.display()),
            }
        }
        Command::Validate { input } => {
            let profile = load(&input)?;
            eprintln!("profile {} is valid", profile.profile.name.as_str());
        }
        Command::Schema { profile } => {
            let schema = match profile {
                Some(name) => {
                    let source = ProfileSource::resolve(&name)?;
                    let profile = pipeline::profile(&source, &input::Overrides::default())?;
                    schema::chart_values_schema(&render::chart_values(&profile))
                }
                None => schema::values_schema(),
            };
            writeln!(
                std::io::stdout().lock(),
                "{}",
                serde_json::to_string_pretty(&schema)?
            )?;
        }
        Command::Completions { shell } => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "alertchart",
                &mut std::io::stdout(),
            );
        }
        Command::Profiles => {
            let mut stdout = std::io::stdout().lock();
            for (name, text) in input::BUILTIN_PROFILES {
                let source = ProfileSource::Builtin(name, text);
                let profile = pipeline::profile(&source, &input::Overrides::default())?;
                writeln!(stdout, "{name:<10} {}", profile.profile.description)?;
            }
        }
    }
    Ok(())
}

/// Loads and renders the input; returns the profile, the chart and the output directory
/// (`--out`, or `charts-out/<profile name>`).
fn render_to(input: &Input, out: Option<PathBuf>) -> Result<(Profile, Chart, PathBuf)> {
    let (profile, chart) = pipeline::chart(
        &ProfileSource::resolve(&input.profile)?,
        &input.overrides()?,
    )?;
    let out =
        out.unwrap_or_else(|| PathBuf::from("charts-out").join(profile.profile.name.as_str()));
    Ok((profile, chart, out))
}

fn load(input: &Input) -> Result<Profile> {
    pipeline::profile(
        &ProfileSource::resolve(&input.profile)?,
        &input.overrides()?,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_self_check_of_the_rendered_chart_exits_3() {
        // How `pipeline::render` reports what `validate::rendered` found (tested there).
        let bug = anyhow::anyhow!(render::Bug(
            "values.yaml fails values.schema.json at /app/notRendered: required key is missing"
                .into()
        ));
        assert_eq!(exit_code(&bug), 3);
        assert_eq!(exit_code(&anyhow::anyhow!("cannot read x.yaml")), 2);
    }
}
