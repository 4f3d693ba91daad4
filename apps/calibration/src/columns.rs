//! The column names of the study, which are the ATLAS topo-cluster ntuple branch names, and the
//! preprocessing each feature gets (docs/calibration-method.md §3). Everything that trains, predicts or reads
//! data takes its names from here, so that a file written by Geant4-based ntuple makers and one
//! written by the generator are read the same way.

use nn::Transform;

/// EM-scale cluster energy E^EM (GeV), the first feature and the numerator of the response.
pub const CLUSTER_E: &str = "clusterE";
/// Cluster pseudorapidity.
pub const CLUSTER_ETA: &str = "clusterEta";
/// Depth of the shower centre along the shower axis (mm).
pub const CENTER_LAMBDA: &str = "cluster_CENTER_LAMBDA";
/// Distance of the shower centre from the interaction point (mm).
pub const CENTER_MAG: &str = "cluster_CENTER_MAG";
/// Fraction of the energy in the EM calorimeter layers.
pub const ENG_FRAC_EM: &str = "cluster_ENG_FRAC_EM";
/// Energy-weighted cell energy density (GeV/mm^3).
pub const FIRST_ENG_DENS: &str = "cluster_FIRST_ENG_DENS";
/// Normalised lateral second moment.
pub const LATERAL: &str = "cluster_LATERAL";
/// Normalised longitudinal second moment.
pub const LONGITUDINAL: &str = "cluster_LONGITUDINAL";
/// Signal compactness sqrt(sum E_cell^2) / sum E_cell.
pub const PTD: &str = "cluster_PTD";
/// Cluster time (ns).
pub const TIME: &str = "cluster_time";
/// Isolation moment.
pub const ISOLATION: &str = "cluster_ISOLATION";
/// Second moment of the cell times (ns^2).
pub const SECOND_TIME: &str = "cluster_SECOND_TIME";
/// EM-scale signal significance E^EM / sigma_noise.
pub const SIGNIFICANCE: &str = "cluster_SIGNIFICANCE";
/// Number of reconstructed primary vertices (in-time pile-up proxy).
pub const N_PRIM_VTX: &str = "nPrimVtx";
/// Average number of interactions per bunch crossing.
pub const AVG_MU: &str = "avgMu";

/// The truth energy deposited in the cluster's cells, E^dep (GeV): the target's denominator,
/// R^EM = clusterE / cluster_ENG_CALIB_TOT.
pub const TARGET: &str = "cluster_ENG_CALIB_TOT";
/// An LCW-calibrated energy (GeV) that real ntuples carry, to compare against; optional.
pub const LCW_ENERGY: &str = "clusterECalib";

/// The 15 network inputs in the order of the team's code (docs/calibration-method.md §3.1).
pub const FEATURES: [&str; 15] = [
    CLUSTER_E,
    CLUSTER_ETA,
    CENTER_LAMBDA,
    CENTER_MAG,
    ENG_FRAC_EM,
    FIRST_ENG_DENS,
    LATERAL,
    LONGITUDINAL,
    PTD,
    TIME,
    ISOLATION,
    SECOND_TIME,
    SIGNIFICANCE,
    N_PRIM_VTX,
    AVG_MU,
];

/// The pre-transform of each feature before standardisation, index-aligned with [`FEATURES`]:
/// logarithms for the positive, many-decade quantities (E, lambda, rho, sigma_t^2, zeta), the
/// signed cube root for the time (heavy tails of both signs from out-of-time pile-up), nothing
/// for the rest (docs/calibration-method.md §3.2).
pub const FEATURE_TRANSFORMS: [Transform; 15] = [
    Transform::Log,      // clusterE
    Transform::None,     // clusterEta
    Transform::Log,      // cluster_CENTER_LAMBDA
    Transform::None,     // cluster_CENTER_MAG
    Transform::None,     // cluster_ENG_FRAC_EM
    Transform::Log,      // cluster_FIRST_ENG_DENS
    Transform::None,     // cluster_LATERAL
    Transform::None,     // cluster_LONGITUDINAL
    Transform::None,     // cluster_PTD
    Transform::CubeRoot, // cluster_time
    Transform::None,     // cluster_ISOLATION
    Transform::Log,      // cluster_SECOND_TIME
    Transform::Log,      // cluster_SIGNIFICANCE
    Transform::None,     // nPrimVtx
    Transform::None,     // avgMu
];

/// Columns that may be stored as integers in a file (a vertex count written as int32); every
/// other feature and the target must be floating point, because an integer energy is a bug in
/// whatever wrote the file.
pub const INTEGER_COLUMNS: [&str; 1] = [N_PRIM_VTX];

/// The prefix of the generator's truth columns. Only the generator, the evaluation and tests may
/// read them; training and the LCW baseline must work on files without them.
pub const TRUTH_PREFIX: &str = "truth_";

/// The transform of feature `name`, or None if it is not one of the 15 features.
pub fn transform_of(name: &str) -> Option<Transform> {
    FEATURES.iter().position(|&f| f == name).map(|i| FEATURE_TRANSFORMS[i])
}

/// Whether `name` is a generator truth column.
pub fn is_truth(name: &str) -> bool {
    name.starts_with(TRUTH_PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_features_are_the_five_of_the_spec() {
        let logs: Vec<&str> =
            FEATURES.iter().zip(FEATURE_TRANSFORMS).filter(|(_, t)| *t == Transform::Log).map(|(n, _)| *n).collect();
        assert_eq!(logs, [CLUSTER_E, CENTER_LAMBDA, FIRST_ENG_DENS, SECOND_TIME, SIGNIFICANCE]);
        assert_eq!(transform_of(TIME), Some(Transform::CubeRoot));
        assert_eq!(transform_of(TARGET), None);
        let mut unique = FEATURES.to_vec();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), 15);
    }
}
