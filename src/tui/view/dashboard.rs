//! What a person would rather see than read: the queue's age and its flow per day.

use ratatui::buffer::Buffer;
use ratatui::layout::{Alignment, Rect};
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{
    Axis, Bar, BarChart, BarGroup, Block, Borders, Chart, Dataset, GraphType, LegendPosition, Paragraph, Sparkline,
    Widget,
};

use crate::tui::effect::Dashboard;
use crate::tui::state::State;
use crate::tui::theme::Role;

fn figures<'a>(s: &State, d: &Dashboard) -> Line<'a> {
    let theme = &s.theme;
    Line::from(vec![
        Span::styled(" Open ", theme.style(Role::Muted)),
        Span::styled(d.open.to_string(), theme.style(Role::Title)),
        Span::styled("   Unassigned ", theme.style(Role::Muted)),
        Span::styled(d.unassigned.to_string(), theme.style(Role::Warn)),
        Span::styled("   SLA breached ", theme.style(Role::Muted)),
        Span::styled(d.breached.to_string(), theme.style(if d.breached > 0 { Role::SlaBreached } else { Role::SlaOk })),
    ])
}

/// The full dashboard: figures, the age histogram and opened/resolved per day.
pub struct DashboardView<'a> {
    /// The state.
    pub state: &'a State,
}

impl Widget for DashboardView<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let s = self.state;
        let theme = &s.theme;
        let Some(d) = &s.dashboard else {
            Paragraph::new(Line::styled("Loading figures…", theme.style(Role::Muted)))
                .alignment(Alignment::Center)
                .render(area, buf);
            return;
        };
        figures(s, d).render(Rect { height: 1, ..area }, buf);
        let rest = Rect { y: area.y + 1, height: area.height.saturating_sub(1), ..area };
        let (left, right) = if rest.width >= 100 {
            let lw = rest.width * 2 / 5;
            (Rect { width: lw, ..rest }, Rect { x: rest.x + lw, width: rest.width - lw, ..rest })
        } else {
            let th = rest.height / 2;
            (Rect { height: th, ..rest }, Rect { y: rest.y + th, height: rest.height - th, ..rest })
        };

        let bars: Vec<Bar> = d
            .age_histogram
            .iter()
            .map(|(label, n)| {
                Bar::default().label(Line::from(label.clone())).value(*n).style(theme.style(Role::ChartBar))
            })
            .collect();
        let slots = d.age_histogram.len().max(1) as u16;
        let inner_w = left.width.saturating_sub(2);
        let bar_w = (inner_w / slots).saturating_sub(1).clamp(1, 9);
        BarChart::default()
            .block(
                Block::default()
                    .borders(Borders::ALL)
                    .border_style(theme.style(Role::Border))
                    .title(" Open tickets by age "),
            )
            .data(BarGroup::default().bars(&bars))
            .bar_width(bar_w)
            .bar_gap(1)
            .value_style(theme.style(Role::Title))
            .label_style(theme.style(Role::Muted))
            .render(left, buf);

        let opened: Vec<(f64, f64)> = d.per_day.iter().enumerate().map(|(i, c)| (i as f64, c.opened as f64)).collect();
        let resolved: Vec<(f64, f64)> =
            d.per_day.iter().enumerate().map(|(i, c)| (i as f64, c.resolved as f64)).collect();
        let max = d.per_day.iter().map(|c| c.opened.max(c.resolved)).max().unwrap_or(1).max(1) as f64;
        let n = d.per_day.len().max(2) as f64;
        let first = d.per_day.first().map(|c| c.day.format("%m-%d").to_string()).unwrap_or_default();
        let last = d.per_day.last().map(|c| c.day.format("%m-%d").to_string()).unwrap_or_default();
        let datasets = vec![
            // Different marks as well as colours, so the two read apart without colour.
            Dataset::default()
                .name("opened (line)")
                .marker(Marker::Braille)
                .graph_type(GraphType::Line)
                .style(theme.style(Role::ChartOpened))
                .data(&opened),
            Dataset::default()
                .name("resolved (dots)")
                .marker(Marker::Dot)
                .graph_type(GraphType::Scatter)
                .style(theme.style(Role::ChartResolved))
                .data(&resolved),
        ];
        Chart::new(datasets)
            .legend_position(Some(LegendPosition::TopLeft))
            .block(
                Block::default()
                    .borders(Borders::ALL)
                    .border_style(theme.style(Role::Border))
                    .title(" Opened and resolved per day "),
            )
            .x_axis(Axis::default().bounds([0.0, n - 1.0]).labels([first, last]).style(theme.style(Role::Muted)))
            .y_axis(
                Axis::default()
                    .bounds([0.0, max])
                    .labels(["0".to_string(), format!("{}", max as u64)])
                    .style(theme.style(Role::Muted)),
            )
            .render(right, buf);
    }
}

/// A compact strip above the queue on tall terminals: figures and two sparklines.
pub struct DashboardStripView<'a> {
    /// The state.
    pub state: &'a State,
    /// The figures.
    pub dashboard: &'a Dashboard,
}

impl Widget for DashboardStripView<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let s = self.state;
        let d = self.dashboard;
        let theme = &s.theme;
        figures(s, d).render(Rect { height: 1, ..area }, buf);
        let rest = Rect { y: area.y + 1, height: area.height.saturating_sub(1), ..area };
        let third = rest.width / 3;
        let parts = [
            Rect { width: third, ..rest },
            Rect { x: rest.x + third, width: third, ..rest },
            Rect { x: rest.x + 2 * third, width: rest.width - 2 * third, ..rest },
        ];
        let opened: Vec<u64> = d.per_day.iter().map(|c| c.opened).collect();
        let resolved: Vec<u64> = d.per_day.iter().map(|c| c.resolved).collect();
        let ages: Vec<u64> = d.age_histogram.iter().map(|(_, n)| *n).collect();
        let block =
            |t: &'static str| Block::default().borders(Borders::TOP).border_style(theme.style(Role::Border)).title(t);
        Sparkline::default()
            .block(block(" opened/day "))
            .data(&opened)
            .style(theme.style(Role::ChartOpened))
            .render(parts[0], buf);
        Sparkline::default()
            .block(block(" resolved/day "))
            .data(&resolved)
            .style(theme.style(Role::ChartResolved))
            .render(parts[1], buf);
        let labels = d.age_histogram.first().map(|(l, _)| l.clone()).unwrap_or_default();
        let last = d.age_histogram.last().map(|(l, _)| l.clone()).unwrap_or_default();
        let title = format!(" age {labels} .. {last} ");
        Sparkline::default()
            .block(Block::default().borders(Borders::TOP).border_style(theme.style(Role::Border)).title(title))
            .data(&ages)
            .style(theme.style(Role::ChartBar))
            .render(parts[2], buf);
    }
}
