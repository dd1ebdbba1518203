//! Themes: TOML files with semantic roles, a palette, `inherits`, and a colour floor
//! (helix's model), embedded in the binary and overridable from a user themes folder.
//!
//! ```toml
//! [meta]
//! inherits = "default"   # roles and palette not given here come from the parent
//! variant = "light"      # dark | light | any
//! min_colors = 256       # 0 (mono) | 16 | 256 | 16777216: the colours the theme needs
//! [palette]
//! accent = "#005f87"
//! [ui]
//! selection = { fg = "accent", modifiers = ["reversed"] }
//! [ticket.priority]
//! p1 = { fg = "red", modifiers = ["bold"] }
//! ```
//!
//! A colour is `reset`, an ANSI name (`red`, `bright-black`…), `#rrggbb`, an index `0`–`255`, or a
//! palette name. A role is a colour (its foreground) or `{ fg, bg, modifiers }`.
//!
//! When the terminal has fewer colours than a theme needs ([`ColorDepth::detect`] reads
//! `NO_COLOR`, `COLORTERM` and `TERM`), colours are approximated down the floor (truecolor → 256 →
//! 16); with no colours at all (`NO_COLOR`) every colour is dropped and the `mono` theme is chosen,
//! whose roles are modifiers only. The console also draws a symbol for the selected and marked
//! lines in every theme, so nothing depends on colour alone.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use ratatui::style::{Color, Modifier, Style};

macro_rules! roles {
    ($($variant:ident => $key:literal),* $(,)?) => {
        /// A semantic role a view styles by; themes assign each a style.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Role { $(#[doc = $key] $variant),* }
        impl Role {
            /// Every role.
            pub const ALL: &'static [Role] = &[$(Role::$variant),*];
            /// Its dotted key in a theme file.
            pub fn key(self) -> &'static str { match self { $(Role::$variant => $key),* } }
            fn parse(key: &str) -> Option<Role> { match key { $($key => Some(Role::$variant),)* _ => None } }
        }
    };
}

roles! {
    Text => "ui.text",
    Muted => "ui.muted",
    Title => "ui.title",
    Border => "ui.border",
    BorderFocus => "ui.border_focus",
    Selection => "ui.selection",
    Mark => "ui.mark",
    Match => "ui.match",
    Info => "ui.info",
    Warn => "ui.warn",
    Error => "ui.error",
    Success => "ui.success",
    Crumbs => "chrome.crumbs",
    CrumbsActive => "chrome.crumbs_active",
    KeyHint => "chrome.key_hint",
    StatusLine => "chrome.status_line",
    CommandLine => "chrome.command_line",
    FilterActive => "chrome.filter_active",
    ReadOnlyBanner => "chrome.readonly_banner",
    Header => "table.header",
    Stale => "table.stale",
    P1 => "ticket.priority.p1",
    P2 => "ticket.priority.p2",
    P3 => "ticket.priority.p3",
    P4 => "ticket.priority.p4",
    P5 => "ticket.priority.p5",
    StateNew => "ticket.state.new",
    StateInProgress => "ticket.state.in_progress",
    StateOnHold => "ticket.state.on_hold",
    StateResolved => "ticket.state.resolved",
    StateClosed => "ticket.state.closed",
    StateCanceled => "ticket.state.canceled",
    SlaOk => "sla.ok",
    SlaAtRisk => "sla.at_risk",
    SlaBreached => "sla.breached",
    OktaActive => "okta.status.active",
    OktaStaged => "okta.status.staged",
    OktaProvisioned => "okta.status.provisioned",
    OktaRecovery => "okta.status.recovery",
    OktaPasswordExpired => "okta.status.password_expired",
    OktaLockedOut => "okta.status.locked_out",
    OktaSuspended => "okta.status.suspended",
    OktaDeprovisioned => "okta.status.deprovisioned",
    ApprovalRequested => "approval.requested",
    ApprovalApproved => "approval.approved",
    ApprovalRejected => "approval.rejected",
    WorkNote => "journal.work_note",
    Comment => "journal.comment",
    DialogBorder => "dialog.border",
    DialogDanger => "dialog.danger_border",
    Button => "dialog.button",
    ButtonFocus => "dialog.button_focus",
    NotifyInfo => "notify.info",
    NotifyWarn => "notify.warn",
    NotifyError => "notify.error",
    ChartBar => "chart.bar",
    ChartOpened => "chart.opened",
    ChartResolved => "chart.resolved",
}

