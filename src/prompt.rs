//! The prompt layer: questions asked on a terminal (dialoguer), behind a trait so tests can answer
//! them; used by the installer's questions and by the "yes" confirmation of apply and destroy.

use std::io;

use console::{Key, Term};
use dialoguer::theme::{ColorfulTheme, Theme};
use dialoguer::{Confirm, Select};

/// Why a question got no answer.
#[derive(Debug, thiserror::Error)]
pub enum PromptError {
    /// Esc or Ctrl-C.
    #[error("cancelled - no changes made")]
    Cancelled,
    #[error("cannot use the terminal: {0}")]
    Terminal(#[source] io::Error),
}

impl From<dialoguer::Error> for PromptError {
    fn from(err: dialoguer::Error) -> Self {
        let dialoguer::Error::IO(err) = err;
        // console turns Ctrl-C in raw mode into SIGINT plus an interrupted read.
        if err.kind() == io::ErrorKind::Interrupted {
            PromptError::Cancelled
        } else {
            PromptError::Terminal(err)
        }
    }
}

/// Checks a typed answer: `Err` holds the line shown before the question is asked again.
pub type Validator<'a> = &'a dyn Fn(&str) -> Result<(), String>;

/// The questions the installer asks, so tests can answer them without a terminal.
///
/// `input` and `password` ask again until `validate` accepts; `input` returns `default` for an empty answer.
pub trait Prompter {
    /// A line of information between questions.
    fn note(&mut self, line: &str);
    fn select(
        &mut self,
        prompt: &str,
        items: &[String],
        default: usize,
    ) -> Result<usize, PromptError>;
    fn input(
        &mut self,
        prompt: &str,
        default: Option<&str>,
        validate: Validator,
    ) -> Result<String, PromptError>;
    /// Hidden input: nothing typed is echoed; afterwards only `shown(answer)` is (never the answer).
    fn password(
        &mut self,
        prompt: &str,
        validate: Validator,
        shown: &dyn Fn(&str) -> &'static str,
    ) -> Result<String, PromptError>;
    fn confirm(&mut self, prompt: &str, default: bool) -> Result<bool, PromptError>;
}

/// The real terminal, on stderr (stdout stays for results such as the plan).
pub struct TerminalPrompter {
    term: Term,
    theme: ColorfulTheme,
}

impl Default for TerminalPrompter {
    fn default() -> Self {
        TerminalPrompter {
            term: Term::stderr(),
            theme: ColorfulTheme::default(),
        }
    }
}

impl TerminalPrompter {
    fn cancelled(&self) -> PromptError {
        // dialoguer hides the cursor while a list is open and does not show it again on an error;
        // the newline keeps "cancelled" off the question's line.
        let _ = self.term.show_cursor();
        let _ = self.term.write_line("");
        PromptError::Cancelled
    }

    fn check<T>(&self, result: Result<Option<T>, dialoguer::Error>) -> Result<T, PromptError> {
        match result.map_err(PromptError::from) {
            Ok(Some(value)) => Ok(value),
            Ok(None) | Err(PromptError::Cancelled) => Err(self.cancelled()),
            Err(err) => Err(err),
        }
    }

    /// Reads one line in raw mode, so Esc and Ctrl-C arrive as keys (dialoguer's `Input` ignores Esc).
    fn read_line(&self, prompt: &str, hidden: bool) -> Result<String, PromptError> {
        let term = &self.term;
        term.write_str(prompt).map_err(PromptError::Terminal)?;
        let mut line = String::new();
        loop {
            match term.read_key_raw().map_err(PromptError::Terminal)? {
                Key::Enter => break,
                Key::Escape | Key::CtrlC => {
                    return Err(self.cancelled());
                }
                Key::Backspace => {
                    if let Some(c) = line.pop()
                        && !hidden
                    {
                        let _ = term.clear_chars(console::measure_text_width(&c.to_string()));
                    }
                }
                Key::Char(c) if !c.is_control() => {
                    line.push(c);
                    if !hidden {
                        term.write_str(&c.to_string())
                            .map_err(PromptError::Terminal)?;
                    }
                }
                _ => {}
            }
        }
        Ok(line)
    }

    /// Asks for one line after a plain prompt (no theme): Esc and Ctrl-C cancel instead of killing the process.
    pub fn line(&self, prompt: &str) -> Result<String, PromptError> {
        let line = self.read_line(prompt, false)?;
        self.term.write_line("").map_err(PromptError::Terminal)?;
        Ok(line)
    }

    /// Replaces the question line with its answer when it fits on one line (else leaves what was typed).
    fn report(&self, asked: &str, typed: &str, prompt: &str, shown: &str) -> io::Result<()> {
        let width = console::measure_text_width(asked) + console::measure_text_width(typed);
        if width < usize::from(self.term.size().1) {
            self.term.clear_line()?;
            let mut line = String::new();
            let _ = self
                .theme
                .format_input_prompt_selection(&mut line, prompt, shown);
            self.term.write_line(&line)
        } else {
            self.term.write_line("")
        }
    }

    fn show_error(&self, message: &str) {
        let mut line = String::new();
        let _ = self.theme.format_error(&mut line, message);
        let _ = self.term.write_line(&line);
    }
}

impl Prompter for TerminalPrompter {
    fn note(&mut self, line: &str) {
        let _ = self.term.write_line(line);
    }

    fn select(
        &mut self,
        prompt: &str,
        items: &[String],
        default: usize,
    ) -> Result<usize, PromptError> {
        let result = Select::with_theme(&self.theme)
            .with_prompt(prompt)
            .items(items)
            .default(default)
            .max_length(12)
            .interact_on_opt(&self.term);
        self.check(result)
    }

