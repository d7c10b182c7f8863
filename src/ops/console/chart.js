// Units accepted per hour as an inline SVG bar chart (no library, no
// canvas: it scales with the page and prints). Each bar has a <title>, and
// the numbers are also given as a table for screen readers and keyboards.
import { el, table, time } from './ui.js';

export function hourlyChart(series) {
  const width = 720;
  const height = 200;
  const left = 48;
  const bottom = 28;
  const top = 10;
  const max = Math.max(1, ...series.map((p) => p.units));
  const plotWidth = width - left - 8;
  const plotHeight = height - top - bottom;
  const step = plotWidth / Math.max(1, series.length);
  const total = series.reduce((sum, p) => sum + p.units, 0);
  const label = `Units accepted per hour over the last ${series.length} hours: ${total} in total, at most ${max} in one hour.`;

  const svg = el('svg', { viewBox: `0 0 ${width} ${height}`, class: 'chart', role: 'img', 'aria-label': label },
    el('title', {}, label),
    el('line', { x1: left, y1: top + plotHeight, x2: width - 8, y2: top + plotHeight, class: 'axis' }),
    el('line', { x1: left, y1: top, x2: left, y2: top + plotHeight, class: 'axis' }),
    el('text', { x: left - 6, y: top + 10, class: 'tick', 'text-anchor': 'end' }, String(max)),
    el('text', { x: left - 6, y: top + plotHeight, class: 'tick', 'text-anchor': 'end' }, '0'));
  series.forEach((point, i) => {
    const h = Math.round((point.units / max) * plotHeight);
    const x = left + i * step + 1;
    svg.append(el('rect', { x: x.toFixed(1), y: top + plotHeight - h, width: Math.max(1, step - 2).toFixed(1), height: h,
      class: point.units > 0 ? 'bar' : 'bar empty-bar' }, el('title', {}, `${point.hour}: ${point.units} units`)));
    if (i % 6 === 0) {
      svg.append(el('text', { x: x.toFixed(1), y: height - 8, class: 'tick' }, point.hour.slice(11, 16)));
    }
  });
  const nonzero = series.filter((p) => p.units > 0);
  return el('figure', { class: 'chart-figure' }, svg,
    el('figcaption', {}, `${label} Hours are UTC usage hours (effectiveStartTime).`),
    el('details', {}, el('summary', {}, 'The hours with accepted units, as a table'),
      table('Units accepted per hour', [
        { label: 'Hour (UTC)', value: (p) => time(p.hour) },
        { label: 'Units', value: (p) => String(p.units), numeric: true },
      ], nonzero, 'No units were accepted in this window.')));
}
