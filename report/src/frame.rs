//! The plot area of one panel: where it sits in pixels, how data coordinates map onto it, and a
//! record of the pixels the data cover ("ink"), from which legends and notes find room that hides
//! nothing.

use crate::axis::Axis;

/// A rectangle in pixels, y downwards.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Rect {
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
}

impl Rect {
    pub fn right(&self) -> f64 {
        self.x + self.w
    }
    pub fn bottom(&self) -> f64 {
        self.y + self.h
    }
    /// Whether two rectangles share any area once each is grown by `pad` on every side.
    pub fn overlaps(&self, other: &Rect, pad: f64) -> bool {
        self.x - pad < other.right()
            && other.x < self.right() + pad
            && self.y - pad < other.bottom()
            && other.y < self.bottom() + pad
    }
    pub fn contains(&self, x: f64, y: f64, pad: f64) -> bool {
        x >= self.x - pad && x <= self.right() + pad && y >= self.y - pad && y <= self.bottom() + pad
    }
}

/// A plot area with its two axes.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Frame {
    pub x: Axis,
    pub y: Axis,
    pub area: Rect,
}

impl Frame {
    pub fn px(&self, v: f64) -> f64 {
        self.area.x + self.x.frac(v) * self.area.w
    }
    pub fn py(&self, v: f64) -> f64 {
        self.area.y + (1.0 - self.y.frac(v)) * self.area.h
    }
    /// The pixel position of a point that can be placed on both axes, else None.
    pub fn at(&self, x: f64, y: f64) -> Option<(f64, f64)> {
        (self.x.ok(x) && self.y.ok(y)).then(|| (self.px(x), self.py(y)))
    }
    /// The pixel y of the bottom of the plot area.
    pub fn base(&self) -> f64 {
        self.area.bottom()
    }
}

/// What the data cover, in pixels: sampled points along lines and inside bands, and whole
/// rectangles for heatmap cells.
#[derive(Clone, Debug, Default)]
pub(crate) struct Ink {
    points: Vec<(f64, f64)>,
    rects: Vec<Rect>,
}

impl Ink {
    pub fn point(&mut self, x: f64, y: f64) {
        if x.is_finite() && y.is_finite() {
            self.points.push((x, y));
        }
    }
    /// The segment from a to b, sampled every 4 pixels.
    pub fn segment(&mut self, a: (f64, f64), b: (f64, f64)) {
        let steps = ((b.0 - a.0).hypot(b.1 - a.1) / 4.0).ceil();
        let steps = if steps.is_finite() { steps.clamp(1.0, 400.0) as usize } else { 1 };
        for k in 0..=steps {
            let t = k as f64 / steps as f64;
            self.point(a.0 + (b.0 - a.0) * t, a.1 + (b.1 - a.1) * t);
        }
    }
    pub fn rect(&mut self, r: Rect) {
        self.rects.push(r);
    }
    /// How much ink lies inside `r` grown by `pad`: sampled points, plus one per rectangle touched.
    pub fn hits(&self, r: &Rect, pad: f64) -> usize {
        let points = self.points.iter().filter(|(x, y)| r.contains(*x, *y, pad)).count();
        points + self.rects.iter().filter(|c| c.overlaps(r, pad)).count()
    }
    pub fn extend(&mut self, other: Ink) {
        self.points.extend(other.points);
        self.rects.extend(other.rects);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ink_counts_what_a_box_covers() {
        let mut ink = Ink::default();
        ink.segment((0.0, 0.0), (100.0, 0.0));
        ink.rect(Rect { x: 200.0, y: 200.0, w: 10.0, h: 10.0 });
        assert!(ink.hits(&Rect { x: 40.0, y: -5.0, w: 20.0, h: 10.0 }, 0.0) >= 5);
        assert_eq!(ink.hits(&Rect { x: 40.0, y: 10.0, w: 20.0, h: 10.0 }, 0.0), 0);
        assert_eq!(ink.hits(&Rect { x: 205.0, y: 205.0, w: 20.0, h: 10.0 }, 0.0), 1);
        ink.point(f64::NAN, 1.0);
        assert_eq!(
            ink.hits(&Rect { x: -1e9, y: -1e9, w: 2e9, h: 2e9 }, 0.0),
            26 + 1,
            "every 4 px, ends included, and the rectangle"
        );
    }
}