/// Roles whose meaning must survive without colour: every theme gives them a modifier.
pub const MUST_NOT_DEPEND_ON_COLOR: &[Role] = &[
    Role::Selection,
    Role::Mark,
    Role::Match,
    Role::Error,
    Role::CrumbsActive,
    Role::ReadOnlyBanner,
    Role::Header,
    Role::P1,
    Role::SlaBreached,
    Role::OktaLockedOut,
    Role::OktaSuspended,
    Role::ApprovalRequested,
    Role::ButtonFocus,
    Role::FilterActive,
];

/// How many colours the terminal shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ColorDepth {
    /// None (`NO_COLOR`, or a dumb terminal): modifiers only.
    Mono,
    /// The 16 ANSI colours.
    Ansi16,
    /// The xterm 256-colour palette.
    Ansi256,
    /// 24-bit colour.
    TrueColor,
}

impl ColorDepth {
    /// Reads `NO_COLOR` (set and non-empty: mono), `COLORTERM` (`truecolor`/`24bit`) and `TERM`
    /// (`*-256color`, `*-direct`, `dumb`). `env` looks a variable up (the process environment in
    /// the binary, a map in tests).
    pub fn detect(env: impl Fn(&str) -> Option<String>) -> ColorDepth {
        if env("NO_COLOR").is_some_and(|v| !v.is_empty()) {
            return ColorDepth::Mono;
        }
        let colorterm = env("COLORTERM").unwrap_or_default().to_ascii_lowercase();
        if colorterm == "truecolor" || colorterm == "24bit" {
            return ColorDepth::TrueColor;
        }
        let term = env("TERM").unwrap_or_default().to_ascii_lowercase();
        if term.is_empty() || term == "dumb" {
            return ColorDepth::Mono;
        }
        if term.ends_with("-direct") {
            ColorDepth::TrueColor
        } else if term.contains("256color") {
            ColorDepth::Ansi256
        } else {
            ColorDepth::Ansi16
        }
    }

    /// The number of colours.
    pub fn colors(self) -> u32 {
        match self {
            ColorDepth::Mono => 0,
            ColorDepth::Ansi16 => 16,
            ColorDepth::Ansi256 => 256,
            ColorDepth::TrueColor => 16_777_216,
        }
    }
}

/// A theme problem, naming the theme (and file) and the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("theme `{theme}`{}: {problem}", origin.as_ref().map(|p| format!(" ({})", p.display())).unwrap_or_default())]
pub struct ThemeError {
    /// Theme name.
    pub theme: String,
    /// Its file, for user themes.
    pub origin: Option<PathBuf>,
    /// What is wrong, naming the key.
    pub problem: String,
}

/// Symbols drawn beside colour so that state never depends on colour alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Symbols {
    /// Before the selected line.
    pub selected: String,
    /// Before a marked line.
    pub marked: String,
    /// Beside a breached SLA.
    pub breached: String,
    /// Beside a blocking Okta status (LOCKED_OUT, SUSPENDED).
    pub blocked: String,
}

/// A resolved theme, fitted to the terminal's colours.
#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    /// Name.
    pub name: String,
    /// `dark`, `light` or `any`.
    pub variant: String,
    /// Colours the theme asked for.
    pub min_colors: u32,
    /// What the terminal has.
    pub depth: ColorDepth,
    /// Colours were approximated because the terminal has fewer than the theme needs.
    pub approximated: bool,
    styles: Vec<Style>,
    /// Non-colour cues.
    pub symbols: Symbols,
}

impl Theme {
    /// The style of a role.
    pub fn style(&self, role: Role) -> Style {
        self.styles[role as usize]
    }
}

