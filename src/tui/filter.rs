//! The `/` fuzzy filter (nucleo-matcher, fzf syntax: `'exact`, `^prefix`, `suffix$`, `!not`,
//! space-separated terms must all match).
//!
//! Each term must match within one column (a caller's name, a summary…), never spread across
//! columns, so `riley` finds Riley and not "Rossi … Security". Typing narrows: when the new
//! query extends the previous one, only the previous matches are searched again, and each step
//! is kept so Backspace is instant. Matches keep the list's own order (the operator chose the
//! sort); the filter only hides what does not match.
//!
//! Speed (100,000 tickets, a keystroke well under a frame): the searchable text of every item
//! lives in one buffer, accents folded as the matcher folds them, so almost every column is
//! ASCII; each column carries a 64-bit mask of the characters it holds, which rules most columns
//! out unread; a fuzzy term only needs "is the needle a subsequence of this column", answered by
//! a byte loop (nucleo's own matchers serve the other terms and non-ASCII text). And a keystroke
//! searches only until the first screenful of matches is found (yazi's chunked loading): the
//! rest of a large list is searched in chunks between keystrokes ([`FuzzyList::advance`]), so
//! typing never waits for the whole list.

use std::cell::RefCell;

use nucleo_matcher::chars::{normalize, to_lower_case};
use nucleo_matcher::pattern::{Atom, AtomKind, CaseMatching, Normalization, Pattern};
use nucleo_matcher::{Matcher, Utf32Str};

/// Items searched per chunk, between which input is read.
pub const CHUNK: usize = 16_384;
/// A keystroke searches on until this many matches are shown (or a chunk is done).
const FIRST_MATCHES: usize = 256;
/// Slices a keystroke's first search is cut into, to stop as soon as a screen is full.
const SLICE: usize = 2_048;

/// One query's search: the items it looks through, how far it got, and what matched.
#[derive(Debug, Clone)]
struct Step {
    query: String,
    pattern: Pattern,
    base: Vec<u32>,
    next: usize,
    hits: Vec<u32>,
}

impl Step {
    fn done(&self) -> bool {
        self.next >= self.base.len()
    }
}

/// A list's searchable texts, its display order, and the matches of the current query.
#[derive(Debug, Clone, Default)]
pub struct FuzzyList {
    /// Every column of every item, accents folded, each column followed by a space.
    text: String,
    /// `text` in ASCII lower case, for case-insensitive terms (most of them).
    lower: String,
    /// Per item, `fields + 1` byte offsets into `text`: column `c` is `[s[c], s[c+1] - 1)`.
    starts: Vec<u32>,
    /// Per item and column, which characters occur (see [`char_bit`]): a cheap "cannot match".
    masks: Vec<u64>,
    /// Per item, all its columns' masks together: rules a whole item out at once.
    item_masks: Vec<u64>,
    /// Per item, whether all its text is ASCII (the byte loop applies).
    ascii: Vec<bool>,
    fields: usize,
    order: Vec<u32>,
    query: String,
    /// Searches of each query typed so far that the current one extends; last is current.
    steps: Vec<Step>,
}

impl FuzzyList {
    /// A list whose items have `fields` searchable columns each (`columns` yields them item by
    /// item, `fields` at a time), shown in `order` (item indices).
    pub fn new<S: AsRef<str>>(fields: usize, columns: impl IntoIterator<Item = S>, order: Vec<u32>) -> FuzzyList {
        let fields = fields.max(1);
        let n = order.len();
        let mut list = FuzzyList {
            text: String::with_capacity(n * 64),
            lower: String::new(),
            starts: Vec::with_capacity(n * (fields + 1)),
            masks: Vec::with_capacity(n * fields),
            ascii: Vec::with_capacity(n),
            item_masks: Vec::with_capacity(n),
            fields,
            order,
            query: String::new(),
            steps: Vec::new(),
        };
        let mut item_ascii = true;
        let mut item_mask = 0u64;
        for (i, col) in columns.into_iter().enumerate() {
            list.starts.push(list.text.len() as u32);
            let mut mask = 0u64;
            for c in col.as_ref().chars() {
                let c = if c.is_ascii() { c } else { normalize(c) };
                mask |= char_bit(c);
                item_ascii &= c.is_ascii();
                list.text.push(c);
            }
            list.text.push(' ');
            list.masks.push(mask);
            item_mask |= mask;
            if i % fields == fields - 1 {
                list.starts.push(list.text.len() as u32);
                list.ascii.push(item_ascii);
                list.item_masks.push(item_mask);
                item_ascii = true;
                item_mask = 0;
            }
        }
        list.lower = list.text.to_ascii_lowercase();
        list
    }

