//! Figures (SVG) and self-contained HTML pages shared by the study apps.
