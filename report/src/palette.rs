//! Colours, dash patterns and markers, so that one method looks the same on every figure of a
//! page and stays recognisable for colour-blind readers and in greyscale print.
//!
//! The colours are the Okabe–Ito set (Okabe and Ito, "Color Universal Design", 2008), chosen to
//! stay distinct under the common colour-vision deficiencies; yellow is left out because it
//! vanishes on white. Colour alone does not survive a greyscale printer, though (orange and sky
//! blue print as almost the same grey), so every style slot also has its own dash pattern and
//! marker shape.

use std::fmt;

/// An sRGB colour, printed as `#rrggbb`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Colour(pub u8, pub u8, pub u8);

impl Colour {
    pub const BLACK: Colour = Colour(0x00, 0x00, 0x00);
    pub const ORANGE: Colour = Colour(0xE6, 0x9F, 0x00);
    pub const SKY_BLUE: Colour = Colour(0x56, 0xB4, 0xE9);
    pub const BLUISH_GREEN: Colour = Colour(0x00, 0x9E, 0x73);
    pub const BLUE: Colour = Colour(0x00, 0x72, 0xB2);
    pub const VERMILLION: Colour = Colour(0xD5, 0x5E, 0x00);
    pub const REDDISH_PURPLE: Colour = Colour(0xCC, 0x79, 0xA7);
    pub const GREY: Colour = Colour(0x80, 0x80, 0x80);

    /// Linear interpolation in sRGB, `t` in [0, 1].
    pub fn mix(self, other: Colour, t: f64) -> Colour {
        let t = if t.is_finite() { t.clamp(0.0, 1.0) } else { 0.0 };
        let m = |a: u8, b: u8| (a as f64 + (b as f64 - a as f64) * t).round() as u8;
        Colour(m(self.0, other.0), m(self.1, other.1), m(self.2, other.2))
    }
}

impl fmt::Display for Colour {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{:02X}{:02X}{:02X}", self.0, self.1, self.2)
    }
}

/// How a line is stroked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dash {
    Solid,
    Dashed,
    Dotted,
    DashDot,
    LongDash,
    DashDotDot,
}

impl Dash {
    /// The SVG `stroke-dasharray`, or None for a solid line.
    pub fn dasharray(self) -> Option<&'static str> {
        match self {
            Dash::Solid => None,
            Dash::Dashed => Some("6 4"),
            Dash::Dotted => Some("2.5 2"),
            Dash::DashDot => Some("7 3 1.5 3"),
            Dash::LongDash => Some("12 4"),
            Dash::DashDotDot => Some("7 3 1.5 3 1.5 3"),
        }
    }
}

/// The shape drawn at points and error-bar centres.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Marker {
    Circle,
    Square,
    Triangle,
    Diamond,
    TriangleDown,
    Cross,
    Plus,
}

impl Marker {
    /// SVG path data for the marker centred on (x, y), about `r` pixels in radius; filled shapes
    /// close with Z, the cross and plus are strokes.
    pub(crate) fn path(self, x: f64, y: f64, r: f64) -> String {
        use crate::xml::P;
        let (l, t, rr, b) = (P(x - r), P(y - r), P(x + r), P(y + r));
        let (cx, cy) = (P(x), P(y));
        match self {
            Marker::Circle => {
                format!("M{} {cy}a{r} {r} 0 1 0 {d} 0a{r} {r} 0 1 0 -{d} 0Z", P(x - r), r = P(r), d = P(2.0 * r))
            }
            Marker::Square => {
                let s = r * 0.9;
                format!("M{} {}h{d}v{d}h-{d}Z", P(x - s), P(y - s), d = P(2.0 * s))
            }
            Marker::Triangle => {
                format!("M{cx} {}L{} {}L{} {}Z", P(y - 1.15 * r), rr, P(y + 0.8 * r), l, P(y + 0.8 * r))
            }
            Marker::TriangleDown => {
                format!("M{cx} {}L{} {}L{} {}Z", P(y + 1.15 * r), rr, P(y - 0.8 * r), l, P(y - 0.8 * r))
            }
            Marker::Diamond => {
                format!("M{cx} {}L{} {cy}L{cx} {}L{} {cy}Z", P(y - 1.2 * r), P(x + r), P(y + 1.2 * r), P(x - r))
            }
            Marker::Cross => format!("M{l} {t}L{rr} {b}M{l} {b}L{rr} {t}"),
            Marker::Plus => {
                format!("M{} {cy}H{}M{cx} {}V{}", P(x - 1.2 * r), P(x + 1.2 * r), P(y - 1.2 * r), P(y + 1.2 * r))
            }
        }
    }
    /// Whether the shape is drawn as a stroke rather than filled.
    pub(crate) fn is_stroke(self) -> bool {
        matches!(self, Marker::Cross | Marker::Plus)
    }
}

