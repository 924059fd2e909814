#!/usr/bin/env bash
# npm start: set up, then run the main job. The lab of the article (postern lab up|check|down)
# is not built yet; until it is, this shows what postern can truly do today.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
node dist/src/cli/main.js --help
echo "note: the article's lab (postern lab up|check|down) is not built yet; nothing above is simulated."