    fn input(
        &mut self,
        prompt: &str,
        default: Option<&str>,
        validate: Validator,
    ) -> Result<String, PromptError> {
        loop {
            let mut asked = String::new();
            let _ = self.theme.format_input_prompt(
                &mut asked,
                prompt,
                default.filter(|d| !d.is_empty()),
            );
            let typed = self.read_line(&asked, false)?;
            let value = match typed.trim() {
                "" => default.unwrap_or("").to_owned(),
                typed => typed.to_owned(),
            };
            match validate(&value) {
                Ok(()) => {
                    self.report(&asked, &typed, prompt, &value)
                        .map_err(PromptError::Terminal)?;
                    return Ok(value);
                }
                Err(message) => {
                    self.term.write_line("").map_err(PromptError::Terminal)?;
                    self.show_error(&message);
                }
            }
        }
    }

    fn password(
        &mut self,
        prompt: &str,
        validate: Validator,
        shown: &dyn Fn(&str) -> &'static str,
    ) -> Result<String, PromptError> {
        loop {
            let mut asked = String::new();
            let _ = self.theme.format_password_prompt(&mut asked, prompt);
            let typed = self.read_line(&asked, true)?;
            let value = typed.trim().to_owned();
            match validate(&value) {
                Ok(()) => {
                    self.report(&asked, "", prompt, shown(&value))
                        .map_err(PromptError::Terminal)?;
                    return Ok(value);
                }
                Err(message) => {
                    self.term.write_line("").map_err(PromptError::Terminal)?;
                    self.show_error(&message);
                }
            }
        }
    }

    fn confirm(&mut self, prompt: &str, default: bool) -> Result<bool, PromptError> {
        let result = Confirm::with_theme(&self.theme)
            .with_prompt(prompt)
            .default(default)
            .interact_on_opt(&self.term);
        self.check(result)
    }
}

/// One scripted answer.
#[cfg(test)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// Press Enter: take the default.
    Enter,
    Select(usize),
    Text(String),
    Yes,
    No,
    /// Esc / Ctrl-C.
    Cancel,
}

/// Answers questions from a script and records what was asked (for tests of the question flow).
#[cfg(test)]
#[derive(Debug, Default)]
pub struct ScriptedPrompter {
    answers: std::collections::VecDeque<Answer>,
    /// Every prompt, in order, each time it was asked (a re-asked question appears twice).
    pub asked: Vec<String>,
    /// The items of every `select`, in order.
    pub lists: Vec<Vec<String>>,
    pub notes: Vec<String>,
    /// The validation messages shown.
    pub errors: Vec<String>,
}

#[cfg(test)]
impl ScriptedPrompter {
    pub fn new(answers: impl IntoIterator<Item = Answer>) -> Self {
        ScriptedPrompter {
            answers: answers.into_iter().collect(),
            ..Default::default()
        }
    }

    /// Whether every scripted answer was used.
    pub fn finished(&self) -> bool {
        self.answers.is_empty()
    }

    fn next(&mut self, prompt: &str) -> Result<Answer, PromptError> {
        self.asked.push(prompt.to_owned());
        match self.answers.pop_front() {
            Some(Answer::Cancel) => Err(PromptError::Cancelled),
            Some(answer) => Ok(answer),
            None => panic!(
                "no scripted answer left for {prompt:?} (asked so far: {:?})",
                self.asked
            ),
        }
    }

    fn text(
        &mut self,
        prompt: &str,
        default: Option<&str>,
        validate: Validator,
    ) -> Result<String, PromptError> {
        loop {
            let value = match self.next(prompt)? {
                Answer::Enter => default.unwrap_or("").to_owned(),
                Answer::Text(text) if text.trim().is_empty() => default.unwrap_or("").to_owned(),
                Answer::Text(text) => text.trim().to_owned(),
                other => panic!("{prompt:?} wants text, the script says {other:?}"),
            };
            match validate(&value) {
                Ok(()) => return Ok(value),
                Err(message) => self.errors.push(message),
            }
        }
    }
}

#[cfg(test)]
impl Prompter for ScriptedPrompter {
    fn note(&mut self, line: &str) {
        self.notes.push(line.to_owned());
    }

    fn select(
        &mut self,
        prompt: &str,
        items: &[String],
        default: usize,
    ) -> Result<usize, PromptError> {
        self.lists.push(items.to_vec());
        match self.next(prompt)? {
            Answer::Enter => Ok(default),
            Answer::Select(i) if i < items.len() => Ok(i),
            other => panic!(
                "{prompt:?} has {} items, the script says {other:?}",
                items.len()
            ),
        }
    }

    fn input(
        &mut self,
        prompt: &str,
        default: Option<&str>,
        validate: Validator,
    ) -> Result<String, PromptError> {
        self.text(prompt, default, validate)
    }

    fn password(
        &mut self,
        prompt: &str,
        validate: Validator,
        _shown: &dyn Fn(&str) -> &'static str,
    ) -> Result<String, PromptError> {
        self.text(prompt, None, validate)
    }

    fn confirm(&mut self, prompt: &str, default: bool) -> Result<bool, PromptError> {
        match self.next(prompt)? {
            Answer::Enter => Ok(default),
            Answer::Yes => Ok(true),
            Answer::No => Ok(false),
            other => panic!("{prompt:?} wants yes or no, the script says {other:?}"),
        }
    }
}
