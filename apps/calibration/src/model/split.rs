//! The training/validation split, by event when the file says which clusters share one.
//!
//! The clusters of one collision share its pile-up (⟨μ⟩, N_PV) and its jets, so they are not
//! independent: a validation set that holds other clusters of the training events is partly
//! seen data, and it chooses an over-fitted epoch. Real ntuples say which event a cluster came
//! from (`eventNumber`, with `runNumber` when several runs are merged); when they do, or when
//! `training.event_column` names another column, whole events go to one side of the split.
//! Without identifiers every row is its own event: the split is by row, and train.json says so.
//!
//! The split permutes the events with the training seed. With one cluster per event this is the
//! permutation the split by row has always used, so a file without identifiers (the generator's)
//! is split exactly as before.

use crate::error::{Error, Result};
use crate::io::ClusterTable;
use sigmagrad::Rng;
use std::collections::HashMap;

/// The event identifier of ATLAS ntuples.
pub const EVENT_NUMBER: &str = "eventNumber";
/// The run identifier, which makes an event number unique across runs.
pub const RUN_NUMBER: &str = "runNumber";
/// The stream of the training seed that permutes the events (the split's, since the first release).
const SPLIT_STREAM: u64 = 0x5_9117;

/// The selected clusters grouped into events, each a list of rows in file order, the events in
/// the order of their first cluster.
#[derive(Debug, Clone, PartialEq)]
pub struct Events {
    pub groups: Vec<Vec<usize>>,
    /// How the split goes, for train.json and the page: "by row" or "by event (eventNumber)".
    pub description: String,
}

impl Events {
    /// One event per row: the split by row.
    pub fn rows(n: usize) -> Events {
        Events { groups: (0..n).map(|i| vec![i]).collect(), description: "by row".into() }
    }

    /// The events of `table`: by `column` when given (an error if the table lacks it), else by
    /// `eventNumber` (with `runNumber` when present) when the table has it, else one per row.
    pub fn of(table: &ClusterTable, column: Option<&str>) -> Result<Events> {
        let columns: Vec<&str> = match column {
            Some(name) => {
                table.column(name).ok_or_else(|| {
                    Error::invalid(format!(
                        "{}: the event column '{name}' (training.event_column, --event-column) is missing",
                        table.source()
                    ))
                })?;
                vec![name]
            }
            None if table.has(EVENT_NUMBER) => {
                [RUN_NUMBER, EVENT_NUMBER].into_iter().filter(|c| table.has(c)).collect()
            }
            None => return Ok(Events::rows(table.len())),
        };
        let values: Vec<&[f64]> = columns.iter().map(|c| table.require(c)).collect::<Result<_>>()?;
        for (name, v) in columns.iter().zip(&values) {
            if let Some(row) = v.iter().position(|x| !x.is_finite()) {
                let bad = v.iter().filter(|x| !x.is_finite()).count();
                return Err(Error::invalid(format!(
                    "{}: column '{name}': {bad} of {} selected rows are not finite (the first is input row {}); an \
                     event identifier must be a number",
                    table.source(),
                    v.len(),
                    table.input_index[row]
                )));
            }
        }
        // 0.0 and -0.0 are one event; f64 holds event numbers exactly up to 2^53.
        let key = |i: usize| -> Vec<u64> { values.iter().map(|v| (v[i] + 0.0).to_bits()).collect() };
        let mut index: HashMap<Vec<u64>, usize> = HashMap::new();
        let mut groups: Vec<Vec<usize>> = Vec::new();
        for i in 0..table.len() {
            let next = groups.len();
            let g = *index.entry(key(i)).or_insert(next);
            if g == next {
                groups.push(Vec::new());
            }
            groups[g].push(i);
        }
        Ok(Events { groups, description: format!("by event ({})", columns.join(", ")) })
    }

    pub fn rows_total(&self) -> usize {
        self.groups.iter().map(Vec::len).sum()
    }
}

/// The rows of the training and the validation set, each in the order of the permuted events.
#[derive(Debug, Clone, PartialEq)]
pub struct Split {
    pub train: Vec<usize>,
    pub val: Vec<usize>,
}

