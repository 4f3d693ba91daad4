//! Damage made byte by byte: truncations, and bit flips in the data and in the metadata.

use super::*;

/// Where each dataset's values lie in a fixture file: (dataset path, byte range). Found by
/// searching the file for the values' stored bytes (the datasets are small and unique).
pub fn data_ranges(path: &Path) -> Vec<(String, std::ops::Range<usize>)> {
    let bytes = std::fs::read(path).unwrap();
    let f = nn::io::H5File::open(path).unwrap();
    let mut out = Vec::new();
    for group in ["params", "optimizer"] {
        if !f.exists(group) {
            continue;
        }
        for name in f.members(group).unwrap() {
            let full = format!("{group}/{name}");
            let ds = f.dataset(&full).unwrap();
            let (_, kind) = f.float_shape(&full).unwrap();
            let raw: Vec<u8> = match kind {
                nn::io::FloatKind::F32 => ds.read_raw::<f32>().unwrap().iter().flat_map(|v| v.to_le_bytes()).collect(),
                nn::io::FloatKind::F64 => ds.read_raw::<f64>().unwrap().iter().flat_map(|v| v.to_le_bytes()).collect(),
            };
            let hits: Vec<usize> =
                bytes.windows(raw.len()).enumerate().filter(|(_, w)| *w == raw).map(|(i, _)| i).collect();
            assert_eq!(hits.len(), 1, "{full} of {} found {} times", path.display(), hits.len());
            // The Fletcher32 checksum follows the chunk's data.
            out.push((full, hits[0]..hits[0] + raw.len() + 4));
        }
    }
    out
}

/// A small deterministic generator for offsets and bits (splitmix64).
pub struct Mix(pub u64);
impl Mix {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

pub const TRUNCATIONS: usize = 36;
pub const DATA_FLIPS: usize = 32;
pub const META_FLIPS: usize = 120;

pub fn truncations_and_flips(cases: &mut Cases) {
    for fx in FIXTURES {
        let bytes = std::fs::read(fx.path()).unwrap();
        let n = bytes.len();
        let modes = [fx.primary(), LoadMode::LoadModel];
        // Truncations: the first bytes, the superblock's end, and evenly through the file.
        let mut cuts: Vec<usize> = vec![0, 1, 7, 8, 47, 95, n - 1];
        cuts.extend((1..=TRUNCATIONS).map(|i| i * n / (TRUNCATIONS + 1)));
        cuts.sort();
        cuts.dedup();
        for cut in cuts {
            cases.bytes(
                "truncation",
                &format!("{} cut at {cut} of {n}", fx.name()),
                fx,
                &modes,
                Expect::Error,
                &[],
                &bytes[..cut],
            );
        }
        // Bit flips: in each dataset's values (the checksum must catch them) and in the rest.
        let ranges = data_ranges(&fx.path());
        let data: Vec<(usize, &str)> =
            ranges.iter().flat_map(|(name, r)| r.clone().map(move |i| (i, name.as_str()))).collect();
        let meta: Vec<usize> = (0..n).filter(|i| !ranges.iter().any(|(_, r)| r.contains(i))).collect();
        let mut mix = Mix(fx as u64 + 17);
        for k in 0..DATA_FLIPS.min(data.len()) {
            let (at, name) = data[k * data.len() / DATA_FLIPS.min(data.len())];
            let bit = mix.next() % 8;
            let mut b = bytes.clone();
            b[at] ^= 1 << bit;
            let what = format!("{} bit {bit} of byte {at} ({name})", fx.name());
            let path = cases.file(&slug(&what));
            std::fs::write(&path, &b).unwrap();
            for m in modes {
                let read = if name.starts_with("optimizer/") { m.reads_optimizer() } else { m.reads_params() };
                if read {
                    cases.push("bit flip in data", &what, fx, m, Expect::Error, &path, &[name]);
                } else {
                    // load_model does not read the optimizer state: its damage does not matter.
                    cases.push("bit flip in unread optimizer data", &what, fx, m, Expect::ErrorOrIdentical, &path, &[]);
                }
            }
        }
        for k in 0..META_FLIPS {
            let stride = (meta.len() / META_FLIPS).max(1);
            let at = meta[(k * meta.len() / META_FLIPS + mix.next() as usize % stride) % meta.len()];
            let bit = mix.next() % 8;
            let mut b = bytes.clone();
            b[at] ^= 1 << bit;
            let what = format!("{} bit {bit} of byte {at} (metadata)", fx.name());
            cases.bytes("bit flip in metadata", &what, fx, &modes, Expect::ErrorOrIdentical, &[], &b);
        }
    }
}
