#!/usr/bin/env bash
# 把 KaTeX(MIT 许可)从 npm 仓库取到 notes/assets/katex/,让网站离线渲染公式。
# 可重复:同一个版本得到同样的文件(npm pack 会校验包的完整性)。升级时改 VERSION 再运行一次,并提交结果。
set -euo pipefail
VERSION=0.19.1
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "katex@$VERSION" >/dev/null)
tar -xzf "$tmp/katex-$VERSION.tgz" -C "$tmp"
dest=notes/assets/katex
rm -rf "$dest"
mkdir -p "$dest/fonts"
cp "$tmp/package/dist/katex.min.js" "$tmp/package/dist/katex.min.css" "$dest/"
cp "$tmp/package/LICENSE" "$dest/LICENSE"
cp "$tmp/package/dist/fonts/"*.woff2 "$dest/fonts/"   # 浏览器优先用 woff2;不复制 woff/ttf
echo "katex $VERSION (npm), MIT licence: see LICENSE" > "$dest/VERSION"
echo "KaTeX $VERSION -> $dest ($(ls "$dest/fonts" | wc -l) fonts)"
