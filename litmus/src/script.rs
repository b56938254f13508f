//! A `.wast` script lowered from the `wast` crate's syntax tree into owned commands.
//!
//! Modules are encoded to binary here (text modules, `module quote` and `module binary`
//! alike); an encoding failure (a text-format error) is kept as the command's `Err` and
//! reported when the command runs, so `assert_malformed` can count it as a rejection.

use crate::values::{arg_from_wast, expected_from_wast, Expected};
use heddle_interp::Value;
use wast::core::WastArgCore;
use wast::token::{Id, Span};
use wast::{QuoteWat, Wast, WastArg, WastDirective, WastExecute, WastInvoke, WastRet, Wat};

/// Where a directive is and what kind it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
    /// The directive's keyword: `assert_return`, `module`, `thread`, ...
    pub kind: &'static str,
}

/// One directive of a script.
#[derive(Debug)]
pub struct Directive {
    /// Where the directive is in the script.
    pub at: Location,
    /// What it does.
    pub cmd: Cmd,
}

/// An action: `invoke` or `get`.
#[derive(Debug)]
#[allow(missing_docs)] // variants and fields are the script syntax of the same names
pub enum Action {
    Invoke {
        module: Option<String>,
        name: String,
        args: Result<Vec<Value>, String>,
    },
    Get {
        module: Option<String>,
        name: String,
    },
}

/// A module's binary encoding, or the text-format error that prevented it.
pub type Binary = Result<Vec<u8>, String>;

/// A command, as the runner executes it.
#[derive(Debug)]
#[allow(missing_docs)] // variants and fields are the script directives of the same names (`AssertReturn` is `assert_return`); `Err` holds why a module or value could not be read
pub enum Cmd {
    Module {
        name: Option<String>,
        bytes: Binary,
    },
    /// `(module definition $M ...)`: decode and validate, keep the module under its name
    /// (and as the last definition) without instantiating it.
    ModuleDefinition {
        name: Option<String>,
        bytes: Binary,
    },
    /// `(module instance $I $M)`: instantiate definition `$M` (or the last definition)
    /// as `$I` (and as the current module).
    ModuleInstance {
        instance: Option<String>,
        module: Option<String>,
    },
    Register {
        as_name: String,
        module: Option<String>,
    },
    Action(Action),
    AssertReturn {
        action: Action,
        expected: Result<Vec<Expected>, String>,
    },
    AssertTrap {
        action: Action,
        message: String,
    },
    AssertExhaustion {
        action: Action,
        message: String,
    },
    /// `assert_exception`: the action must end with an uncaught exception (exception
    /// handling), not a trap.
    AssertException {
        action: Action,
    },
    /// `assert_trap` on a module: instantiation must trap (`assert_uninstantiable`).
    AssertUninstantiable {
        bytes: Binary,
        message: String,
    },
    AssertInvalid {
        bytes: Binary,
        message: String,
    },
    AssertMalformed {
        bytes: Binary,
        message: String,
    },
    AssertUnlinkable {
        bytes: Binary,
        message: String,
    },
    /// `assert_malformed_custom` / `assert_invalid_custom`: the module's custom
    /// annotations or sections are malformed or invalid. Such errors never make the module
    /// itself malformed or invalid (the 3.0 spec's custom sections, and its appendix on
    /// custom annotations): the text parser may reject the annotation, otherwise the module
    /// must be accepted.
    AssertCustom {
        bytes: Binary,
        message: String,
    },
    /// `(thread $T (shared (module $M)) directives...)`.
    Thread {
        name: String,
        shared: Vec<String>,
        body: Vec<Directive>,
    },
    /// `(wait $T)`.
    Wait {
        thread: String,
    },
    /// A directive Heddle does not run (e.g. `assert_suspension`); reported as a failure.
    Unsupported,
}

/// Display form of an identifier: `$name`.
pub fn id_name(id: &Id<'_>) -> String {
    format!("${}", id.name())
}

