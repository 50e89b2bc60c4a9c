/**
 * The bundled Chinese font: Noto Sans SC Regular (SIL OFL 1.1, public/fonts/OFL-noto-sans-sc.txt)
 * cut into three woff2 files by how common the characters are, so that a page downloads only the
 * files its text needs:
 *
 * - `noto-sans-sc-gb2312-1.woff2`: GB 2312 level 1 (the 3,755 most common hanzi) and the GB 2312
 *   symbols (CJK punctuation, full-width forms, kana, Greek, Cyrillic, …), ~590 kB;
 * - `noto-sans-sc-gb2312-2.woff2`: GB 2312 level 2 (3,008 less common hanzi), ~480 kB;
 * - `noto-sans-sc-big5-1.woff2`: the Big5 level-1 hanzi that GB 2312 lacks (2,073 traditional
 *   forms, for names such as 國 or 廣), ~380 kB.
 *
 * The map draws them through the style's `font-faces` (MapLibre fetches a file the first time a
 * label needs one of its characters); the page's own text (panel, tabs) uses the same files
 * through `@font-face` rules of the family {@link PAGE_FAMILY}. Characters outside the
 * three sets fall back to whatever the system has. `web/tools/cjk-font.sh` regenerates the files
 * and `cjk-chars.ts`.
 */
import { BIG5_1, GB2312_1, GB2312_2 } from './cjk-chars';

/** CSS family of the bundled Chinese font for the page's text (see style.css). */
export const PAGE_FAMILY = 'gridmap Noto Sans SC';

/** `U+XXXX` / `U+XXXX-YYYY` entries covering exactly the characters of `chars`. */
export function unicodeRanges(chars: string): string[] {
  const cps = [...chars].map((c) => c.codePointAt(0)!).sort((a, b) => a - b);
  const out: string[] = [];
  const hex = (n: number) => n.toString(16).toUpperCase();
  for (let i = 0; i < cps.length; ) {
    let j = i;
    while (j + 1 < cps.length && cps[j + 1] <= cps[j] + 1) j++;
    out.push(cps[i] === cps[j] ? `U+${hex(cps[i])}` : `U+${hex(cps[i])}-${hex(cps[j])}`);
    i = j + 1;
  }
  return out;
}

interface CjkFile {
  file: string;
  ranges: string[];
}

let files: CjkFile[] | null = null;
/** The three files, most common characters first, with their unicode ranges (computed once). */
export function cjkFiles(): CjkFile[] {
  files ??= [
    { file: 'noto-sans-sc-gb2312-1.woff2', ranges: unicodeRanges(GB2312_1) },
    { file: 'noto-sans-sc-gb2312-2.woff2', ranges: unicodeRanges(GB2312_2) },
    { file: 'noto-sans-sc-big5-1.woff2', ranges: unicodeRanges(BIG5_1) },
  ];
  return files;
}

/**
 * Declares the files for the page's text as `@font-face` rules of {@link PAGE_FAMILY}. Nothing is
 * downloaded here: the browser fetches a file when text on the page needs one of its characters.
 * The family must come first in the page's `font-family` (style.css; its ranges hold no Latin, so
 * Latin text still falls through to the system font): listed after a local family, Chromium kept
 * boxes for the text whose layout triggered the download, even once the file had loaded.
 */
export function registerPageFont(fontsBase: string): void {
  const css = cjkFiles()
    .map((f) => `@font-face{font-family:'${PAGE_FAMILY}';src:url(${fontsBase}${f.file}) format('woff2');font-display:swap;unicode-range:${f.ranges.join(',')}}`)
    .join('\n');
  const style = document.createElement('style');
  style.id = 'gridmap-cjk-font';
  style.textContent = css;
  document.head.append(style);
}