    /// Whether item `i` satisfies one term: a positive term within some column, a negative one
    /// in none. `matcher` must already be configured for the atom (see [`FuzzyList::set_query`]).
    fn atom_matches(&self, i: usize, atom: &Atom, probe: &Probe, matcher: &mut Matcher) -> bool {
        if self.item_masks[i] & probe.mask != probe.mask {
            return atom.negative;
        }
        let stride = self.fields + 1;
        let s = &self.starts[i * stride..(i + 1) * stride];
        let masks = &self.masks[i * self.fields..(i + 1) * self.fields];
        let ascii = self.ascii[i];
        let mut buf = Vec::new();
        let found = (0..self.fields).any(|c| {
            // A column lacking one of the needle's characters cannot match: skip it unread.
            if masks[c] & probe.mask != probe.mask {
                return false;
            }
            let (start, end) = (s[c] as usize, s[c + 1] as usize - 1);
            match (atom.kind, ascii, &probe.ascii) {
                // One letter or digit: the mask has already answered (its bits are exact for them).
                (AtomKind::Fuzzy, true, Some((_, true))) if probe.exact_mask => true,
                (AtomKind::Fuzzy, true, Some((needle, fold))) => {
                    let col = if *fold { &self.lower[start..end] } else { &self.text[start..end] };
                    ascii_subsequence(col, needle)
                }
                // Membership only needs "is the needle a subsequence", which the linear greedy
                // matcher answers exactly as the optimal one does, at a fraction of the cost.
                (AtomKind::Fuzzy, _, _) => {
                    let col = Utf32Str::new(&self.text[start..end], &mut buf);
                    matcher.fuzzy_match_greedy(col, atom.needle_text()).is_some()
                }
                _ => {
                    let col = Utf32Str::new(&self.text[start..end], &mut buf);
                    let hit = atom.score(col, matcher).is_some();
                    // `score` answers "no match" for a negative term that matched.
                    if atom.negative { !hit } else { hit }
                }
            }
        });
        found != atom.negative
    }

    /// The items of `chunk` that satisfy every term of `pattern`, in order.
    fn search(&self, mut chunk: Vec<u32>, pattern: &Pattern, matcher: &mut Matcher) -> Vec<u32> {
        for atom in &pattern.atoms {
            // Scoring an empty text sets the matcher's case and normalisation for this term.
            let _ = atom.score(Utf32Str::Ascii(b""), matcher);
            let probe = Probe::new(atom);
            chunk.retain(|&i| self.atom_matches(i as usize, atom, &probe, matcher));
        }
        chunk
    }

    /// Searches up to `items` more items of the current query; true while some remain.
    pub fn advance(&mut self, items: usize, matcher: &mut Matcher) -> bool {
        let Some(mut step) = self.steps.pop() else { return false };
        let end = step.next.saturating_add(items).min(step.base.len());
        let chunk = step.base[step.next..end].to_vec();
        step.hits.extend(self.search(chunk, &step.pattern, matcher));
        step.next = end;
        let more = !step.done();
        self.steps.push(step);
        more
    }

    /// Whether the current query has items left to search.
    pub fn searching(&self) -> bool {
        self.steps.last().is_some_and(|s| !s.done())
    }

    /// Item indices to show, in order.
    pub fn visible(&self) -> &[u32] {
        self.steps.last().map_or(&self.order, |s| &s.hits)
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
        while let Some(prev) = self.steps.last() {
            if narrows(&prev.query, query) {
                break;
            }
            self.steps.pop();
        }
        if self.steps.last().is_some_and(|prev| prev.query == query) {
            return;
        }
        // A narrower query looks only at what the previous one matched, plus what it had not
        // searched yet.
        let base = match self.steps.last() {
            None => self.order.clone(),
            Some(prev) => {
                let mut base = Vec::with_capacity(prev.hits.len() + prev.base.len() - prev.next);
                base.extend_from_slice(&prev.hits);
                base.extend_from_slice(&prev.base[prev.next..]);
                base
            }
        };
        let pattern = Pattern::parse(query, CaseMatching::Smart, Normalization::Smart);
        self.steps.push(Step { query: query.to_string(), pattern, base, next: 0, hits: Vec::new() });
        let mut searched = 0;
        while searched < CHUNK && self.visible().len() < FIRST_MATCHES && self.advance(SLICE, matcher) {
            searched += SLICE;
        }
    }

    /// Searches everything left (tests, and callers that need the final list at once).
    pub fn finish(&mut self, matcher: &mut Matcher) {
        while self.advance(usize::MAX, matcher) {}
    }
}

