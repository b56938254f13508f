//! The folded form of the legacy exception instructions, which the `wast` crate no longer
//! parses: `(try bt? (do instr*) (catch x instr*)* (catch_all instr*)?)` and
//! `(try bt? (do instr*) (delegate l))`, as the suite's `legacy/` scripts write them.
//! [`desugar`] rewrites them, in the script text, into the flat form `wast` does parse
//! (`try bt? instr* catch x instr* ... end`, `try bt? instr* delegate l`), which encodes to
//! the same binary. Strings and comments are left alone, so a `(module quote ...)` keeps
//! its text (the suite's malformed folded `try`s stay malformed). Removed characters
//! become spaces, so line and column numbers stay right, except after a closing `end` on
//! its line.

enum Open {
    /// A folded `try` being rewritten; `delegate` if it ends with a `delegate` clause.
    Try { delegate: bool },
    /// A `do`, `catch`, `catch_all` or `delegate` clause of a folded `try`.
    Clause,
    /// Any other parenthesis.
    Other,
}

fn is_idchar(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"!#$%&'*+-./:<=>?@\\^_`|~".contains(&c)
}

/// The script with folded legacy `try` blocks flattened, or `None` if it has none.
pub fn desugar(text: &str) -> Option<String> {
    if !text.contains("(try") {
        return None;
    }
    let b = text.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(b.len() + 64);
    let mut open: Vec<Open> = Vec::new();
    let mut changed = false;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        match c {
            b'"' => {
                // A string, with its escapes.
                let start = i;
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                i = (i + 1).min(b.len());
                out.extend_from_slice(&b[start..i]);
            }
            b';' if b.get(i + 1) == Some(&b';') => {
                let start = i;
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
                out.extend_from_slice(&b[start..i]);
            }
            b'(' if b.get(i + 1) == Some(&b';') => {
                // A block comment; they nest.
                let start = i;
                let mut depth = 0usize;
                while i < b.len() {
                    if b[i] == b'(' && b.get(i + 1) == Some(&b';') {
                        depth += 1;
                        i += 2;
                    } else if b[i] == b';' && b.get(i + 1) == Some(&b')') {
                        depth -= 1;
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        i += 1;
                    }
                }
                out.extend_from_slice(&b[start..i.min(b.len())]);
            }
            b'(' => {
                let kw_end = (i + 1..b.len())
                    .find(|&j| !is_idchar(b[j]))
                    .unwrap_or(b.len());
                let kw = &b[i + 1..kw_end];
                let in_try = matches!(open.last(), Some(Open::Try { .. }));
                if kw == b"try" {
                    open.push(Open::Try { delegate: false });
                    out.push(b' ');
                    changed = true;
                } else if in_try && kw == b"do" {
                    open.push(Open::Clause);
                    out.extend_from_slice(b"   ");
                    i = kw_end;
                    continue;
                } else if in_try && matches!(kw, b"catch" | b"catch_all" | b"delegate") {
                    if kw == b"delegate" {
                        if let Some(Open::Try { delegate }) = open.last_mut() {
                            *delegate = true;
                        }
                    }
                    open.push(Open::Clause);
                    out.push(b' ');
                } else {
                    open.push(Open::Other);
                    out.push(b'(');
                }
                i += 1;
            }
            b')' => {
                match open.pop() {
                    Some(Open::Try { delegate: false }) => out.extend_from_slice(b"end"),
                    Some(Open::Try { delegate: true }) | Some(Open::Clause) => out.push(b' '),
                    Some(Open::Other) | None => out.push(b')'),
                }
                i += 1;
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    // Only ASCII was replaced, at ASCII positions: still UTF-8.
    changed.then(|| String::from_utf8(out).unwrap_or_else(|_| text.to_string()))
}

#[cfg(test)]
mod tests {
    use super::desugar;

    #[test]
    fn flattens_folded_try() {
        assert_eq!(
            desugar("(func (try (result i32) (do (i32.const 1)) (catch $e (i32.const 2))))")
                .as_deref(),
            Some("(func  try (result i32)     (i32.const 1)   catch $e (i32.const 2) end)")
        );
        assert_eq!(
            desugar("(try $t (do (try (do) (delegate $t))) (catch_all))").as_deref(),
            Some(" try $t      try       delegate $t     catch_all end")
        );
    }

    #[test]
    fn leaves_strings_comments_and_try_table_alone() {
        assert_eq!(desugar("(module quote \"(try (do))\")"), None);
        assert_eq!(desugar(";; (try (do))\n(try_table (catch $e 0))"), None);
        assert_eq!(
            desugar("(; (try ;) (try (do (; (do ;) nop)))").as_deref(),
            Some("(; (try ;)  try     (; (do ;) nop end)")
        );
    }
}
