/** Horizontal bar chart in plain SVG (no chart library): one bar per row, value in per cent. */
const SVG = 'http://www.w3.org/2000/svg';

export interface Bar {
  label: string;
  value: number; // 0..100
  title?: string;
  onClick?: () => void;
}

function s<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
}

/** Renders the bars (at most `max`, lowest first so gaps stand out) into an SVG element. */
export function barChart(bars: Bar[], opts: { width?: number; max?: number; threshold?: number } = {}): SVGSVGElement {
  const width = opts.width ?? 300;
  const rows = bars.slice(0, opts.max ?? 20);
  const rowH = 18;
  const labelW = 96;
  const height = rows.length * rowH + 16;
  const svg = s('svg', { viewBox: `0 0 ${width} ${height}`, width: '100%', role: 'img', class: 'bar-chart' });
  const scale = (v: number) => ((width - labelW - 40) * Math.max(0, Math.min(100, v))) / 100;
  rows.forEach((b, i) => {
    const y = i * rowH;
    const g = s('g', { class: 'bar' + (b.onClick ? ' clickable' : '') });
    const label = s('text', { x: labelW - 4, y: y + 13, 'text-anchor': 'end', class: 'bar-label' });
    label.textContent = b.label.length > 14 ? `${b.label.slice(0, 13)}…` : b.label;
    const hue = Math.round((Math.max(0, Math.min(100, b.value)) / 100) * 120);
    const rect = s('rect', { x: labelW, y: y + 3, width: Math.max(1, scale(b.value)), height: rowH - 6, fill: `hsl(${hue} 60% 50%)` });
    const val = s('text', { x: labelW + scale(b.value) + 4, y: y + 13, class: 'bar-value' });
    val.textContent = `${b.value.toFixed(0)}%`;
    const title = s('title', {});
    title.textContent = b.title ?? `${b.label}: ${b.value.toFixed(1)}%`;
    g.append(title, label, rect, val);
    if (b.onClick) g.addEventListener('click', b.onClick);
    svg.append(g);
  });
  if (opts.threshold !== undefined) {
    const x = labelW + scale(opts.threshold);
    svg.append(s('line', { x1: x, x2: x, y1: 0, y2: rows.length * rowH, stroke: '#444', 'stroke-dasharray': '3 2' }));
  }
  const axis = s('text', { x: labelW, y: height - 2, class: 'bar-axis' });
  axis.textContent = '0';
  const axis100 = s('text', { x: labelW + scale(100), y: height - 2, class: 'bar-axis', 'text-anchor': 'end' });
  axis100.textContent = '100%';
  svg.append(axis, axis100);
  return svg;
}