/// Line starts of a script, so that a span's line and column cost a binary search rather
/// than a scan of the text (`Span::linecol_in` scans from the start: quadratic over a file).
pub struct LineIndex<'a> {
    text: &'a str,
    starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    /// Index the lines of `text`.
    pub fn new(text: &'a str) -> Self {
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        LineIndex { text, starts }
    }

    /// Zero-based line and column (in characters) of a byte offset.
    pub fn linecol(&self, offset: usize) -> (usize, usize) {
        let line = self.starts.partition_point(|s| *s <= offset) - 1;
        let start = self.starts[line];
        let col = self
            .text
            .get(start..offset)
            .map_or(0, |s| s.chars().count());
        (line, col)
    }
}

fn location(lines: &LineIndex<'_>, span: Span, kind: &'static str) -> Location {
    let (line, col) = lines.linecol(span.offset());
    Location {
        line: line as u32 + 1,
        column: col as u32 + 1,
        kind,
    }
}

/// A module's `$name` (if any) and its binary ([`encode_quote`]).
fn named_binary(m: &mut QuoteWat<'_>) -> (Option<String>, Binary) {
    let name = m.name().as_ref().map(id_name);
    (name, encode_quote(m))
}

fn encode_quote(m: &mut QuoteWat<'_>) -> Binary {
    match m {
        QuoteWat::QuoteComponent(..) | QuoteWat::Wat(Wat::Component(_)) => {
            Err("components are not supported".into())
        }
        m => m.encode().map_err(|e| e.message()),
    }
}

fn encode_wat(m: &mut Wat<'_>) -> Binary {
    match m {
        Wat::Component(_) => Err("components are not supported".into()),
        Wat::Module(m) => m.encode().map_err(|e| e.message()),
    }
}