/// The embedded themes: name and TOML text.
pub const BUILT_IN: &[(&str, &str)] = &[
    ("default", include_str!("../../themes/default.toml")),
    ("light", include_str!("../../themes/light.toml")),
    ("high-contrast", include_str!("../../themes/high-contrast.toml")),
    ("mono", include_str!("../../themes/mono.toml")),
];

#[derive(Debug, Clone)]
struct Source {
    text: String,
    origin: Option<PathBuf>,
}

/// Every theme available: the built-in ones, then `*.toml` of the user's themes folder (a user
/// file of the same name replaces a built-in one).
#[derive(Debug, Clone)]
pub struct ThemeSet {
    sources: BTreeMap<String, Source>,
}

impl Default for ThemeSet {
    fn default() -> Self {
        ThemeSet::built_in()
    }
}

impl ThemeSet {
    /// Only the embedded themes.
    pub fn built_in() -> ThemeSet {
        let sources =
            BUILT_IN.iter().map(|(n, t)| ((*n).to_string(), Source { text: (*t).to_string(), origin: None })).collect();
        ThemeSet { sources }
    }

    /// The embedded themes plus the `*.toml` files of `dir` (missing folder: none).
    pub fn load(dir: Option<&Path>) -> Result<ThemeSet, ThemeError> {
        let mut set = ThemeSet::built_in();
        let Some(dir) = dir else { return Ok(set) };
        let entries = match std::fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(set),
            Err(e) => {
                return Err(ThemeError {
                    theme: "*".into(),
                    origin: Some(dir.to_path_buf()),
                    problem: format!("cannot read the themes folder: {e}"),
                });
            }
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().and_then(|e| e.to_str()) != Some("toml") {
                continue;
            }
            let Some(name) = path.file_stem().and_then(|s| s.to_str()).map(str::to_string) else { continue };
            let text = std::fs::read_to_string(&path).map_err(|e| ThemeError {
                theme: name.clone(),
                origin: Some(path.clone()),
                problem: format!("cannot read: {e}"),
            })?;
            set.sources.insert(name, Source { text, origin: Some(path) });
        }
        Ok(set)
    }

    /// Adds or replaces a theme from TOML text (tests, previews).
    pub fn insert(&mut self, name: &str, text: &str) {
        self.sources.insert(name.to_string(), Source { text: text.to_string(), origin: None });
    }

    /// Names of every theme.
    pub fn names(&self) -> Vec<String> {
        self.sources.keys().cloned().collect()
    }

    /// Resolves a theme (following `inherits`) and fits it to `depth`.
    pub fn resolve(&self, name: &str, depth: ColorDepth) -> Result<Theme, ThemeError> {
        let mut chain: Vec<(String, RawTheme)> = Vec::new();
        let mut next = Some(name.to_string());
        while let Some(n) = next {
            if chain.iter().any(|(seen, _)| *seen == n) {
                let path: Vec<&str> = chain.iter().map(|(s, _)| s.as_str()).chain([n.as_str()]).collect();
                return Err(ThemeError {
                    theme: name.to_string(),
                    origin: self.sources.get(name).and_then(|s| s.origin.clone()),
                    problem: format!("`meta.inherits` goes round in a circle: {}", path.join(" → ")),
                });
            }
            let Some(src) = self.sources.get(&n) else {
                let problem = if chain.is_empty() {
                    format!("no such theme; available: {}", self.names().join(", "))
                } else {
                    format!("`meta.inherits` names `{n}`, which does not exist; available: {}", self.names().join(", "))
                };
                let origin = chain.last().and_then(|(c, _)| self.sources.get(c)).and_then(|s| s.origin.clone());
                return Err(ThemeError { theme: chain.last().map_or(n.clone(), |(c, _)| c.clone()), origin, problem });
            };
            let raw = RawTheme::parse(&src.text).map_err(|problem| ThemeError {
                theme: n.clone(),
                origin: src.origin.clone(),
                problem,
            })?;
            if let Some(declared) = raw.name.as_deref().filter(|d| *d != n) {
                return Err(ThemeError {
                    theme: n.clone(),
                    origin: src.origin.clone(),
                    problem: format!("`meta.name` is `{declared}` but the theme is named `{n}` (its file name)"),
                });
            }
            next = raw.inherits.clone();
            chain.push((n, raw));
        }
        // Merge from the root ancestor down: the child wins.
        let mut palette: HashMap<String, String> = HashMap::new();
        let mut roles: HashMap<Role, RawStyle> = HashMap::new();
        let mut symbols: HashMap<String, String> = HashMap::new();
        let (mut variant, mut min_colors) = ("any".to_string(), 16);
        for (_, raw) in chain.iter().rev() {
            palette.extend(raw.palette.clone());
            roles.extend(raw.roles.clone());
            symbols.extend(raw.symbols.clone());
            if let Some(v) = &raw.variant {
                variant = v.clone();
            }
            if let Some(m) = raw.min_colors {
                min_colors = m;
            }
        }
        let err = |problem: String| ThemeError {
            theme: name.to_string(),
            origin: self.sources.get(name).and_then(|s| s.origin.clone()),
            problem,
        };
        let approximated = min_colors > depth.colors() && depth != ColorDepth::Mono;
        let mut styles = Vec::with_capacity(Role::ALL.len());
        for role in Role::ALL {
            let raw = roles
                .get(role)
                .ok_or_else(|| err(format!("role `{}` is not defined (nor by any theme it inherits)", role.key())))?;
            let color = |c: &Option<String>, which: &str| -> Result<Option<Color>, ThemeError> {
                c.as_deref()
                    .map(|c| {
                        resolve_color(c, &palette)
                            .map(|c| fit(c, depth))
                            .map_err(|p| err(format!("`{}.{which}`: {p}", role.key())))
                    })
                    .transpose()
            };
            let mut style = Style::default().add_modifier(raw.modifiers);
            if let Some(fg) = color(&raw.fg, "fg")? {
                style = style.fg(fg);
            }
            if let Some(bg) = color(&raw.bg, "bg")? {
                style = style.bg(bg);
            }
            if depth == ColorDepth::Mono {
                style.fg = None;
                style.bg = None;
            }
            styles.push(style);
        }
        let sym = |k: &str, d: &str| symbols.get(k).cloned().unwrap_or_else(|| d.to_string());
        Ok(Theme {
            name: name.to_string(),
            variant,
            min_colors,
            depth,
            approximated,
            styles,
            symbols: Symbols {
                selected: sym("selected", ">"),
                marked: sym("marked", "*"),
                breached: sym("breached", "!"),
                blocked: sym("blocked", "!!"),
            },
        })
    }
}

