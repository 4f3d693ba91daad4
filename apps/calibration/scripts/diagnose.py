#!/usr/bin/env python3
"""Where a study's uncertainties miss, cluster by cluster (README, "What the failures mean").

Reads a study directory's test sample (with the generator's truth columns) and one prediction
file, and prints per E^EM bin: the median sigma_syst/sd*, sigma_stat/sd*, the rms of the mean's
error (R_pred - mean*)/sd*, and the 1-sigma coverage minus the exact answer's, for all clusters,
for those far from the crack/gap region (|eta| < 1.2 or > 1.9) and for those near it. The app
itself never needs this (nor Python); it is a diagnostic for the README's numbers.

    python3 apps/calibration/scripts/diagnose.py out/calibration-study bnn [re ...]
    python3 apps/calibration/scripts/diagnose.py out/calibration-study --resolution dnn FILE.h5 ...
"""
import sys
import h5py
import numpy as np

E_EM_BINS = [1, 5, 20, 100, 2000]
E_DEP_BINS = [0.3, 0.6, 1, 2, 5, 20, 100, 2000]


def load(study, pred):
    t = h5py.File(f"{study}/data/test.h5", "r")
    p = h5py.File(pred, "r")
    idx = p["input_index"][:]
    col = lambda k: t[k][:][idx]
    return col, p


def uncertainties(study, name):
    col, p = load(study, f"{study}/predictions/{name}.h5")
    e, r_em = col("clusterE"), col("clusterE") / col("cluster_ENG_CALIB_TOT")
    mean, sd, eta = col("truth_R_mean"), col("truth_R_sd"), np.abs(col("clusterEta"))
    rp, syst, stat, tot = (p[k][:] for k in ("R_pred", "sigma_syst", "sigma_stat", "sigma_tot"))
    z = (rp - mean) / sd
    cover = np.abs((r_em - rp) / tot) < 1
    cover_truth = np.abs((r_em - mean) / sd) < 1
    print(f"{name}: median syst/sd*, stat/sd*, rms (R_pred - mean*)/sd*, coverage - exact (points)")
    for lo, hi in zip(E_EM_BINS[:-1], E_EM_BINS[1:]):
        in_bin = (e > lo) & (e <= hi)
        far = in_bin & ((eta < 1.2) | (eta > 1.9))
        for label, m in (("all", in_bin), ("far", far), ("near", in_bin & ~far)):
            print(f"  E_EM {lo:>4}-{hi:<5} {label:>4} n {m.sum():6d}  syst/sd {np.median(syst[m] / sd[m]):.3f}"
                  f"  stat/sd {np.median(stat[m] / sd[m]):.3f}  rms z {np.sqrt(np.mean(z[m] ** 2)):.3f}"
                  f"  coverage {100 * (cover[m].mean() - cover_truth[m].mean()):+.1f}")


def resolution(study, files):
    def res(path):
        col, p = load(study, path)
        e_dep = col("cluster_ENG_CALIB_TOT")
        r = col("clusterE") / p["R_pred"][:] / e_dep
        out = []
        for lo, hi in zip(E_DEP_BINS[:-1], E_DEP_BINS[1:]):
            q16, q50, q84 = np.quantile(r[(e_dep > lo) & (e_dep <= hi)], [0.16, 0.5, 0.84])
            out.append((q84 - q16) / (2 * q50))
        return np.array(out)
    ref = res(f"{study}/predictions/bnn.h5")
    print("E_dep bins", E_DEP_BINS)
    print("BNN resolution", " ".join(f"{v:.4f}" for v in ref))
    for f in files:
        print(f"{f}: ratio to the BNN", " ".join(f"{v:.3f}" for v in res(f) / ref))


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    if sys.argv[2] == "--resolution":
        resolution(sys.argv[1], sys.argv[3:])
    else:
        for name in sys.argv[2:]:
            uncertainties(sys.argv[1], name)
