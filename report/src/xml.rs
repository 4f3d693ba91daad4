//! The two guards of every piece of text written into SVG and HTML: numbers that can never be
//! "NaN", and escaped text. Keeping them in one place, below everything that writes markup, is what
//! makes the "no non-finite number in any attribute" promise checkable.

use std::fmt;

/// A coordinate printed with at most two decimals; anything non-finite prints as 0 so that no
/// "NaN" ever reaches the SVG (callers skip non-finite data; this is the last line of defence).
#[derive(Clone, Copy)]
pub(crate) struct P(pub f64);

impl fmt::Display for P {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Far outside any figure, and small enough that {:.2} stays short.
        let v = if self.0.is_finite() { self.0.clamp(-1e7, 1e7) } else { 0.0 };
        let s = format!("{v:.2}");
        match s.trim_end_matches('0').trim_end_matches('.') {
            "-0" | "" => f.write_str("0"),
            t => f.write_str(t),
        }
    }
}

/// Escapes text for XML character data and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Control characters other than tab and newline are not allowed in XML 1.0.
            c if (c as u32) < 0x20 && c != '\t' && c != '\n' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_short_and_finite() {
        assert_eq!(P(1.0).to_string(), "1");
        assert_eq!(P(1.256).to_string(), "1.26");
        assert_eq!(P(-0.001).to_string(), "0");
        assert_eq!(P(f64::NAN).to_string(), "0");
        assert_eq!(P(f64::INFINITY).to_string(), "0");
        assert_eq!(P(1e300).to_string(), "10000000");
    }

    #[test]
    fn escaping_covers_markup_and_control_characters() {
        assert_eq!(escape("a<b & \"c\" 'd'>"), "a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;");
        assert_eq!(escape("bell\u{7}"), "bell ");
    }
}
