//! Problems found in a profile, with where they are.

use std::fmt;
use std::path::PathBuf;

/// One thing wrong with a profile, pointing at the file position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: PathBuf,
    /// 1-based; 0 when the problem has no position (e.g. a missing file).
    pub line: usize,
    /// 1-based, in characters.
    pub column: usize,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file.display(), self.message)
        } else {
            write!(
                f,
                "{}:{}:{}: {}",
                self.file.display(),
                self.line,
                self.column,
                self.message
            )
        }
    }
}

/// Why a profile could not be loaded: every problem at once.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ProfileError {
    pub problems: Vec<Problem>,
}

impl ProfileError {
    /// Every problem as `{ "file", "line", "column", "message" }`: what
    /// `profile check --json` prints and the HTTP API returns.
    pub fn problems_json(&self) -> Vec<serde_json::Value> {
        self.problems
            .iter()
            .map(|p| serde_json::json!({ "file": p.file, "line": p.line, "column": p.column, "message": p.message }))
            .collect()
    }
}

impl fmt::Display for ProfileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, problem) in self.problems.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{problem}")?;
        }
        Ok(())
    }
}

/// Turns byte offsets into 1-based line and column for one source text.
///
/// Line starts are found once, so locating each problem is a binary search
/// and a scan of its own line: a profile with thousands of problems is
/// still reported in time linear in its size.
pub(crate) struct Locator<'a> {
    file: PathBuf,
    source: &'a str,
    line_starts: Vec<usize>,
}

impl<'a> Locator<'a> {
    pub fn new(file: PathBuf, source: &'a str) -> Self {
        let line_starts = std::iter::once(0)
            .chain(source.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Locator {
            file,
            source,
            line_starts,
        }
    }

    pub fn file(&self) -> &std::path::Path {
        &self.file
    }

    pub fn at(&self, offset: usize, message: impl Into<String>) -> Problem {
        let offset = self.source.floor_char_boundary(offset.min(self.source.len()));
        let line = self.line_starts.partition_point(|&start| start <= offset);
        let line_start = self.line_starts[line - 1];
        let column = self.source[line_start..offset].chars().count() + 1;
        Problem {
            file: self.file.clone(),
            line,
            column,
            message: message.into(),
        }
    }
}

/// The closest of `candidates` to `word`, if it is close enough to be a typo.
pub fn did_you_mean<'c>(word: &str, candidates: &[&'c str]) -> Option<&'c str> {
    candidates
        .iter()
        .map(|c| (edit_distance(word, c), *c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locates_line_and_column() {
        let loc = Locator::new("p.toml".into(), "a = 1\nbé = x\n");
        let p = loc.at(10, "bad");
        assert_eq!((p.line, p.column), (2, 4));
        assert_eq!(p.to_string(), "p.toml:2:4: bad");
    }

    #[test]
    fn locates_the_first_and_last_lines_and_the_end() {
        let loc = Locator::new("p.toml".into(), "ab\ncd\n");
        let at = |offset| {
            let p = loc.at(offset, "x");
            (p.line, p.column)
        };
        assert_eq!(
            [at(0), at(2), at(3), at(5), at(6), at(99)],
            [(1, 1), (1, 3), (2, 1), (2, 3), (3, 1), (3, 1)]
        );
    }

    #[test]
    fn suggests_close_names_only() {
        assert_eq!(
            did_you_mean("objectivs", &["objectives", "space"]),
            Some("objectives")
        );
        assert_eq!(did_you_mean("zzz", &["objectives", "space"]), None);
    }
}