/// Which theme to start with: `NO_COLOR` (mono depth) forces `mono`; otherwise the requested one,
/// else `default`.
pub fn startup_theme(requested: Option<&str>, depth: ColorDepth) -> String {
    if depth == ColorDepth::Mono {
        return "mono".to_string();
    }
    requested.filter(|s| !s.is_empty()).unwrap_or("default").to_string()
}

#[derive(Debug, Clone, Default)]
struct RawStyle {
    fg: Option<String>,
    bg: Option<String>,
    modifiers: Modifier,
}

#[derive(Debug, Clone, Default)]
struct RawTheme {
    name: Option<String>,
    inherits: Option<String>,
    variant: Option<String>,
    min_colors: Option<u32>,
    palette: HashMap<String, String>,
    roles: HashMap<Role, RawStyle>,
    symbols: HashMap<String, String>,
}

impl RawTheme {
    fn parse(text: &str) -> Result<RawTheme, String> {
        let table: toml::Table = text.parse().map_err(|e: toml::de::Error| format!("not valid TOML: {e}"))?;
        let mut raw = RawTheme::default();
        for (key, value) in &table {
            match key.as_str() {
                "meta" => {
                    let meta = value.as_table().ok_or("`meta` must be a table")?;
                    for (k, v) in meta {
                        match k.as_str() {
                            "name" => raw.name = v.as_str().map(str::to_string),
                            "inherits" => {
                                let s = v.as_str().ok_or("`meta.inherits` must be a theme name")?;
                                raw.inherits = (!s.is_empty()).then(|| s.to_string());
                            }
                            "variant" => {
                                let s = v.as_str().filter(|s| ["dark", "light", "any"].contains(s));
                                raw.variant = Some(s.ok_or("`meta.variant` must be dark, light or any")?.to_string());
                            }
                            "min_colors" => {
                                let n = v.as_integer().filter(|n| [0, 16, 256, 16_777_216].contains(n));
                                raw.min_colors =
                                    Some(n.ok_or("`meta.min_colors` must be 0, 16, 256 or 16777216")? as u32);
                            }
                            other => return Err(format!("unknown key `meta.{other}`")),
                        }
                    }
                }
                "palette" => {
                    let p = value.as_table().ok_or("`palette` must be a table of name = colour")?;
                    for (k, v) in p {
                        let c = v.as_str().ok_or_else(|| format!("`palette.{k}` must be a colour string"))?;
                        raw.palette.insert(k.clone(), c.to_string());
                    }
                }
                "symbols" => {
                    let s = value.as_table().ok_or("`symbols` must be a table")?;
                    for (k, v) in s {
                        if !["selected", "marked", "breached", "blocked"].contains(&k.as_str()) {
                            return Err(format!(
                                "unknown key `symbols.{k}`; expected selected, marked, breached, blocked"
                            ));
                        }
                        let sym = v.as_str().ok_or_else(|| format!("`symbols.{k}` must be a string"))?;
                        if sym.chars().any(char::is_control) || sym.chars().count() > 2 {
                            return Err(format!("`symbols.{k}` must be one or two visible characters"));
                        }
                        raw.symbols.insert(k.clone(), sym.to_string());
                    }
                }
                _ => collect_roles(key, value, &mut raw.roles)?,
            }
        }
        Ok(raw)
    }
}

