//! The `/` fuzzy filter (nucleo-matcher, fzf syntax: `'exact`, `^prefix`, `suffix$`, `!not`,
//! space-separated terms must all match).
//!
//! Each term must match within one column (a caller's name, a summary…), never spread across
//! columns, so `riley` finds Riley and not "Rossi … Security". Typing narrows: when the new query extends the previous one, only the previous matches are
//! searched again, and each step is kept so Backspace is instant. Matches keep the list's own
//! order (the operator chose the sort); the filter only hides what does not match.

use std::cell::RefCell;

use nucleo_matcher::pattern::{CaseMatching, Normalization, Pattern};
use nucleo_matcher::{Matcher, Utf32Str, Utf32String};

/// A list's searchable texts, its display order, and the matches of the current query.
#[derive(Debug, Clone, Default)]
pub struct FuzzyList {
    /// Per item, its columns joined by spaces (one allocation per item).
    haystacks: Vec<Utf32String>,
    /// Per item, `fields + 1` char offsets into its haystack: column `c` is `[b[c], b[c+1] - 1)`.
    bounds: Vec<u32>,
    fields: usize,
    order: Vec<u32>,
    query: String,
    /// Matches of each query typed so far that the current one extends; last is current.
    steps: Vec<(String, Vec<u32>)>,
}

impl FuzzyList {
    /// A list whose items have `fields` searchable columns each (`columns` yields them item by
    /// item, `fields` at a time), shown in `order` (item indices).
    pub fn new<S: AsRef<str>>(fields: usize, columns: impl IntoIterator<Item = S>, order: Vec<u32>) -> FuzzyList {
        let fields = fields.max(1);
        let mut haystacks = Vec::with_capacity(order.len());
        let mut bounds = Vec::with_capacity(order.len() * (fields + 1));
        let mut joined = String::new();
        let mut offsets = Vec::with_capacity(fields + 1);
        let mut chars = 0u32;
        for (i, col) in columns.into_iter().enumerate() {
            let col = col.as_ref();
            if i % fields == 0 {
                joined.clear();
                offsets.clear();
                chars = 0;
            }
            offsets.push(chars);
            joined.push_str(col);
            joined.push(' ');
            chars += col.chars().count() as u32 + 1;
            if i % fields == fields - 1 {
                offsets.push(chars);
                bounds.extend_from_slice(&offsets);
                haystacks.push(Utf32String::from(joined.as_str()));
            }
        }
        FuzzyList { haystacks, bounds, fields, order, query: String::new(), steps: Vec::new() }
    }

    /// Whether item `i` matches: every positive term within some column, no negative term in any.
    fn matches(&self, i: usize, pattern: &Pattern, matcher: &mut Matcher) -> bool {
        let hay = &self.haystacks[i];
        let b = &self.bounds[i * (self.fields + 1)..(i + 1) * (self.fields + 1)];
        pattern.atoms.iter().all(|atom| {
            let mut cols = (0..self.fields).map(|c| hay.slice_u32(b[c]..b[c + 1] - 1));
            if atom.negative {
                cols.all(|col| atom.score(col, matcher).is_some())
            } else {
                cols.any(|col| atom.score(col, matcher).is_some())
            }
        })
    }

    /// Item indices to show, in order.
    pub fn visible(&self) -> &[u32] {
        self.steps.last().map_or(&self.order, |(_, v)| v)
    }

    /// Number of items, filtered or not.
    pub fn total(&self) -> usize {
        self.order.len()
    }

    /// The current query.
    pub fn query(&self) -> &str {
        &self.query
    }

    /// Reorders the items (after a sort) and filters again.
    pub fn set_order(&mut self, order: Vec<u32>, matcher: &mut Matcher) {
        self.order = order;
        self.steps.clear();
        let q = std::mem::take(&mut self.query);
        self.set_query(&q, matcher);
    }

    /// Filters by `query`, reusing earlier steps when it extends them.
    pub fn set_query(&mut self, query: &str, matcher: &mut Matcher) {
        self.query = query.to_string();
        if query.trim().is_empty() {
            self.steps.clear();
            return;
        }
        while let Some((prev, _)) = self.steps.last() {
            if narrows(prev, query) {
                break;
            }
            self.steps.pop();
        }
        if self.steps.last().is_some_and(|(prev, _)| prev == query) {
            return;
        }
        let pattern = Pattern::parse(query, CaseMatching::Smart, Normalization::Smart);
        let base = self.steps.last().map_or(&self.order, |(_, v)| v);
        let hits: Vec<u32> = base.iter().copied().filter(|&i| self.matches(i as usize, &pattern, matcher)).collect();
        self.steps.push((query.to_string(), hits));
    }
}

/// Whether every match of `query` is also a match of `prev`, so `query` may search `prev`'s
/// matches only. True when `query` extends `prev` and no negation or anchor could widen it.
fn narrows(prev: &str, query: &str) -> bool {
    query.starts_with(prev) && !query.contains('!') && !prev.ends_with('$') && !prev.ends_with('\\')
}

