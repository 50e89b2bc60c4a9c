#!/usr/bin/env bash
# web/tools/cjk-font.sh -- regenerates the bundled CJK font subsets (run by hand, not by `npm run build`;
# the outputs are committed):
#   public/fonts/noto-sans-sc-gb2312-1.woff2  GB 2312 level 1 (3,755 most common hanzi) + GB 2312 symbols
#   public/fonts/noto-sans-sc-gb2312-2.woff2  GB 2312 level 2 (3,008 hanzi)
#   public/fonts/noto-sans-sc-big5-1.woff2    Big5 level 1 hanzi not in GB 2312 (2,073 traditional forms)
#   public/fonts/OFL-noto-sans-sc.txt         the font's licence (SIL OFL 1.1)
#   src/fonts/cjk-chars.ts                    the characters of each file (for unicode-range)
# Source: Noto Sans SC Regular (TrueType, Google Fonts build) from the npm package
# @expo-google-fonts/noto-sans-sc@0.4.3; subsetting with fontTools (PyPI) in a throwaway venv.
# The character sets come from Python's gb2312 and big5 codecs, so nothing else is downloaded.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/cjk-font.XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work"
npm pack --silent @expo-google-fonts/noto-sans-sc@0.4.3 >/dev/null
tar xzf expo-google-fonts-noto-sans-sc-0.4.3.tgz package/400Regular/NotoSansSC_400Regular.ttf package/LICENSE_FONT
python3 -m venv venv
venv/bin/pip install -q fonttools==4.68.0 brotli==1.2.1
venv/bin/python "$here/tools/cjk_font.py" package/400Regular/NotoSansSC_400Regular.ttf "$here"
cp package/LICENSE_FONT "$here/public/fonts/OFL-noto-sans-sc.txt"
ls -l "$here"/public/fonts/noto-sans-sc-*.woff2