fn collect_roles(path: &str, value: &toml::Value, out: &mut HashMap<Role, RawStyle>) -> Result<(), String> {
    if let Some(role) = Role::parse(path) {
        out.insert(role, parse_style(path, value)?);
        return Ok(());
    }
    match value.as_table() {
        Some(t) => {
            for (k, v) in t {
                collect_roles(&format!("{path}.{k}"), v, out)?;
            }
            Ok(())
        }
        None => Err(format!("unknown role `{path}`")),
    }
}

fn parse_style(path: &str, value: &toml::Value) -> Result<RawStyle, String> {
    match value {
        toml::Value::String(s) => Ok(RawStyle { fg: Some(s.clone()), ..RawStyle::default() }),
        toml::Value::Table(t) => {
            let mut style = RawStyle::default();
            for (k, v) in t {
                match k.as_str() {
                    "fg" | "bg" => {
                        let c = v.as_str().ok_or_else(|| format!("`{path}.{k}` must be a colour string"))?;
                        if k == "fg" {
                            style.fg = Some(c.to_string());
                        } else {
                            style.bg = Some(c.to_string());
                        }
                    }
                    "modifiers" => {
                        let list = v.as_array().ok_or_else(|| format!("`{path}.modifiers` must be a list"))?;
                        for m in list {
                            let name = m.as_str().unwrap_or_default();
                            style.modifiers |= parse_modifier(name).ok_or_else(|| {
                                format!(
                                    "`{path}.modifiers`: `{name}` is not a modifier; expected bold, dim, italic, underlined, reversed, crossed_out"
                                )
                            })?;
                        }
                    }
                    other => return Err(format!("unknown key `{path}.{other}`; expected fg, bg, modifiers")),
                }
            }
            Ok(style)
        }
        _ => Err(format!("`{path}` must be a colour or {{ fg, bg, modifiers }}")),
    }
}

