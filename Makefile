# Thin wrapper around Meson + Ninja.  `make` builds build/bin/* and
# build/guests/*.elf; `make check` runs every test (plain, ASan/UBSan, fuzz);
# `make bench` prints the side-by-side benchmark tables; `make demo` boots a
# guest whose device model runs in a stub domain.
BUILD := build

.PHONY: all check bench demo format format-check clean

all: $(BUILD)/build.ninja
	ninja -C $(BUILD)

$(BUILD)/build.ninja:
	meson setup $(BUILD)

check:
	scripts/check.sh

bench: all
	scripts/bench.sh

demo: all
	scripts/demo.sh

format:
	git ls-files '*.c' '*.h' | xargs clang-format -i

format-check:
	git ls-files '*.c' '*.h' | xargs clang-format --dry-run -Werror

clean:
	rm -rf $(BUILD)
