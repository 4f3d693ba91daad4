# The two commands a newcomer needs: `make demo` and `make test`. Both install missing system
# packages first (scripts/bootstrap: fast no-op when everything is there).

CARGO ?= cargo

.PHONY: demo genweights test bench bootstrap

bootstrap:
	scripts/bootstrap

# The main job: the quick calibration study of arXiv:2412.04370 on generated topo-clusters with
# exact truth (LCW-like, DNN, DNN-LGK, BNN, repulsive ensemble, the training-size scan), about
# 4 minutes on 2 cores after the build. Open out/calibration-study/index.html in a browser; a
# re-run reuses every step whose inputs did not change.
demo: bootstrap
	$(CARGO) run --release -p calibration -- study --out out/calibration-study

# The second study (arXiv:2305.16774): classifier weights on every toy with exact weights
# (about 4.5 minutes on 2 cores); out/genweights-study/index.html.
genweights: bootstrap
	$(CARGO) run --release -p genweights -- study --out out/genweights-study

test: bootstrap
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets --all-features -- -D warnings
	rm -f target/skipped-tests.log
	SIGMAGRAD_SKIP_LOG=$(CURDIR)/target/skipped-tests.log $(CARGO) test --workspace --profile ci
	scripts/skipped-tests target/skipped-tests.log

bench:
	$(CARGO) bench