/// Splits `events` into a validation share `val_fraction` of the events and the rest, by a
/// permutation seeded with `seed`. `max_train` keeps the first training events up to that many
/// clusters, and validation events in proportion (at least 1000 clusters): a smaller training set
/// is a subset of a larger one with the same seed (the training-size scan), and no event is cut.
pub fn split(events: &Events, val_fraction: f64, seed: u64, max_train: Option<usize>) -> Result<Split> {
    let n_events = events.groups.len();
    let n_val = ((n_events as f64) * val_fraction).round() as usize;
    if events.rows_total() < 10 || n_val == 0 || n_val >= n_events {
        return Err(Error::invalid(format!(
            "{} clusters pass the cuts ({n_events} events), too few to train on with a validation fraction of \
             {val_fraction} (split {})",
            events.rows_total(),
            events.description
        )));
    }
    let order = Rng::new(seed).fork(SPLIT_STREAM).permutation(n_events);
    let (val_events, train_events) = order.split_at(n_val);
    let rows_of = |events_in_order: &[usize], limit: usize| -> Vec<usize> {
        let mut rows = Vec::new();
        for &e in events_in_order {
            let g = &events.groups[e];
            if !rows.is_empty() && rows.len() + g.len() > limit {
                break;
            }
            rows.extend_from_slice(g);
        }
        rows
    };
    let all_train = rows_of(train_events, usize::MAX);
    match max_train {
        Some(m) if m < all_train.len() => {
            let v = ((m as f64) * val_fraction / (1.0 - val_fraction)).ceil() as usize;
            Ok(Split { train: rows_of(train_events, m), val: rows_of(val_events, v.max(1000)) })
        }
        _ => Ok(Split { train: all_train, val: rows_of(val_events, usize::MAX) }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(event: &[f64], run: Option<&[f64]>) -> ClusterTable {
        let mut t = ClusterTable::new("events.h5");
        t.insert("clusterE", vec![1.0; event.len()]).unwrap();
        t.insert(EVENT_NUMBER, event.to_vec()).unwrap();
        if let Some(r) = run {
            t.insert(RUN_NUMBER, r.to_vec()).unwrap();
        }
        t
    }

    #[test]
    fn clusters_group_by_event_and_run_in_order_of_first_appearance() {
        let e = Events::of(&table(&[7.0, 3.0, 7.0, 3.0, 9.0], None), None).unwrap();
        assert_eq!(e.groups, vec![vec![0, 2], vec![1, 3], vec![4]]);
        assert_eq!(e.description, "by event (eventNumber)");
        let e = Events::of(&table(&[7.0, 7.0, 7.0], Some(&[1.0, 2.0, 1.0])), None).unwrap();
        assert_eq!(e.groups, vec![vec![0, 2], vec![1]]);
        assert_eq!(e.description, "by event (runNumber, eventNumber)");
        let e = Events::of(&table(&[1.0, 2.0], None), Some("clusterE")).unwrap();
        assert_eq!((e.groups.len(), e.description.as_str()), (1, "by event (clusterE)"));
    }

    #[test]
    fn a_missing_or_non_finite_event_column_is_named() {
        let e = Events::of(&table(&[1.0, 2.0], None), Some("evt")).unwrap_err().to_string();
        assert!(e.contains("events.h5") && e.contains("'evt'"), "{e}");
        let e = Events::of(&table(&[1.0, f64::NAN, 2.0], None), None).unwrap_err().to_string();
        assert!(e.contains("'eventNumber'") && e.contains("input row 1"), "{e}");
    }

    #[test]
    fn one_cluster_per_event_splits_as_the_permutation_by_row() {
        let n = 500;
        let s = split(&Events::rows(n), 0.2, 4, None).unwrap();
        let order = Rng::new(4).fork(SPLIT_STREAM).permutation(n);
        assert_eq!((s.val.as_slice(), s.train.as_slice()), order.split_at(100));
        let small = split(&Events::rows(n), 0.2, 4, Some(50)).unwrap();
        assert_eq!((small.train.as_slice(), small.val.len()), (&order[100..150], 100));
    }
}
