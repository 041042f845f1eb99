/** A grouped bar chart as SVG, so the results need no plotting library. */
export function renderChart(groups: { label: string; bars: [string, number][] }[]): string {
  const colors = ["#7a7a7a", "#38a169", "#2b6cb0", "#c05621"];
  const width = 640;
  const height = 320;
  const top = 30;
  const bottom = 50;
  const left = 70;
  const max = Math.max(...groups.flatMap((g) => g.bars.map(([, v]) => v))) * 1.1;
  const plotHeight = height - top - bottom;
  const groupWidth = (width - left - 20) / groups.length;
  const barWidth = groupWidth / (groups[0]!.bars.length + 1);
  const y = (value: number) => top + plotHeight - (value / max) * plotHeight;
  const parts: string[] = [];
  for (let tick = 0; tick <= 4; tick++) {
    const value = (max / 4) * tick;
    parts.push(`<line x1="${left}" x2="${width - 10}" y1="${y(value)}" y2="${y(value)}" stroke="#ddd"/>`);
    parts.push(`<text x="${left - 6}" y="${y(value) + 4}" text-anchor="end" font-size="11">${Math.round(value / 1000)}k</text>`);
  }
  groups.forEach((group, g) => {
    const x0 = left + g * groupWidth + barWidth / 2;
    group.bars.forEach(([name, value], b) => {
      const x = x0 + b * barWidth;
      parts.push(`<rect x="${x}" y="${y(value)}" width="${barWidth - 4}" height="${top + plotHeight - y(value)}" fill="${colors[b % colors.length]}"><title>${name}: ${Math.round(value)} req/s</title></rect>`);
      parts.push(`<text x="${x + (barWidth - 4) / 2}" y="${y(value) - 4}" text-anchor="middle" font-size="10">${Math.round(value / 1000)}k</text>`);
    });
    parts.push(`<text x="${x0 + (group.bars.length * barWidth) / 2}" y="${height - bottom + 18}" text-anchor="middle" font-size="12">${group.label}</text>`);
  });
  groups[0]!.bars.forEach(([name], b) => {
    parts.push(`<rect x="${left + b * 130}" y="${height - 18}" width="12" height="12" fill="${colors[b % colors.length]}"/>`);
    parts.push(`<text x="${left + b * 130 + 16}" y="${height - 8}" font-size="12">${name}</text>`);
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/>
<text x="${left}" y="18" font-size="13">GET /data with a Bearer token, requests per second (higher is better)</text>
${parts.join("\n")}
</svg>
`;
}