fn parse_modifier(name: &str) -> Option<Modifier> {
    Some(match name {
        "bold" => Modifier::BOLD,
        "dim" => Modifier::DIM,
        "italic" => Modifier::ITALIC,
        "underlined" => Modifier::UNDERLINED,
        "reversed" => Modifier::REVERSED,
        "crossed_out" => Modifier::CROSSED_OUT,
        "slow_blink" => Modifier::SLOW_BLINK,
        _ => return None,
    })
}

fn resolve_color(name: &str, palette: &HashMap<String, String>) -> Result<Color, String> {
    let mut seen = 0;
    let mut name = name;
    while let Some(next) = palette.get(name) {
        seen += 1;
        if seen > 8 {
            return Err(format!("palette entry `{name}` refers round in a circle"));
        }
        name = next;
    }
    parse_color(name).ok_or_else(|| {
        format!("`{name}` is not a colour (expected reset, an ANSI name, #rrggbb, 0-255 or a palette name)")
    })
}

fn parse_color(s: &str) -> Option<Color> {
    let lower = s.to_ascii_lowercase().replace('_', "-");
    Some(match lower.as_str() {
        "reset" | "default" => Color::Reset,
        "black" => Color::Black,
        "red" => Color::Red,
        "green" => Color::Green,
        "yellow" => Color::Yellow,
        "blue" => Color::Blue,
        "magenta" => Color::Magenta,
        "cyan" => Color::Cyan,
        "white" | "gray" | "grey" => Color::Gray,
        "bright-black" | "dark-gray" | "dark-grey" => Color::DarkGray,
        "bright-red" => Color::LightRed,
        "bright-green" => Color::LightGreen,
        "bright-yellow" => Color::LightYellow,
        "bright-blue" => Color::LightBlue,
        "bright-magenta" => Color::LightMagenta,
        "bright-cyan" => Color::LightCyan,
        "bright-white" => Color::White,
        hex if hex.starts_with('#') && hex.len() == 7 => {
            let v = u32::from_str_radix(&hex[1..], 16).ok()?;
            Color::Rgb((v >> 16) as u8, (v >> 8) as u8, v as u8)
        }
        n => Color::Indexed(n.parse::<u8>().ok()?),
    })
}

/// The 16 ANSI colours with typical RGB values, for approximation.
const ANSI16: [(Color, (u8, u8, u8)); 16] = [
    (Color::Black, (0, 0, 0)),
    (Color::Red, (205, 0, 0)),
    (Color::Green, (0, 205, 0)),
    (Color::Yellow, (205, 205, 0)),
    (Color::Blue, (0, 0, 238)),
    (Color::Magenta, (205, 0, 205)),
    (Color::Cyan, (0, 205, 205)),
    (Color::Gray, (229, 229, 229)),
    (Color::DarkGray, (127, 127, 127)),
    (Color::LightRed, (255, 0, 0)),
    (Color::LightGreen, (0, 255, 0)),
    (Color::LightYellow, (255, 255, 0)),
    (Color::LightBlue, (92, 92, 255)),
    (Color::LightMagenta, (255, 0, 255)),
    (Color::LightCyan, (0, 255, 255)),
    (Color::White, (255, 255, 255)),
];

fn indexed_rgb(i: u8) -> (u8, u8, u8) {
    match i {
        0..=15 => ANSI16[i as usize].1,
        16..=231 => {
            let i = i - 16;
            let level = |v: u8| if v == 0 { 0 } else { 55 + v * 40 };
            (level(i / 36), level((i / 6) % 6), level(i % 6))
        }
        _ => {
            let g = 8 + (i - 232) * 10;
            (g, g, g)
        }
    }
}

fn distance(a: (u8, u8, u8), b: (u8, u8, u8)) -> u32 {
    let d = |x: u8, y: u8| (i32::from(x) - i32::from(y)).unsigned_abs();
    // Weighted for perceived brightness (green counts most).
    3 * d(a.0, b.0).pow(2) + 4 * d(a.1, b.1).pow(2) + 2 * d(a.2, b.2).pow(2)
}