/// Finds which characters of a cell the query matched, for highlighting. Each positive term is
/// looked for in the cell on its own, since terms usually match in different columns.
#[derive(Debug)]
pub struct Highlighter {
    pattern: Option<Pattern>,
}

impl Highlighter {
    /// A highlighter for `query` (nothing is highlighted for an empty one).
    pub fn new(query: &str) -> Highlighter {
        let pattern =
            (!query.trim().is_empty()).then(|| Pattern::parse(query, CaseMatching::Smart, Normalization::Smart));
        Highlighter { pattern }
    }

    /// Whether there is anything to highlight.
    pub fn is_active(&self) -> bool {
        self.pattern.is_some()
    }

    /// Character indices of `text` to highlight, sorted and unique.
    pub fn indices(&self, text: &str) -> Vec<usize> {
        let Some(pattern) = &self.pattern else { return Vec::new() };
        MATCHER.with(|m| {
            let mut matcher = m.borrow_mut();
            let mut buf = Vec::new();
            let hay = Utf32Str::new(text, &mut buf);
            let mut all: Vec<u32> = Vec::new();
            for atom in pattern.atoms.iter().filter(|a| !a.negative) {
                let mut idx = Vec::new();
                if atom.indices(hay, &mut matcher, &mut idx).is_some() {
                    all.extend(idx);
                }
            }
            all.sort_unstable();
            all.dedup();
            all.into_iter().map(|i| i as usize).collect()
        })
    }
}

thread_local! {
    /// Scratch for highlighting while drawing; drawing never touches the console's state.
    static MATCHER: RefCell<Matcher> = RefCell::new(Matcher::default());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(items: &[&str]) -> FuzzyList {
        FuzzyList::new(1, items.iter().copied(), (0..items.len() as u32).collect())
    }

    #[test]
    fn typing_narrows_and_backspace_widens_again() {
        let mut m = Matcher::default();
        let mut l = list(&["INC1 riley locked out", "INC2 casey vpn", "INC3 riley laptop", "INC4 dana printer"]);
        l.set_query("i", &mut m);
        assert_eq!(l.visible(), &[0, 1, 2, 3]);
        l.set_query("ril", &mut m);
        assert_eq!(l.visible(), &[0, 2]);
        l.set_query("ril lap", &mut m);
        assert_eq!(l.visible(), &[2]);
        l.set_query("ril", &mut m);
        assert_eq!(l.visible(), &[0, 2]);
        l.set_query("", &mut m);
        assert_eq!(l.visible().len(), 4);
    }

    #[test]
    fn negation_is_searched_from_scratch() {
        let mut m = Matcher::default();
        let mut l = list(&["alpha", "beta", "gamma", "a$lb"]);
        l.set_query("!a", &mut m);
        assert_eq!(l.visible(), &[] as &[u32]);
        l.set_query("!al", &mut m);
        assert_eq!(l.visible(), &[1, 2, 3]);
        l.set_query("a$", &mut m);
        assert_eq!(l.visible(), &[0, 1, 2]);
        // `a$l` is a plain fuzzy term, not a narrower `a$`.
        l.set_query("a$l", &mut m);
        assert_eq!(l.visible(), &[3]);
    }

    #[test]
    fn matches_keep_the_list_order() {
        let mut m = Matcher::default();
        let mut l = FuzzyList::new(1, ["zzz vpn", "vpn", "a vpn b"], vec![2, 0, 1]);
        l.set_query("vpn", &mut m);
        assert_eq!(l.visible(), &[2, 0, 1]);
        l.set_order(vec![1, 0, 2], &mut m);
        assert_eq!(l.visible(), &[1, 0, 2]);
    }

    #[test]
    fn a_term_matches_within_one_column_only() {
        let mut m = Matcher::default();
        let mut l = FuzzyList::new(
            3,
            ["INC1", "Zoe Rossi", "Sam Security", "INC2", "Riley Requester", "Dana Desk"],
            vec![0, 1],
        );
        l.set_query("riley", &mut m);
        assert_eq!(l.visible(), &[1]);
        l.set_query("riley dana", &mut m);
        assert_eq!(l.visible(), &[1]);
        l.set_query("riley !dana", &mut m);
        assert_eq!(l.visible(), &[] as &[u32]);
        l.set_query("sec", &mut m);
        assert_eq!(l.visible(), &[0]);
    }

    #[test]
    fn highlights_each_term_where_it_matches() {
        let h = Highlighter::new("ril lock");
        assert_eq!(h.indices("riley"), vec![0, 1, 2]);
        assert_eq!(h.indices("locked out"), vec![0, 1, 2, 3]);
        assert!(h.indices("printer").is_empty());
        assert!(!Highlighter::new("  ").is_active());
    }
}
