# Sourced by the other scripts: puts the tools scripts/setup.sh installed on PATH.
export PATH="${IDOS_TOOLS_DIR:-$HOME/.cache/idos-tools}/node_modules/.bin:${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
