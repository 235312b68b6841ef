//! The outcome of running one spec script: a result per directive.

use std::fmt;

/// What a failed directive expected and what actually happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mismatch {
    /// What the directive asserted, e.g. `i32:5` or `trap "integer overflow"`.
    pub expected: String,
    /// What the runtime did instead.
    pub got: String,
}

/// The result of one directive of a script.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirectiveResult {
    /// 1-based line of the directive in the script.
    pub line: usize,
    /// The directive's keyword, e.g. `assert_return`.
    pub directive: &'static str,
    /// `None` when the directive passed.
    pub mismatch: Option<Mismatch>,
}

impl DirectiveResult {
    /// Whether the directive passed.
    pub fn passed(&self) -> bool {
        self.mismatch.is_none()
    }
}

impl fmt::Display for DirectiveResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.mismatch {
            None => write!(f, "line {}: {}: passed", self.line, self.directive),
            Some(mismatch) => write!(
                f,
                "line {}: {}: expected {}, got {}",
                self.line, self.directive, mismatch.expected, mismatch.got
            ),
        }
    }
}

/// Every directive result of one script, in source order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FileReport {
    /// The results, one per directive that ran.
    pub results: Vec<DirectiveResult>,
}

impl FileReport {
    /// How many directives passed.
    pub fn passed(&self) -> usize {
        self.results.iter().filter(|result| result.passed()).count()
    }

    /// How many directives failed.
    pub fn failed(&self) -> usize {
        self.results.len() - self.passed()
    }

    /// The failed directives, in source order.
    pub fn failures(&self) -> impl Iterator<Item = &DirectiveResult> {
        self.results.iter().filter(|result| !result.passed())
    }

    /// Whether every directive passed.
    pub fn is_success(&self) -> bool {
        self.failed() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(line: usize, mismatch: Option<Mismatch>) -> DirectiveResult {
        DirectiveResult {
            line,
            directive: "assert_return",
            mismatch,
        }
    }

    #[test]
    fn counts_passes_and_failures() {
        let mismatch = Mismatch {
            expected: "i32:1".into(),
            got: "i32:2".into(),
        };
        let report = FileReport {
            results: vec![result(1, None), result(2, Some(mismatch)), result(3, None)],
        };
        assert_eq!(report.passed(), 2);
        assert_eq!(report.failed(), 1);
        assert!(!report.is_success());
        assert_eq!(report.failures().map(|r| r.line).collect::<Vec<_>>(), [2]);
        assert_eq!(
            report.failures().next().unwrap().to_string(),
            "line 2: assert_return: expected i32:1, got i32:2"
        );
    }

    #[test]
    fn an_empty_report_is_a_success() {
        assert!(FileReport::default().is_success());
    }
}
