# The two commands a newcomer needs: `make demo` and `make test`. Both install missing system
# packages first (scripts/bootstrap: fast no-op when everything is there).

CARGO ?= cargo

.PHONY: demo test bench bootstrap

bootstrap:
	scripts/bootstrap

# The main job: a Bayesian network learns y = sin x with known noise and a gap in the data, and
# reports sigma_syst against the true noise and sigma_stat in the gap (out/demo/: HDF5, CSV, SVG).
demo: bootstrap
	$(CARGO) run --release --example demo

test: bootstrap
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets --all-features -- -D warnings
	$(CARGO) test --workspace --profile ci

bench:
	$(CARGO) bench