/// What one series looks like: a colour, a dash pattern for its lines and a marker for its points.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Style {
    pub colour: Colour,
    pub dash: Dash,
    pub marker: Marker,
}

/// The style cycle: each slot differs from every other in colour and in dash pattern, and from
/// most in marker shape, so that any two series stay apart in colour, in greyscale and for
/// colour-blind readers.
const SLOTS: [Style; 8] = [
    Style { colour: Colour::BLUE, dash: Dash::Solid, marker: Marker::Circle },
    Style { colour: Colour::VERMILLION, dash: Dash::Dashed, marker: Marker::Square },
    Style { colour: Colour::BLUISH_GREEN, dash: Dash::DashDot, marker: Marker::Triangle },
    Style { colour: Colour::REDDISH_PURPLE, dash: Dash::LongDash, marker: Marker::Diamond },
    Style { colour: Colour::ORANGE, dash: Dash::Dotted, marker: Marker::TriangleDown },
    Style { colour: Colour::SKY_BLUE, dash: Dash::DashDotDot, marker: Marker::Cross },
    Style { colour: Colour::BLACK, dash: Dash::Solid, marker: Marker::Plus },
    Style { colour: Colour::GREY, dash: Dash::Dotted, marker: Marker::Square },
];

impl Style {
    /// The `i`-th style of the cycle (wrapping after eight).
    pub fn nth(i: usize) -> Style {
        SLOTS[i % SLOTS.len()]
    }

    /// The number of distinct styles in the cycle.
    pub const CYCLE: usize = SLOTS.len();

    /// The style of a name that no [`Palette`] registers: a slot from a hash of the trimmed,
    /// lower-cased name, so it is the same on every figure and in every run, but two names may
    /// share it. Register the names in a [`Palette`] to rule that out.
    pub fn for_method(name: &str) -> Style {
        let key = palette_key(name);
        SLOTS[(stats::fnv1a(key.as_bytes()) % SLOTS.len() as u64) as usize]
    }

    /// Black, dashed: for the diagonal, the ideal value and other lines that are not a method.
    pub fn reference() -> Style {
        Style { colour: Colour(0x44, 0x44, 0x44), dash: Dash::Dashed, marker: Marker::Plus }
    }

    pub fn with_colour(self, colour: Colour) -> Style {
        Style { colour, ..self }
    }
    pub fn with_dash(self, dash: Dash) -> Style {
        Style { dash, ..self }
    }
    pub fn with_marker(self, marker: Marker) -> Style {
        Style { marker, ..self }
    }
}

/// Names are compared trimmed and case-insensitively: "BNN" and " bnn " are one method.
fn palette_key(name: &str) -> String {
    name.trim().to_lowercase()
}

/// The look of each method of one app: the app registers its own method names once, each with a
/// slot of the cycle (or a style of its own), so "BNN" looks the same on every figure of its
/// pages. The palette itself knows no method; a name nobody registered falls back to
/// [`Style::for_method`], a slot from a hash of the name.
///
/// ```
/// use report::{Palette, Style};
///
/// let pal = Palette::new().slot("BNN", 0).slot("LCW-like", 1).slot("LCW", 1).next_free("Truth");
/// assert_eq!(pal.style("bnn"), Style::nth(0));
/// assert_eq!(pal.style("LCW"), pal.style("LCW-like"), "aliases share a slot");
/// assert_eq!(pal.style("Truth"), Style::nth(2), "the first slot no name holds");
/// assert_eq!(pal.style("other"), Style::for_method("other"));
/// ```
#[derive(Clone, Debug, Default)]
pub struct Palette {
    /// Registered names (see [`palette_key`]) and their styles, in the order of registration.
    entries: Vec<(String, Style)>,
}

impl Palette {
    /// A palette with no names: every style comes from [`Style::for_method`] until names are
    /// registered.
    pub fn new() -> Palette {
        Palette::default()
    }