fn lower_invoke(inv: &WastInvoke<'_>) -> Action {
    Action::Invoke {
        module: inv.module.as_ref().map(id_name),
        name: inv.name.to_string(),
        args: inv
            .args
            .iter()
            .map(|a| match a {
                WastArg::Core(a) => arg_from_wast(a as &WastArgCore<'_>),
                #[allow(unreachable_patterns)]
                _ => Err("unsupported argument".into()),
            })
            .collect(),
    }
}

/// Lower a parsed script. `text` is the source, for line and column numbers.
pub fn lower(text: &str, script: Wast<'_>) -> Vec<Directive> {
    let lines = LineIndex::new(text);
    let text = &lines;
    script
        .directives
        .into_iter()
        .map(|d| lower_directive(text, d))
        .collect()
}

fn lower_directive(text: &LineIndex<'_>, d: WastDirective<'_>) -> Directive {
    let span = d.span();
    let (kind, cmd): (&'static str, Cmd) = match d {
        WastDirective::Module(mut m) => {
            let (name, bytes) = named_binary(&mut m);
            ("module", Cmd::Module { name, bytes })
        }
        WastDirective::ModuleDefinition(mut m) => {
            let (name, bytes) = named_binary(&mut m);
            ("module definition", Cmd::ModuleDefinition { name, bytes })
        }
        WastDirective::ModuleInstance {
            instance, module, ..
        } => (
            "module instance",
            Cmd::ModuleInstance {
                instance: instance.as_ref().map(id_name),
                module: module.as_ref().map(id_name),
            },
        ),
        WastDirective::AssertMalformed {
            mut module,
            message,
            ..
        } => (
            "assert_malformed",
            Cmd::AssertMalformed {
                bytes: encode_quote(&mut module),
                message: message.to_string(),
            },
        ),
        WastDirective::AssertInvalid {
            mut module,
            message,
            ..
        } => (
            "assert_invalid",
            Cmd::AssertInvalid {
                bytes: encode_quote(&mut module),
                message: message.to_string(),
            },
        ),
        WastDirective::AssertInvalidCustom {
            mut module,
            message,
            ..
        } => (
            "assert_invalid_custom",
            Cmd::AssertCustom {
                bytes: encode_quote(&mut module),
                message: message.to_string(),
            },
        ),
        WastDirective::AssertMalformedCustom {
            mut module,
            message,
            ..
        } => (
            "assert_malformed_custom",
            Cmd::AssertCustom {
                bytes: encode_quote(&mut module),
                message: message.to_string(),
            },
        ),
        WastDirective::Register { name, module, .. } => (
            "register",
            Cmd::Register {
                as_name: name.to_string(),
                module: module.as_ref().map(id_name),
            },
        ),
        WastDirective::Invoke(inv) => ("invoke", Cmd::Action(lower_invoke(&inv))),
        WastDirective::AssertTrap { exec, message, .. } => match exec {
            WastExecute::Wat(mut w) => (
                "assert_uninstantiable",
                Cmd::AssertUninstantiable {
                    bytes: encode_wat(&mut w),
                    message: message.to_string(),
                },
            ),
            WastExecute::Invoke(inv) => (
                "assert_trap",
                Cmd::AssertTrap {
                    action: lower_invoke(&inv),
                    message: message.to_string(),
                },
            ),
            WastExecute::Get { module, global, .. } => (
                "assert_trap",
                Cmd::AssertTrap {
                    action: Action::Get {
                        module: module.as_ref().map(id_name),
                        name: global.to_string(),
                    },
                    message: message.to_string(),
                },
            ),
        },
        WastDirective::AssertReturn { exec, results, .. } => {
            let expected = results
                .iter()
                .map(|r| match r {
                    WastRet::Core(r) => expected_from_wast(r),
                    #[allow(unreachable_patterns)]
                    _ => Err("unsupported result pattern".into()),
                })
                .collect();
            let action = match exec {
                WastExecute::Invoke(inv) => lower_invoke(&inv),
                WastExecute::Get { module, global, .. } => Action::Get {
                    module: module.as_ref().map(id_name),
                    name: global.to_string(),
                },
                WastExecute::Wat(_) => {
                    return Directive {
                        at: location(text, span, "assert_return"),
                        cmd: Cmd::Unsupported,
                    }
                }
            };
            ("assert_return", Cmd::AssertReturn { action, expected })
        }
        WastDirective::AssertExhaustion { call, message, .. } => (
            "assert_exhaustion",
            Cmd::AssertExhaustion {
                action: lower_invoke(&call),
                message: message.to_string(),
            },
        ),
        WastDirective::AssertUnlinkable {
            mut module,
            message,
            ..
        } => (
            "assert_unlinkable",
            Cmd::AssertUnlinkable {
                bytes: encode_wat(&mut module),
                message: message.to_string(),
            },
        ),
        WastDirective::AssertException { exec, .. } => match exec {
            WastExecute::Invoke(inv) => (
                "assert_exception",
                Cmd::AssertException {
                    action: lower_invoke(&inv),
                },
            ),
            // A module whose start function throws, or a `get` (which cannot throw).
            _ => ("assert_exception", Cmd::Unsupported),
        },
        WastDirective::AssertSuspension { .. } => ("assert_suspension", Cmd::Unsupported),
        WastDirective::Thread(t) => (
            "thread",
            Cmd::Thread {
                name: id_name(&t.name),
                shared: t.shared_module.as_ref().map(id_name).into_iter().collect(),
                body: t
                    .directives
                    .into_iter()
                    .map(|d| lower_directive(text, d))
                    .collect(),
            },
        ),
        WastDirective::Wait { thread, .. } => (
            "wait",
            Cmd::Wait {
                thread: id_name(&thread),
            },
        ),
    };
    Directive {
        at: location(text, span, kind),
        cmd,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_are_one_based_lines_and_columns() {
        let text = "(module)\n\n  (assert_return (invoke \"f\"))\n(register \"m\")";
        let lines = LineIndex::new(text);
        for (offset, line, column) in [(0, 1, 1), (7, 1, 8), (8, 1, 9), (9, 2, 1), (12, 3, 3)] {
            let at = location(&lines, Span::from_offset(offset), "x");
            assert_eq!((at.line, at.column), (line, column), "offset {offset}");
            let (l, c) = Span::from_offset(offset).linecol_in(text);
            assert_eq!(
                (l as u32 + 1, c as u32 + 1),
                (line, column),
                "as wast counts"
            );
        }
        // Columns count characters, not bytes.
        let lines = LineIndex::new("\"é\" (x)");
        assert_eq!(location(&lines, Span::from_offset(5), "x").column, 5);
        let buf = wast::parser::ParseBuffer::new(text).unwrap();
        let script = wast::parser::parse::<Wast>(&buf).unwrap();
        let at: Vec<_> = lower(text, script)
            .into_iter()
            .map(|d| (d.at.line, d.at.column, d.at.kind))
            .collect();
        assert_eq!(
            at,
            [
                (1, 2, "module"),
                (3, 4, "assert_return"),
                (4, 2, "register")
            ]
        );
    }
}