/// A colour the terminal can show: approximated down the floor when it has too few colours.
pub fn fit(color: Color, depth: ColorDepth) -> Color {
    match (color, depth) {
        (_, ColorDepth::Mono) => Color::Reset,
        (Color::Rgb(r, g, b), ColorDepth::Ansi256) => {
            let target = (r, g, b);
            let best = (16..=255u8).min_by_key(|i| distance(indexed_rgb(*i), target)).unwrap_or(16);
            Color::Indexed(best)
        }
        (Color::Rgb(r, g, b), ColorDepth::Ansi16) => nearest16((r, g, b)),
        (Color::Indexed(i), ColorDepth::Ansi16) if i >= 16 => nearest16(indexed_rgb(i)),
        (Color::Indexed(i), ColorDepth::Ansi16) => ANSI16[i as usize].0,
        (c, _) => c,
    }
}

fn nearest16(rgb: (u8, u8, u8)) -> Color {
    ANSI16.iter().min_by_key(|(_, v)| distance(*v, rgb)).map_or(Color::Reset, |(c, _)| *c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| (*v).to_string())
    }

    #[test]
    fn every_built_in_theme_resolves_at_every_depth() {
        let set = ThemeSet::built_in();
        for (name, _) in BUILT_IN {
            for depth in [ColorDepth::Mono, ColorDepth::Ansi16, ColorDepth::Ansi256, ColorDepth::TrueColor] {
                let theme = set.resolve(name, depth).unwrap_or_else(|e| panic!("{e}"));
                assert_eq!(theme.styles.len(), Role::ALL.len());
                if depth == ColorDepth::Ansi16 {
                    // Nothing above the 16 colours reaches a 16-colour terminal.
                    for role in Role::ALL {
                        let s = theme.style(*role);
                        for c in [s.fg, s.bg].into_iter().flatten() {
                            assert!(!matches!(c, Color::Rgb(..) | Color::Indexed(16..)), "{name} {role:?} {c:?}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn every_built_in_theme_marks_meaning_without_colour() {
        let set = ThemeSet::built_in();
        for (name, _) in BUILT_IN {
            let theme = set.resolve(name, ColorDepth::TrueColor).unwrap();
            for role in MUST_NOT_DEPEND_ON_COLOR {
                assert!(
                    !theme.style(*role).add_modifier.is_empty(),
                    "theme {name}: role {} relies on colour alone",
                    role.key()
                );
            }
        }
    }

    #[test]
    fn mono_has_no_colour_at_all() {
        let theme = ThemeSet::built_in().resolve("mono", ColorDepth::TrueColor).unwrap();
        assert_eq!(theme.min_colors, 0);
        for role in Role::ALL {
            let s = theme.style(*role);
            assert!(matches!(s.fg, None | Some(Color::Reset)) && matches!(s.bg, None | Some(Color::Reset)), "{role:?}");
        }
        assert!(theme.style(Role::Selection).add_modifier.contains(Modifier::REVERSED));
    }

    #[test]
    fn no_color_selects_mono_and_strips_colour() {
        let depth = ColorDepth::detect(env(&[("NO_COLOR", "1"), ("COLORTERM", "truecolor")]));
        assert_eq!(depth, ColorDepth::Mono);
        assert_eq!(startup_theme(Some("light"), depth), "mono");
        let default = ThemeSet::built_in().resolve("default", depth).unwrap();
        assert!(Role::ALL.iter().all(|r| default.style(*r).fg.is_none() && default.style(*r).bg.is_none()));
    }

    #[test]
    fn depth_detection_follows_colorterm_and_term() {
        assert_eq!(ColorDepth::detect(env(&[("NO_COLOR", ""), ("TERM", "xterm")])), ColorDepth::Ansi16);
        assert_eq!(ColorDepth::detect(env(&[("TERM", "xterm-256color")])), ColorDepth::Ansi256);
        assert_eq!(ColorDepth::detect(env(&[("TERM", "xterm"), ("COLORTERM", "24bit")])), ColorDepth::TrueColor);
        assert_eq!(ColorDepth::detect(env(&[("TERM", "dumb")])), ColorDepth::Mono);
        assert_eq!(ColorDepth::detect(env(&[("TERM", "screen-256color")])), ColorDepth::Ansi256);
    }

    #[test]
    fn colours_fall_down_the_floor() {
        assert_eq!(fit(Color::Rgb(0, 0, 0), ColorDepth::Ansi256), Color::Indexed(16));
        assert_eq!(fit(Color::Rgb(250, 0, 0), ColorDepth::Ansi16), Color::LightRed);
        assert_eq!(fit(Color::Rgb(0, 95, 135), ColorDepth::Ansi256), Color::Indexed(24));
        assert_eq!(fit(Color::Indexed(196), ColorDepth::Ansi16), Color::LightRed);
        assert_eq!(fit(Color::Red, ColorDepth::Ansi16), Color::Red);
        assert_eq!(fit(Color::Rgb(1, 2, 3), ColorDepth::TrueColor), Color::Rgb(1, 2, 3));
        let light = ThemeSet::built_in().resolve("light", ColorDepth::Ansi16).unwrap();
        assert!(light.approximated, "light needs 256 colours");
    }

    #[test]
    fn inheritance_merges_and_user_themes_override() {
        let mut set = ThemeSet::built_in();
        set.insert("mine", "[meta]\ninherits = \"default\"\n[palette]\nhot = \"#ff0000\"\n[ui]\nerror = { fg = \"hot\", modifiers = [\"bold\"] }\n");
        let mine = set.resolve("mine", ColorDepth::TrueColor).unwrap();
        let default = set.resolve("default", ColorDepth::TrueColor).unwrap();
        assert_eq!(mine.style(Role::Error).fg, Some(Color::Rgb(255, 0, 0)));
        assert_eq!(mine.style(Role::Selection), default.style(Role::Selection));
    }

    #[test]
    fn broken_themes_say_what_and_where() {
        let mut set = ThemeSet::built_in();
        set.insert("loop-a", "[meta]\ninherits = \"loop-b\"");
        set.insert("loop-b", "[meta]\ninherits = \"loop-a\"");
        let e = set.resolve("loop-a", ColorDepth::Ansi16).unwrap_err();
        assert!(e.problem.contains("circle"), "{e}");

        set.insert("typo", "[meta]\ninherits = \"default\"\n[ui]\nselecton = \"red\"");
        let e = set.resolve("typo", ColorDepth::Ansi16).unwrap_err();
        assert!(e.problem.contains("ui.selecton"), "{e}");

        set.insert("badcolour", "[meta]\ninherits = \"default\"\n[ui]\ntext = \"chartreuse\"");
        let e = set.resolve("badcolour", ColorDepth::Ansi16).unwrap_err();
        assert!(e.problem.contains("ui.text") && e.problem.contains("chartreuse"), "{e}");

        set.insert("orphan", "[ui]\ntext = \"red\"");
        let e = set.resolve("orphan", ColorDepth::Ansi16).unwrap_err();
        assert!(e.problem.contains("is not defined"), "{e}");

        let e = set.resolve("nope", ColorDepth::Ansi16).unwrap_err();
        assert!(e.problem.contains("available") && e.problem.contains("high-contrast"), "{e}");
    }

    #[test]
    fn user_folder_themes_load_and_replace_built_ins() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("ocean.toml"), "[meta]\ninherits = \"default\"\n[ui]\ntext = \"blue\"").unwrap();
        std::fs::write(dir.path().join("notes.txt"), "ignored").unwrap();
        let set = ThemeSet::load(Some(dir.path())).unwrap();
        assert!(set.names().contains(&"ocean".to_string()));
        assert_eq!(set.resolve("ocean", ColorDepth::Ansi16).unwrap().style(Role::Text).fg, Some(Color::Blue));
        std::fs::write(dir.path().join("bad.toml"), "[ui\n").unwrap();
        let set = ThemeSet::load(Some(dir.path())).unwrap();
        let e = set.resolve("bad", ColorDepth::Ansi16).unwrap_err();
        assert!(e.to_string().contains("bad.toml"), "{e}");
    }
}