/// One bit per character class: case and accents folded the way the matcher folds them, so a
/// column whose mask lacks a needle character's bit cannot match that needle.
fn char_bit(c: char) -> u64 {
    let c = if c.is_ascii() { c.to_ascii_lowercase() } else { normalize(to_lower_case(c)) };
    // Letters and digits get a bit of their own; everything else shares the rest.
    let bit = match c {
        'a'..='z' => c as u32 - 'a' as u32,
        '0'..='9' => 26 + (c as u32 - '0' as u32),
        _ => 36 + c as u32 % 28,
    };
    1u64 << bit
}

/// What a term needs, computed once per term: its characters' mask, and for an ASCII needle the
/// bytes to look for (lower-cased when the term ignores case).
struct Probe {
    mask: u64,
    ascii: Option<(Vec<u8>, bool)>,
    /// The needle is one ASCII letter or digit, whose mask bit is exact.
    exact_mask: bool,
}

impl Probe {
    fn new(atom: &Atom) -> Probe {
        // Haystacks are stored accent-folded; fold the needle the same way.
        let needle: String = atom.needle_text().chars().map(|c| if c.is_ascii() { c } else { normalize(c) }).collect();
        // Negative terms reject columns that match; every column must be looked at.
        let mask = if atom.negative { 0 } else { needle.chars().fold(0u64, |m, c| m | char_bit(c)) };
        let fold = !needle.chars().any(char::is_uppercase);
        let exact_mask = !atom.negative && needle.len() == 1 && needle.bytes().all(|b| b.is_ascii_alphanumeric());
        let ascii = (needle.is_ascii() && !needle.is_empty()).then(|| (needle.into_bytes(), fold));
        Probe { mask, ascii, exact_mask }
    }
}

/// Whether the ASCII `needle` occurs in order within `hay` (`str::find` of a char is a fast
/// word-at-a-time search).
fn ascii_subsequence(hay: &str, needle: &[u8]) -> bool {
    let mut rest = hay;
    for &b in needle {
        match rest.find(char::from(b)) {
            Some(p) => rest = &rest[p + 1..],
            None => return false,
        }
    }
    true
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
                let found = if atom.kind == AtomKind::Fuzzy {
                    // Greedy (linear) placement is plenty for showing where a term matched;
                    // scoring the empty text first sets the term's case and normalisation.
                    let _ = atom.score(Utf32Str::Ascii(b""), &mut matcher);
                    matcher.fuzzy_indices_greedy(hay, atom.needle_text(), &mut idx).is_some()
                } else {
                    atom.indices(hay, &mut matcher, &mut idx).is_some()
                };
                if found {
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
    fn case_accents_and_fzf_terms_match_as_nucleo_does() {
        let mut m = Matcher::default();
        let mut l = FuzzyList::new(2, ["Nora Müller", "IT", "Ben Evans", "Sales", "MUL Corp", "it"], vec![0, 1, 2]);
        l.set_query("mul", &mut m);
        assert_eq!(l.visible(), &[0, 2], "accents and case folded");
        l.set_query("Mul", &mut m);
        assert_eq!(l.visible(), &[0], "an upper-case letter makes the term case-sensitive");
        l.set_query("'evans", &mut m);
        assert_eq!(l.visible(), &[1]);
        l.set_query("^sal", &mut m);
        assert_eq!(l.visible(), &[1]);
        l.set_query("!it", &mut m);
        assert_eq!(l.visible(), &[1]);
        l.set_query("nora !sales", &mut m);
        assert_eq!(l.visible(), &[0]);
    }

    #[test]
    fn large_lists_answer_a_screenful_first_and_the_rest_in_chunks() {
        let mut m = Matcher::default();
        let items: Vec<String> =
            (0..50_000).map(|i| if i % 3 == 0 { format!("vpn {i}") } else { format!("printer {i}") }).collect();
        let mut l = FuzzyList::new(1, items.iter(), (0..50_000).rev().collect());
        l.set_query("vp", &mut m);
        assert!(l.searching(), "50,000 items are not searched in one keystroke");
        let first: Vec<u32> = l.visible().to_vec();
        assert!(first.len() >= FIRST_MATCHES && first.len() < 50_000 / 3);
        // Narrowing while the previous search is unfinished still sees every item.
        l.set_query("vpn 1", &mut m);
        l.finish(&mut m);
        assert!(!l.searching());
        let want: Vec<u32> = (0..50_000u32)
            .rev()
            .filter(|i| i % 3 == 0 && format!("vpn {i}").contains("vpn") && i.to_string().contains('1'))
            .collect();
        assert_eq!(l.visible(), want.as_slice(), "same matches, same order as a full search");
        l.set_query("vp", &mut m);
        assert!(l.visible().starts_with(&first), "backspace returns to the earlier search");
        l.finish(&mut m);
        assert_eq!(l.visible().len(), 50_000 / 3 + 1);
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
