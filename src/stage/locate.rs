//! Where each field of a YAML document is: a map from paths (`steps[2].with.jobs[0]`) to line
//! and column, built from the parser's events. Lets validation (which runs on typed values)
//! point at the exact place in the file, and names the field of a serde error from its location.

use serde_saphyr::granit_parser::{Event, Parser};

/// A 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Pos {
    pub line: u64,
    pub column: u64,
}

#[derive(Debug, Clone)]
struct Entry {
    path: String,
    /// Where the key is (mapping entries) or the item starts (sequence items).
    key: Pos,
    value: Pos,
}

/// Paths of every node of the first document, in document order.
#[derive(Debug, Clone, Default)]
pub struct PathIndex {
    entries: Vec<Entry>,
}

enum Frame {
    Map {
        path: String,
        key: Option<(String, Pos)>,
    },
    Seq {
        path: String,
        next: usize,
    },
    /// A complex key (a mapping used as a key): ignored.
    Skip,
}

impl PathIndex {
    /// Indexes `text`; a document that does not parse gives a partial index.
    pub fn build(text: &str) -> PathIndex {
        let mut entries = Vec::new();
        let mut stack: Vec<Frame> = Vec::new();
        let mut parser = Parser::new_from_str(text);
        let mut started = false;
        while let Some(Ok((event, span))) = parser.next_event() {
            let pos = Pos {
                line: span.start.line() as u64,
                column: span.start.col() as u64 + 1,
            };
            let opens = match &event {
                Event::MappingStart(..) => Some(true),
                Event::SequenceStart(..) => Some(false),
                Event::Scalar(..) | Event::Alias(..) => None,
                Event::MappingEnd | Event::SequenceEnd => {
                    stack.pop();
                    continue;
                }
                Event::DocumentEnd if started => break,
                _ => continue,
            };
            started = true;
            // Where does this node go?
            let path = match stack.last_mut() {
                None => Some((String::new(), pos)),
                Some(Frame::Skip) => None,
                Some(Frame::Map {
                    key: key @ None, ..
                }) => {
                    if let Event::Scalar(text, ..) = &event {
                        *key = Some((text.to_string(), pos));
                        continue;
                    }
                    None
                }
                Some(Frame::Map {
                    path,
                    key: key @ Some(_),
                }) => {
                    let (name, key_pos) = key.take().unwrap_or_default();
                    let child = if path.is_empty() {
                        name
                    } else {
                        format!("{path}.{name}")
                    };
                    Some((child, key_pos))
                }
                Some(Frame::Seq { path, next }) => {
                    let child = format!("{path}[{next}]");
                    *next += 1;
                    Some((child, pos))
                }
            };
            match (path, opens) {
                (Some((path, key)), opens) => {
                    entries.push(Entry {
                        path: path.clone(),
                        key,
                        value: pos,
                    });
                    match opens {
                        Some(true) => stack.push(Frame::Map { path, key: None }),
                        Some(false) => stack.push(Frame::Seq { path, next: 0 }),
                        None => {}
                    }
                }
                (None, Some(_)) => stack.push(Frame::Skip),
                (None, None) => {}
            }
        }
        PathIndex { entries }
    }

    /// Where the value at `path` starts.
    pub fn value(&self, path: &str) -> Option<Pos> {
        self.entries
            .iter()
            .find(|e| e.path == path)
            .map(|e| e.value)
    }

    /// Where the key of `path` is (or the item, for sequence items).
    pub fn key(&self, path: &str) -> Option<Pos> {
        self.entries.iter().find(|e| e.path == path).map(|e| e.key)
    }

    /// The path at a location: the node whose key or value starts there, else the last node
    /// starting before it.
    pub fn path_at(&self, pos: Pos) -> Option<&str> {
        if let Some(e) = self.entries.iter().find(|e| e.key == pos || e.value == pos) {
            return Some(&e.path);
        }
        self.entries
            .iter()
            .rfind(|e| e.key <= pos)
            .map(|e| e.path.as_str())
    }
}

impl Default for Pos {
    fn default() -> Self {
        Pos { line: 1, column: 1 }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const TEXT: &str = "id: stage1\nsteps:\n  - id: a\n    with: {jobs: [x, y]}\n  - id: b\n";

    #[test]
    fn finds_nested_paths() {
        let index = PathIndex::build(TEXT);
        assert_eq!(index.value("id"), Some(Pos { line: 1, column: 5 }));
        assert_eq!(index.key("steps[1].id"), Some(Pos { line: 5, column: 5 }));
        assert_eq!(
            index.value("steps[0].with.jobs[1]"),
            Some(Pos {
                line: 4,
                column: 22
            })
        );
    }

    #[test]
    fn names_the_path_at_a_location() {
        let index = PathIndex::build(TEXT);
        assert_eq!(
            index.path_at(Pos { line: 4, column: 5 }),
            Some("steps[0].with")
        );
        assert_eq!(
            index.path_at(Pos {
                line: 5,
                column: 12
            }),
            Some("steps[1].id")
        );
    }
}
