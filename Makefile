# Thin wrapper around Meson + Ninja.  `make` builds build/bin/* and
# build/guests/*.elf; `make check` runs every test (plain, ASan/UBSan, fuzz);
# `make bench` prints the side-by-side benchmark tables; `make demo` boots a
# guest whose device model runs in a stub domain; `make install` installs
# under PREFIX (default /usr/local), staged under DESTDIR if given.
BUILD := build
PREFIX ?= /usr/local

.PHONY: all check bench demo install format format-check clean

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

install: $(BUILD)/build.ninja
	meson configure $(BUILD) -Dprefix=$(PREFIX)
	ninja -C $(BUILD)
	meson install -C $(BUILD) --no-rebuild $(if $(DESTDIR),--destdir $(DESTDIR))

format:
	git ls-files '*.c' '*.h' | xargs clang-format -i

format-check:
	git ls-files '*.c' '*.h' | xargs clang-format --dry-run -Werror

clean:
	rm -rf $(BUILD)
