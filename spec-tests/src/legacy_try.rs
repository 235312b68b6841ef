//! Rewrites the folded form of the legacy exception instructions,
//! `(try bt (do ...) (catch $t ...) (catch_all ...))` and
//! `(try bt (do ...) (delegate l))`, into their flat form
//! (`try bt ... catch $t ... catch_all ... end`, `try bt ... delegate l`),
//! which the text parser still reads: the legacy scripts of the suite are
//! written in the folded form, which it no longer accepts.
//!
//! Everything else is copied unchanged, strings and comments included, and
//! no line break is added or removed, so line numbers stay those of the
//! script. A folded `try` is only valid where an instruction sequence is,
//! which is exactly where its flat form is valid too.

/// `text` with every folded legacy `try` in flat form.
pub fn unfold_legacy_try(text: &str) -> String {
    let mut unfolder = Unfolder {
        src: text.as_bytes(),
        pos: 0,
        out: Vec::with_capacity(text.len() + 64),
    };
    while unfolder.pos < unfolder.src.len() {
        unfolder.copy_items();
        // An unmatched `)` at the top level: copy it and go on.
        unfolder.copy_byte();
    }
    // Only ASCII is inserted, and only at ASCII boundaries.
    String::from_utf8(unfolder.out).expect("UTF-8 in, UTF-8 out")
}

struct Unfolder<'a> {
    src: &'a [u8],
    pos: usize,
    out: Vec<u8>,
}

impl Unfolder<'_> {
    fn peek(&self) -> Option<u8> {
        self.src.get(self.pos).copied()
    }

    fn peek_at(&self, offset: usize) -> Option<u8> {
        self.src.get(self.pos + offset).copied()
    }

    fn copy_byte(&mut self) {
        if let Some(byte) = self.peek() {
            self.out.push(byte);
            self.pos += 1;
        }
    }

    /// Replaces the next `len` bytes by spaces (keeping line breaks).
    fn blank(&mut self, len: usize) {
        for _ in 0..len {
            match self.peek() {
                Some(b'\n') => self.copy_byte(),
                Some(_) => {
                    self.out.push(b' ');
                    self.pos += 1;
                }
                None => return,
            }
        }
    }

    /// The keyword after the `(` at the current position, if any.
    fn head(&self) -> &[u8] {
        let mut start = self.pos + 1;
        while self.src.get(start).is_some_and(u8::is_ascii_whitespace) {
            start += 1;
        }
        let mut end = start;
        while self
            .src
            .get(end)
            .is_some_and(|&b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.')
        {
            end += 1;
        }
        &self.src[start..end]
    }

    /// Copies items until an unmatched `)` (left in place) or the end.
    fn copy_items(&mut self) {
        while let Some(byte) = self.peek() {
            match byte {
                b')' => return,
                b'(' if self.peek_at(1) == Some(b';') => self.copy_block_comment(),
                b'(' if self.head() == b"try" => self.unfold_try(),
                b'(' => {
                    self.copy_byte();
                    self.copy_items();
                    self.copy_byte();
                }
                b';' if self.peek_at(1) == Some(b';') => self.copy_line_comment(),
                b'"' => self.copy_string(),
                _ => self.copy_byte(),
            }
        }
    }

    /// Copies a `;;` comment up to (not including) its line's end.
    fn copy_line_comment(&mut self) {
        while self.peek().is_some_and(|b| b != b'\n') {
            self.copy_byte();
        }
    }

    fn copy_block_comment(&mut self) {
        let mut depth = 0usize;
        while let Some(byte) = self.peek() {
            if byte == b'(' && self.peek_at(1) == Some(b';') {
                depth += 1;
                self.copy_byte();
            } else if byte == b';' && self.peek_at(1) == Some(b')') {
                depth -= 1;
                self.copy_byte();
                self.copy_byte();
                if depth == 0 {
                    return;
                }
                continue;
            }
            self.copy_byte();
        }
    }

    fn copy_string(&mut self) {
        self.copy_byte();
        while let Some(byte) = self.peek() {
            self.copy_byte();
            match byte {
                b'\\' => self.copy_byte(),
                b'"' => return,
                _ => {}
            }
        }
    }

    /// At the `(` of a folded `try`: writes its flat form.
    fn unfold_try(&mut self) {
        // `(try` -> ` try`.
        self.blank(1);
        while self.peek().is_some_and(|b| b.is_ascii_whitespace()) {
            self.copy_byte();
        }
        for _ in 0..3 {
            self.copy_byte();
        }
        let mut delegated = false;
        while let Some(byte) = self.peek() {
            match byte {
                b')' => {
                    self.blank(1);
                    if !delegated {
                        self.out.extend_from_slice(b" end");
                    }
                    return;
                }
                b'(' if self.peek_at(1) == Some(b';') => self.copy_block_comment(),
                b'(' => {
                    let head = self.head().to_vec();
                    match head.as_slice() {
                        b"do" => {
                            // `(do` -> `   `: only its instructions remain.
                            let keyword_end = self.keyword_end();
                            self.blank(keyword_end - self.pos);
                            self.copy_items();
                            self.blank(1);
                        }
                        b"catch" | b"catch_all" | b"delegate" => {
                            delegated |= head == b"delegate";
                            self.blank(1);
                            self.copy_items();
                            self.blank(1);
                        }
                        // The label's block type: `(result ...)`, `(type ...)`.
                        _ => {
                            self.copy_byte();
                            self.copy_items();
                            self.copy_byte();
                        }
                    }
                }
                b';' if self.peek_at(1) == Some(b';') => self.copy_line_comment(),
                _ => self.copy_byte(),
            }
        }
    }

    /// The position after the keyword that follows the `(` here.
    fn keyword_end(&self) -> usize {
        let head = self.head();
        let start = head.as_ptr() as usize - self.src.as_ptr() as usize;
        start + head.len()
    }
}

#[cfg(test)]
mod tests {
    use super::unfold_legacy_try;

    #[test]
    fn a_try_with_catches_becomes_flat() {
        let text = "(func (try (result i32) (do (i32.const 1)) (catch $e (i32.const 2)) (catch_all (i32.const 3))))";
        let flat = unfold_legacy_try(text);
        let words: Vec<&str> = flat.split_whitespace().collect();
        assert_eq!(
            words.join(" "),
            "(func try (result i32) (i32.const 1) catch $e (i32.const 2) catch_all (i32.const 3) end)"
        );
    }

    #[test]
    fn a_delegate_ends_the_try_and_nesting_is_kept() {
        let text = "(try $t\n  (do (try (do (throw $e)) (delegate $t)))\n  (catch $e))";
        let flat = unfold_legacy_try(text);
        assert_eq!(flat.lines().count(), 3);
        let words: Vec<&str> = flat.split_whitespace().collect();
        assert_eq!(
            words.join(" "),
            "try $t try (throw $e) delegate $t catch $e end"
        );
    }

    #[test]
    fn strings_comments_and_try_table_are_untouched() {
        let text = "(module quote \"(try (do))\") ;; (try (do))\n(; (try ;) (try_table (do))";
        assert_eq!(unfold_legacy_try(text), text);
    }
}
