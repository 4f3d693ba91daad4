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
        use crate::svg::P;
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

/// The methods of the two studies, with the slot each one always gets: the baselines and the
/// truth keep the same look in every figure without the apps having to agree on an order.
/// Names are compared case-insensitively.
const METHODS: [(&str, usize); 22] = [
    ("bnn", 0),
    ("lcw", 1),
    ("lcw-like", 1),
    ("dnn", 2),
    ("re", 3),
    ("repulsive ensemble", 3),
    ("dnn-lgk", 5),
    ("em", 7),
    ("em scale", 7),
    ("truth", 6),
    ("truth oracle", 6),
    ("geant", 6),
    ("geant4", 6),
    ("data", 6),
    ("gen", 4),
    ("gen.", 4),
    ("generated", 4),
    ("inn", 4),
    ("caloinn", 4),
    ("reweighted", 2),
    ("binn", 0),
    ("ensemble", 3),
];

impl Style {
    /// The `i`-th style of the cycle (wrapping after eight).
    pub fn nth(i: usize) -> Style {
        SLOTS[i % SLOTS.len()]
    }

    /// The number of distinct styles in the cycle.
    pub const CYCLE: usize = SLOTS.len();

    /// The style of a named method: the studies' methods (BNN, RE, LCW-like, DNN, DNN-LGK, EM
    /// scale, Truth, Gen, Reweighted, ...) have fixed styles; any other name gets a slot from a hash
    /// of its name, so it is stable across figures but may coincide with another method. Register
    /// the names in a [`Palette`] to rule that out.
    pub fn for_method(name: &str) -> Style {
        let key = name.trim().to_lowercase();
        if let Some(&(_, slot)) = METHODS.iter().find(|(n, _)| *n == key) {
            return SLOTS[slot];
        }
        let hash = key.bytes().fold(0xcbf29ce484222325u64, |h, b| (h ^ b as u64).wrapping_mul(0x100000001b3));
        SLOTS[(hash % SLOTS.len() as u64) as usize]
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

/// A registry the app fills once with its method names, in order: each name gets its own slot of
/// the cycle, so no two of the first eight methods share a colour, and "BNN" looks the same on
/// every figure that asks the palette.
#[derive(Clone, Debug, Default)]
pub struct Palette {
    names: Vec<String>,
}

impl Palette {
    /// Methods the studies already know keep their fixed style (see [`Style::for_method`]);
    /// the others take the free slots in order.
    pub fn new<I, S>(methods: I) -> Palette
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut names: Vec<String> = Vec::new();
        for m in methods {
            let m = m.as_ref().trim().to_lowercase();
            if !names.contains(&m) {
                names.push(m);
            }
        }
        Palette { names }
    }

    /// The slot of every registered name: fixed ones first (unless an earlier name took the
    /// slot: "DNN" and "Reweighted" share one across the two studies, not within one app), the
    /// rest fill the unused slots.
    fn slots(&self) -> Vec<usize> {
        let mut fixed: Vec<Option<usize>> =
            self.names.iter().map(|n| METHODS.iter().find(|(m, _)| m == n).map(|&(_, s)| s)).collect();
        for i in 0..fixed.len() {
            if fixed[..i].contains(&fixed[i]) {
                fixed[i] = None;
            }
        }
        let mut used: Vec<usize> = fixed.iter().flatten().copied().collect();
        fixed
            .iter()
            .map(|f| {
                f.unwrap_or_else(|| {
                    let free = (0..SLOTS.len()).find(|s| !used.contains(s)).unwrap_or(used.len() % SLOTS.len());
                    used.push(free);
                    free
                })
            })
            .collect()
    }

    /// The style of a method; a name that was not registered falls back to [`Style::for_method`].
    pub fn style(&self, method: &str) -> Style {
        let key = method.trim().to_lowercase();
        match self.names.iter().position(|n| *n == key) {
            Some(i) => SLOTS[self.slots()[i]],
            None => Style::for_method(method),
        }
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
    fn methods_have_fixed_styles() {
        assert_eq!(Style::for_method("BNN"), Style::for_method(" bnn "));
        assert_ne!(Style::for_method("BNN"), Style::for_method("RE"));
        assert_eq!(Style::for_method("LCW"), Style::for_method("LCW-like"));
        assert_eq!(Style::for_method("something else"), Style::for_method("something else"));
    }

    #[test]
    fn a_palette_gives_distinct_styles_to_new_names() {
        let p = Palette::new(["BNN", "alpha", "beta", "LCW", "gamma"]);
        let styles: Vec<Style> = ["BNN", "alpha", "beta", "LCW", "gamma"].iter().map(|n| p.style(n)).collect();
        for i in 0..styles.len() {
            for j in 0..i {
                assert_ne!(styles[i], styles[j]);
            }
        }
        assert_eq!(p.style("BNN"), Style::for_method("BNN"));
        // Two fixed names on one slot: the second moves to a free one.
        let p = Palette::new(["DNN", "Reweighted"]);
        assert_eq!(p.style("DNN"), Style::for_method("DNN"));
        assert_ne!(p.style("Reweighted"), p.style("DNN"));
        let p = Palette::new(["LCW", "LCW-like"]);
        assert_ne!(p.style("LCW"), p.style("LCW-like"), "two registered names, two styles");
        assert_eq!(p.style("unregistered"), Style::for_method("unregistered"));
    }

    #[test]
    fn colours_print_as_hex_and_mix() {
        assert_eq!(Colour::BLUE.to_string(), "#0072B2");
        assert_eq!(Colour::BLACK.mix(Colour(255, 255, 255), 0.5), Colour(128, 128, 128));
        assert_eq!(Colour::BLACK.mix(Colour(255, 255, 255), f64::NAN), Colour::BLACK);
    }
}