    /// Registers `names` in order, each in the first slot no earlier name holds, so that the
    /// first [`Style::CYCLE`] names never share a style.
    pub fn in_order<I, S>(names: I) -> Palette
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        names.into_iter().fold(Palette::new(), |p, n| p.next_free(n.as_ref()))
    }

    /// Draws `name` in slot `slot` of the cycle ([`Style::nth`]). Several names may share one
    /// slot: aliases of one method ("LCW", "LCW-like").
    pub fn slot(self, name: &str, slot: usize) -> Palette {
        self.styled(name, Style::nth(slot))
    }

    /// Draws `name` in the first slot of the cycle no registered name holds (after all
    /// [`Style::CYCLE`] are taken, the slots repeat in order). A name already registered keeps
    /// its style.
    pub fn next_free(self, name: &str) -> Palette {
        if self.registered(name).is_some() {
            return self;
        }
        let taken = |slot: &usize| self.entries.iter().any(|(_, s)| *s == Style::nth(*slot));
        let slot = (0..Style::CYCLE).find(|s| !taken(s)).unwrap_or(self.entries.len() % Style::CYCLE);
        self.slot(name, slot)
    }

    /// Draws `name` with `style`, for a look outside the cycle; registering a name again
    /// replaces its style.
    pub fn styled(mut self, name: &str, style: Style) -> Palette {
        let key = palette_key(name);
        match self.entries.iter_mut().find(|(n, _)| *n == key) {
            Some(entry) => entry.1 = style,
            None => self.entries.push((key, style)),
        }
        self
    }

    /// The style of a method; a name that was not registered falls back to [`Style::for_method`].
    pub fn style(&self, method: &str) -> Style {
        self.registered(method).unwrap_or_else(|| Style::for_method(method))
    }

    fn registered(&self, method: &str) -> Option<Style> {
        let key = palette_key(method);
        self.entries.iter().find(|(n, _)| *n == key).map(|&(_, s)| s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_differ_in_colour_and_dash_from_their_neighbours() {
        for (i, a) in SLOTS.iter().enumerate() {
            for (j, b) in SLOTS[..i].iter().enumerate() {
                assert_ne!(a.colour, b.colour, "slots {i} and {j}");
                let greyscale_twins = a.dash == b.dash && a.marker == b.marker;
                assert!(!greyscale_twins, "slots {i} and {j} look alike in greyscale");
            }
        }
    }

    #[test]
    fn unregistered_names_hash_to_a_stable_slot() {
        assert_eq!(Style::for_method("BNN"), Style::for_method(" bnn "));
        assert_eq!(Style::for_method("something else"), Style::for_method("something else"));
        let slots: std::collections::BTreeSet<usize> = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"]
            .iter()
            .map(|n| SLOTS.iter().position(|s| *s == Style::for_method(n)).expect("a slot of the cycle"))
            .collect();
        assert!(slots.len() > 2, "the hash spreads names over the cycle: {slots:?}");
    }

    #[test]
    fn a_palette_gives_registered_names_their_slots_and_new_names_free_ones() {
        let p = Palette::new().slot("BNN", 0).slot("LCW", 1).slot("LCW-like", 1).next_free("alpha").next_free("beta");
        assert_eq!(p.style(" bnn "), SLOTS[0]);
        assert_eq!(p.style("LCW"), p.style("LCW-like"), "aliases share their slot");
        assert_eq!(p.style("alpha"), SLOTS[2]);
        assert_eq!(p.style("beta"), SLOTS[3]);
        assert_eq!(p.clone().next_free("BNN").style("BNN"), SLOTS[0], "a registered name keeps its slot");
        assert_eq!(p.style("unregistered"), Style::for_method("unregistered"));
        let custom = Style::reference().with_colour(Colour::GREY);
        assert_eq!(p.styled("BNN", custom).style("BNN"), custom, "registering again replaces");
    }

    #[test]
    fn the_first_names_in_order_never_share_a_style() {
        let names: Vec<String> = (0..Style::CYCLE + 2).map(|i| format!("method {i}")).collect();
        let p = Palette::in_order(&names);
        let styles: Vec<Style> = names.iter().map(|n| p.style(n)).collect();
        for i in 0..Style::CYCLE {
            for j in 0..i {
                assert_ne!(styles[i], styles[j]);
            }
        }
        assert_eq!(styles[Style::CYCLE], styles[0], "after a full cycle the slots repeat");
    }

    #[test]
    fn colours_print_as_hex_and_mix() {
        assert_eq!(Colour::BLUE.to_string(), "#0072B2");
        assert_eq!(Colour::BLACK.mix(Colour(255, 255, 255), 0.5), Colour(128, 128, 128));
        assert_eq!(Colour::BLACK.mix(Colour(255, 255, 255), f64::NAN), Colour::BLACK);
    }
}
