# The two commands a newcomer needs: `make demo` and `make test`. Both install missing system
# packages first (scripts/bootstrap: fast no-op when everything is there).

CARGO ?= cargo

.PHONY: demo test bench bootstrap

bootstrap:
	scripts/bootstrap

demo: bootstrap
	$(CARGO) run --release --example sine_fit

test: bootstrap
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets --all-features -- -D warnings
	$(CARGO) test --workspace --profile ci

bench:
	$(CARGO) bench
